//! A server copy's cache of the stream: the log and the state after it, to check appends against and to
//! answer reads from. Redis is the truth: the cache only ever follows it, and starts over when Redis holds
//! another log (a new epoch, or a stream shorter than the cache).

use crate::redis_log::{Chain, CommandKey, Entry, RedisLog, RedisLogError, Version};
use std::collections::HashMap;
use rewind_domain::{encode_jsonl_line, push_jsonl_line, Command, Event, Log, Rejection, State};

/// Entries read from Redis in one request while catching up: big enough that a million events take a
/// hundred round trips, small enough that one reply does not stall Redis for long.
const PAGE: usize = 10_000;

/// Why the cache cannot follow the stream.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Store(#[from] RedisLogError),
    /// The stream holds something the domain refuses: it was written by something other than Rewind's
    /// checked append. Nothing past it can be trusted, so nothing more is appended either.
    #[error("the shared log in Redis is damaged at event {seq}: {reason}; repair or remove that entry of the stream")]
    Damaged { seq: u64, reason: String },
    /// Entries were deleted from the stream: the log as the pages know it cannot go on.
    #[error("the shared log in Redis is damaged: entries were deleted from its stream (it ends at event {head} now); \
             restore the stream from a backup, or move it away to start a new log")]
    Deleted { head: u64 },
}

/// A command of a batch, as [`Cache::decide`] gets it.
pub enum Turn<'a> {
    Waiting(&'a Command),
    /// Found stored before (its key), its event at this seq: not decided again.
    StoredBefore(u64),
    /// Not stored, but a command sent after it in the same request is: it was decided before and refused
    /// (nothing after a command is tried until it is decided), so it is not decided again.
    RefusedBefore,
}

/// What [`Cache::decide`] made of a command of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its event is the one at this index among those decided.
    Event(usize),
    /// Refused on the log followed by this many of the events decided before it.
    Refused { rejection: Rejection, after: usize },
    StoredBefore(u64),
    RefusedBefore,
}

#[derive(Debug, Default)]
pub struct Cache {
    epoch: u64,
    log: Log,
    live: State,
    /// The chain after each event: `chains[i]` names the log up to event `i + 1`.
    chains: Vec<Chain>,
    /// Where the event of each command key the log holds is: after a catch-up, every command stored by any
    /// copy is known here, so one sent again is answered "stored before", never decided (or refused) anew.
    keys: HashMap<Box<str>, u64>,
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

    /// The chain of the log up to event `seq` (the empty log's for 0), if the cache reaches that far.
    pub fn chain_at(&self, seq: u64) -> Option<Chain> {
        match seq.checked_sub(1) {
            None => Some(Chain::default()),
            Some(ix) => usize::try_from(ix).ok().and_then(|ix| self.chains.get(ix)).copied(),
        }
    }

    /// The chain of the whole cached log.
    pub fn head_chain(&self) -> Chain {
        self.chains.last().copied().unwrap_or_default()
    }

    /// Reads what the stream holds past the cache, starting over if Redis holds another log (another epoch, a
    /// shorter stream, or another event at the cache's head). On return the cache is at least at the version
    /// Redis had when this was called.
    pub async fn catch_up(&mut self, redis: &RedisLog) -> Result<(), CacheError> {
        loop {
            let after = self.log.len();
            // The entry at the cache's head is read again: its chain says whether the stream still holds
            // this log, or another one that grew past it under the same epoch.
            let page = redis.read_from(after.max(1), PAGE + 1).await?;
            if page.head.deleted {
                return Err(CacheError::Deleted { head: page.head.version.head });
            }
            let mut entries = page.entries.into_iter().peekable();
            let ours = after == 0
                || entries
                    .next_if(|entry| entry.seq() == Some(after))
                    .is_some_and(|entry| self.agrees(after, entry.chain.as_deref()));
            let replaced = page.head.version.epoch != self.epoch || page.head.version.head < after || !ours;
            if self.suspect || replaced {
                self.start_over(page.head.version.epoch);
                if after != 0 {
                    continue;
                }
            }
            let mut read = 0;
            for entry in entries {
                self.apply_stored(entry)?;
                read += 1;
            }
            if self.log.len() >= page.head.version.head {
                return Ok(());
            }
            if read == 0 {
                let seq = self.log.len() + 1;
                return Err(CacheError::Damaged { seq, reason: "the entry is missing from the stream".into() });
            }
        }
    }

    /// Whether a chain stored for event `seq` (none for entries written before chains were kept) is the
    /// cache's own.
    fn agrees(&self, seq: u64, stored: Option<&[u8]>) -> bool {
        stored.is_none_or(|stored| self.chain_at(seq).is_some_and(|chain| Chain::from_hex_bytes(stored) == Some(chain)))
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
        let chain = self.head_chain().next(&line);
        if entry.chain.as_deref().is_some_and(|stored| Chain::from_hex_bytes(stored) != Some(chain)) {
            return Err(damaged("its chain does not follow from the events before it: the stream was written by something other than Rewind".into()));
        }
        push_jsonl_line(&mut self.log, &mut self.live, &line).map_err(damaged)?;
        self.chains.push(chain);
        if let Some(key) = entry.key.and_then(|key| String::from_utf8(key).ok()) {
            self.keys.insert(key.into_boxed_str(), seq);
        }
        Ok(())
    }

    /// Decides the waiting commands of `batch` in order on the cached log, each on the state after the events
    /// of those before it, without adding anything to the log. Returns the events, and for each command its
    /// outcome. Names a decision learnt stay in the tables: the caller rolls them back unless the events are
    /// stored.
    ///
    /// A refund reads the log's orders, which do not hold the events decided here: the decider puts a refund
    /// only first in a batch, where the log is exactly the state it is decided on.
    pub fn decide(&mut self, batch: &[Turn<'_>]) -> (Vec<Event>, Vec<Outcome>) {
        let mut events = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        // The state after the events decided so far; a copy of the live state is only made when a second
        // command needs it.
        let mut after: Option<State> = None;
        let last = batch.iter().rposition(|turn| matches!(turn, Turn::Waiting(_)));
        for (ix, turn) in batch.iter().enumerate() {
            let command = match turn {
                Turn::Waiting(command) => command,
                Turn::StoredBefore(seq) => {
                    outcomes.push(Outcome::StoredBefore(*seq));
                    continue;
                }
                Turn::RefusedBefore => {
                    outcomes.push(Outcome::RefusedBefore);
                    continue;
                }
            };
            let state = after.as_ref().unwrap_or(&self.live);
            let before = events.len();
            let decided = self.log.decide(state, command).and_then(|event| {
                if last.is_some_and(|last| ix < last) {
                    after.get_or_insert_with(|| self.live.clone()).apply(self.log.names(), &event)?;
                }
                events.push(event);
                Ok(events.len() - 1)
            });
            outcomes.push(match decided {
                Ok(event) => Outcome::Event(event),
                Err(rejection) => Outcome::Refused { rejection, after: before },
            });
        }
        (events, outcomes)
    }

    /// Where the event of the command of `key` is, if the cached log holds it.
    pub fn key_stored(&self, key: &CommandKey) -> Option<u64> {
        self.keys.get(key.as_str()).copied()
    }

    /// Records that the command of `key` is stored with its event at `seq` (a write of this copy).
    pub fn note_key(&mut self, key: &CommandKey, seq: u64) {
        self.keys.insert(key.as_str().into(), seq);
    }

    /// The events as the lines the stream stores, numbered on from the cache's head, each with its chain.
    pub fn lines_for(&self, events: &[Event], timestamps: &[u64]) -> Vec<(String, Chain)> {
        let first = self.log.len() + 1;
        let mut chain = self.head_chain();
        let mut line = String::new();
        (first..)
            .zip(events.iter().zip(timestamps))
            .map(|(seq, (event, &ts))| {
                line.clear();
                encode_jsonl_line(&mut line, self.log.names(), seq, ts, event);
                let text = line.trim_end_matches('\n').to_owned();
                chain = chain.next(text.as_bytes());
                (text, chain)
            })
            .collect()
    }

    /// Records events that Redis has just stored after the cache's head (they were checked before), with
    /// the chains they were stored with.
    pub fn push_stored(&mut self, events: &[Event], timestamps: &[u64], lines: &[(String, Chain)]) {
        for ((&event, &ts), (_, chain)) in events.iter().zip(timestamps).zip(lines) {
            if self.log.push(&mut self.live, ts, event).is_err() {
                // Cannot happen for checked events; should it anyway, Redis has them and the cache does
                // not, so it must not be believed any more.
                self.suspect = true;
                return;
            }
            self.chains.push(*chain);
        }
    }
}
