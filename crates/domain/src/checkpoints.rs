//! Checkpoints every `interval` events within a memory budget. Past the budget, every other checkpoint goes
//! and the interval doubles: the ones kept sit at multiples of the new interval already, so nothing is
//! recomputed. Memory stays bounded whatever the shop's size (a checkpoint of 100,000 users is 0.8 MB), and
//! a point of history still costs one checkpoint copy plus at most `interval` events folded.

use std::sync::Arc;

/// What a checkpoint costs in memory, roughly.
pub(crate) trait Weight {
    fn weight(&self) -> usize;
}

#[derive(Clone, Debug)]
pub(crate) struct Checkpoints<T> {
    interval: u64,
    /// `items[i]` is the value after `i × interval` events. Shared, so that a branch's copy costs pointers.
    items: Vec<Arc<T>>,
    bytes: usize,
    budget: usize,
}

impl<T: Clone + Weight> Checkpoints<T> {
    /// Checkpoints starting with `first` (the value after no event).
    pub fn new(interval: u64, budget: usize, first: T) -> Self {
        let bytes = first.weight();
        Self { interval: interval.max(1), items: vec![Arc::new(first)], bytes, budget }
    }

    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// The last checkpoint: its sequence number and value.
    pub fn last(&self) -> Option<(u64, &T)> {
        let i = self.items.len().checked_sub(1)?;
        Some((i as u64 * self.interval, self.items.get(i)?.as_ref()))
    }

    /// The last checkpoint at or before event `k`.
    pub fn at_or_before(&self, k: u64) -> Option<(u64, &T)> {
        let i = usize::try_from(k / self.interval).unwrap_or(usize::MAX).min(self.items.len().checked_sub(1)?);
        Some((i as u64 * self.interval, self.items.get(i)?.as_ref()))
    }

    /// Whether the value after event `seq` is the next checkpoint.
    #[inline]
    pub fn wants(&self, seq: u64) -> bool {
        seq.is_multiple_of(self.interval) && seq / self.interval == self.items.len() as u64
    }

    /// Keeps `value` (the value after the event [`Checkpoints::wants`] asked for), thinning if over budget.
    pub fn push(&mut self, value: T) {
        self.bytes += value.weight();
        self.items.push(Arc::new(value));
        while self.bytes > self.budget && self.items.len() > 2 {
            let mut i = 0usize;
            self.items.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.interval = self.interval.saturating_mul(2);
            self.bytes = self.items.iter().map(|c| c.weight()).sum();
        }
    }

    /// Forgets checkpoints past event `len`.
    pub fn truncate(&mut self, len: u64) {
        let keep = usize::try_from(len / self.interval).unwrap_or(usize::MAX).saturating_add(1);
        self.items.truncate(keep.max(1));
        self.bytes = self.items.iter().map(|c| c.weight()).sum();
    }

    /// The checkpoints up to event `len` (for a branch of the log at `len`), shared with these.
    pub fn prefix(&self, len: u64) -> Self {
        let keep = usize::try_from(len / self.interval).unwrap_or(usize::MAX).saturating_add(1).min(self.items.len());
        let items: Vec<Arc<T>> = self.items.get(..keep.max(1)).unwrap_or_default().to_vec();
        let bytes = items.iter().map(|c| c.weight()).sum();
        Self { interval: self.interval, items, bytes, budget: self.budget }
    }

    pub fn memory_bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Sum(u64);
    impl Weight for Sum {
        fn weight(&self) -> usize {
            10
        }
    }

    #[test]
    fn over_budget_every_other_checkpoint_goes_and_the_interval_doubles() {
        let mut c = Checkpoints::new(4, 45, Sum(0));
        let mut sum = 0;
        for seq in 1..=40u64 {
            sum += seq;
            if c.wants(seq) {
                c.push(Sum(sum));
            }
        }
        // 4 checkpoints of 10 bytes fit in 45: interval 4 → 8 → 16, at 0, 16 and 32.
        assert_eq!(c.interval(), 16);
        assert!(c.memory_bytes() <= 45);
        assert_eq!(c.at_or_before(40), Some((32, &Sum((1..=32).sum()))));
        assert_eq!(c.at_or_before(31), Some((16, &Sum((1..=16).sum()))));
        assert_eq!(c.at_or_before(3), Some((0, &Sum(0))));
        assert_eq!(c.prefix(20).last(), Some((16, &Sum((1..=16).sum()))));
        c.truncate(20);
        assert_eq!(c.last(), Some((16, &Sum((1..=16).sum()))));
        assert!(c.wants(32) && !c.wants(48));
    }
}
