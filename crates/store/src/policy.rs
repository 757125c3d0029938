//! When to write a snapshot: a small pure rule, tested beside it.

/// A snapshot every this many events keeps restore to at most this many replayed events (the protocol's
/// cadence, which the sync server keeps too).
pub use rewind_protocol::SNAPSHOT_EVERY;

/// Older snapshots are dropped past this many, newest kept.
pub const SNAPSHOTS_KEPT: usize = 3;

/// Whether a log of `head` events whose newest snapshot is at `last_snapshot_seq` should get a new one.
/// `page_hidden`: the page is being hidden (the tab may be closed), so any tail is worth saving.
pub fn should_snapshot(head: u64, last_snapshot_seq: u64, page_hidden: bool) -> bool {
    if head <= last_snapshot_seq {
        return false;
    }
    page_hidden || head - last_snapshot_seq >= SNAPSHOT_EVERY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_follow_the_log_never_ahead_of_it() {
        assert!(!should_snapshot(0, 0, true));
        assert!(!should_snapshot(9_999, 0, false));
        assert!(should_snapshot(10_000, 0, false));
        assert!(should_snapshot(25_000, 10_000, false));
        assert!(!should_snapshot(19_999, 10_000, false));
        assert!(should_snapshot(10_001, 10_000, true));
        assert!(!should_snapshot(10_000, 10_000, true));
        assert!(!should_snapshot(5, 10, true));
    }
}
