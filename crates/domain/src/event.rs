use crate::money::{Money, Qty};
use crate::names::{ItemId, UserId};

/// What happened, in the past tense. Ids are interned: names live in [`crate::Names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    ToppedUp { user: UserId, amount: Money },
    ItemAdded { item: ItemId, price: Money, qty: Qty },
    /// `total` is recorded so that replaying history never re-prices an old order.
    OrderPlaced { user: UserId, item: ItemId, qty: Qty, total: Money },
}

impl Event {
    /// The event's type as the JSON Lines format names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::ToppedUp { .. } => "ToppedUp",
            Event::ItemAdded { .. } => "ItemAdded",
            Event::OrderPlaced { .. } => "OrderPlaced",
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
