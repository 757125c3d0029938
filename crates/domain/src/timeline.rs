//! Time travel: the state after any prefix k of the log, fast.
//!
//! Checkpoints every `interval` events plus a short replay. With the default interval of 1,024 a prefix
//! state costs one copy of the dense arrays and at most 1,023 applies; the memory cost is one state per
//! checkpoint: (users + 2 × items) × 8 bytes each, about 13 KB for 1,000 users and 300 items, so 12.5 MB for
//! a million events. The checkpoints keep within a budget ([`TIMELINE_BUDGET`]): with 100,000 users the
//! interval grows to 16,384 events, so memory stays at tens of megabytes and a far move folds at most that
//! many events.

use crate::checkpoints::{Checkpoints, Weight};
use crate::log::{Log, LogError};
use crate::state::State;

pub const DEFAULT_INTERVAL: u64 = 1024;
/// Memory for the checkpoints at most (about 80 states of 100,000 users): past it the interval doubles.
pub const TIMELINE_BUDGET: usize = 64 << 20;

impl Weight for State {
    fn weight(&self) -> usize {
        let (b, p, s) = self.parts();
        (b.len() + p.len() + s.len()) * 8 + std::mem::size_of::<State>()
    }
}

#[derive(Clone, Debug)]
pub struct Timeline {
    checkpoints: Checkpoints<State>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new(DEFAULT_INTERVAL)
    }
}

impl Timeline {
    pub fn new(interval: u64) -> Self {
        Self::with_budget(interval, TIMELINE_BUDGET)
    }

    /// A timeline whose checkpoints take at most about `budget` bytes.
    pub fn with_budget(interval: u64, budget: usize) -> Self {
        Self { checkpoints: Checkpoints::new(interval, budget, State::new()) }
    }

    /// Builds the checkpoints for a whole log.
    pub fn build(log: &Log) -> Result<Self, LogError> {
        let mut timeline = Self::default();
        timeline.catch_up(log)?;
        Ok(timeline)
    }

    /// Events between checkpoints now (it grows as the checkpoints reach their memory budget).
    pub fn interval(&self) -> u64 {
        self.checkpoints.interval()
    }

    /// Adds the checkpoints for events appended to `log` since the last call.
    pub fn catch_up(&mut self, log: &Log) -> Result<(), LogError> {
        let Some((last_seq, last)) = self.checkpoints.last() else { return Ok(()) };
        if log.len() < last_seq + self.checkpoints.interval() {
            return Ok(());
        }
        let mut state = last.clone();
        for (ix, event) in log.events().iter().enumerate().skip(state.seq() as usize) {
            state
                .apply(log.names(), event)
                .map_err(|rejection| LogError::Broken { seq: ix as u64 + 1, rejection })?;
            if self.checkpoints.wants(state.seq()) {
                self.checkpoints.push(state.clone());
            }
        }
        Ok(())
    }

    /// Forgets checkpoints past `len` events (after the log was replaced or cleared).
    pub fn truncate(&mut self, len: u64) {
        self.checkpoints.truncate(len);
    }

    /// The timeline of the log's first `len` events (a branch's base), copying only the checkpoints it needs.
    pub fn prefix(&self, len: u64) -> Timeline {
        Timeline { checkpoints: self.checkpoints.prefix(len) }
    }

    /// Memory held by the checkpoints, in bytes (approximate).
    pub fn memory_bytes(&self) -> usize {
        self.checkpoints.memory_bytes()
    }

    /// Puts into `out` the state after the first `k` events of `log` (k is capped at the log's length).
    /// When `out` already holds a nearby earlier state, it replays forward from there instead.
    pub fn state_at(&self, log: &Log, k: u64, out: &mut State) -> Result<(), LogError> {
        let k = k.min(log.len());
        let Some((checkpoint_seq, checkpoint)) = self.checkpoints.at_or_before(k) else {
            return Err(LogError::Gap { expected: 0, found: k });
        };
        let from_out = out.seq() <= k && out.seq() >= checkpoint_seq;
        if !from_out {
            out.clone_from_state(checkpoint);
        }
        let start = out.seq() as usize;
        for (ix, event) in log.events().iter().enumerate().take(k as usize).skip(start) {
            out.apply(log.names(), event)
                .map_err(|rejection| LogError::Broken { seq: ix as u64 + 1, rejection })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::generate_log;

    #[test]
    fn a_timeline_over_its_memory_budget_thins_its_checkpoints_and_still_gives_every_prefix() -> Result<(), Box<dyn std::error::Error>> {
        let (log, _) = generate_log(11, 5_000)?;
        let mut timeline = Timeline::with_budget(16, 64 * 1024);
        // Built in pieces, as a page's log grows.
        for n in [700, 2_000, 5_000] {
            timeline.catch_up(&log.prefix(n))?;
        }
        assert!(timeline.interval() > 16, "the budget made the interval grow");
        assert!(timeline.memory_bytes() <= 64 * 1024);
        let mut out = State::new();
        for k in [0, 1, 15, 16, 17, 999, 1_024, 2_500, 4_999, 5_000] {
            timeline.state_at(&log, k, &mut State::new())?;
            timeline.state_at(&log, k, &mut out)?;
            assert_eq!(out.listing(log.names()), log.replay_prefix(k)?.listing(log.names()), "k = {k}");
        }
        let prefix = timeline.prefix(2_500);
        prefix.state_at(&log, 2_000, &mut out)?;
        assert_eq!(out.listing(log.names()), log.replay_prefix(2_000)?.listing(log.names()));
        Ok(())
    }
}
