//! Several chunks in one body, for the sync server's wire: each chunk behind its length (a little-endian
//! u32). Chunks stay the domain's own checksummed encoding, so a frame needs no checksum of its own.

use crate::chunk::{encode_chunk, MAX_CHUNK_EVENTS};
use crate::event::Event;
use crate::names::Names;
use std::fmt;

/// Why a body of frames could not be split into chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Byte offset of the frame that is cut short.
    pub offset: usize,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the body is cut short: the frame at byte {} is incomplete",
            self.offset
        )
    }
}

impl std::error::Error for FrameError {}

/// Appends `chunk` as one frame.
pub fn push_frame(out: &mut Vec<u8>, chunk: &[u8]) {
    let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(chunk.get(..len as usize).unwrap_or(chunk));
}

/// Events `first_seq, first_seq + 1, …` as frames of at most [`MAX_CHUNK_EVENTS`] events each.
pub fn encode_frames(
    names: &Names,
    first_seq: u64,
    events: &[Event],
    timestamps: &[u64],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 12 + 64);
    let pieces = events
        .chunks(MAX_CHUNK_EVENTS)
        .zip(timestamps.chunks(MAX_CHUNK_EVENTS));
    let mut seq = first_seq;
    for (ev, ts) in pieces {
        push_frame(&mut out, &encode_chunk(names, seq, ev, ts));
        seq += ev.len() as u64;
    }
    out
}

/// The chunks of a body of frames, in order. An empty body holds no chunk.
pub fn decode_frames(bytes: &[u8]) -> Result<Vec<&[u8]>, FrameError> {
    let mut chunks = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let cut = FrameError { offset: at };
        let len = bytes
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .ok_or(cut.clone())?;
        let start = at + 4;
        let end = start
            .checked_add(u32::from_le_bytes(len) as usize)
            .ok_or(cut.clone())?;
        chunks.push(bytes.get(start..end).ok_or(cut)?);
        at = end;
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::generate_log;

    #[test]
    fn frames_carry_chunks_in_order_and_a_cut_body_is_refused(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (log, _) = generate_log(7, 4_500)?;
        let body = encode_frames(log.names(), 1, log.events(), log.timestamps());
        let chunks = decode_frames(&body)?;
        assert_eq!(chunks.len(), 3);
        let (mut names, mut events, mut ts) = (Names::default(), Vec::new(), Vec::new());
        for chunk in &chunks {
            crate::chunk::decode_chunk(chunk, &mut names, &mut events, &mut ts)?;
        }
        assert_eq!(events.len(), 4_500);
        let infos: Result<Vec<_>, _> = chunks.iter().map(|c| crate::chunk::chunk_info(c).map(|i| (i.first_seq, i.count))).collect();
        assert_eq!(infos?, vec![(1, 2_000), (2_001, 2_000), (4_001, 500)]);
        assert_eq!(ts, log.timestamps());
        assert_eq!(
            decode_frames(&body[..body.len() - 1]).map(|c| c.len()),
            Err(FrameError {
                offset: body.len() - chunks[2].len() - 4
            })
        );
        assert_eq!(decode_frames(&[1, 0]), Err(FrameError { offset: 0 }));
        assert_eq!(decode_frames(&[]).map(|c| c.len()), Ok(0));
        Ok(())
    }
}
