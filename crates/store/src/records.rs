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

/// Checks that `chunks` continue a log of `head` events without gaps; returns the new head.
pub(crate) fn new_head(head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
    let mut next = head + 1;
    for c in chunks {
        if c.first_seq != next || c.count == 0 {
            return Err(StoreError::Write(format!(
                "records out of order: expected one starting at event {next}, got {}",
                c.first_seq
            )));
        }
        next += c.count;
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

    pub async fn head(&self) -> Result<u64, StoreError> {
        match self {
            Records::Idb(r) => r.head().await,
            Records::Local(r) => r.head(),
            Records::Memory(r) => Ok(r.head()),
        }
    }

    pub async fn append(&self, expected_head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let new_head = new_head(expected_head, chunks)?;
        match self {
            Records::Idb(r) => r.append(expected_head, new_head, chunks).await,
            Records::Local(r) => r.append(expected_head, new_head, chunks),
            Records::Memory(r) => r.append(expected_head, new_head, chunks),
        }?;
        Ok(new_head)
    }

    pub async fn replace(&self, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
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

    pub async fn put_snapshot(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        match self {
            Records::Idb(r) => r.put_snapshot(seq, bytes).await,
            Records::Local(r) => r.put_snapshot(seq, bytes),
            Records::Memory(r) => r.put_snapshot(seq, bytes),
        }
    }
}
