use crate::error::{RecordDamage, StoreError};
use crate::rule::{LogVersion, StoredIndex, Write};
use crate::{idb, local, memory, Backend};
use rewind_domain::{encode_chunk, Event, Names, MAX_CHUNK_EVENTS};

/// Bytes per stored record at most: Chromium's IndexedDB moves values above 64 KiB out of line into blob
/// files, which are much slower.
pub const MAX_CHUNK_BYTES: usize = 60_000;

/// One stored record: events `first_seq .. first_seq + count` in the domain's chunk encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedChunk {
    pub first_seq: u64,
    pub count: u64,
    pub bytes: Vec<u8>,
}

/// Encodes events `first_seq, first_seq + 1, …` into records of at most [`MAX_CHUNK_EVENTS`] events and
/// [`MAX_CHUNK_BYTES`] bytes (a record with long names is split further).
pub fn encode_chunks(names: &Names, first_seq: u64, events: &[Event], timestamps: &[u64]) -> Vec<EncodedChunk> {
    let mut out = Vec::with_capacity(events.len() / MAX_CHUNK_EVENTS + 1);
    let (mut start, len) = (0usize, events.len().min(timestamps.len()));
    while start < len {
        let mut count = (len - start).min(MAX_CHUNK_EVENTS);
        loop {
            let end = start + count;
            let (Some(ev), Some(ts)) = (events.get(start..end), timestamps.get(start..end)) else { return out };
            let bytes = encode_chunk(names, first_seq + start as u64, ev, ts);
            if bytes.len() <= MAX_CHUNK_BYTES || count == 1 {
                out.push(EncodedChunk { first_seq: first_seq + start as u64, count: count as u64, bytes });
                start = end;
                break;
            }
            count /= 2;
        }
    }
    out
}

/// One stored record as read: its key (the first sequence number, or a snapshot's sequence number) and its
/// bytes, or what was found there instead of bytes.
pub(crate) struct RawRecord {
    pub key: u64,
    pub bytes: Result<Vec<u8>, RecordDamage>,
}

/// The backends behind one interface. Every write goes through [`crate::rule::admit`] inside the backend's
/// own atomic step (an IndexedDB transaction, a held Web Lock, a borrow), so all three apply the same rule.
pub(crate) enum Records {
    Idb(idb::IdbRecords),
    Local(local::LocalRecords),
    Memory(memory::MemoryRecords),
}

impl Records {
    pub fn backend(&self) -> Backend {
        match self {
            Records::Idb(_) => Backend::IndexedDb,
            Records::Local(_) => Backend::LocalStorage,
            Records::Memory(_) => Backend::Memory,
        }
    }

    /// The stored index: a version, or why it is unreadable (an `Err` of the outer result: reading failed).
    pub async fn index(&self) -> Result<StoredIndex, StoreError> {
        match self {
            Records::Idb(r) => r.index().await,
            Records::Local(r) => r.index().await,
            Records::Memory(r) => r.index(),
        }
    }

    /// Applies `write` if the rule admits it over what is stored; returns the version stored afterwards
    /// (`None`: a snapshot that was dropped).
    pub async fn write(&self, write: &Write<'_>) -> Result<Option<LogVersion>, StoreError> {
        match self {
            Records::Idb(r) => r.write(write).await,
            Records::Local(r) => r.write(write).await,
            Records::Memory(r) => r.write(write),
        }
    }

    /// Records whose first event is at `from` or later, in order.
    pub async fn chunks_from(&self, from: u64) -> Result<Vec<RawRecord>, StoreError> {
        match self {
            Records::Idb(r) => r.chunks_from(from).await,
            Records::Local(r) => r.chunks_from(from).await,
            Records::Memory(r) => r.chunks_from(from),
        }
    }

    pub async fn snapshots_newest_first(&self) -> Result<Vec<RawRecord>, StoreError> {
        match self {
            Records::Idb(r) => r.snapshots_newest_first().await,
            Records::Local(r) => r.snapshots_newest_first().await,
            Records::Memory(r) => r.snapshots_newest_first(),
        }
    }
}
