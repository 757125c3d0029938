//! What a request to the API says: its query and its body, parsed and bounded before anything is allocated
//! for them or anything of the server's is touched. Everything here is pure, so the fuzz target
//! `server_request` drives it with arbitrary bytes.

use crate::redis_log::{Chain, CommandKey, Version};
use rewind_domain::{chunk_info, ChunkError, FrameError};

/// The most events one append may carry: the producer's largest batch. A bigger append would hold Redis
/// (one script, one fsync) for longer than a page may wait.
pub const MAX_APPEND_EVENTS: usize = 40_000;
/// The largest body an append may have. An event takes at most 46 bytes in a chunk and a chunk lists at
/// most two names (of at most 32 bytes) per event, so 40,000 events fit in under 5 MiB however they are
/// chunked.
pub const BODY_LIMIT: usize = 6 * 1024 * 1024;
/// How many events `GET /api/events` sends when the page does not say, and at most.
pub const DEFAULT_READ_EVENTS: u64 = 10_000;
pub const MAX_READ_EVENTS: u64 = 100_000;

/// Why a request was refused before anything was done with it. The text is the message the page shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the query needs {name}=<number>, as in ?{example}")]
    MissingNumber { name: &'static str, example: &'static str },
    #[error("{name} must be a whole number, not {value:?}")]
    NotANumber { name: &'static str, value: String },
    #[error("limit must be between 1 and {MAX_READ_EVENTS}, not {0}")]
    Limit(u64),
    #[error("key must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -, not {0:?}")]
    Key(String),
    #[error("chain must be 32 hex digits, as the server sent it, not {0:?}")]
    Chain(String),
    #[error("the body holds no events: send at least one frame")]
    Empty,
    #[error("{0}")]
    Cut(FrameError),
    #[error("the body holds more than {MAX_APPEND_EVENTS} frames: append at most {MAX_APPEND_EVENTS} events at once")]
    TooManyFrames,
    #[error("frame {frame} holds a damaged chunk: {error}")]
    Damaged { frame: usize, error: ChunkError },
    #[error("frame {frame} holds no events: every frame must hold at least one")]
    EmptyChunk { frame: usize },
    #[error("the body holds more than {MAX_APPEND_EVENTS} events: append them in several requests")]
    TooManyEvents,
    #[error("frame {frame} starts at event {starts}, but the events must go on from event {expected} without a gap")]
    Gap { frame: usize, starts: u64, expected: u64 },
}

/// `POST /api/append?epoch=E&after=N[&chain=C][&key=K]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendQuery {
    pub decided_on: Version,
    /// The chain of the log the events were decided on, if the page knows it.
    pub chain: Option<Chain>,
    /// The command's key, which makes it stored at most once however often it is sent.
    pub key: Option<CommandKey>,
}

impl AppendQuery {
    pub fn parse(query: Option<&str>) -> Result<Self, RequestError> {
        const EXAMPLE: &str = "epoch=1763800000000&after=0";
        let epoch = number(query, "epoch", EXAMPLE)?;
        let after = number(query, "after", EXAMPLE)?;
        let key = match value(query, "key") {
            None => None,
            Some(text) => Some(CommandKey::parse(text).ok_or_else(|| RequestError::Key(shorten(text)))?),
        };
        Ok(Self { decided_on: Version { epoch, head: after }, chain: chain(query)?, key })
    }
}

/// `GET /api/events?after=N[&limit=L][&chain=C]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsQuery {
    pub after: u64,
    pub limit: u64,
    /// The chain of the log up to `after` as the page has it: another log answers "replaced".
    pub chain: Option<Chain>,
}

impl EventsQuery {
    pub fn parse(query: Option<&str>) -> Result<Self, RequestError> {
        let after = number(query, "after", "after=0")?;
        let limit = match value(query, "limit") {
            None => DEFAULT_READ_EVENTS,
            Some(_) => number(query, "limit", "after=0&limit=10000")?,
        };
        if !(1..=MAX_READ_EVENTS).contains(&limit) {
            return Err(RequestError::Limit(limit));
        }
        Ok(Self { after, limit, chain: chain(query)? })
    }
}

/// An append's body: the chunks of its frames, which continue the log right after `after` one after the
/// other, holding between 1 and [`MAX_APPEND_EVENTS`] events, none of them empty. Only the chunks' headers
/// are read here (behind their checksums); their events are decoded once the append's version was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendBody<'a> {
    pub chunks: Vec<&'a [u8]>,
    pub events: usize,
}

impl<'a> AppendBody<'a> {
    pub fn parse(body: &'a [u8], after: u64) -> Result<Self, RequestError> {
        if body.is_empty() {
            return Err(RequestError::Empty);
        }
        // Counted first, without allocating: a body of empty frames must not make a list of a million.
        let frames = frame_count(body)?;
        if frames > MAX_APPEND_EVENTS {
            return Err(RequestError::TooManyFrames);
        }
        let mut chunks = Vec::with_capacity(frames);
        let (mut at, mut events) = (0usize, 0usize);
        while let Some((chunk, end)) = next_frame(body, at)? {
            let frame = chunks.len() + 1;
            let info = chunk_info(chunk).map_err(|error| RequestError::Damaged { frame, error })?;
            if info.count == 0 {
                return Err(RequestError::EmptyChunk { frame });
            }
            let expected = after.saturating_add(1).saturating_add(events as u64);
            if info.first_seq != expected {
                return Err(RequestError::Gap { frame, starts: info.first_seq, expected });
            }
            events = events.saturating_add(usize::try_from(info.count).unwrap_or(usize::MAX));
            if events > MAX_APPEND_EVENTS {
                return Err(RequestError::TooManyEvents);
            }
            chunks.push(chunk);
            at = end;
        }
        Ok(Self { chunks, events })
    }
}

fn frame_count(body: &[u8]) -> Result<usize, RequestError> {
    let (mut at, mut count) = (0, 0usize);
    while let Some((_, end)) = next_frame(body, at)? {
        count += 1;
        if count > MAX_APPEND_EVENTS {
            return Ok(count);
        }
        at = end;
    }
    Ok(count)
}

/// The frame at byte `at` and where the next one starts; `None` at the end of the body.
fn next_frame(body: &[u8], at: usize) -> Result<Option<(&[u8], usize)>, RequestError> {
    if at >= body.len() {
        return Ok(None);
    }
    let cut = || RequestError::Cut(FrameError { offset: at });
    let len = body.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).ok_or_else(cut)?;
    let start = at + 4;
    let end = start.checked_add(u32::from_le_bytes(len) as usize).ok_or_else(cut)?;
    let chunk = body.get(start..end).ok_or_else(cut)?;
    Ok(Some((chunk, end)))
}

/// The value of `name` in a query such as `epoch=5&after=7`; the first one if it is given twice.
fn value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

fn number(query: Option<&str>, name: &'static str, example: &'static str) -> Result<u64, RequestError> {
    let text = value(query, name).ok_or(RequestError::MissingNumber { name, example })?;
    text.parse().map_err(|_| RequestError::NotANumber { name, value: shorten(text) })
}

fn chain(query: Option<&str>) -> Result<Option<Chain>, RequestError> {
    match value(query, "chain") {
        None => Ok(None),
        Some(text) => Chain::from_hex(text).map(Some).ok_or_else(|| RequestError::Chain(shorten(text))),
    }
}

/// A stranger's text, cut to a length a message can carry.
fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_domain::{encode_frames, generate_log, push_frame};

    #[test]
    fn query_numbers_are_found_by_name_and_must_be_numbers() {
        let append = AppendQuery::parse(Some("after=7&epoch=5")).map(|q| q.decided_on);
        assert_eq!(append, Ok(Version { epoch: 5, head: 7 }));
        assert!(AppendQuery::parse(Some("epoch=5&after=-1")).is_err());
        assert!(AppendQuery::parse(Some("epoch=5")).is_err());
        assert!(AppendQuery::parse(None).is_err());
        assert!(AppendQuery::parse(Some("epoch=5&after=1&key=short")).is_err());
        assert!(AppendQuery::parse(Some("epoch=5&after=1&chain=00")).is_err());
        let keyed = AppendQuery::parse(Some("epoch=5&after=1&key=0123456789abcdef"));
        assert_eq!(keyed.map(|q| q.key.map(|k| k.as_str().to_owned())), Ok(Some("0123456789abcdef".into())));
    }

    #[test]
    fn reads_are_paged_with_a_default_and_a_maximum() {
        assert_eq!(EventsQuery::parse(Some("after=3")).map(|q| q.limit), Ok(DEFAULT_READ_EVENTS));
        assert_eq!(EventsQuery::parse(Some("after=3&limit=5")).map(|q| q.limit), Ok(5));
        assert_eq!(EventsQuery::parse(Some("after=3&limit=0")), Err(RequestError::Limit(0)));
        assert_eq!(EventsQuery::parse(Some("after=3&limit=100001")), Err(RequestError::Limit(100_001)));
    }

    #[test]
    fn a_body_is_bounded_and_checked_frame_by_frame_before_any_event_is_decoded() {
        let (log, _) = generate_log(3, 4_500).unwrap();
        let body = encode_frames(log.names(), 1, log.events(), log.timestamps());
        assert_eq!(AppendBody::parse(&body, 0).map(|b| (b.chunks.len(), b.events)), Ok((3, 4_500)));
        assert!(matches!(AppendBody::parse(&body, 1), Err(RequestError::Gap { frame: 1, starts: 1, expected: 2 })));
        assert_eq!(AppendBody::parse(&[], 0), Err(RequestError::Empty));
        assert!(matches!(AppendBody::parse(&body[..body.len() - 1], 0), Err(RequestError::Cut(_))));

        let mut empty = Vec::new();
        push_frame(&mut empty, &rewind_domain::encode_chunk(log.names(), 1, &[], &[]));
        assert_eq!(AppendBody::parse(&empty, 0), Err(RequestError::EmptyChunk { frame: 1 }));
        // 40,001 frames of nothing are refused by counting alone.
        assert_eq!(AppendBody::parse(&vec![0u8; 4 * 40_001], 0), Err(RequestError::TooManyFrames));

        let (big, _) = generate_log(4, MAX_APPEND_EVENTS as u64 + 1).unwrap();
        let body = encode_frames(big.names(), 1, big.events(), big.timestamps());
        assert_eq!(AppendBody::parse(&body, 0), Err(RequestError::TooManyEvents));
        let body = encode_frames(big.names(), 1, &big.events()[..MAX_APPEND_EVENTS], &big.timestamps()[..MAX_APPEND_EVENTS]);
        assert!(body.len() < BODY_LIMIT);
        assert_eq!(AppendBody::parse(&body, 0).map(|b| b.events), Ok(MAX_APPEND_EVENTS));
    }
}
