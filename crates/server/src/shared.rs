//! What a server copy does with the shared log, apart from HTTP: checked appends, reads, snapshots. Each
//! operation first brings the copy's cache up to what Redis holds, under one lock, so a copy decides on the
//! same log as Redis and never on what it merely remembers.

use crate::cache::{Cache, CacheError, Outcome, Turn};
use crate::redis_log::{
    now_ms, Appended, Chain, CommandKey, Committed, NotDurable, RedisLog, RedisLogError, SnapshotAnswer, StoredSnapshot, Version,
};
use crate::request::{AppendBody, AppendQuery, EventsQuery};
use rewind_domain::{decode_chunk_strict, encode_frames, encode_snapshot, Command, Event, Log, LogError, Rejection};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Mutex, MutexGuard};

/// How long a check of Redis's settings is trusted while nothing fails: a Redis restarted without its
/// append-only file is refused within this time at worst, and at once when the restart broke a request.
const DURABLE_CHECK: Duration = Duration::from_secs(1);

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
    NotStored(RedisLogError),
    #[error("Redis stopped answering while storing these events ({0}), so they may or may not be stored: read the log again before deciding anew")]
    Unconfirmed(RedisLogError),
    #[error("{0}")]
    Damaged(CacheError),
}

impl From<CacheError> for AppendError {
    fn from(error: CacheError) -> Self {
        match error {
            CacheError::Store(store) => AppendError::NotStored(store),
            damaged @ (CacheError::Damaged { .. } | CacheError::Deleted { .. }) => AppendError::Damaged(damaged),
        }
    }
}

/// How often one batch of commands is decided again because another copy wrote first, before its commands
/// are answered "try again": with copies taking turns, a batch waits for at most this many of the others'.
const MAX_DECISIONS: usize = 64;

/// What became of one command the server decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Its event is stored at `seq`; the log was at `mark` right after the batch it was stored in.
    Stored { seq: u64, mark: Mark },
    /// A request of the same key stored it before, its event at `seq`: nothing was stored this time.
    StoredBefore { seq: u64, mark: Mark },
    /// The shop's rules refuse it on the log as it was at `after` (its version): the page shows these very
    /// words.
    Refused { rejection: Rejection, after: Version },
    /// Sent again after its answer was lost, with a command sent after it already stored: it was refused
    /// when first decided, and is not decided again after a later one (the log is at `after` now).
    RefusedBefore { after: Version },
}

/// What a page is told of a [`Decision::RefusedBefore`].
pub const REFUSED_BEFORE: &str = "the shop's rules refused this command when it was first sent, and a command made after it is \
    stored already, so it is not decided again out of order: change it and send it again as a new command";

/// Why a batch of commands was not decided. Every command of the batch gets the same answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}: nothing was stored; send the command again")]
    NotStored(String),
    #[error("Redis stopped answering while storing this command ({0}), so it may or may not be stored: send it again with the same key")]
    Unconfirmed(String),
    #[error("{0}")]
    Damaged(String),
    #[error("other server copies wrote to the shop {MAX_DECISIONS} times while this command waited: nothing was stored; send it again")]
    Contended,
    #[error("this server copy has {0} commands waiting for the shop already: send it again in a moment")]
    Busy(usize),
    #[error("the server is shutting down: nothing was stored; send the command again")]
    ShuttingDown,
    #[error("the server failed on this command (a bug), so it may or may not be stored: send it again with the same key")]
    Failed,
}

impl From<CacheError> for CommandError {
    fn from(error: CacheError) -> Self {
        match error {
            CacheError::Store(store) => CommandError::NotStored(store.to_string()),
            damaged @ (CacheError::Damaged { .. } | CacheError::Deleted { .. }) => CommandError::Damaged(damaged.to_string()),
        }
    }
}

/// Why a read was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the log holds events up to {} (epoch {}); there is nothing after event {after}: read it again from the start", .version.head, .version.epoch)]
    PastHead { after: u64, version: Version },
    #[error("the log the server holds is not the one this page read up to event {after}: it was replaced (restored from a backup, or moved); read it again from the start")]
    Replaced { after: u64, version: Version },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("the server is shutting down: ask another copy, or again once it is back")]
    ShuttingDown,
}

/// Where the log is, and the chain that names its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub version: Version,
    pub chain: Chain,
}

/// Events after some sequence number, encoded as frames.
#[derive(Debug)]
pub struct Frames {
    pub version: Version,
    /// The sequence number of the last event sent, and the chain of the log up to it.
    pub last: u64,
    pub chain: Chain,
    pub bytes: Vec<u8>,
}

/// A stored append: where the log is now, and whether the command was stored by an earlier request of the
/// same key (the page then reads the log rather than adding its own events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub mark: Mark,
    pub before: bool,
}

/// One server copy's handle on the shared log: Redis and this copy's cache of it. Cheap to clone.
#[derive(Clone)]
pub struct SharedLog {
    redis: RedisLog,
    cache: Arc<Mutex<Cache>>,
    /// Set while Redis runs without a setting that makes it durable (checked at start and again whenever
    /// it comes back): appends are refused meanwhile.
    not_durable: Arc<watch::Sender<Option<NotDurable>>>,
    /// When the settings were last checked; `None` after a request to Redis failed (it may be another one
    /// when it answers again).
    checked_at: Arc<Mutex<Option<Instant>>>,
}

impl SharedLog {
    /// Builds the cache from the whole stream.
    pub async fn open(redis: RedisLog) -> Result<Self, CacheError> {
        let mut cache = Cache::new();
        cache.catch_up(&redis).await?;
        let (not_durable, _) = watch::channel(None);
        Ok(Self {
            redis,
            cache: Arc::new(Mutex::new(cache)),
            not_durable: Arc::new(not_durable),
            checked_at: Arc::new(Mutex::new(Some(Instant::now()))),
        })
    }

    pub fn redis(&self) -> &RedisLog {
        &self.redis
    }

    /// Checks Redis's settings again (after it came back: it may have come back as another Redis).
    pub async fn recheck_durable(&self) -> Result<(), RedisLogError> {
        let outcome = match self.redis.check_durable().await {
            Ok(()) => None,
            Err(RedisLogError::NotDurable(not)) => Some(not),
            Err(other) => return Err(other),
        };
        if let Some(not) = &outcome {
            tracing::error!(shop = %self.redis.keys().shop, "appends are refused until Redis is durable again: {not}");
        }
        self.not_durable.send_replace(outcome);
        *self.checked_at.lock().await = Some(Instant::now());
        Ok(())
    }

    /// Refuses to go on while Redis lacks a durable setting, checking again when the last check is old or a
    /// request to Redis failed since.
    async fn ensure_durable(&self) -> Result<(), RedisLogError> {
        let due = self.checked_at.lock().await.is_none_or(|at| at.elapsed() > DURABLE_CHECK);
        if due {
            self.recheck_durable().await?;
        }
        match self.not_durable.borrow().clone() {
            Some(not) => Err(RedisLogError::NotDurable(not)),
            None => Ok(()),
        }
    }

    /// The cache, caught up with Redis. A failure to reach Redis makes the next append check its settings.
    async fn caught_up(&self) -> Result<MutexGuard<'_, Cache>, CacheError> {
        let mut cache = self.cache.lock().await;
        self.catch_up(&mut cache).await?;
        Ok(cache)
    }

    async fn catch_up(&self, cache: &mut Cache) -> Result<(), CacheError> {
        let outcome = cache.catch_up(&self.redis).await;
        if let Err(CacheError::Store(_)) = outcome {
            *self.checked_at.lock().await = None;
        }
        outcome
    }

    pub async fn mark(&self) -> Result<Mark, CacheError> {
        let cache = self.caught_up().await?;
        Ok(Mark { version: cache.version(), chain: cache.head_chain() })
    }

    pub async fn version(&self) -> Result<Version, CacheError> {
        Ok(self.mark().await?.version)
    }

    /// Up to `query.limit` events after `query.after`, as frames.
    pub async fn events_after(&self, query: EventsQuery) -> Result<Frames, ReadError> {
        let (version, last, chain, names, events, timestamps) = {
            let cache = self.caught_up().await?;
            let version = cache.version();
            let after = query.after;
            if after > version.head {
                return Err(ReadError::PastHead { after, version });
            }
            if query.chain.is_some_and(|chain| cache.chain_at(after) != Some(chain)) {
                return Err(ReadError::Replaced { after, version });
            }
            let last = after + query.limit.min(version.head - after);
            let count = usize::try_from(last - after).unwrap_or(usize::MAX);
            let (events, timestamps) = cache.log().range(after + 1, count);
            let chain = cache.chain_at(last).unwrap_or_default();
            (version, last, chain, cache.log().names_shared(), events.to_vec(), timestamps.to_vec())
        };
        // Encoded outside the lock and off the async workers: appends go on meanwhile. A page of at most
        // 100,000 events is a copy of a few MB; the name tables are shared, not copied.
        let first = last + 1 - events.len() as u64;
        let encode = move || encode_frames(&names, first, &events, &timestamps);
        let bytes = match tokio::task::spawn_blocking(encode).await {
            Ok(bytes) => bytes,
            Err(join) => match join.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => return Err(ReadError::ShuttingDown),
            },
        };
        Ok(Frames { version, last, chain, bytes })
    }

    /// The newest snapshot in Redis, if it belongs to the log this copy holds (its epoch, and its chain at
    /// the snapshot's seq): a snapshot of another log is never handed out.
    pub async fn snapshot(&self) -> Result<Option<StoredSnapshot>, CacheError> {
        let Some(stored) = self.redis.snapshot().await? else { return Ok(None) };
        let cache = self.caught_up().await?;
        let ours = stored.epoch == cache.version().epoch
            && stored.seq <= cache.version().head
            && stored.chain.is_some()
            && stored.chain == cache.chain_at(stored.seq);
        Ok(ours.then_some(stored))
    }

    /// The checked append of a page: `body` holds frames of events `after + 1, …` decided on log `epoch` at
    /// `after`. They are stored, all of them, only if the log is still there, every event keeps the rules
    /// and no command of the same key was stored before. A refused append leaves the copy as it found it.
    pub async fn append(&self, query: &AppendQuery, body: &AppendBody<'_>) -> Result<Stored, AppendError> {
        self.ensure_durable().await.map_err(AppendError::NotStored)?;
        let decided_on = query.decided_on;
        let mut cache = self.caught_up().await?;
        if cache.version().epoch == 0 {
            // The shop's first write names it; these events were decided on no log yet: decide again on it.
            self.redis.name_log().await.map_err(AppendError::NotStored)?;
            self.catch_up(&mut cache).await?;
            return Err(AppendError::Stale(cache.version()));
        }
        if query.key.as_ref().is_some_and(|key| cache.key_stored(key).is_some()) {
            // Sent before (as an append or as a command): the log holds it.
            return Ok(Stored { mark: mark(&cache), before: true });
        }
        let on_our_log = decided_on == cache.version()
            && query.chain.is_none_or(|chain| cache.chain_at(decided_on.head) == Some(chain));
        if !on_our_log {
            // Checked before a byte of the body is decoded: a stale append costs nothing but this. (Its key,
            // if the log held it, was found in the caught-up cache above.)
            return Err(AppendError::Stale(cache.version()));
        }
        let names_before = cache.log().names().checkpoint();
        let decided = decode_body(cache.log_mut(), body).and_then(|(events, timestamps)| {
            cache.log().check_continuation(cache.live(), &events).map_err(|error| match error {
                LogError::Broken { rejection, .. } => AppendError::Broken(rejection),
                other => AppendError::Malformed(other.to_string()),
            })?;
            Ok((events, timestamps))
        });
        let (events, timestamps) = match decided {
            Ok(decided) => decided,
            Err(refused) => {
                cache.log_mut().names_mut().roll_back(names_before);
                return Err(refused);
            }
        };
        let lines = cache.lines_for(&events, &timestamps);
        let answer = self.redis.append(decided_on, cache.head_chain(), query.key.as_ref(), &lines).await;
        if let Ok(Appended::Stored(_)) = answer {
            cache.push_stored(&events, &timestamps, &lines);
            if let Some(key) = &query.key {
                cache.note_key(key, decided_on.head + 1);
            }
            return Ok(Stored { mark: mark(&cache), before: false });
        }
        // Nothing of the events is in the cache: the names they brought go too, and a catch-up reads
        // whatever Redis holds.
        cache.log_mut().names_mut().roll_back(names_before);
        let error = match answer {
            Ok(Appended::Stale(_) | Appended::Stored(_)) => {
                // Another copy appended since the catch-up: answer with the log as it is now.
                self.catch_up(&mut cache).await?;
                return Err(AppendError::Stale(cache.version()));
            }
            Ok(Appended::Seen { .. }) => {
                self.catch_up(&mut cache).await?;
                return Ok(Stored { mark: mark(&cache), before: true });
            }
            Ok(Appended::Damaged(version)) => {
                return Err(AppendError::Damaged(CacheError::Deleted { head: version.head }));
            }
            Err(error) => {
                *self.checked_at.lock().await = None;
                error
            }
        };
        // The script may have run although its answer was lost: look before saying what happened. The chain
        // says whether the log holds exactly these events (their names may have other ids once read back).
        let ours = lines.last().map(|(_, chain)| *chain);
        let last = decided_on.head + events.len() as u64;
        match self.catch_up(&mut cache).await {
            Ok(()) if cache.version().epoch == decided_on.epoch && cache.chain_at(last) == ours => {
                Ok(Stored { mark: mark(&cache), before: false })
            }
            // Not in the log yet; but a script whose connection dropped may still run after this read. With a
            // key, the page sends the same request again and the script's own check settles it.
            Ok(()) if query.key.is_some() => Err(AppendError::Unconfirmed(error)),
            Ok(()) => Err(AppendError::NotStored(error)),
            Err(_) => Err(AppendError::Unconfirmed(error)),
        }
    }

    /// Decides a batch of commands in order on the log as Redis holds it and stores the events of those the
    /// rules allow in one checked write (the group commit), each with its key: a key the log holds already
    /// (an earlier request, perhaps to another copy) answers where, and stores nothing again. When another copy wrote
    /// first, the copy reads what it wrote and decides the batch again on the new log. Answers one
    /// [`Decision`] per command, in order. The keys of a batch differ (the decider gives requests of one key
    /// one answer), and a refund comes only first (see [`Cache::decide`]).
    pub async fn decide_commands(&self, asked: &[(CommandKey, Command, Vec<CommandKey>)]) -> Result<Vec<Decision>, CommandError> {
        self.ensure_durable().await.map_err(|e| CommandError::NotStored(e.to_string()))?;
        let mut cache = self.caught_up().await?;
        for _ in 0..MAX_DECISIONS {
            // A command the log holds already (sent again after a lost answer, perhaps to another copy) is
            // answered where it is, never decided again: on the log that holds it, it could be refused.
            let turns: Vec<Turn<'_>> = asked
                .iter()
                .map(|(key, command, later)| match cache.key_stored(key) {
                    Some(seq) => Turn::StoredBefore(seq),
                    None if later.iter().any(|k| cache.key_stored(k).is_some()) => Turn::RefusedBefore,
                    None => Turn::Waiting(command),
                })
                .collect();
            let names_before = cache.log().names().checkpoint();
            let (events, outcomes) = cache.decide(&turns);
            let decided_on = cache.version();
            let answer = |cache: &Cache| {
                let mark = mark(cache);
                outcomes
                    .iter()
                    .map(|outcome| match outcome {
                        Outcome::Event(event) => Decision::Stored { seq: decided_on.head + *event as u64 + 1, mark },
                        Outcome::Refused { rejection, after } => Decision::Refused {
                            rejection: rejection.clone(),
                            after: Version { epoch: decided_on.epoch, head: decided_on.head + *after as u64 },
                        },
                        Outcome::StoredBefore(seq) => Decision::StoredBefore { seq: *seq, mark },
                        Outcome::RefusedBefore => Decision::RefusedBefore { after: decided_on },
                    })
                    .collect::<Vec<_>>()
            };
            if events.is_empty() {
                cache.log_mut().names_mut().roll_back(names_before);
                return Ok(answer(&cache));
            }
            if decided_on.epoch == 0 {
                // The shop's first event: its log is named now (a refused command names nothing), and the
                // commands are decided again on the named log.
                cache.log_mut().names_mut().roll_back(names_before);
                self.redis.name_log().await.map_err(|e| CommandError::NotStored(e.to_string()))?;
                self.catch_up(&mut cache).await?;
                continue;
            }
            // The command whose event each event is.
            let owners: Vec<usize> = outcomes
                .iter()
                .enumerate()
                .filter_map(|(ix, outcome)| matches!(outcome, Outcome::Event(_)).then_some(ix))
                .collect();
            let now = now_ms();
            let timestamps = vec![now; events.len()];
            let lines = cache.lines_for(&events, &timestamps);
            let batch: Vec<(String, Chain, &CommandKey)> = lines
                .iter()
                .zip(&owners)
                .filter_map(|((line, chain), &ix)| asked.get(ix).map(|(key, _, _)| (line.clone(), *chain, key)))
                .collect();
            let committed = self.redis.commit(decided_on, cache.head_chain(), &batch).await;
            if let Ok(Committed::Stored(_)) = committed {
                cache.push_stored(&events, &timestamps, &lines);
                for (at, (_, _, key)) in (decided_on.head + 1..).zip(&batch) {
                    cache.note_key(key, at);
                }
                return Ok(answer(&cache));
            }
            cache.log_mut().names_mut().roll_back(names_before);
            match committed {
                Ok(Committed::Stored(_) | Committed::Stale(_)) => {}
                Ok(Committed::Damaged(version)) => {
                    return Err(CacheError::Deleted { head: version.head }.into());
                }
                Err(error) => {
                    *self.checked_at.lock().await = None;
                    // The script may have run although its answer was lost: the chain says whether the log
                    // holds exactly these events.
                    let ours = lines.last().map(|(_, chain)| *chain);
                    let last = decided_on.head + events.len() as u64;
                    return match self.catch_up(&mut cache).await {
                        Ok(()) if cache.version().epoch == decided_on.epoch && cache.chain_at(last) == ours => {
                            Ok(answer(&cache))
                        }
                        _ => Err(CommandError::Unconfirmed(error.to_string())),
                    };
                }
            }
            // Another copy wrote first: read the log as it is now (its keys too) and decide again.
            self.catch_up(&mut cache).await?;
        }
        Err(CommandError::Contended)
    }

    /// Stores a snapshot of the state at the head, unless the head is still `last`. Returns the sequence
    /// number of the newest snapshot now stored (this one, or a newer one another copy stored), if one was
    /// written; a refusal is an error, so that the copy neither believes it nor waits `every` events to try
    /// again.
    pub async fn write_snapshot(&self, last: u64) -> Result<Option<u64>, SnapshotError> {
        let (version, chain, bytes) = {
            let cache = self.caught_up().await?;
            let version = cache.version();
            if version.head == 0 || version.head == last {
                return Ok(None);
            }
            (version, cache.head_chain(), encode_snapshot(cache.live(), cache.log().names()))
        };
        match self.redis.write_snapshot(version.epoch, version.head, chain, &bytes).await? {
            SnapshotAnswer::Stored { seq } | SnapshotAnswer::AlreadyKept { seq } => Ok(Some(seq)),
            // The stream moved under this copy: its next catch-up finds out how (the chain at its head).
            SnapshotAnswer::Refused { asked, .. } => Err(SnapshotError::Refused { asked }),
        }
    }
}

/// Why a copy's snapshot was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Redis(#[from] RedisLogError),
    /// Redis refused it: the stream is no longer the log the copy holds.
    #[error("Redis refused a snapshot at event {asked}: the stream is not the log this copy holds up to there (it was \
             replaced, or entries were deleted); the copy reads the stream again before the next one")]
    Refused { asked: u64 },
}

fn mark(cache: &Cache) -> Mark {
    Mark { version: cache.version(), chain: cache.head_chain() }
}

/// The events of a body's chunks, decoded strictly (no name that no event uses) into the log's tables.
fn decode_body(log: &mut Log, body: &AppendBody<'_>) -> Result<(Vec<Event>, Vec<u64>), AppendError> {
    let (mut events, mut timestamps) = (Vec::with_capacity(body.events), Vec::with_capacity(body.events));
    for (frame, chunk) in (1..).zip(&body.chunks) {
        decode_chunk_strict(chunk, log.names_mut(), &mut events, &mut timestamps)
            .map_err(|e| AppendError::Malformed(format!("frame {frame} holds a damaged chunk: {e}")))?;
    }
    Ok((events, timestamps))
}
