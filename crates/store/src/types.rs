//! A stored record of events, written and as read: the types the rule, the backends and the page's client
//! share, apart from all of them.

use crate::error::RecordDamage;
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
