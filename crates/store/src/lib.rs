//! Rewind's browser event store: the log as chunks of consecutive events (the domain's binary encoding),
//! snapshots, restore on load, and live updates between tabs. It knows the domain, never the UI.
//!
//! Backends, in order of preference: IndexedDB, localStorage (when IndexedDB cannot be opened), memory (when
//! localStorage is refused too). All three keep the same records and give the same guarantees within a
//! page; only IndexedDB and localStorage survive a reload.
//!
//! Architecture Invariant: an append counts as stored only after its write has completed (for IndexedDB,
//! after the `strict` transaction's `complete` event); until then the caller shows nothing of it.

mod error;
mod idb;
mod local;
mod memory;
mod policy;
mod records;
mod sync;

pub use error::StoreError;
pub use policy::{should_snapshot, SNAPSHOT_EVERY, SNAPSHOTS_KEPT};
pub use records::{encode_chunks, EncodedChunk, MAX_CHUNK_BYTES, MAX_CHUNK_EVENTS};
pub use sync::{LogChange, TabSync};

use records::Records;
use rewind_domain::{apply_chunk_tail, decode_snapshot, encode_snapshot, Log, LogError, Names, State};
use std::fmt;

/// Which storage holds the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    IndexedDb,
    LocalStorage,
    Memory,
}

impl Backend {
    /// The name the page shows (CONTRACT §3, `storage-backend`).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::IndexedDb => "indexeddb",
            Backend::LocalStorage => "localstorage",
            Backend::Memory => "memory",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event store of one page. Two pages (tabs) open two stores over the same records.
pub struct Store {
    records: Records,
    /// The epoch of the log this page has read; an append to another epoch is refused.
    epoch: std::cell::Cell<u64>,
    /// Why a preferred backend could not be used, for the page to explain.
    fallback_reasons: Vec<String>,
}

/// What a load did: the live state, and how it was rebuilt.
pub struct Restored {
    pub names: Names,
    pub live: State,
    /// Sequence number of the snapshot used (0 if none).
    pub snapshot_seq: u64,
    /// Events replayed after the snapshot.
    pub tail: u64,
    /// Snapshots that were skipped as damaged, with why: reported, never trusted.
    pub skipped_snapshots: Vec<String>,
    /// A damaged chunk stops the replay; the events before it are in `live`.
    pub error: Option<StoreError>,
}

/// The whole log as read from storage, and the first problem met (the events before it are in `log`).
pub struct LoadedLog {
    pub log: Log,
    pub live: State,
    pub error: Option<StoreError>,
}

impl Store {
    /// Opens the store named `name`: IndexedDB if it opens, else localStorage, else memory.
    pub async fn open(name: &str) -> Store {
        let mut fallback_reasons = Vec::new();
        match idb::IdbRecords::open(name).await {
            Ok(r) => return Store::new(Records::Idb(r), fallback_reasons),
            Err(e) => fallback_reasons.push(format!("IndexedDB could not be opened: {e}")),
        }
        match local::LocalRecords::open(name) {
            Ok(r) => return Store::new(Records::Local(r), fallback_reasons),
            Err(e) => fallback_reasons.push(format!("localStorage could not be used: {e}")),
        }
        Store::new(Records::Memory(memory::MemoryRecords::default()), fallback_reasons)
    }

    fn new(records: Records, fallback_reasons: Vec<String>) -> Store {
        Store { records, epoch: std::cell::Cell::new(0), fallback_reasons }
    }

    /// A store in localStorage only (for tests and diagnostics; [`Store::open`] chooses by itself).
    pub fn open_local(name: &str) -> Result<Store, String> {
        local::LocalRecords::open(name).map(|r| Store::new(Records::Local(r), Vec::new()))
    }

    /// A store that keeps everything in this page only.
    pub fn in_memory() -> Store {
        Store::new(Records::Memory(memory::MemoryRecords::default()), Vec::new())
    }

    pub fn backend(&self) -> Backend {
        self.records.backend()
    }

    pub fn fallback_reasons(&self) -> &[String] {
        &self.fallback_reasons
    }

    /// The number of events stored.
    pub async fn head(&self) -> Result<u64, StoreError> {
        Ok(self.records.meta().await?.head)
    }

    /// Appends chunks that continue a log of `expected_head` events, in one durable write. If another writer
    /// moved the head first, nothing is written and the answer is [`StoreError::Conflict`]; if another tab
    /// replaced the whole log since this page read it, [`StoreError::Replaced`].
    pub async fn append(&self, expected_head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let expected = records::Meta { head: expected_head, epoch: self.epoch.get() };
        self.records.append(expected, chunks).await
    }

    /// Replaces the whole log (an import) in one write: afterwards either the old log or the new one is
    /// stored, never a mix. Snapshots of the old log are dropped with it.
    pub async fn replace(&self, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        let epoch = self.records.replace(chunks).await?;
        self.epoch.set(epoch);
        Ok(())
    }

    /// Removes every event and snapshot, in one write.
    pub async fn clear(&self) -> Result<(), StoreError> {
        self.replace(&[]).await
    }

    /// Stores a snapshot of `live` (the state after the stored event `live.seq()`), keeping the newest few.
    /// A snapshot of a log another tab has replaced meanwhile is dropped, never stored.
    pub async fn write_snapshot(&self, live: &State, names: &Names) -> Result<(), StoreError> {
        let bytes = encode_snapshot(live, names);
        self.records.put_snapshot(live.seq(), self.epoch.get(), &bytes).await
    }

    /// The live state from the newest valid snapshot plus the events after it.
    pub async fn restore(&self) -> Result<Restored, StoreError> {
        let meta = self.records.meta().await?;
        self.epoch.set(meta.epoch);
        let head = meta.head;
        let mut skipped = Vec::new();
        let mut start = None;
        for (seq, bytes) in self.records.snapshots_newest_first().await? {
            if seq > head {
                skipped.push(format!("snapshot at {seq} is ahead of the log ({head} events)"));
                continue;
            }
            match decode_snapshot(&bytes) {
                Ok((names, state)) if state.seq() == seq => {
                    start = Some((names, state));
                    break;
                }
                Ok(_) => skipped.push(format!("snapshot at {seq} holds another sequence number")),
                Err(e) => skipped.push(format!("snapshot at {seq}: {e}")),
            }
        }
        let (mut names, mut live) = start.unwrap_or_default();
        let snapshot_seq = live.seq();
        let from = snapshot_seq.saturating_add(1).saturating_sub(MAX_CHUNK_EVENTS as u64).max(1);
        let records = self.records.chunks_from(from).await?;
        let mut error = None;
        for (i, (first_seq, bytes)) in records.iter().enumerate() {
            // A record that ends before the snapshot's next event is not needed (even if it is damaged).
            if records.get(i + 1).is_some_and(|(next, _)| *next <= snapshot_seq.saturating_add(1)) {
                continue;
            }
            if let Err(e) = apply_chunk_tail(&mut live, &mut names, bytes) {
                error = Some(damaged(&records, i, head, *first_seq, e));
                break;
            }
        }
        let error = error.or_else(|| missing(live.seq(), head));
        let tail = live.seq() - snapshot_seq;
        Ok(Restored { names, live, snapshot_seq, tail, skipped_snapshots: skipped, error })
    }

    /// The whole log, decoded and checked against the rules.
    pub async fn read_log(&self) -> Result<LoadedLog, StoreError> {
        let meta = self.records.meta().await?;
        self.epoch.set(meta.epoch);
        let all = Tail { head: meta.head, records: self.records.chunks_from(1).await? };
        let (mut log, mut live) = (Log::new(), State::new());
        let error = all.apply(&mut log, &mut live).err().or_else(|| missing(log.len(), meta.head));
        Ok(LoadedLog { log, live, error })
    }

    /// Reads the records another tab stored after `after` events. Apply them with [`Tail::apply`], which
    /// needs no await, so a page can apply them without lending its log across a suspension point.
    pub async fn tail_after(&self, after: u64) -> Result<Tail, StoreError> {
        let meta = self.records.meta().await?;
        if meta.epoch != self.epoch.get() || meta.head < after {
            return Err(StoreError::Replaced);
        }
        let head = meta.head;
        let records = if head > after { self.records.chunks_from(after + 1).await? } else { Vec::new() };
        Ok(Tail { head, records })
    }

    /// Reads events another tab stored after `log`'s end and applies them to `log` and `live`.
    /// Returns how many arrived.
    pub async fn catch_up(&self, log: &mut Log, live: &mut State) -> Result<u64, StoreError> {
        self.tail_after(log.len()).await?.apply(log, live)
    }
}

/// Records stored after some point, read but not yet applied.
pub struct Tail {
    pub head: u64,
    records: Vec<(u64, Vec<u8>)>,
}

impl Tail {
    /// Applies the records that continue `log` (older ones are skipped); returns how many events arrived.
    /// On a damaged record, `log` and `live` keep every event before it.
    pub fn apply(self, log: &mut Log, live: &mut State) -> Result<u64, StoreError> {
        let before = log.len();
        for (i, (first_seq, bytes)) in self.records.iter().enumerate() {
            if *first_seq <= log.len() {
                continue;
            }
            if let Err(e) = log.extend_from_chunk(live, bytes) {
                return Err(damaged(&self.records, i, self.head, *first_seq, e));
            }
        }
        Ok(log.len() - before)
    }
}

/// The events between what was read (`have`) and the stored head, when records for them are missing.
fn missing(have: u64, head: u64) -> Option<StoreError> {
    (have < head).then(|| StoreError::Damaged {
        from: have.saturating_add(1),
        to: head,
        reason: "these events are missing from storage".into(),
    })
}

/// Names the range of a record that could not be used: from its first event to the one before the next
/// record (or the head).
fn damaged(records: &[(u64, Vec<u8>)], i: usize, head: u64, first_seq: u64, e: LogError) -> StoreError {
    let to = records.get(i + 1).map_or(head, |(next, _)| next.saturating_sub(1)).max(first_seq);
    let reason = match e {
        LogError::Damaged { error, .. } => error.to_string(),
        other => other.to_string(),
    };
    StoreError::Damaged { from: first_seq, to, reason }
}
