use crate::money::{Money, Qty};
use crate::names::{ItemId, UserId};

/// What happened, in the past tense. Ids are interned: names live in [`crate::Names`]. Nothing is ever
/// edited: a mistake is corrected by a later event (a refund, a withdrawal, a write-off, a new price).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    ToppedUp { user: UserId, amount: Money },
    ItemAdded { item: ItemId, price: Money, qty: Qty },
    /// `price` and `total` are recorded so that replaying history never re-prices an old order.
    OrderPlaced { user: UserId, item: ItemId, qty: Qty, price: Money, total: Money },
    /// Order `order` (its sequence number) given back: its total to its user, its qty to its item's stock.
    Refunded { order: u64, user: UserId, item: ItemId, qty: Qty, total: Money },
    Withdrawn { user: UserId, amount: Money },
    WrittenOff { item: ItemId, qty: Qty },
    PriceSet { item: ItemId, price: Money },
}

/// Every event type, in the order the format and the views list them.
pub const EVENT_TYPES: [&str; 7] =
    ["ToppedUp", "ItemAdded", "OrderPlaced", "Refunded", "Withdrawn", "WrittenOff", "PriceSet"];

impl Event {
    /// The event's type as the JSON Lines format names it.
    pub fn type_name(&self) -> &'static str {
        EVENT_TYPES.get(self.type_index()).copied().unwrap_or("?")
    }

    /// The event's type as an index into [`EVENT_TYPES`].
    pub fn type_index(&self) -> usize {
        match self {
            Event::ToppedUp { .. } => 0,
            Event::ItemAdded { .. } => 1,
            Event::OrderPlaced { .. } => 2,
            Event::Refunded { .. } => 3,
            Event::Withdrawn { .. } => 4,
            Event::WrittenOff { .. } => 5,
            Event::PriceSet { .. } => 6,
        }
    }

    /// The user and the item the event concerns, if any.
    pub fn entities(&self) -> (Option<UserId>, Option<ItemId>) {
        match *self {
            Event::ToppedUp { user, .. } | Event::Withdrawn { user, .. } => (Some(user), None),
            Event::ItemAdded { item, .. } | Event::WrittenOff { item, .. } | Event::PriceSet { item, .. } => {
                (None, Some(item))
            }
            Event::OrderPlaced { user, item, .. } | Event::Refunded { user, item, .. } => (Some(user), Some(item)),
        }
    }
}

/// An event with its place in the log and when it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// 1, 2, 3, … with no gap and no repeat.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    pub event: Event,
}
