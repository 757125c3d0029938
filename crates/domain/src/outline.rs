//! The log's outline: running totals at every 64th event, kept as the log grows, so the whole-log charts (the
//! density strip and revenue over time) are drawn from a few hundred short scans instead of a pass over a
//! million events on every append, and a what-if branch takes the real log's outline up to its base as is.

use crate::event::Event;
use crate::log::Log;
use crate::projections::{density_kind, revenue_after};

/// Events between two marks.
const STEP: usize = 64;

/// The running totals after one prefix of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mark {
    /// Events so far by kind, as [`crate::density`] counts them: money, the warehouse, orders and refunds.
    kinds: [u32; 3],
    /// Revenue so far, net of refunds, as [`crate::revenue_over_time`] adds it up.
    revenue: u128,
}

impl Mark {
    fn add(&mut self, event: &Event) {
        let kind = density_kind(event);
        self.kinds[kind] = self.kinds[kind].saturating_add(1);
        self.revenue = revenue_after(self.revenue, event);
    }
}

/// Running totals after every [`STEP`] events of a log. Answers equal [`crate::density`] and
/// [`crate::revenue_over_time`] over the whole log, whether or not the outline has caught up with it.
#[derive(Clone, Debug, Default)]
pub struct LogOutline {
    /// `marks[k]`: the totals after the first `(k + 1) * STEP` events.
    marks: Vec<Mark>,
}

impl LogOutline {
    /// Marks the events appended since the last call.
    pub fn catch_up(&mut self, log: &Log) {
        let events = log.events();
        let mut mark = self.marks.last().copied().unwrap_or_default();
        let mut at = self.marks.len() * STEP;
        while at + STEP <= events.len() {
            for event in &events[at..at + STEP] {
                mark.add(event);
            }
            self.marks.push(mark);
            at += STEP;
        }
    }

    /// The outline of the log's first `base` events (a branch's, before its own events).
    pub fn prefix(&self, base: u64) -> LogOutline {
        let keep = (base as usize / STEP).min(self.marks.len());
        LogOutline { marks: self.marks[..keep].to_vec() }
    }

    /// The totals after the log's first `upto` events: the last mark at or below, then the events after it.
    fn at(&self, log: &Log, upto: usize) -> Mark {
        let events = log.events();
        let upto = upto.min(events.len());
        let marked = (upto / STEP).min(self.marks.len());
        let mut mark = marked.checked_sub(1).and_then(|k| self.marks.get(k)).copied().unwrap_or_default();
        for event in events.get(marked * STEP..upto).unwrap_or_default() {
            mark.add(event);
        }
        mark
    }

    /// Where bucket `b` of `n` equal slices of `len` events starts: the first event `ix` with
    /// `ix * n / len >= b`, as [`crate::density`] assigns events to buckets.
    fn bucket_start(b: usize, len: usize, n: usize) -> usize {
        (b * len).div_ceil(n)
    }

    fn buckets(len: usize, buckets: usize) -> usize {
        buckets.max(1).min(len.max(1))
    }

    /// Events per kind in each of `buckets` equal slices of the log; equals [`crate::density`].
    pub fn density(&self, log: &Log, buckets: usize) -> Vec<[u32; 3]> {
        let len = log.events().len();
        let n = Self::buckets(len, buckets);
        let mut before = Mark::default();
        (0..n)
            .map(|b| {
                let after = self.at(log, Self::bucket_start(b + 1, len, n));
                let counts = [0, 1, 2].map(|k| after.kinds[k] - before.kinds[k]);
                before = after;
                counts
            })
            .collect()
    }

    /// Revenue so far at the end of each of `buckets` equal slices of the log; equals
    /// [`crate::revenue_over_time`].
    pub fn revenue_over_time(&self, log: &Log, buckets: usize) -> Vec<u128> {
        let len = log.events().len();
        let n = Self::buckets(len, buckets);
        if len == 0 {
            return vec![0; n];
        }
        (0..n).map(|b| self.at(log, Self::bucket_start(b + 1, len, n)).revenue).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::generate::generate_log;
    use crate::projections::{density, revenue_over_time};

    #[test]
    fn the_outline_draws_what_a_pass_over_the_log_draws() {
        let (log, _) = generate_log(7, 5_000).unwrap();
        let mut outline = LogOutline::default();
        // Behind the log, caught up, and a branch's prefix of it: the same answers.
        for caught_up in [false, true] {
            if caught_up {
                outline.catch_up(&log);
            }
            for buckets in [1, 7, 150, 200, 4_999, 5_000, 9_000] {
                assert_eq!(outline.density(&log, buckets), density(&log, buckets), "{buckets} buckets");
                assert_eq!(outline.revenue_over_time(&log, buckets), revenue_over_time(&log, buckets), "{buckets} buckets");
            }
        }
        for base in [0, 1, 63, 64, 65, 2_500, 5_000] {
            let prefix = log.prefix(base);
            let outline = outline.prefix(base);
            assert_eq!(outline.density(&prefix, 200), density(&prefix, 200), "prefix {base}");
            assert_eq!(outline.revenue_over_time(&prefix, 150), revenue_over_time(&prefix, 150), "prefix {base}");
        }
        let empty = Log::new();
        assert_eq!(LogOutline::default().density(&empty, 200), density(&empty, 200));
        assert_eq!(LogOutline::default().revenue_over_time(&empty, 150), revenue_over_time(&empty, 150));
    }
}
