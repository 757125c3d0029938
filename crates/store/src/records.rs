use crate::error::StoreError;
use crate::{idb, local, memory, Backend};
use rewind_domain::{encode_chunk, Event, Names};

/// Events per stored record at most.
pub const MAX_CHUNK_EVENTS: usize = 2_000;

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

/// The backends behind one interface: records keyed by their first sequence number, snapshots keyed by
/// their sequence number, and the head (the number of events stored).
pub(crate) enum Records {
    Idb(idb::IdbRecords),
    Local(local::LocalRecords),
    Memory(memory::MemoryRecords),
}

/// What a store's index says: events stored, and the epoch, which changes whenever the whole log is
/// replaced or cleared (so a writer that read another log cannot append to this one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub head: u64,
    pub epoch: u64,
}

/// A stored head or epoch must be an integer up to MAX; anything else is a damaged index.
pub(crate) fn checked_count(value: f64, what: &str) -> Result<u64, StoreError> {
    if value.is_finite() && value >= 0.0 && value <= rewind_domain::MAX as f64 && value.fract() == 0.0 {
        Ok(value as u64)
    } else {
        Err(StoreError::Damaged { from: 1, to: 1, reason: format!("the stored {what} reads {value}") })
    }
}

/// Checks that `chunks` continue a log of `head` events without gaps; returns the new head.
pub(crate) fn new_head(head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
    let out_of_order = |next: u64, got: u64| {
        StoreError::Write(format!("records out of order: expected one starting at event {next}, got {got}"))
    };
    let mut next = head.checked_add(1).ok_or_else(|| out_of_order(head, head))?;
    for c in chunks {
        if c.first_seq != next || c.count == 0 {
            return Err(out_of_order(next, c.first_seq));
        }
        next = next.checked_add(c.count).filter(|n| *n <= rewind_domain::MAX + 1).ok_or_else(|| out_of_order(next, c.first_seq))?;
    }
    Ok(next - 1)
}

impl Records {
    pub fn backend(&self) -> Backend {
        match self {
            Records::Idb(_) => Backend::IndexedDb,
            Records::Local(_) => Backend::LocalStorage,
            Records::Memory(_) => Backend::Memory,
        }
    }

    pub async fn meta(&self) -> Result<Meta, StoreError> {
        match self {
            Records::Idb(r) => r.meta().await,
            Records::Local(r) => r.meta(),
            Records::Memory(r) => Ok(r.meta()),
        }
    }

    /// Appends in one write if the store still holds `expected`: the same epoch (when known) and head.
    pub async fn append(&self, expected: Meta, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let new_head = new_head(expected.head, chunks)?;
        match self {
            Records::Idb(r) => r.append(expected, new_head, chunks).await,
            Records::Local(r) => r.append(expected, new_head, chunks),
            Records::Memory(r) => r.append(expected, new_head, chunks),
        }?;
        Ok(new_head)
    }

    /// Replaces everything in one write; returns the new epoch.
    pub async fn replace(&self, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let head = new_head(0, chunks)?;
        match self {
            Records::Idb(r) => r.replace(head, chunks).await,
            Records::Local(r) => r.replace(head, chunks),
            Records::Memory(r) => r.replace(head, chunks),
        }
    }

    /// Records whose first event is at `from` or later, in order.
    pub async fn chunks_from(&self, from: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        match self {
            Records::Idb(r) => r.chunks_from(from).await,
            Records::Local(r) => r.chunks_from(from),
            Records::Memory(r) => Ok(r.chunks_from(from)),
        }
    }

    pub async fn snapshots_newest_first(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        match self {
            Records::Idb(r) => r.snapshots_newest_first().await,
            Records::Local(r) => r.snapshots_newest_first(),
            Records::Memory(r) => Ok(r.snapshots_newest_first()),
        }
    }

    /// Stores a snapshot if it belongs to the log stored now (same epoch, not ahead of the head); a
    /// snapshot of a log another tab has since replaced is dropped.
    pub async fn put_snapshot(&self, seq: u64, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        match self {
            Records::Idb(r) => r.put_snapshot(seq, epoch, bytes).await,
            Records::Local(r) => r.put_snapshot(seq, epoch, bytes),
            Records::Memory(r) => r.put_snapshot(seq, epoch, bytes),
        }
    }
}
