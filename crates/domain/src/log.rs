use crate::chunk::{decode_chunk, ChunkError};
use crate::event::{Envelope, Event};
use crate::names::Names;
use crate::orders::{check_refund, Orders};
use crate::rejection::Rejection;
use crate::state::State;
use rustc_hash::FxHashMap;
use std::fmt;
use std::sync::Arc;

/// The event log in memory: events and timestamps in columns (seq = index + 1), beside the name tables they
/// refer to. Only events that were applied to a state in order get in, so the log is always a valid history.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Shared by a log and its copies (a branch's prefix) until one of them learns a name: with 100,000 users
    /// a copy of the tables costs more than a copy of half a million events.
    names: Arc<Names>,
    events: Vec<Event>,
    timestamps: Vec<u64>,
    /// Refunded orders: order seq → the refund's seq. Kept here, not in the state, so that time travel's
    /// checkpoints stay the size of the state; a refund is checked against its order as it enters the log.
    refunds: FxHashMap<u64, u64>,
}

impl Orders for Log {
    fn order(&self, seq: u64) -> Option<Event> {
        self.get(seq).map(|e| e.event).filter(|e| matches!(e, Event::OrderPlaced { .. }))
    }

    fn refund_of(&self, seq: u64) -> Option<u64> {
        self.refunds.get(&seq).copied()
    }
}

/// Why a stored sequence of events is not a valid continuation of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogError {
    Gap { expected: u64, found: u64 },
    Broken { seq: u64, rejection: Rejection },
    Damaged { first_seq: u64, error: ChunkError },
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Gap { expected, found } => {
                write!(f, "events are missing: expected event {expected}, found {found}")
            }
            LogError::Broken { seq, rejection } => write!(f, "event {seq} breaks a rule: {rejection}"),
            LogError::Damaged { first_seq, error } => {
                write!(f, "stored events from {first_seq} on are damaged: {error}")
            }
        }
    }
}

impl std::error::Error for LogError {}

impl Log {
    pub fn new() -> Self {
        Self::default()
    }

    /// A log around existing name tables (for example those restored from a snapshot).
    pub fn with_names(names: Names) -> Self {
        Self { names: Arc::new(names), ..Self::default() }
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The name tables as shared with this log: a reader that holds them can encode events after the log
    /// has moved on (a name learnt meanwhile copies the tables for the log, never for the reader).
    pub fn names_shared(&self) -> Arc<Names> {
        Arc::clone(&self.names)
    }

    pub fn names_mut(&mut self) -> &mut Names {
        Arc::make_mut(&mut self.names)
    }

    pub fn len(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn timestamps(&self) -> &[u64] {
        &self.timestamps
    }

    /// The event with sequence number `seq` (1-based).
    pub fn get(&self, seq: u64) -> Option<Envelope> {
        let ix = usize::try_from(seq.checked_sub(1)?).ok()?;
        Some(Envelope { seq, ts: *self.timestamps.get(ix)?, event: *self.events.get(ix)? })
    }

    /// Applies `event` to `live` (which must be the state after this whole log) and records it.
    pub fn push(&mut self, live: &mut State, ts: u64, event: Event) -> Result<(), Rejection> {
        check_refund(self, &event)?;
        live.apply(&self.names, &event)?;
        self.events.push(event);
        self.timestamps.push(ts);
        self.note_refund(&event);
        Ok(())
    }

    /// Decides `command` against `live` (the state after this whole log), with this log's orders at hand.
    pub fn decide(&mut self, live: &State, command: &crate::command::Command) -> Result<Event, Rejection> {
        let orders = OrderView { events: &self.events, refunds: &self.refunds };
        crate::command::decide(live, Arc::make_mut(&mut self.names), &orders, command)
    }

    fn note_refund(&mut self, event: &Event) {
        if let Event::Refunded { order, .. } = *event {
            self.refunds.insert(order, self.events.len() as u64);
        }
    }

    /// Checks that `events` would continue this log (whose state after it is `live`) without changing
    /// either: each keeps the rules after the ones before it, and a refund names an order of the log or of
    /// `events` that was not refunded yet. The sync server checks a page's append this way before it
    /// stores anything.
    pub fn check_continuation(&self, live: &State, events: &[Event]) -> Result<(), LogError> {
        let broken = |ix: usize, rejection| LogError::Broken { seq: self.len() + ix as u64 + 1, rejection };
        if let [event] = events {
            // One event (a click): no copy of the state needed.
            return check_refund(self, event).and_then(|()| live.check(&self.names, event)).map_err(|r| broken(0, r));
        }
        let mut scratch = live.clone();
        let mut batch = BatchOrders { log: self, batch: events, refunds: FxHashMap::default() };
        for (ix, event) in events.iter().enumerate() {
            check_refund(&batch, event).and_then(|()| scratch.apply(&self.names, event)).map_err(|r| broken(ix, r))?;
            if let Event::Refunded { order, .. } = *event {
                batch.refunds.insert(order, self.len() + ix as u64 + 1);
            }
        }
        Ok(())
    }

    /// Decodes a stored chunk that continues this log and applies its events to `live`. On error, the log and
    /// `live` keep every event before the first bad one.
    pub fn extend_from_chunk(&mut self, live: &mut State, bytes: &[u8]) -> Result<u64, LogError> {
        self.extend_from_chunk_until(live, bytes, u64::MAX)
    }

    /// As [`Log::extend_from_chunk`], keeping only events up to `last_seq`: a stored record may reach past
    /// the stored head (a later record, or the head itself, says where the log really ends).
    pub fn extend_from_chunk_until(&mut self, live: &mut State, bytes: &[u8], last_seq: u64) -> Result<u64, LogError> {
        let start = self.events.len();
        let expected = self.len() + 1;
        let info = decode_chunk(bytes, Arc::make_mut(&mut self.names), &mut self.events, &mut self.timestamps)
            .map_err(|error| LogError::Damaged { first_seq: expected, error })?;
        if info.first_seq != expected {
            self.events.truncate(start);
            self.timestamps.truncate(start);
            return Err(LogError::Gap { expected, found: info.first_seq });
        }
        let keep = usize::try_from(last_seq).unwrap_or(usize::MAX);
        if self.events.len() > keep {
            self.events.truncate(keep.max(start));
            self.timestamps.truncate(keep.max(start));
        }
        self.check_tail(live, start)?;
        Ok(self.events.len().saturating_sub(start) as u64)
    }

    /// Applies events from index `start` on to `live`; drops the first one that breaks a rule and all after.
    fn check_tail(&mut self, live: &mut State, start: usize) -> Result<(), LogError> {
        for ix in start..self.events.len() {
            let Some(event) = self.events.get(ix).copied() else { break };
            let orders = OrderView { events: self.events.get(..ix).unwrap_or_default(), refunds: &self.refunds };
            let applied = check_refund(&orders, &event).and_then(|()| live.apply(&self.names, &event));
            if let Err(rejection) = applied {
                self.events.truncate(ix);
                self.timestamps.truncate(ix);
                return Err(LogError::Broken { seq: ix as u64 + 1, rejection });
            }
            if let Event::Refunded { order, .. } = event {
                self.refunds.insert(order, ix as u64 + 1);
            }
        }
        Ok(())
    }

    /// Replays the whole log into a new state.
    pub fn replay(&self) -> Result<State, LogError> {
        self.replay_prefix(self.len())
    }

    /// The state after the first `k` events, by replay from the start.
    pub fn replay_prefix(&self, k: u64) -> Result<State, LogError> {
        let mut state = State::new();
        for (ix, event) in self.events.iter().take(k as usize).enumerate() {
            state
                .apply(&self.names, event)
                .map_err(|rejection| LogError::Broken { seq: ix as u64 + 1, rejection })?;
        }
        Ok(state)
    }

    /// A copy of the first `k` events (all of them if `k` is past the end), as the log was then: the same name
    /// tables (a name without an entity is absent from every state), and only the refunds among those events,
    /// so an order refunded later can be refunded again on the copy.
    pub fn prefix(&self, k: u64) -> Log {
        let k = usize::try_from(k).unwrap_or(usize::MAX).min(self.events.len());
        let seq_k = k as u64;
        Log {
            names: self.names.clone(),
            events: self.events.get(..k).unwrap_or_default().to_vec(),
            timestamps: self.timestamps.get(..k).unwrap_or_default().to_vec(),
            refunds: self.refunds.iter().filter(|(_, refund)| **refund <= seq_k).map(|(o, r)| (*o, *r)).collect(),
        }
    }

    /// Events `from..=to` (1-based) with their timestamps, for encoding into a chunk.
    pub fn range(&self, from_seq: u64, count: usize) -> (&[Event], &[u64]) {
        let start = (from_seq.saturating_sub(1) as usize).min(self.events.len());
        let end = start.saturating_add(count).min(self.events.len());
        (&self.events[start..end], &self.timestamps[start..end])
    }
}

/// Applies the events of a stored chunk that come after `live.seq()` to `live`, without keeping them: the
/// fast path of restore (snapshot + tail). Returns how many events were applied.
pub fn apply_chunk_tail(live: &mut State, names: &mut Names, bytes: &[u8]) -> Result<u64, LogError> {
    apply_chunk_tail_until(live, names, bytes, u64::MAX)
}

/// As [`apply_chunk_tail`], applying no event after `last_seq`.
pub fn apply_chunk_tail_until(live: &mut State, names: &mut Names, bytes: &[u8], last_seq: u64) -> Result<u64, LogError> {
    let (mut events, mut timestamps) = (Vec::new(), Vec::new());
    let expected = live.seq() + 1;
    let info = decode_chunk(bytes, names, &mut events, &mut timestamps)
        .map_err(|error| LogError::Damaged { first_seq: expected, error })?;
    let skip = expected.saturating_sub(info.first_seq);
    if info.first_seq > expected {
        return Err(LogError::Gap { expected, found: info.first_seq });
    }
    let mut applied = 0;
    for event in events.iter().skip(skip as usize) {
        if live.seq() >= last_seq {
            break;
        }
        live.apply(names, event)
            .map_err(|rejection| LogError::Broken { seq: live.seq() + 1, rejection })?;
        applied += 1;
    }
    Ok(applied)
}

/// The orders of a log's first events, borrowed apart from its names (so a decision can intern names).
struct OrderView<'a> {
    events: &'a [Event],
    refunds: &'a FxHashMap<u64, u64>,
}

impl Orders for OrderView<'_> {
    fn order(&self, seq: u64) -> Option<Event> {
        let ix = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.events.get(ix).copied().filter(|e| matches!(e, Event::OrderPlaced { .. }))
    }

    fn refund_of(&self, seq: u64) -> Option<u64> {
        self.refunds.get(&seq).copied()
    }
}

/// The orders of a log followed by a batch of events not yet in it.
struct BatchOrders<'a> {
    log: &'a Log,
    batch: &'a [Event],
    /// Refunds within the batch.
    refunds: FxHashMap<u64, u64>,
}

impl Orders for BatchOrders<'_> {
    fn order(&self, seq: u64) -> Option<Event> {
        let in_batch = seq.checked_sub(self.log.len() + 1).and_then(|ix| usize::try_from(ix).ok());
        match in_batch {
            Some(ix) => self.batch.get(ix).copied().filter(|e| matches!(e, Event::OrderPlaced { .. })),
            None => self.log.order(seq),
        }
    }

    fn refund_of(&self, seq: u64) -> Option<u64> {
        self.log.refund_of(seq).or_else(|| self.refunds.get(&seq).copied())
    }
}
