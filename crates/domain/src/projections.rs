//! Read models (CQRS projections): folds over the log kept beside the state, and what one event changed.

use crate::entity::{Change, ChangeField, Entity, EntityKind, EntityValues};
use crate::event::Event;
use crate::history::BlameIndex;
use crate::rejection::Rejection;
use crate::log::Log;
use crate::names::Names;
use crate::state::State;

/// What `event` changes when applied to `before` (values it leaves equal are not listed). An event that
/// breaks a rule changes nothing.
pub fn changes_at(before: &State, names: &Names, event: &Event) -> Vec<Change> {
    apply_with_changes(&mut before.clone(), names, event).unwrap_or_default()
}

/// The values an event touches, read from `state`: the user's balance, and the item's price and stock.
fn touched(state: &State, event: &Event) -> (Option<u64>, Option<u64>, Option<u64>) {
    let (user, item) = event.entities();
    (
        user.and_then(|u| state.balance(u)).map(|m| m.0),
        item.and_then(|i| state.price(i)).map(|m| m.0),
        item.and_then(|i| state.stock(i)).map(|q| q.0),
    )
}

/// Applies `event` to `state` and says what it changed, reading only the values the event touches (the
/// timeline does this on every move, so it copies no state). On a broken rule nothing changes.
pub fn apply_with_changes(state: &mut State, names: &Names, event: &Event) -> Result<Vec<Change>, Rejection> {
    let (b0, p0, s0) = touched(state, event);
    state.apply(names, event)?;
    let (b1, p1, s1) = touched(state, event);
    let mut out = Vec::new();
    let mut push = |kind, id: &str, field, before: Option<u64>, after: Option<u64>| {
        if let Some(after) = after.filter(|a| before != Some(*a)) {
            out.push(Change { kind, id: id.to_owned(), field, before, after });
        }
    };
    // Every value of the entities the event concerns; the ones it left equal are not listed.
    let (user, item) = event.entities();
    if let Some(user) = user {
        push(EntityKind::User, names.user_name(user), ChangeField::Balance, b0, b1);
    }
    if let Some(item) = item {
        push(EntityKind::Item, names.item_name(item), ChangeField::Price, p0, p1);
        push(EntityKind::Item, names.item_name(item), ChangeField::Stock, s0, s1);
    }
    Ok(out)
}

/// Read models at a point of history: revenue and orders so far, orders and spend per user, units sold
/// per item. Sums are u128: a long history may pass MAX.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadModels {
    /// Net of refunds.
    pub revenue: u128,
    pub orders: u64,
    pub refunds: u64,
    /// Indexed by `UserId`: (orders, spend net of refunds).
    pub per_user: Vec<(u64, u128)>,
    /// Indexed by `ItemId`: units sold, net of refunds.
    pub sold: Vec<u128>,
    /// Indexed by `UserId`: refunds received.
    pub refunds_per_user: Vec<u64>,
}

impl ReadModels {
    /// Folds one event in (only orders and refunds count; a refund takes its order back out).
    pub fn fold(&mut self, event: &Event) {
        let (user, item, qty, total, refund) = match *event {
            Event::OrderPlaced { user, item, qty, total, .. } => (user, item, qty, total, false),
            Event::Refunded { user, item, qty, total, .. } => (user, item, qty, total, true),
            _ => return,
        };
        let (u, i) = (user.0 as usize, item.0 as usize);
        if u >= self.per_user.len() {
            self.per_user.resize(u + 1, (0, 0));
        }
        if i >= self.sold.len() {
            self.sold.resize(i + 1, 0);
        }
        let (total, qty) = (total.0 as u128, qty.0 as u128);
        if refund {
            // A refund gives back an order counted before, so these never go below zero.
            self.revenue = self.revenue.saturating_sub(total);
            self.refunds += 1;
            if u >= self.refunds_per_user.len() {
                self.refunds_per_user.resize(u + 1, 0);
            }
            if let Some(slot) = self.refunds_per_user.get_mut(u) {
                *slot += 1;
            }
        } else {
            self.revenue += total;
            self.orders += 1;
        }
        if let Some(slot) = self.per_user.get_mut(u) {
            if refund {
                slot.1 = slot.1.saturating_sub(total);
            } else {
                slot.0 += 1;
                slot.1 += total;
            }
        }
        if let Some(slot) = self.sold.get_mut(i) {
            *slot = if refund { slot.saturating_sub(qty) } else { *slot + qty };
        }
    }

    /// The `n` users who spent most: (user, orders, spend), most first, ties by id order of index.
    pub fn top_spenders(&self, n: usize) -> Vec<(crate::names::UserId, u64, u128)> {
        let mut all: Vec<_> = self
            .per_user
            .iter()
            .enumerate()
            .filter(|(_, (orders, _))| *orders > 0)
            .map(|(ix, (orders, spend))| (crate::names::UserId(ix as u32), *orders, *spend))
            .collect();
        let order = |a: &(crate::names::UserId, u64, u128), b: &(crate::names::UserId, u64, u128)| b.2.cmp(&a.2).then(a.0.cmp(&b.0));
        // Only the first n need sorting: with 100,000 customers a full sort on every move costs milliseconds.
        if n > 0 && all.len() > n {
            all.select_nth_unstable_by(n - 1, order);
            all.truncate(n);
        }
        all.sort_by(order);
        all.truncate(n);
        all
    }

    /// How many refunds `user` received.
    pub fn refunds_of(&self, user: crate::names::UserId) -> u64 {
        self.refunds_per_user.get(user.0 as usize).copied().unwrap_or(0)
    }

    /// The `n` items sold most: (item, units), most first.
    pub fn top_sellers(&self, n: usize) -> Vec<(crate::names::ItemId, u128)> {
        let mut all: Vec<_> = self
            .sold
            .iter()
            .enumerate()
            .filter(|(_, units)| **units > 0)
            .map(|(ix, units)| (crate::names::ItemId(ix as u32), *units))
            .collect();
        let order = |a: &(crate::names::ItemId, u128), b: &(crate::names::ItemId, u128)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if n > 0 && all.len() > n {
            all.select_nth_unstable_by(n - 1, order);
            all.truncate(n);
        }
        all.sort_by(order);
        all.truncate(n);
        all
    }
}

/// Events between read-model checkpoints: each holds per-user and per-item sums, so they are sparser than
/// the state's.
pub const READ_MODEL_INTERVAL: u64 = 4096;

/// Memory for the read models' checkpoints at most: each holds sums per user, 40 bytes a user.
pub const READ_MODEL_BUDGET: usize = 96 << 20;

impl crate::checkpoints::Weight for ReadModels {
    fn weight(&self) -> usize {
        self.per_user.len() * std::mem::size_of::<(u64, u128)>()
            + self.sold.len() * 16
            + self.refunds_per_user.len() * 8
            + std::mem::size_of::<ReadModels>()
    }
}

/// The read models at any k, by checkpoints every [`READ_MODEL_INTERVAL`] events (more, once they reach
/// [`READ_MODEL_BUDGET`]) plus a short fold.
#[derive(Clone, Debug)]
pub struct Series {
    checkpoints: crate::checkpoints::Checkpoints<ReadModels>,
}

impl Default for Series {
    fn default() -> Self {
        Self { checkpoints: crate::checkpoints::Checkpoints::new(READ_MODEL_INTERVAL, READ_MODEL_BUDGET, ReadModels::default()) }
    }
}

impl Series {
    /// Adds checkpoints for events appended to `log` since the last call.
    pub fn catch_up(&mut self, log: &Log) {
        let Some((done, last)) = self.checkpoints.last() else { return };
        if log.len() < done + self.checkpoints.interval() {
            return;
        }
        let mut acc = last.clone();
        for (ix, event) in log.events().iter().enumerate().skip(done as usize) {
            acc.fold(event);
            if self.checkpoints.wants(ix as u64 + 1) {
                self.checkpoints.push(acc.clone());
            }
        }
    }

    /// The read models of the log's first `len` events (a branch's base), copying only the checkpoints needed.
    pub fn prefix(&self, len: u64) -> Series {
        Series { checkpoints: self.checkpoints.prefix(len) }
    }

    pub fn memory_bytes(&self) -> usize {
        self.checkpoints.memory_bytes()
    }

    /// The read models after the first `k` events.
    pub fn at(&self, log: &Log, k: u64) -> ReadModels {
        let mut out = ReadModels::default();
        self.move_to(log, None, k, &mut out);
        out
    }

    /// Moves `out`, the read models after the first `from` events (None: unknown), to those after the first
    /// `k`: folding on from `out` when it is at or past the nearest checkpoint (a drag of the timeline),
    /// otherwise from a copy of that checkpoint into `out`'s own memory (a far jump allocates nothing).
    pub fn move_to(&self, log: &Log, from: Option<u64>, k: u64, out: &mut ReadModels) {
        let k = k.min(log.len());
        let Some((checkpoint_seq, checkpoint)) = self.checkpoints.at_or_before(k) else {
            *out = ReadModels::default();
            return;
        };
        let start = match from {
            Some(from) if (checkpoint_seq..=k).contains(&from) => from,
            _ => {
                out.clone_from(checkpoint);
                checkpoint_seq
            }
        };
        for event in log.events().iter().take(k as usize).skip(start as usize) {
            out.fold(event);
        }
    }
}

/// One entity's values over the whole log, as a step function: a point at every event that changed it.
/// For a user `value` is the balance (`extra` unused); for an item `value` is the stock and `extra` the price.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntitySeries {
    /// (seq, value, extra), seq ascending.
    pub points: Vec<(u64, u64, u64)>,
    /// Events in the log when the series was built.
    pub len: u64,
}

/// One bucket of a downsampled series: the range of seqs it covers and the extremes of `value` there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub from_seq: u64,
    pub to_seq: u64,
    pub min: u64,
    pub max: u64,
}

/// The series' points over `events` (seq, event), which hold at least all of the entity's own events in order.
fn points_of(entity: Entity, events: impl Iterator<Item = (u64, Event)>) -> Vec<(u64, u64, u64)> {
    let mut values = EntityValues::default();
    let mut points = Vec::new();
    for (seq, event) in events {
        if values.follow(entity, &event) {
            points.push((seq, values.value, values.price));
        }
    }
    points
}

impl EntitySeries {
    /// Builds the series in one pass over the log. Events are valid (they are in a `Log`), so following the
    /// entity's own events is enough: no full state is needed.
    pub fn build(log: &Log, entity: Entity) -> Self {
        Self { points: points_of(entity, (1..).zip(log.events().iter().copied())), len: log.len() }
    }

    /// The same series from a [`BlameIndex`] caught up with `log`: only the entity's own events are read, so
    /// a chart of one user costs its few events, not a pass over a million.
    pub fn from_index(log: &Log, index: &BlameIndex, entity: Entity) -> Self {
        let own = index.events_of(entity).iter().filter_map(|seq| log.get(u64::from(*seq))).map(|at| (at.seq, at.event));
        Self { points: points_of(entity, own), len: log.len() }
    }

    /// The (value, extra) after the first `k` events; `None` before the entity existed.
    pub fn at(&self, k: u64) -> Option<(u64, u64)> {
        let n = self.points.partition_point(|p| p.0 <= k);
        n.checked_sub(1).and_then(|i| self.points.get(i)).map(|p| (p.1, p.2))
    }

    /// At most `buckets` buckets over seqs 1..=len, each with the min and max of the value over its range
    /// (so spikes survive downsampling). Buckets before the entity existed are left out.
    pub fn downsample(&self, buckets: usize) -> Vec<Bucket> {
        let width = self.len.div_ceil(buckets.max(1) as u64).max(1);
        let mut out = Vec::new();
        let (mut next, mut carried) = (0usize, None::<u64>);
        let mut from = 1;
        while from <= self.len {
            let to = (from + width - 1).min(self.len);
            // The value carried in holds at `from` unless an event changes it right there.
            let changes_at_start = self.points.get(next).is_some_and(|p| p.0 == from);
            let mut range = if changes_at_start { None } else { carried.map(|v| (v, v)) };
            while let Some(p) = self.points.get(next).filter(|p| p.0 <= to) {
                range = Some(range.map_or((p.1, p.1), |(lo, hi)| (lo.min(p.1), hi.max(p.1))));
                carried = Some(p.1);
                next += 1;
            }
            if let Some((min, max)) = range {
                out.push(Bucket { from_seq: from, to_seq: to, min, max });
            }
            from = to + 1;
        }
        out
    }
}

/// What the event log is filtered by: an event type and/or ids (an event matches when it names one of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// `ToppedUp`, `ItemAdded` or `OrderPlaced`; `None` for every type.
    pub kind: Option<String>,
    pub user: Option<crate::names::UserId>,
    pub item: Option<crate::names::ItemId>,
    /// An id was given but names no user or item: nothing matches.
    pub unknown_id: bool,
}

impl LogFilter {
    pub fn is_active(&self) -> bool {
        self.kind.is_some() || self.user.is_some() || self.item.is_some() || self.unknown_id
    }

    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &Event) -> bool {
        if self.unknown_id || self.kind.as_deref().is_some_and(|k| k != event.type_name()) {
            return false;
        }
        if self.user.is_none() && self.item.is_none() {
            return true;
        }
        let (user, item) = event.entities();
        (self.user.is_some() && user == self.user) || (self.item.is_some() && item == self.item)
    }

    /// The sequence numbers of the matching events, ascending.
    pub fn apply(&self, log: &Log) -> Vec<u64> {
        log.events()
            .iter()
            .enumerate()
            .filter(|(_, e)| self.matches(e))
            .map(|(ix, _)| ix as u64 + 1)
            .collect()
    }
}

