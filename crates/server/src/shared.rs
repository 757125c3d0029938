//! What a server copy does with the shared log, apart from HTTP: checked appends, reads, snapshots. Each
//! operation first brings the copy's cache up to what Redis holds, under one lock, so a copy decides on the
//! same log as Redis and never on what it merely remembers.

use crate::cache::{Cache, CacheError};
use crate::redis_log::{Appended, RedisLog, StoreError, Version};
use rewind_domain::{decode_chunk, encode_frames, encode_snapshot, Event, Log, LogError, Rejection};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Why an append was refused. In every case nothing was stored, except [`AppendError::Unconfirmed`], where
/// nobody can tell yet.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("{0}")]
    Malformed(String),
    #[error(
        "the log is at event {} of epoch {}, not where these events were decided: read the new events and decide again",
        .0.head,
        .0.epoch
    )]
    Stale(Version),
    /// The page shows the rejection in these very words.
    #[error("{0}")]
    Broken(Rejection),
    #[error("{0}: nothing was stored")]
    NotStored(StoreError),
    #[error("Redis stopped answering while storing these events ({0}), so they may or may not be stored: read the log again before deciding anew")]
    Unconfirmed(StoreError),
    #[error("{0}")]
    Damaged(CacheError),
}

impl From<CacheError> for AppendError {
    fn from(error: CacheError) -> Self {
        match error {
            CacheError::Store(store) => AppendError::NotStored(store),
            damaged @ CacheError::Damaged { .. } => AppendError::Damaged(damaged),
        }
    }
}

/// Why a read was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the log holds events up to {} (epoch {}); there is nothing after event {after}: read it again from the start", .version.head, .version.epoch)]
    PastHead { after: u64, version: Version },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("the server is shutting down: ask another copy, or again once it is back")]
    ShuttingDown,
}

/// Events after some sequence number, encoded as frames.
#[derive(Debug)]
pub struct Frames {
    pub version: Version,
    pub bytes: Vec<u8>,
}

/// One server copy's handle on the shared log: Redis and this copy's cache of it. Cheap to clone.
#[derive(Clone)]
pub struct SharedLog {
    redis: RedisLog,
    cache: Arc<Mutex<Cache>>,
}

impl SharedLog {
    /// Builds the cache from the whole stream.
    pub async fn open(redis: RedisLog) -> Result<Self, CacheError> {
        let mut cache = Cache::new();
        cache.catch_up(&redis).await?;
        Ok(Self { redis, cache: Arc::new(Mutex::new(cache)) })
    }

    pub fn redis(&self) -> &RedisLog {
        &self.redis
    }

    pub async fn version(&self) -> Result<Version, CacheError> {
        let mut cache = self.cache.lock().await;
        cache.catch_up(&self.redis).await?;
        Ok(cache.version())
    }

    /// Events `after + 1 ..= head` as frames.
    pub async fn events_after(&self, after: u64) -> Result<Frames, ReadError> {
        let mut cache = Arc::clone(&self.cache).lock_owned().await;
        cache.catch_up(&self.redis).await?;
        let version = cache.version();
        if after > version.head {
            return Err(ReadError::PastHead { after, version });
        }
        // Encoding a million events takes a while: off the async workers, still under the lock so that no
        // append moves the log meanwhile.
        let encode = move || {
            let count = usize::try_from(version.head - after).unwrap_or(usize::MAX);
            let (events, timestamps) = cache.log().range(after + 1, count);
            encode_frames(cache.log().names(), after + 1, events, timestamps)
        };
        let bytes = match tokio::task::spawn_blocking(encode).await {
            Ok(bytes) => bytes,
            Err(join) => match join.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => return Err(ReadError::ShuttingDown),
            },
        };
        Ok(Frames { version, bytes })
    }

    /// The checked append of a page: `body` holds frames of events `after + 1, …` decided on log `epoch` at
    /// `after`. They are stored, all of them, only if the log is still there and every event keeps the rules.
    pub async fn append(&self, decided_on: Version, body: &[u8]) -> Result<Version, AppendError> {
        let chunks = rewind_domain::decode_frames(body)
            .map_err(|e| AppendError::Malformed(format!("the body is not frames of events: {e}")))?;
        if chunks.is_empty() {
            return Err(AppendError::Malformed("the body holds no events: send at least one frame".into()));
        }
        let mut cache = self.cache.lock().await;
        cache.catch_up(&self.redis).await?;
        // Decoded only now: the chunks' names go into the tables of the log the cache holds after catching up.
        let (events, timestamps) = decode_body(cache.log_mut(), &chunks, decided_on.head)?;
        if decided_on != cache.version() {
            return Err(AppendError::Stale(cache.version()));
        }
        cache.log().check_continuation(cache.live(), &events).map_err(|error| match error {
            LogError::Broken { rejection, .. } => AppendError::Broken(rejection),
            other => AppendError::Malformed(other.to_string()),
        })?;
        let lines = cache.lines_for(&events, &timestamps);
        match self.redis.append(decided_on, &lines).await {
            Ok(Appended::Stored(version)) => {
                cache.push_stored(&events, &timestamps);
                Ok(version)
            }
            Ok(Appended::Stale(_)) => {
                // Another copy appended since the catch-up: answer with the log as it is now.
                cache.catch_up(&self.redis).await?;
                Err(AppendError::Stale(cache.version()))
            }
            Err(error) => {
                // The script may have run although its answer was lost: look before saying what happened.
                match cache.catch_up(&self.redis).await {
                    Ok(())
                        if cache.version().epoch == decided_on.epoch
                            && cache.holds(decided_on.head, &events, &timestamps) =>
                    {
                        Ok(Version { epoch: decided_on.epoch, head: decided_on.head + events.len() as u64 })
                    }
                    Ok(()) => Err(AppendError::NotStored(error)),
                    Err(_) => Err(AppendError::Unconfirmed(error)),
                }
            }
        }
    }

    /// Stores a snapshot of the state at the head, unless the head is still `last`. Returns the sequence
    /// number it was taken at, if one was taken.
    pub async fn write_snapshot(&self, last: u64) -> Result<Option<u64>, CacheError> {
        let (version, bytes) = {
            let mut cache = self.cache.lock().await;
            cache.catch_up(&self.redis).await?;
            let version = cache.version();
            if version.head == 0 || version.head == last {
                return Ok(None);
            }
            (version, encode_snapshot(cache.live(), cache.log().names()))
        };
        self.redis.write_snapshot(version.epoch, version.head, &bytes).await?;
        Ok(Some(version.head))
    }
}

/// The events of a body's chunks, which must continue the log right after `after`, one chunk after the other.
fn decode_body(log: &mut Log, chunks: &[&[u8]], after: u64) -> Result<(Vec<Event>, Vec<u64>), AppendError> {
    let (mut events, mut timestamps) = (Vec::new(), Vec::new());
    for (frame, chunk) in (1..).zip(chunks) {
        let expected = after + 1 + events.len() as u64;
        let info = decode_chunk(chunk, log.names_mut(), &mut events, &mut timestamps)
            .map_err(|e| AppendError::Malformed(format!("frame {frame} holds a damaged chunk: {e}")))?;
        if info.first_seq != expected {
            return Err(AppendError::Malformed(format!(
                "frame {frame} starts at event {}, but the events must go on from event {expected} without a gap",
                info.first_seq
            )));
        }
    }
    Ok((events, timestamps))
}
