//! The entities whose values the page shows and questions (users and items), what one event changed of
//! them, and the fold that follows one entity through its own events. A leaf: projections, diff, blame and
//! branches all name these, so none of them has to import another for it.

use crate::event::Event;

/// Whether a changed value belongs to a user or an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Item,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Item => "item",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeField {
    Balance,
    Price,
    Stock,
}

impl ChangeField {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeField::Balance => "balance",
            ChangeField::Price => "price",
            ChangeField::Stock => "stock",
        }
    }
}

/// One value an event changed: `before` is `None` when the event created the entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: EntityKind,
    pub id: String,
    pub field: ChangeField,
    pub before: Option<u64>,
    pub after: u64,
}

/// A user or an item, by interned id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    User(crate::names::UserId),
    Item(crate::names::ItemId),
}

/// One entity's values, followed through its own events alone: a user's balance in `value`; an item's stock
/// in `value` and its unit price in `price`. The entity series and blame both fold with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EntityValues {
    pub(crate) value: u64,
    pub(crate) price: u64,
}

impl EntityValues {
    /// Folds `event` in if it concerns `entity`, and says whether it did. The events of a log are valid, so
    /// nothing here can go past MAX or below zero; saturating keeps an invalid sequence from panicking.
    pub(crate) fn follow(&mut self, entity: Entity, event: &Event) -> bool {
        match (*event, entity) {
            (Event::ToppedUp { user, amount }, Entity::User(u)) if user == u => self.value = self.value.saturating_add(amount.0),
            (Event::OrderPlaced { user, total, .. }, Entity::User(u)) if user == u => self.value = self.value.saturating_sub(total.0),
            (Event::Withdrawn { user, amount }, Entity::User(u)) if user == u => self.value = self.value.saturating_sub(amount.0),
            (Event::Refunded { user, total, .. }, Entity::User(u)) if user == u => self.value = self.value.saturating_add(total.0),
            (Event::Refunded { item, qty, .. }, Entity::Item(i)) if item == i => self.value = self.value.saturating_add(qty.0),
            (Event::WrittenOff { item, qty }, Entity::Item(i)) if item == i => self.value = self.value.saturating_sub(qty.0),
            (Event::PriceSet { item, price }, Entity::Item(i)) if item == i => self.price = price.0,
            (Event::ItemAdded { item, price, qty }, Entity::Item(i)) if item == i => {
                self.value = self.value.saturating_add(qty.0);
                self.price = price.0;
            }
            (Event::OrderPlaced { item, qty, .. }, Entity::Item(i)) if item == i => self.value = self.value.saturating_sub(qty.0),
            _ => return false,
        }
        true
    }
}
