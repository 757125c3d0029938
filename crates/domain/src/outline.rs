//! The log's outline: running totals at every 64th event, kept as the log grows, so the whole-log charts (the
//! density strip and revenue over time) are drawn from a few hundred short scans instead of a pass over a
//! million events on every append, and a what-if branch takes the real log's outline up to its base as is.

use crate::event::Event;
use crate::log::Log;

/// Which of the density strip's three kinds `event` is: 0 money (top-ups and withdrawals), 1 the warehouse
/// (restocks, write-offs, prices), 2 orders (orders and refunds).
fn density_kind(event: &Event) -> usize {
    match event {
        Event::ToppedUp { .. } | Event::Withdrawn { .. } => 0,
        Event::ItemAdded { .. } | Event::WrittenOff { .. } | Event::PriceSet { .. } => 1,
        Event::OrderPlaced { .. } | Event::Refunded { .. } => 2,
    }
}

/// Revenue so far after `event`, given the revenue before it: orders add their total, refunds take theirs
/// back.
fn revenue_after(revenue: u128, event: &Event) -> u128 {
    match event {
        Event::OrderPlaced { total, .. } => revenue.saturating_add(total.0 as u128),
        Event::Refunded { total, .. } => revenue.saturating_sub(total.0 as u128),
        _ => revenue,
    }
}

/// Events between two marks.
const STEP: usize = 64;

/// The running totals after one prefix of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mark {
    /// Events so far by kind: money, the warehouse, orders and refunds.
    kinds: [u32; 3],
    /// Revenue so far, net of refunds.
    revenue: u128,
}

impl Mark {
    fn add(&mut self, event: &Event) {
        let kind = density_kind(event);
        self.kinds[kind] = self.kinds[kind].saturating_add(1);
        self.revenue = revenue_after(self.revenue, event);
    }
}

/// Running totals after every [`STEP`] events of a log. Its answers are those of a pass over the whole log
/// (the property tests check them against one written apart), whether or not it has caught up with the log.
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

    #[test]
    fn the_outline_answers_alike_behind_the_log_caught_up_and_for_a_prefix() {
        let (log, _) = generate_log(7, 5_000).unwrap();
        let behind = LogOutline::default();
        let mut caught_up = LogOutline::default();
        caught_up.catch_up(&log);
        for buckets in [1, 7, 150, 200, 4_999, 5_000, 9_000] {
            let density = caught_up.density(&log, buckets);
            assert_eq!(density, behind.density(&log, buckets), "{buckets} buckets");
            assert_eq!(density.iter().map(|b| b[0] + b[1] + b[2]).sum::<u32>(), 5_000, "every event counted once");
            assert_eq!(caught_up.revenue_over_time(&log, buckets), behind.revenue_over_time(&log, buckets));
        }
        for base in [0, 1, 63, 64, 65, 2_500, 5_000] {
            let prefix = log.prefix(base);
            assert_eq!(caught_up.prefix(base).density(&prefix, 200), behind.density(&prefix, 200), "prefix {base}");
            assert_eq!(caught_up.prefix(base).revenue_over_time(&prefix, 150), behind.revenue_over_time(&prefix, 150));
        }
        assert!(LogOutline::default().density(&Log::new(), 200).iter().all(|b| *b == [0, 0, 0]));
    }
}
