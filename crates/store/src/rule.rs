//! The one rule every backend applies inside its write: a write names the version of the log it was decided
//! on, and goes in only if the store still holds that version. Backends do the I/O; this decides.

use crate::error::{IndexDamage, StoreError};
use crate::types::EncodedChunk;

/// Which log a page has read: the wire protocol's version, the same type the sync server answers with.
pub use rewind_protocol::LogVersion;

/// What a page expects to replace: the version it read, or an index it read as damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Version(LogVersion),
    DamagedIndex,
}

/// The stored index as a backend read it: a version, or why it is unreadable.
pub(crate) type StoredIndex = Result<LogVersion, IndexDamage>;

/// A write, described before any backend touches storage.
pub(crate) enum Write<'a> {
    /// Chunks that continue the log of `expected`.
    Append { expected: LogVersion, chunks: &'a [EncodedChunk] },
    /// A whole new log in place of the one expected, with a new epoch.
    Replace { expected: Expected, chunks: &'a [EncodedChunk], epoch: NewEpoch },
    /// A snapshot of the state after event `seq` of the log of `epoch`.
    Snapshot { epoch: u64, seq: u64, bytes: &'a [u8] },
}

/// The epoch a replace gives the new log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NewEpoch {
    /// One no tab can have read yet, seeded by the clock.
    Fresh { now_ms: u64 },
    /// The shared log's own (a cache of it takes the server's epoch, so versions compare directly).
    Shared(u64),
}

/// What a backend does with a write the rule looked at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admitted {
    /// Store it; afterwards the index reads this version.
    Store(LogVersion),
    /// Drop it without an error: a snapshot of a log that is no longer stored.
    Drop,
}

/// Whether `write` may go in over what is stored now.
pub(crate) fn admit(stored: &StoredIndex, write: &Write<'_>) -> Result<Admitted, StoreError> {
    match write {
        Write::Append { expected, chunks } => {
            let stored = stored.as_ref().map_err(|d| StoreError::DamagedIndex(d.clone()))?;
            if stored.epoch != expected.epoch {
                return Err(StoreError::Replaced);
            }
            if stored.head != expected.head {
                return Err(StoreError::Conflict { expected: expected.head, found: stored.head });
            }
            Ok(Admitted::Store(LogVersion { epoch: stored.epoch, head: new_head(stored.head, chunks)? }))
        }
        Write::Replace { expected, chunks, epoch } => {
            let head = new_head(0, chunks)?;
            match (stored, expected) {
                (Ok(stored), Expected::Version(e)) if stored == e => {
                    Ok(Admitted::Store(LogVersion { epoch: next_epoch(Some(stored.epoch), *epoch), head }))
                }
                (Ok(stored), Expected::Version(e)) if stored.epoch == e.epoch => {
                    Err(StoreError::Conflict { expected: e.head, found: stored.head })
                }
                (Ok(_), _) => Err(StoreError::Replaced),
                (Err(_), Expected::DamagedIndex) => {
                    Ok(Admitted::Store(LogVersion { epoch: next_epoch(None, *epoch), head }))
                }
                (Err(d), Expected::Version(_)) => Err(StoreError::DamagedIndex(d.clone())),
            }
        }
        Write::Snapshot { epoch, seq, .. } => Ok(match stored {
            Ok(stored) if stored.epoch == *epoch && stored.head >= *seq => Admitted::Store(*stored),
            _ => Admitted::Drop,
        }),
    }
}

/// A new epoch differs from every epoch any tab may have read: larger than the last one, and, when the last
/// one is unreadable, the clock (epochs are small counters or earlier clock readings).
fn next_epoch(previous: Option<u64>, epoch: NewEpoch) -> u64 {
    let now_ms = match epoch {
        NewEpoch::Shared(epoch) => return epoch,
        NewEpoch::Fresh { now_ms } => now_ms,
    };
    let after = previous.map_or(0, |e| e.saturating_add(1));
    after.max(now_ms).min(rewind_domain::MAX)
}

/// Checks that `chunks` continue a log of `head` events without gaps; returns the new head.
fn new_head(head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
    let out_of_order = |next: u64, got: u64| {
        StoreError::Write(format!("records out of order: expected one starting at event {next}, got {got}"))
    };
    let mut next = head.checked_add(1).ok_or_else(|| out_of_order(head, head))?;
    for c in chunks {
        if c.first_seq != next || c.count == 0 {
            return Err(out_of_order(next, c.first_seq));
        }
        next = next
            .checked_add(c.count)
            .filter(|n| *n <= rewind_domain::MAX + 1)
            .ok_or_else(|| out_of_order(next, c.first_seq))?;
    }
    Ok(next - 1)
}

/// A stored head or epoch must be an integer up to MAX; anything else is a damaged index.
pub(crate) fn index_count(value: f64, field: &'static str) -> Result<u64, IndexDamage> {
    if value.is_finite() && value >= 0.0 && value <= rewind_domain::MAX as f64 && value.fract() == 0.0 {
        Ok(value as u64)
    } else {
        Err(IndexDamage { field, found: value.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(first_seq: u64, count: u64) -> EncodedChunk {
        EncodedChunk { first_seq, count, bytes: Vec::new() }
    }

    const V: LogVersion = LogVersion { epoch: 3, head: 10 };

    #[test]
    fn an_append_goes_in_only_on_the_version_it_was_decided_on() {
        let c = [chunk(11, 2)];
        let append = |expected| Write::Append { expected, chunks: &c };
        assert_eq!(admit(&Ok(V), &append(V)), Ok(Admitted::Store(LogVersion { epoch: 3, head: 12 })));
        assert_eq!(
            admit(&Ok(LogVersion { head: 11, ..V }), &append(V)),
            Err(StoreError::Conflict { expected: 10, found: 11 })
        );
        assert_eq!(admit(&Ok(LogVersion { epoch: 4, ..V }), &append(V)), Err(StoreError::Replaced));
        let damage = IndexDamage { field: "head", found: "NaN".into() };
        assert_eq!(admit(&Err(damage.clone()), &append(V)), Err(StoreError::DamagedIndex(damage)));
        let gap = [chunk(12, 1)];
        assert!(matches!(admit(&Ok(V), &Write::Append { expected: V, chunks: &gap }), Err(StoreError::Write(_))));
    }

    #[test]
    fn a_replace_names_the_log_it_replaces_and_gets_a_new_epoch() {
        let c = [chunk(1, 5)];
        let replace = |expected| Write::Replace { expected, chunks: &c, epoch: NewEpoch::Fresh { now_ms: 0 } };
        assert_eq!(
            admit(&Ok(V), &replace(Expected::Version(V))),
            Ok(Admitted::Store(LogVersion { epoch: 4, head: 5 }))
        );
        // Another tab appended after this page asked the user: the page must ask again.
        assert_eq!(
            admit(&Ok(LogVersion { head: 12, ..V }), &replace(Expected::Version(V))),
            Err(StoreError::Conflict { expected: 10, found: 12 })
        );
        assert_eq!(admit(&Ok(LogVersion { epoch: 9, ..V }), &replace(Expected::Version(V))), Err(StoreError::Replaced));
        // A damaged index can be replaced by a page that saw it damaged, never by one that did not.
        let damage = IndexDamage { field: "epoch", found: "\"x\"".into() };
        let fresh = Write::Replace { expected: Expected::DamagedIndex, chunks: &c, epoch: NewEpoch::Fresh { now_ms: 1_700_000_000_000 } };
        assert_eq!(
            admit(&Err(damage.clone()), &fresh),
            Ok(Admitted::Store(LogVersion { epoch: 1_700_000_000_000, head: 5 }))
        );
        assert_eq!(admit(&Err(damage.clone()), &replace(Expected::Version(V))), Err(StoreError::DamagedIndex(damage)));
        assert_eq!(admit(&Ok(V), &replace(Expected::DamagedIndex)), Err(StoreError::Replaced));
        // A cache of a shared log takes the server's epoch, even one below its own.
        let cache = Write::Replace { expected: Expected::Version(V), chunks: &c, epoch: NewEpoch::Shared(2) };
        assert_eq!(admit(&Ok(V), &cache), Ok(Admitted::Store(LogVersion { epoch: 2, head: 5 })));
    }

    #[test]
    fn a_snapshot_of_a_log_no_longer_stored_is_dropped() {
        let snap = |epoch, seq| Write::Snapshot { epoch, seq, bytes: &[] };
        assert_eq!(admit(&Ok(V), &snap(3, 10)), Ok(Admitted::Store(V)));
        assert_eq!(admit(&Ok(V), &snap(3, 11)), Ok(Admitted::Drop));
        assert_eq!(admit(&Ok(V), &snap(2, 5)), Ok(Admitted::Drop));
        assert_eq!(admit(&Err(IndexDamage { field: "head", found: "-1".into() }), &snap(3, 5)), Ok(Admitted::Drop));
    }

    #[test]
    fn index_counts_are_whole_numbers_up_to_max() {
        assert_eq!(index_count(42.0, "head"), Ok(42));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 2f64.powi(60)] {
            assert!(index_count(bad, "head").is_err(), "{bad}");
        }
    }
}
