use crate::backend::Backend;
use rewind_domain::{ChunkError, LogError, Rejection};
use std::fmt;

/// What went wrong with storage, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// Another tab stored events first; read its events and decide again.
    Conflict { expected: u64, found: u64 },
    /// Another tab replaced, cleared or repaired the whole log since this page read it; read it again.
    Replaced,
    /// The browser's storage for this site is full.
    QuotaExceeded { backend: Backend },
    /// A write failed or was aborted; nothing of it was stored.
    Write(String),
    /// Reading failed.
    Read(String),
    /// A stored record cannot be used: events `from..=to` cannot be read.
    DamagedRecord { from: u64, to: u64, damage: RecordDamage },
    /// The index counts events `from..=to`, but no record holds them.
    Missing { from: u64, to: u64 },
    /// The log's index (the stored head or epoch) is unreadable, so it is unknown how many events were
    /// acknowledged.
    DamagedIndex(IndexDamage),
    /// localStorage only: this tab's copy of the storage did not catch up with another tab's write in time.
    NotCaughtUp { waited_ms: u64 },
    /// The sync server (or its Redis) cannot be reached; nothing was stored.
    Offline { detail: String },
    /// An append whose answer was lost (no answer, or the server's own "may or may not be stored"): it is not
    /// known whether it was stored. The log says it once the server answers; `waited_ms` is how long the page
    /// kept asking (0: not yet).
    OutcomeUnknown { detail: String, waited_ms: u64 },
    /// The sync server wants its access key (none given yet, a wrong one, or this browser dropped the cookie).
    AccessKey { message: String },
    /// The sync server refused the write, in its words (the shop's rules, or a request it cannot read).
    Refused { message: String },
    /// The sync server is too busy to take the command now (commands waiting, or other copies writing
    /// first): this request stored nothing; the same command, with the same key, may be sent again.
    Busy { message: String },
    /// The shop's rules refuse the command, in the server's words, decided on the log at `at`.
    Rejected { message: String, at: crate::rule::LogVersion },
    /// A write that replaces the whole log (import, clear) on a shared log, which other pages write to.
    SharedLogKept,
}

/// Why one stored record (a chunk or a snapshot) cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordDamage {
    /// The stored value is not bytes at all (another program wrote it, or it was damaged).
    NotBytes { found: String },
    /// The bytes do not decode.
    Chunk(ChunkError),
    /// The record does not start where the log ends.
    Gap { expected: u64, found: u64 },
    /// An event in it breaks the shop's rules.
    Broken { seq: u64, rejection: Rejection },
}

/// The stored head or epoch, unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDamage {
    /// `head` or `epoch`.
    pub field: &'static str,
    /// What is stored there instead of a count.
    pub found: String,
}

impl From<LogError> for RecordDamage {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Damaged { error, .. } => RecordDamage::Chunk(error),
            LogError::Gap { expected, found } => RecordDamage::Gap { expected, found },
            LogError::Broken { seq, rejection } => RecordDamage::Broken { seq, rejection },
        }
    }
}

impl StoreError {
    /// Whether this is damage to what is stored (rather than a failed or refused operation): the intact
    /// events can still be used, exported or replaced.
    pub fn is_damage(&self) -> bool {
        matches!(self, StoreError::DamagedRecord { .. } | StoreError::Missing { .. } | StoreError::DamagedIndex(_))
    }
}

impl fmt::Display for RecordDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordDamage::NotBytes { found } => write!(f, "the record holds {found} instead of bytes"),
            RecordDamage::Chunk(e) => write!(f, "{e}"),
            RecordDamage::Gap { expected, found } => {
                write!(f, "it starts at event {found} where event {expected} was expected")
            }
            RecordDamage::Broken { seq, rejection } => write!(f, "event {seq} breaks a rule: {rejection}"),
        }
    }
}

impl fmt::Display for IndexDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the log's index is damaged: its {} reads {}", self.field, self.found)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict { expected, found } => write!(
                f,
                "another tab stored events first (expected {expected} events, found {found})"
            ),
            StoreError::Replaced => write!(f, "another tab replaced the whole log"),
            StoreError::QuotaExceeded { backend } => write!(
                f,
                "the browser's storage ({backend}) is full: nothing was saved. \
                 Export the log, then clear it or free space for this site"
            ),
            StoreError::Write(why) => write!(f, "saving failed, nothing was stored: {why}"),
            StoreError::Read(why) => write!(f, "reading the stored log failed: {why}"),
            StoreError::DamagedRecord { from, to, damage } => {
                write!(f, "stored events {from} to {to} are damaged and cannot be read: {damage}")
            }
            StoreError::Missing { from, to } => {
                write!(f, "stored events {from} to {to} are missing: the index counts them, but no record holds them")
            }
            StoreError::DamagedIndex(d) => write!(f, "{d}"),
            StoreError::NotCaughtUp { waited_ms } => write!(
                f,
                "another tab's latest change has not reached this tab after {waited_ms} ms, so nothing was done; \
                 please try again"
            ),
            StoreError::Offline { detail } => write!(
                f,
                "the sync server cannot be reached ({detail}), so nothing was stored; \
                 this page catches up by itself when it is back"
            ),
            StoreError::OutcomeUnknown { detail, waited_ms: 0 } => write!(
                f,
                "the sync server's answer was lost ({detail}), so it is not known whether this was stored; \
                 the log shows it once the server answers: look there before trying again"
            ),
            StoreError::OutcomeUnknown { detail, waited_ms } => write!(
                f,
                "it is not known whether this was stored: the sync server gave no clear answer in {} s of asking \
                 ({detail}). It is shown in the log once the server answers, if it was stored: look there before \
                 trying again",
                waited_ms.div_ceil(1000)
            ),
            StoreError::AccessKey { message } => write!(
                f,
                "the sync server wants its access key ({message}), so nothing was stored: reload the page to enter it"
            ),
            StoreError::Refused { message } => write!(f, "the sync server refused it, nothing was stored: {message}"),
            StoreError::Busy { message } => write!(f, "the sync server is busy ({message}), so this was not stored yet"),
            StoreError::Rejected { message, .. } => write!(f, "{message}"),
            StoreError::SharedLogKept => write!(
                f,
                "this page shows the sync server's shared log, which other pages write to: it cannot be replaced \
                 or cleared from one page (export works; import into a page served by `cargo xtask serve`)"
            ),
        }
    }
}

impl std::error::Error for StoreError {}
