//! A server copy's cache of the stream: the log and the state after it, to check appends against and to
//! answer reads from. Redis is the truth: the cache only ever follows it, and starts over when Redis holds
//! another log (a new epoch, or a stream shorter than the cache).

use crate::redis_log::{Entry, RedisLog, StoreError, Version};
use rewind_domain::{encode_jsonl_line, push_jsonl_line, Event, Log, State};

/// Entries read from Redis in one request while catching up: big enough that a million events take a
/// hundred round trips, small enough that one reply does not stall Redis for long.
const PAGE: usize = 10_000;

/// Why the cache cannot follow the stream.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stream holds something the domain refuses: it was written by something other than Rewind's
    /// checked append. Nothing past it can be trusted, so nothing more is appended either.
    #[error("the shared log in Redis is damaged at event {seq}: {reason}; repair or remove that entry of the stream")]
    Damaged { seq: u64, reason: String },
}

#[derive(Debug, Default)]
pub struct Cache {
    epoch: u64,
    log: Log,
    live: State,
    /// Set when the cache may differ from Redis (an event Redis stored could not be applied here): the next
    /// catch-up reads everything again rather than trust it.
    suspect: bool,
}

impl Cache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn version(&self) -> Version {
        Version { epoch: self.epoch, head: self.log.len() }
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    pub fn log_mut(&mut self) -> &mut Log {
        &mut self.log
    }

    /// The state after the whole cached log.
    pub fn live(&self) -> &State {
        &self.live
    }

    /// Reads what the stream holds past the cache, starting over if Redis holds another log. On return the
    /// cache is at least at the version Redis had when this was called.
    pub async fn catch_up(&mut self, redis: &RedisLog) -> Result<(), CacheError> {
        loop {
            let after = self.log.len();
            let page = redis.read_after(after, PAGE).await?;
            let replaced = page.version.epoch != self.epoch || page.version.head < after;
            if self.suspect || replaced {
                self.start_over(page.version.epoch);
                if after != 0 {
                    continue;
                }
            }
            let read = page.entries.len();
            for entry in page.entries {
                self.apply_stored(entry)?;
            }
            if self.log.len() >= page.version.head {
                return Ok(());
            }
            if read == 0 {
                let seq = self.log.len() + 1;
                return Err(CacheError::Damaged { seq, reason: "the entry is missing from the stream".into() });
            }
        }
    }

    fn start_over(&mut self, epoch: u64) {
        *self = Self { epoch, ..Self::default() };
    }

    fn apply_stored(&mut self, entry: Entry) -> Result<(), CacheError> {
        let seq = self.log.len() + 1;
        let damaged = |reason: String| CacheError::Damaged { seq, reason };
        if entry.seq() != Some(seq) {
            return Err(damaged(format!("its entry id is {:?}, expected {seq}-0", entry.id)));
        }
        let line = entry.line.ok_or_else(|| damaged(format!("entry {} has no field \"event\"", entry.id)))?;
        push_jsonl_line(&mut self.log, &mut self.live, &line).map_err(damaged)
    }

    /// The events as the lines the stream stores, numbered on from the cache's head.
    pub fn lines_for(&self, events: &[Event], timestamps: &[u64]) -> Vec<String> {
        let first = self.log.len() + 1;
        let mut line = String::new();
        (first..)
            .zip(events.iter().zip(timestamps))
            .map(|(seq, (event, &ts))| {
                line.clear();
                encode_jsonl_line(&mut line, self.log.names(), seq, ts, event);
                line.trim_end_matches('\n').to_owned()
            })
            .collect()
    }

    /// Records events that Redis has just stored after the cache's head (they were checked before).
    pub fn push_stored(&mut self, events: &[Event], timestamps: &[u64]) {
        for (&event, &ts) in events.iter().zip(timestamps) {
            if self.log.push(&mut self.live, ts, event).is_err() {
                // Cannot happen for checked events; should it anyway, Redis has them and the cache does
                // not, so it must not be believed any more.
                self.suspect = true;
                return;
            }
        }
    }

    /// Whether the cache holds exactly these events right after `after`.
    pub fn holds(&self, after: u64, events: &[Event], timestamps: &[u64]) -> bool {
        let (stored, stored_ts) = self.log.range(after + 1, events.len());
        stored == events && stored_ts == timestamps
    }
}
