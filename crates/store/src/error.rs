use std::fmt;

/// What went wrong with storage, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// Another tab stored events first; reload the tail and decide again.
    Conflict { expected: u64, found: u64 },
    /// Another tab replaced or cleared the whole log; reload it.
    Replaced,
    /// The browser's storage for this site is full.
    QuotaExceeded { backend: &'static str },
    /// A write failed or was aborted; nothing of it was stored.
    Write(String),
    /// Reading failed.
    Read(String),
    /// Stored events `from..=to` cannot be used.
    Damaged { from: u64, to: u64, reason: String },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict { expected, found } => write!(
                f,
                "another tab stored events first (expected {expected} events, found {found}); \
                 the latest events were loaded, please try again"
            ),
            StoreError::Replaced => write!(
                f,
                "another tab replaced the whole log, so nothing was saved here; the new log was loaded, \
                 please try again"
            ),
            StoreError::QuotaExceeded { backend } => write!(
                f,
                "the browser's storage ({backend}) is full: the event was not saved. \
                 Export the log, then clear it or free space for this site"
            ),
            StoreError::Write(why) => write!(f, "saving failed, nothing was stored: {why}"),
            StoreError::Read(why) => write!(f, "reading the stored log failed: {why}"),
            StoreError::Damaged { from, to, reason } => {
                write!(f, "stored events {from} to {to} are damaged and were not loaded: {reason}")
            }
        }
    }
}

impl std::error::Error for StoreError {}
