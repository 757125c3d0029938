//! Read models (CQRS projections): folds over the log kept beside the state, and what one event changed.

use crate::event::Event;
use crate::log::Log;
use crate::names::Names;
use crate::state::State;
use crate::timeline::DEFAULT_INTERVAL;

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

/// What `event` changes when applied to `before` (values it leaves equal are not listed). An event that
/// breaks a rule changes nothing.
pub fn changes_at(before: &State, names: &Names, event: &Event) -> Vec<Change> {
    let mut after = before.clone();
    if after.apply(names, event).is_err() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut push = |kind, id: &str, field, b: Option<u64>, a: Option<u64>| {
        if let Some(a) = a {
            if b != Some(a) {
                out.push(Change { kind, id: id.to_owned(), field, before: b, after: a });
            }
        }
    };
    let user_balance = |u, s: &State| s.balance(u).map(|m| m.0);
    let item_values = |i, s: &State| (s.price(i).map(|m| m.0), s.stock(i).map(|q| q.0));
    match *event {
        Event::ToppedUp { user, .. } => {
            push(EntityKind::User, names.user_name(user), ChangeField::Balance, user_balance(user, before), user_balance(user, &after));
        }
        Event::ItemAdded { item, .. } => {
            let (p0, s0) = item_values(item, before);
            let (p1, s1) = item_values(item, &after);
            push(EntityKind::Item, names.item_name(item), ChangeField::Price, p0, p1);
            push(EntityKind::Item, names.item_name(item), ChangeField::Stock, s0, s1);
        }
        Event::OrderPlaced { user, item, .. } => {
            push(EntityKind::User, names.user_name(user), ChangeField::Balance, user_balance(user, before), user_balance(user, &after));
            let (_, s0) = item_values(item, before);
            let (_, s1) = item_values(item, &after);
            push(EntityKind::Item, names.item_name(item), ChangeField::Stock, s0, s1);
        }
    }
    out
}

/// Shop-wide read models at a point of history: revenue and orders so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadModels {
    /// Sum of the totals of all orders (u128: a long history may pass MAX).
    pub revenue: u128,
    pub orders: u64,
}

impl ReadModels {
    fn fold(&mut self, event: &Event) {
        if let Event::OrderPlaced { total, .. } = event {
            self.revenue += total.0 as u128;
            self.orders += 1;
        }
    }
}

/// The shop-wide read models at any k, by checkpoints every [`DEFAULT_INTERVAL`] events.
#[derive(Clone, Debug, Default)]
pub struct Series {
    checkpoints: Vec<ReadModels>,
}

impl Series {
    /// Adds checkpoints for events appended to `log` since the last call.
    pub fn catch_up(&mut self, log: &Log) {
        if self.checkpoints.is_empty() {
            self.checkpoints.push(ReadModels::default());
        }
        let interval = DEFAULT_INTERVAL as usize;
        let done = (self.checkpoints.len() - 1) * interval;
        let mut acc = self.checkpoints.last().copied().unwrap_or_default();
        for (ix, event) in log.events().iter().enumerate().skip(done) {
            acc.fold(event);
            if (ix + 1) % interval == 0 {
                self.checkpoints.push(acc);
            }
        }
    }

    /// The read models after the first `k` events.
    pub fn at(&self, log: &Log, k: u64) -> ReadModels {
        let interval = DEFAULT_INTERVAL as usize;
        let k = (k as usize).min(log.events().len());
        let cp = (k / interval).min(self.checkpoints.len().saturating_sub(1));
        let mut acc = self.checkpoints.get(cp).copied().unwrap_or_default();
        for event in log.events().iter().take(k).skip(cp * interval) {
            acc.fold(event);
        }
        acc
    }
}
