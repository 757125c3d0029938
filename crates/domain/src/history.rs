//! History tools: what differs between two points of history (diff), which events made an entity what it is
//! (blame), and what-if branches that continue the log from an earlier point without touching it.

use crate::chunk::{decode_chunk, ChunkError};
use crate::command::Command;
use crate::event::Event;
use crate::log::{Log, LogError};
use crate::names::{ItemId, Names, NamesCheckpoint, UserId};
use crate::entity::{Change, ChangeField, Entity, EntityKind, EntityValues};
use crate::rejection::Rejection;
use crate::state::{State, ABSENT};
use crate::wire::WireError;

/// One value that differs between two points of history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Difference {
    pub entity: Entity,
    pub field: ChangeField,
    /// `None` when the entity did not exist at the earlier point.
    pub before: Option<u64>,
    pub after: u64,
}

/// The value in slot `ix` when it exists.
#[inline]
fn value(values: &[u64], ix: u32) -> Option<u64> {
    values.get(ix as usize).copied().filter(|v| *v != ABSENT)
}

/// (before, after) of slot `ix` when they differ. A value absent after is never listed: of two states of one
/// log, the later one has every entity of the earlier.
#[inline]
fn differs(before: &[u64], after: &[u64], ix: u32) -> Option<(Option<u64>, u64)> {
    let now = value(after, ix)?;
    let then = value(before, ix);
    (then != Some(now)).then_some((then, now))
}

/// Every value that differs between `before` and `after` (two states of one log, `before` the earlier): for
/// users their balance, for items price then stock; `before: None` when the entity did not exist in `before`.
/// Listed in the order of `users` then `items`: the caller passes the id order it keeps
/// ([`Names::users_in_id_order`]), so nothing is sorted here.
pub fn diff(before: &State, after: &State, users: &[UserId], items: &[ItemId]) -> Vec<Difference> {
    let (balances_then, prices_then, stocks_then) = before.parts();
    let (balances_now, prices_now, stocks_now) = after.parts();
    let mut out = Vec::new();
    for &user in users {
        if let Some((then, now)) = differs(balances_then, balances_now, user.0) {
            out.push(Difference { entity: Entity::User(user), field: ChangeField::Balance, before: then, after: now });
        }
    }
    for &item in items {
        let entity = Entity::Item(item);
        if let Some((then, now)) = differs(prices_then, prices_now, item.0) {
            out.push(Difference { entity, field: ChangeField::Price, before: then, after: now });
        }
        if let Some((then, now)) = differs(stocks_then, stocks_now, item.0) {
            out.push(Difference { entity, field: ChangeField::Stock, before: then, after: now });
        }
    }
    out
}

/// Every value that differs between the states of two logs, whose ids may mean different names (the real
/// log and a branch of it each learn names of their own): matched by name, listed as [`diff`] lists them, in
/// id order of `after`'s names. `before: None` when `before` has no such entity.
pub fn diff_across(before: (&Names, &State), after: (&Names, &State)) -> Vec<Change> {
    let (users, items) = (after.0.users_in_id_order(), after.0.items_in_id_order());
    let names = after.0;
    diff_across_in_order(before, after, &users, &items)
        .into_iter()
        .map(|d| {
            let (kind, id) = match d.entity {
                Entity::User(u) => (EntityKind::User, names.user_name(u)),
                Entity::Item(i) => (EntityKind::Item, names.item_name(i)),
            };
            Change { kind, id: id.to_owned(), field: d.field, before: d.before, after: d.after }
        })
        .collect()
}

/// As [`diff_across`], listing `after`'s entities in the order given (the caller's cached id order of
/// `after`'s names, so that nothing is sorted), each by its index in `after`'s names. An id that names the
/// same entity in both tables (a branch's tables start as a copy of the real log's) is compared by index;
/// only the others are looked up by name.
pub fn diff_across_in_order(before: (&Names, &State), after: (&Names, &State), users: &[UserId], items: &[ItemId]) -> Vec<Difference> {
    let ((names_then, then), (names_now, now)) = (before, after);
    // One table shared by both logs (a branch that has learned no name of its own): every index agrees.
    let one_table = std::ptr::eq(names_then, names_now);
    let mut out = Vec::new();
    let mut push = |entity, field, before: Option<u64>, after: Option<u64>| {
        if let Some(after) = after.filter(|a| before != Some(*a)) {
            out.push(Difference { entity, field, before, after });
        }
    };
    for &user in users {
        let name = names_now.user_name(user);
        let same = one_table || ((user.0 as usize) < names_then.user_count() && names_then.user_name(user) == name);
        let then_id = if same { Some(user) } else { names_then.user(name) };
        let before = then_id.and_then(|u| then.balance(u)).map(|m| m.0);
        push(Entity::User(user), ChangeField::Balance, before, now.balance(user).map(|m| m.0));
    }
    for &item in items {
        let name = names_now.item_name(item);
        let same = one_table || ((item.0 as usize) < names_then.item_count() && names_then.item_name(item) == name);
        let before = if same { Some(item) } else { names_then.item(name) };
        push(Entity::Item(item), ChangeField::Price, before.and_then(|i| then.price(i)).map(|m| m.0), now.price(item).map(|m| m.0));
        push(Entity::Item(item), ChangeField::Stock, before.and_then(|i| then.stock(i)).map(|q| q.0), now.stock(item).map(|q| q.0));
    }
    out
}

/// How many values [`diff`] lists for every user and item: one pass over the dense arrays, no id order and
/// no allocation.
pub fn diff_count(before: &State, after: &State) -> u64 {
    let (balances_then, prices_then, stocks_then) = before.parts();
    let (balances_now, prices_now, stocks_now) = after.parts();
    count_differing(balances_then, balances_now)
        + count_differing(prices_then, prices_now)
        + count_differing(stocks_then, stocks_now)
}

fn count_differing(before: &[u64], after: &[u64]) -> u64 {
    let both = before.iter().zip(after).filter(|(then, now)| **now != ABSENT && now != then).count();
    // Slots past the end of `before` are entities it did not have yet.
    let new = after.get(before.len()..).unwrap_or_default().iter().filter(|now| **now != ABSENT).count();
    (both + new) as u64
}

/// One value an event changed, as blame lists it: `before` is `None` when that event created the entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlameLine {
    pub seq: u64,
    pub field: ChangeField,
    pub before: Option<u64>,
    pub after: u64,
}

/// For each user and item, the sequence numbers of the events that touched it, built incrementally as the
/// log grows. Blame and an entity's chart then read only the entity's own events instead of the whole log.
///
/// Seqs are stored as u32, half the memory of u64: a log held in memory cannot reach 2^32 events (40 bytes
/// each, 170 GB), and the index stops there rather than wrap.
#[derive(Clone, Debug, Default)]
pub struct BlameIndex {
    /// Events of the log indexed so far (its first ones).
    indexed: u64,
    /// Indexed by `UserId`, then seqs ascending.
    users: Vec<Vec<u32>>,
    /// Indexed by `ItemId`, then seqs ascending.
    items: Vec<Vec<u32>>,
}

/// New events past which [`BlameIndex::catch_up`] counts before it indexes.
const RESERVE_ABOVE: usize = 4096;

fn note(lists: &mut [Vec<u32>], ix: u32, seq: u32) {
    if let Some(list) = lists.get_mut(ix as usize) {
        list.push(seq);
    }
}

impl BlameIndex {
    /// The index of a whole log.
    pub fn build(log: &Log) -> Self {
        let mut index = Self::default();
        index.catch_up(log);
        index
    }

    /// Indexes the events appended to `log` since the last call. A log shorter than what was indexed has been
    /// replaced: the events past its end are forgotten first (see [`BlameIndex::truncate`]).
    pub fn catch_up(&mut self, log: &Log) {
        if log.len() < self.indexed {
            self.truncate(log.len());
        }
        // Every id an event names is in the log's tables, so sizing to them once keeps the loop to pushes.
        let (users, items) = (log.names().user_count(), log.names().item_count());
        if self.users.len() < users {
            self.users.resize_with(users, Vec::new);
        }
        if self.items.len() < items {
            self.items.resize_with(items, Vec::new);
        }
        let start = usize::try_from(self.indexed).unwrap_or(usize::MAX);
        let new = log.events().get(start..).unwrap_or_default();
        if new.len() > RESERVE_ABOVE {
            self.reserve_for(new);
        }
        for (ix, event) in (self.indexed..).zip(new) {
            let Some(seq) = ix.checked_add(1).and_then(|seq| u32::try_from(seq).ok()) else { break };
            let (user, item) = event.entities();
            if let Some(user) = user {
                note(&mut self.users, user.0, seq);
            }
            if let Some(item) = item {
                note(&mut self.items, item.0, seq);
            }
            self.indexed = u64::from(seq);
        }
    }

    /// Reserves room for `events` in every list at once: growing 100,000 lists by doubling while indexing a
    /// whole log costs more than counting first.
    fn reserve_for(&mut self, events: &[Event]) {
        let (mut users, mut items) = (vec![0usize; self.users.len()], vec![0usize; self.items.len()]);
        for event in events {
            let (user, item) = event.entities();
            if let Some(n) = user.and_then(|u| users.get_mut(u.0 as usize)) {
                *n += 1;
            }
            if let Some(n) = item.and_then(|i| items.get_mut(i.0 as usize)) {
                *n += 1;
            }
        }
        for (list, n) in self.users.iter_mut().zip(users).chain(self.items.iter_mut().zip(items)) {
            list.reserve(n);
        }
    }

    /// Forgets the events past the first `len`: for a log that was cut back or replaced by one that begins
    /// with the same events under the same name tables. A log replaced by another one (an import) needs a new
    /// index.
    pub fn truncate(&mut self, len: u64) {
        if len >= self.indexed {
            return;
        }
        let keep = u32::try_from(len).unwrap_or(u32::MAX);
        for list in self.users.iter_mut().chain(self.items.iter_mut()) {
            list.truncate(list.partition_point(|seq| *seq <= keep));
        }
        self.indexed = len;
    }

    /// How many of the log's events are indexed.
    pub fn indexed(&self) -> u64 {
        self.indexed
    }

    /// The seqs of the events that touched `entity`, ascending.
    pub fn events_of(&self, entity: Entity) -> &[u32] {
        let list = match entity {
            Entity::User(user) => self.users.get(user.0 as usize),
            Entity::Item(item) => self.items.get(item.0 as usize),
        };
        list.map_or(&[], Vec::as_slice)
    }

    /// Memory held by the index, in bytes (approximate).
    pub fn memory_bytes(&self) -> usize {
        let lists = self.users.iter().chain(&self.items);
        lists.map(|l| l.capacity() * 4 + std::mem::size_of::<Vec<u32>>()).sum()
    }

    /// Every event up to `upto` that changed one of the entity's values, newest first: one line per value
    /// changed (an event that changes price and stock gives two lines, price first). The values come from
    /// folding the entity's own events from its first, so the cost is its number of events, not the log's.
    pub fn blame(&self, log: &Log, entity: Entity, upto: u64) -> Vec<BlameLine> {
        let seqs = self.events_of(entity);
        let seqs = seqs.get(..seqs.partition_point(|seq| u64::from(*seq) <= upto)).unwrap_or_default();
        let mut lines = Vec::with_capacity(seqs.len());
        // The entity's first event created it: until then there is nothing before.
        let mut held: Option<EntityValues> = None;
        for at in seqs.iter().map_while(|seq| log.get(u64::from(*seq))) {
            let mut now = held.unwrap_or_default();
            if !now.follow(entity, &at.event) {
                continue;
            }
            let mut line = |field, before: Option<u64>, after: u64| {
                if before != Some(after) {
                    lines.push(BlameLine { seq: at.seq, field, before, after });
                }
            };
            // Oldest first, each event's lines in reverse: the list is reversed once at the end.
            match entity {
                Entity::User(_) => line(ChangeField::Balance, held.map(|h| h.value), now.value),
                Entity::Item(_) => {
                    line(ChangeField::Stock, held.map(|h| h.value), now.value);
                    line(ChangeField::Price, held.map(|h| h.price), now.price);
                }
            }
            held = Some(now);
        }
        lines.reverse();
        lines
    }
}

/// A what-if branch: events 1..=base of the real log, then its own events. Its log is a valid log of its
/// own, and its name tables are its own too (shared with the real log until either learns a name), so the
/// names it adds never reach the real log.
#[derive(Clone, Debug)]
pub struct Branch {
    pub name: String,
    /// Events of the real log the branch starts from.
    pub base: u64,
    log: Log,
    live: State,
}

impl Branch {
    /// Starts a branch at `base` (≤ `main.len()`) from the real log, given the state after `base` (the caller
    /// has it from its timeline): a copy, not a replay. A base past the log's end, or a state of another
    /// point, is refused as missing events.
    pub fn start(name: String, main: &Log, base: u64, state_at_base: State) -> Result<Branch, LogError> {
        if base > main.len() {
            return Err(LogError::Gap { expected: base, found: main.len() });
        }
        if state_at_base.seq() != base {
            return Err(LogError::Gap { expected: base, found: state_at_base.seq() });
        }
        Ok(Branch { name, base, log: main.prefix(base), live: state_at_base })
    }

    /// Rebuilds a saved branch: the real log's first `base` events, then its own events and timestamps, each
    /// checked by the rules; an error names the first bad event by its seq on the branch.
    ///
    /// `names` is the table the ids of `own_events` refer to (the branch's own, `log().names()`, or the one a
    /// saved chunk was decoded into). Ids are matched by name, since the real log may have learned other
    /// names under the same ids since the branch was saved.
    pub fn restore(
        name: String,
        main: &Log,
        base: u64,
        names: &Names,
        own_events: &[Event],
        own_timestamps: &[u64],
    ) -> Result<Branch, LogError> {
        if own_events.len() != own_timestamps.len() {
            // Events without timestamps, or the other way round: what a saved record cut short or overlong gives.
            let paired = own_events.len().min(own_timestamps.len()) as u64;
            let error = if own_events.len() > own_timestamps.len() { ChunkError::Wire(WireError::Truncated) } else { ChunkError::TrailingBytes };
            return Err(LogError::Damaged { first_seq: base.saturating_add(paired).saturating_add(1), error });
        }
        let mut branch = Self::start(name, main, base, main.replay_prefix(base)?)?;
        for ((seq, event), ts) in (base.saturating_add(1)..).zip(own_events).zip(own_timestamps) {
            let broken = |rejection| LogError::Broken { seq, rejection };
            let event = renamed(event, names, &mut branch.log).map_err(broken)?;
            branch.push(*ts, event).map_err(broken)?;
        }
        Ok(branch)
    }

    /// Rebuilds a branch saved as chunks of its own events (`encode_frames(branch.log().names(), base + 1,
    /// own events, own timestamps)`, split again by `decode_frames`): chunks name users and items by name, so
    /// a branch saved in another session, where ids were given out in another order, comes back the same.
    pub fn restore_from_chunks(name: String, main: &Log, base: u64, chunks: &[&[u8]]) -> Result<Branch, LogError> {
        let (mut names, mut events, mut timestamps) = (Names::new(), Vec::new(), Vec::new());
        for chunk in chunks {
            let expected = base.saturating_add(events.len() as u64).saturating_add(1);
            let info = decode_chunk(chunk, &mut names, &mut events, &mut timestamps).map_err(|error| LogError::Damaged { first_seq: expected, error })?;
            if info.first_seq != expected {
                return Err(LogError::Gap { expected, found: info.first_seq });
            }
        }
        Self::restore(name, main, base, &names, &events, &timestamps)
    }

    /// The branch's whole log: the real log's first `base` events, then its own.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The state after the branch's whole log.
    pub fn live(&self) -> &State {
        &self.live
    }

    /// The branch's own events and their timestamps (after `base`): what the caller saves.
    pub fn own(&self) -> (&[Event], &[u64]) {
        let base = usize::try_from(self.base).unwrap_or(usize::MAX);
        (self.log.events().get(base..).unwrap_or_default(), self.log.timestamps().get(base..).unwrap_or_default())
    }

    /// Decides `command` on the branch's live state and appends the event (a branch has no storage of its own
    /// here: the caller saves `own()`).
    pub fn submit(&mut self, command: &Command, ts: u64) -> Result<Event, Rejection> {
        let event = self.log.decide(&self.live, command)?;
        self.push(ts, event)?;
        Ok(event)
    }

    /// Decides `command` on the branch's live state without applying it (the caller keeps the event first,
    /// then [`Branch::push`]es it). Names it brings are interned; [`Branch::roll_back_names`] forgets them.
    pub fn decide(&mut self, command: &Command) -> Result<Event, Rejection> {
        self.log.decide(&self.live, command)
    }

    /// Forgets names interned since `checkpoint` (a decided event that was not kept).
    pub fn roll_back_names(&mut self, checkpoint: NamesCheckpoint) {
        // Only when names were learnt: the tables may be shared with the real log's, and a change copies them.
        if self.log.names().checkpoint() != checkpoint {
            self.log.names_mut().roll_back(checkpoint);
        }
    }

    /// Appends an event decided elsewhere (compensating events of a restore to a point), checked by the rules.
    pub fn push(&mut self, ts: u64, event: Event) -> Result<(), Rejection> {
        self.log.push(&mut self.live, ts, event)
    }
}

/// `event` with its ids taken from `from` to the names of `to` by name. An id `from` does not know is refused
/// as unknown. Names `to` knows already are only looked up, so its tables stay shared with the real log's.
fn renamed(event: &Event, from: &Names, to: &mut Log) -> Result<Event, Rejection> {
    let user = |to: &mut Log, id: UserId| {
        if id.0 as usize >= from.user_count() {
            return Err(Rejection::UnknownUser { user: format!("#{}", id.0) });
        }
        let name = from.user_name(id);
        match to.names().user(name) {
            Some(known) => Ok(known),
            None => to.names_mut().intern_user_bytes(name.as_bytes()).map_err(|error| Rejection::InvalidId { what: "user", id: name.to_owned(), error }),
        }
    };
    let item = |to: &mut Log, id: ItemId| {
        if id.0 as usize >= from.item_count() {
            return Err(Rejection::UnknownItem { item: format!("#{}", id.0) });
        }
        let name = from.item_name(id);
        match to.names().item(name) {
            Some(known) => Ok(known),
            None => to.names_mut().intern_item_bytes(name.as_bytes()).map_err(|error| Rejection::InvalidId { what: "item", id: name.to_owned(), error }),
        }
    };
    Ok(match *event {
        Event::ToppedUp { user: u, amount } => Event::ToppedUp { user: user(to, u)?, amount },
        Event::ItemAdded { item: i, price, qty } => Event::ItemAdded { item: item(to, i)?, price, qty },
        Event::OrderPlaced { user: u, item: i, qty, price, total } => {
            Event::OrderPlaced { user: user(to, u)?, item: item(to, i)?, qty, price, total }
        }
        Event::Refunded { order, user: u, item: i, qty, total } => {
            Event::Refunded { order, user: user(to, u)?, item: item(to, i)?, qty, total }
        }
        Event::Withdrawn { user: u, amount } => Event::Withdrawn { user: user(to, u)?, amount },
        Event::WrittenOff { item: i, qty } => Event::WrittenOff { item: item(to, i)?, qty },
        Event::PriceSet { item: i, price } => Event::PriceSet { item: item(to, i)?, price },
    })
}
