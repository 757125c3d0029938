//! Rewind's browser event store: the log as chunks of consecutive events (the domain's binary encoding),
//! snapshots, restore on load, and live updates between tabs. It knows the domain, never the UI.
//!
//! Backends, in order of preference: IndexedDB, localStorage (when IndexedDB cannot be opened), memory (when
//! localStorage is refused too). All three keep the same records and give the same guarantees within a
//! page; only IndexedDB and localStorage survive a reload.
//!
//! Architecture Invariant: an append counts as stored only after its write has completed (for IndexedDB,
//! after the `strict` transaction's `complete` event); until then the caller shows nothing of it.
//!
//! Architecture Invariant: one rule ([`rule`]) decides every write, whatever the backend: a write names the
//! version of the log it was decided on and goes in only if that is still the stored version.

mod branches;
mod models;
pub mod clock;
mod error;
mod idb;
mod local;
mod locks;
mod memory;
mod outbox;
mod policy;
mod records;
mod remote;
mod rule;
mod shared;
mod sync;
mod backend;
mod js;
mod types;

pub use branches::{BranchDamaged, BranchShelf, SavedBranch};
pub use models::ModelShelf;
pub use error::{IndexDamage, RecordDamage, StoreError};
pub use policy::{should_snapshot, SNAPSHOT_EVERY, SNAPSHOTS_KEPT};
pub use backend::Backend;
pub use types::{encode_chunks, EncodedChunk, MAX_CHUNK_BYTES};
pub use rewind_domain::MAX_CHUNK_EVENTS;
pub use rule::{Expected, LogVersion};
pub use remote::Pending;
pub use shared::{AccessKeyGate, Appended, Backoff, CommandKey, Feed, FeedNews, ServerSighting, SyncStatus, Unreachable};
pub use sync::{LogChange, TabSync};
pub use rewind_protocol::CommandOutcome;
pub use outbox::{Changed, EntryState, Outbox, OutboxEntry, OutboxList, SendingTurn};

use records::Records;
use types::RawRecord;
use rewind_domain::{apply_chunk_tail_until, chunk_info, decode_frames, decode_snapshot, encode_snapshot, Log, Names, State, MAX};
use rule::{NewEpoch, Write};
use remote::Remote;
use shared::{Found, Met, SharedLog};
use std::fmt;


impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The event store of one page. Two pages (tabs) open two stores over the same records. Every write names
/// the version of the log it was decided on ([`LogVersion`]) and is refused if the store moved since.
pub struct Store {
    /// The log itself; on a shared log, this page's cache of it.
    records: Records,
    /// Why a preferred backend could not be used, for the page to explain.
    fallback_reasons: Vec<String>,
    /// The sync server whose log this is, if the page was served by one (see [`remote`] for why a trait).
    shared: Option<Box<dyn Remote>>,
    /// On a shared log, the commands this browser made that the server has not answered yet.
    outbox: Option<Outbox>,
}

/// What a page opens: its store, or first the sync server's access-key form.
pub enum PageStore {
    Ready(Store),
    /// The sync server wants its access key: nothing of the shop until it is given.
    KeyNeeded(AccessKeyGate),
}

/// Where a page's log lives, as far as [`Store::open_for_page`] tells.
pub enum PageLog {
    /// In this browser: the store, opened.
    Local(Store),
    /// What may be a sync server answered (or nothing did, in time): [`Store::open_shared`] opens its log.
    /// That function is in the shared log's module, which the page fetches only then.
    MaybeSyncServer(ServerSighting),
}

/// What a load did: the live state, and how it was rebuilt.
pub struct Restored {
    pub names: Names,
    pub live: State,
    /// Sequence number of the snapshot used (0 if none).
    pub snapshot_seq: u64,
    /// Events replayed after the snapshot.
    pub tail: u64,
    /// Snapshots that were skipped as damaged, with why: reported, never trusted.
    pub skipped_snapshots: Vec<String>,
    /// What stopped the replay early, if anything; `live` holds the events before it.
    pub problem: Option<StoreError>,
}

/// The whole log as read from storage: a true prefix of it, and the first problem met, if any.
pub struct LoadedLog {
    pub log: Log,
    pub live: State,
    /// The version read; writes name it. `DamagedIndex` when the index could not be read.
    pub version: Expected,
    /// Why `log` is shorter than the stored log, if it is.
    pub problem: Option<StoreError>,
}

/// How often a read starts again because a write committed while it read.
const READ_TRIES: u32 = 4;


/// `name` for the browser's own log and the main shop, `name-shop-NAME` for shop NAME: what is kept per log
/// in this browser (the tab channel, saved branches) under a name of its own, as shops share an origin.
pub fn name_for_shop(name: &str, shop: Option<&str>) -> String {
    match shop {
        Some(shop) if shop != rewind_protocol::MAIN_SHOP => format!("{name}-shop-{shop}"),
        _ => name.to_owned(),
    }
}

impl Store {
    /// Opens the store named `name`: IndexedDB if it opens, else localStorage, else memory.
    pub async fn open(name: &str) -> Store {
        let mut fallback_reasons = Vec::new();
        match idb::IdbRecords::open(name).await {
            Ok(r) => return Store { records: Records::Idb(r), fallback_reasons, shared: None, outbox: None },
            Err(e) => fallback_reasons.push(format!("IndexedDB could not be opened: {e}")),
        }
        match local::LocalRecords::open(name) {
            Ok(r) => return Store { records: Records::Local(r), fallback_reasons, shared: None, outbox: None },
            Err(e) => fallback_reasons.push(format!("localStorage could not be used: {e}")),
        }
        Store { records: Records::Memory(memory::MemoryRecords::default()), fallback_reasons, shared: None, outbox: None }
    }

    /// A store in localStorage only (for tests and diagnostics; [`Store::open`] chooses by itself).
    pub fn open_local(name: &str) -> Result<Store, String> {
        local::LocalRecords::open(name).map(|r| Store { records: Records::Local(r), fallback_reasons: Vec::new(), shared: None, outbox: None })
    }

    /// A store that keeps everything in this page only.
    pub fn in_memory() -> Store {
        Store { records: Records::Memory(memory::MemoryRecords::default()), fallback_reasons: Vec::new(), shared: None, outbox: None }
    }

    /// Opens this page's log: the store `name` in this browser, unless what served the page may be a sync
    /// server ([`PageLog::MaybeSyncServer`]: see [`Store::open_shared`]).
    pub async fn open_for_page(name: &str) -> PageLog {
        match SharedLog::find().await {
            Found::Local => PageLog::Local(Store::open(name).await),
            Found::Server(sighting) => PageLog::MaybeSyncServer(sighting),
        }
    }

    /// Opens the log of what may be a sync server: its shared log (with the store `name-shared` as its
    /// cache), also while that server cannot be reached; the store `name` in this browser if its answer is no
    /// version after all. A server that wants its access key first gets it before anything is opened.
    /// Called only from the shared log's module (`src/shared_log.rs`, cut off at its split point in `src/split.rs`).
    pub async fn open_shared(name: &str, sighting: ServerSighting) -> PageStore {
        match SharedLog::meet(sighting) {
            Met::Shared(shared) => {
                let cache = match shared.shop().as_str() {
                    rewind_protocol::MAIN_SHOP => format!("{name}-shared"),
                    shop => format!("{name}-shared-{shop}"),
                };
                let outbox = Some(Outbox::open(&cache).await);
                let shared: Box<dyn Remote> = Box::new(shared);
                PageStore::Ready(Store { shared: Some(shared), outbox, ..Store::open(&cache).await })
            }
            Met::Local => PageStore::Ready(Store::open(name).await),
            Met::KeyNeeded(gate) => PageStore::KeyNeeded(gate),
        }
    }

    /// Whether the log is shared, and whether its server answers, as far as the last answer tells.
    pub fn sync_status(&self) -> SyncStatus {
        self.shared.as_ref().map_or(SyncStatus::Local, |shared| shared.status())
    }

    /// Whether the sync server is known to be out of reach (then reads go to this page's cache at once).
    fn server_away(&self) -> bool {
        self.sync_status().is_offline()
    }

    /// On a shared log, listens to the server's feed (see `SharedLog::listen`); `None` on a local log.
    pub fn listen(&self, on_news: impl Fn(FeedNews) + 'static) -> Option<Feed> {
        self.shared.as_ref().map(|s| s.listen(Box::new(on_news)))
    }

    /// Writes events the shared log stored into this page's cache. Best effort: the server has them, and a
    /// cache that lags (or that another tab filled first) is caught up on the next load.
    async fn cache(&self, expected: LogVersion, chunks: &[EncodedChunk]) {
        if chunks.is_empty() {
            return;
        }
        match self.records.write(&Write::Append { expected, chunks }).await {
            Ok(_) | Err(StoreError::Conflict { .. } | StoreError::Replaced) => {}
            Err(e) => clock::warn(&format!("Rewind could not cache the shared log: {e}")),
        }
    }

    pub fn backend(&self) -> Backend {
        self.records.backend()
    }

    /// On a shared log, the commands made here that wait for the server (see [`Outbox`]).
    pub fn outbox(&self) -> Option<&Outbox> {
        self.outbox.as_ref()
    }

    pub fn fallback_reasons(&self) -> &[String] {
        &self.fallback_reasons
    }

    /// The stored version: head and epoch, or an error naming the damaged index.
    pub async fn version(&self) -> Result<LogVersion, StoreError> {
        self.records.index().await?.map_err(StoreError::DamagedIndex)
    }

    /// The number of events stored.
    pub async fn head(&self) -> Result<u64, StoreError> {
        Ok(self.version().await?.head)
    }

    /// Appends chunks that continue the log of `expected`, in one durable write; returns the new version.
    /// If another writer moved the head first, nothing is written and the answer is
    /// [`StoreError::Conflict`]; if the whole log was replaced since, [`StoreError::Replaced`].
    /// (The page's session uses [`Store::append_with_key`], whose request can be sent again.)
    pub async fn append(&self, expected: LogVersion, chunks: &[EncodedChunk]) -> Result<LogVersion, StoreError> {
        if self.shared.is_none() {
            return self.append_here(expected, chunks).await;
        }
        match self.append_with_key(expected, chunks, &CommandKey::random()?).await? {
            Appended::Stored(version) => Ok(version),
            Appended::StoredBefore => {
                Err(StoreError::Read("the sync server says a command key never sent before was stored already".into()))
            }
        }
    }

    /// As [`Store::append`], for one command's write under its `key`. On a shared log, an answer that was lost
    /// is [`StoreError::OutcomeUnknown`]: send the same chunks, on the same version, with the same key again,
    /// and the server stores them at most once ([`Appended::StoredBefore`] if the first send went in).
    /// A local log has no use for the key: its write either commits or not.
    pub async fn append_with_key(
        &self,
        expected: LogVersion,
        chunks: &[EncodedChunk],
        key: &CommandKey,
    ) -> Result<Appended, StoreError> {
        let Some(shared) = &self.shared else {
            return self.append_here(expected, chunks).await.map(Appended::Stored);
        };
        let appended = shared.append(expected, chunks, key).await?;
        if let Appended::Stored(_) = appended {
            self.cache(expected, chunks).await;
        }
        Ok(appended)
    }

    /// The shop of the sync server this page is on; `None` on the browser's own log.
    pub fn shop(&self) -> Option<&str> {
        self.shared.as_ref().map(|shared| shared.shop().as_str())
    }

    /// The name under which tabs of this log tell each other of their writes: `name` for the browser's own
    /// log and the main shop, `name-shop-NAME` for another shop (tabs of two shops share an origin).
    pub fn channel(&self, name: &str) -> String {
        name_for_shop(name, self.shop())
    }

    /// Whether commands are decided by a sync server (a shared log) rather than by this page.
    pub fn server_decides(&self) -> bool {
        self.shared.is_some()
    }

    /// On a shared log, sends `command` for the server to decide ([`SharedLog::send_command`]'s answers);
    /// the page then reads the event from the log like any other. A local log decides in the page:
    /// [`StoreError::Refused`].
    pub async fn send_command(&self, key: &CommandKey, command: &rewind_domain::Command) -> Result<Option<u64>, StoreError> {
        match &self.shared {
            Some(shared) => shared.send_command(key, command).await,
            None => Err(StoreError::Refused { message: "this log is the browser's own: the page decides its commands".into() }),
        }
    }

    /// On a shared log, sends commands kept in the outbox to be decided together, in their order
    /// ([`SharedLog::send_commands`]).
    pub async fn send_commands(
        &self,
        commands: &[(CommandKey, rewind_domain::Command)],
    ) -> Result<(Vec<rewind_protocol::CommandOutcome>, Option<String>), StoreError> {
        match &self.shared {
            Some(shared) => shared.send_commands(commands).await,
            None => Err(StoreError::Refused { message: "this log is the browser's own: the page decides its commands".into() }),
        }
    }

    async fn append_here(&self, expected: LogVersion, chunks: &[EncodedChunk]) -> Result<LogVersion, StoreError> {
        let written = self.records.write(&Write::Append { expected, chunks }).await?;
        written.ok_or_else(|| StoreError::Write("the append was dropped".into()))
    }

    /// Replaces the log of `expected` (an import) in one write: afterwards either the old log or the new one
    /// is stored, never a mix. Snapshots of the old log go with it. If the log moved since it was read
    /// (another tab appended or replaced), nothing is written: [`StoreError::Conflict`] or
    /// [`StoreError::Replaced`], so that the user can be asked again.
    /// On a shared log this is refused ([`StoreError::SharedLogKept`]).
    pub async fn replace(&self, expected: Expected, chunks: &[EncodedChunk]) -> Result<LogVersion, StoreError> {
        if self.shared.is_some() {
            return Err(StoreError::SharedLogKept);
        }
        let written = self.records.write(&Write::Replace { expected, chunks, epoch: NewEpoch::Fresh { now_ms: clock::now_ms() } }).await?;
        written.ok_or_else(|| StoreError::Write("the replace was dropped".into()))
    }

    /// Removes every event and snapshot of the log of `expected`, in one write.
    pub async fn clear(&self, expected: Expected) -> Result<LogVersion, StoreError> {
        self.replace(expected, &[]).await
    }

    /// Stores a snapshot of `live` (the state after event `live.seq()` of the log of `epoch`), keeping the
    /// newest few. Returns whether it was stored: a snapshot of a log that was replaced meanwhile, or that is
    /// ahead of the stored head, is dropped.
    pub async fn write_snapshot(&self, epoch: u64, live: &State, names: &Names) -> Result<bool, StoreError> {
        let bytes = encode_snapshot(live, names);
        let written = self.records.write(&Write::Snapshot { epoch, seq: live.seq(), bytes: &bytes }).await?;
        Ok(written.is_some())
    }

    /// Runs `read` between two readings of the index. If the log was replaced in between (or its index
    /// changed while damaged), it reads again (a few times), so that everything returned belongs to the
    /// version first read, whatever the backend. Appends in between do no harm: within an epoch, the records
    /// up to a head are never rewritten, and nothing past the head read is used.
    async fn consistent_read<T>(
        &self,
        mut read: impl AsyncFnMut(&rule::StoredIndex) -> Result<T, StoreError>,
    ) -> Result<(rule::StoredIndex, T), StoreError> {
        let mut index = self.records.index().await?;
        for _ in 0..READ_TRIES {
            let value = read(&index).await?;
            let after = self.records.index().await?;
            let unchanged = match (&index, &after) {
                (Ok(before), Ok(now)) => before.epoch == now.epoch && before.head <= now.head,
                _ => index == after,
            };
            if unchanged {
                return Ok((index, value));
            }
            index = after;
        }
        Err(StoreError::Read("other tabs kept changing the log while it was being read; please try again".into()))
    }

    /// The live state from the newest valid snapshot plus the events after it, up to the stored head.
    /// On a shared log, from this page's cache when it holds anything (the log is caught up afterwards by
    /// [`Store::read_log`]), else from the server's snapshot and the tail after it, unless the server is known
    /// to be away (then the page starts from its cache, and catches up when the server is back).
    pub async fn restore(&self) -> Result<Restored, StoreError> {
        let (_, restored) = self.consistent_read(async |index| self.restore_at(index).await).await?;
        match &self.shared {
            Some(shared) if restored.live.seq() == 0 && !self.server_away() => restore_shared(shared.as_ref()).await,
            _ => Ok(restored),
        }
    }

    async fn restore_at(&self, index: &rule::StoredIndex) -> Result<Restored, StoreError> {
        let limit = index.as_ref().map_or(MAX, |v| v.head);
        let mut skipped = Vec::new();
        let mut start = None;
        for snapshot in self.records.snapshots_newest_first().await? {
            let seq = snapshot.key;
            if seq > limit {
                skipped.push(format!("snapshot at {seq} is ahead of the log ({limit} events)"));
                continue;
            }
            let bytes = snapshot.bytes.as_deref().map_err(ToString::to_string);
            match bytes.and_then(|bytes| snapshot_at(seq, bytes)) {
                Ok(found) => {
                    start = Some(found);
                    break;
                }
                Err(why) => skipped.push(format!("snapshot at {seq}: {why}")),
            }
        }
        let (mut names, mut live) = start.unwrap_or_default();
        let snapshot_seq = live.seq();
        let from = snapshot_seq.saturating_add(1).saturating_sub(MAX_CHUNK_EVENTS as u64).max(1);
        let records = self.records.chunks_from(from).await?;
        let problem = replay_tail(&mut names, &mut live, &records, limit).or_else(|| shortfall(index, live.seq()));
        let tail = live.seq() - snapshot_seq;
        Ok(Restored { names, live, snapshot_seq, tail, skipped_snapshots: skipped, problem })
    }

    /// The whole log, decoded and checked against the rules: the longest true prefix that can be read, up to
    /// the stored head, and what kept the rest from being read.
    /// On a shared log: this page's cache, caught up with the server (or replaced by the server's log when
    /// it is another log); the cache alone when the server cannot be reached.
    pub async fn read_log(&self) -> Result<LoadedLog, StoreError> {
        match &self.shared {
            Some(shared) => self.read_shared_log(shared.as_ref()).await,
            None => self.read_cached_log().await,
        }
    }

    async fn read_shared_log(&self, shared: &dyn Remote) -> Result<LoadedLog, StoreError> {
        if self.server_away() {
            return self.read_cached_log().await;
        }
        let server = match shared.version().await {
            Ok(v) => v,
            // The page shows its cache; the feed catches up once the server answers (or the key is given).
            Err(StoreError::Offline { .. } | StoreError::AccessKey { .. }) => return self.read_cached_log().await,
            Err(e) => return Err(e),
        };
        let mut cached = self.read_cached_log().await?;
        if let (None, Expected::Version(have)) = (&cached.problem, cached.version) {
            if have.epoch == server.epoch && have.head <= server.head {
                // Replaced: the server's log is another one that grew past this cache under the same epoch
                // (its chain differs): read it whole, below, rather than mix the two.
                match shared.events_after(have.head).await {
                    Ok((version, body)) => {
                        let (records, chunks) = from_frames(&body)?;
                        self.cache(have, &chunks).await;
                        cached.problem = extend(&mut cached.log, &mut cached.live, &records, version.head).err();
                        cached.version = Expected::Version(version);
                        return Ok(cached);
                    }
                    Err(StoreError::Replaced) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let (version, body) = shared.events_after(0).await?;
        let (records, chunks) = from_frames(&body)?;
        let (mut log, mut live) = (Log::new(), State::new());
        let problem = extend(&mut log, &mut live, &records, version.head).err();
        if problem.is_none() {
            let expected = self.records.index().await?.map_or(Expected::DamagedIndex, Expected::Version);
            let epoch = NewEpoch::Shared(version.epoch);
            if let Err(e) = self.records.write(&Write::Replace { expected, chunks: &chunks, epoch }).await {
                clock::warn(&format!("Rewind could not cache the shared log: {e}"));
            }
        }
        Ok(LoadedLog { log, live, version: Expected::Version(version), problem })
    }

    async fn read_cached_log(&self) -> Result<LoadedLog, StoreError> {
        let (index, records) = self.consistent_read(async |_| self.records.chunks_from(1).await).await?;
        let limit = index.as_ref().map_or(MAX, |v| v.head);
        let (mut log, mut live) = (Log::new(), State::new());
        let problem = extend(&mut log, &mut live, &records, limit).err().or_else(|| shortfall(&index, log.len()));
        let version = index.map_or(Expected::DamagedIndex, Expected::Version);
        Ok(LoadedLog { log, live, version, problem })
    }

    /// Reads the records stored after the log of `have`. Apply them with [`Tail::apply`], which needs no
    /// await, so a page can apply them without lending its log across a suspension point.
    /// [`StoreError::Replaced`] if the stored log is no longer a continuation of `have`.
    pub async fn tail_after(&self, have: LogVersion) -> Result<Tail, StoreError> {
        if let Some(shared) = &self.shared {
            let (version, body) = shared.events_after(have.head).await?;
            if version.epoch != have.epoch {
                return Err(StoreError::Replaced);
            }
            let (records, chunks) = from_frames(&body)?;
            self.cache(have, &chunks).await;
            return Ok(Tail { version, records });
        }
        let (index, records) = self
            .consistent_read(async |index| match index {
                Ok(v) if v.epoch != have.epoch || v.head < have.head => Err(StoreError::Replaced),
                Ok(v) if v.head > have.head => self.records.chunks_from(have.head + 1).await,
                Ok(_) => Ok(Vec::new()),
                Err(d) => Err(StoreError::DamagedIndex(d.clone())),
            })
            .await?;
        let version = index.map_err(StoreError::DamagedIndex)?;
        Ok(Tail { version, records })
    }
}

/// The live state of a shared log from the server's snapshot and the tail after it: the same restore as a
/// stored log's, from the server's snapshot and records.
async fn restore_shared(shared: &dyn Remote) -> Result<Restored, StoreError> {
    let mut skipped = Vec::new();
    let (mut names, mut live) = match shared.snapshot().await? {
        Some((at, bytes)) => snapshot_at(at.head, &bytes).unwrap_or_else(|why| {
            skipped.push(format!("the server's snapshot at {}: {why}", at.head));
            Default::default()
        }),
        None => Default::default(),
    };
    let snapshot_seq = live.seq();
    let (version, body) = shared.events_after(snapshot_seq).await?;
    let (records, _) = from_frames(&body)?;
    let problem = replay_tail(&mut names, &mut live, &records, version.head);
    let tail = live.seq() - snapshot_seq;
    Ok(Restored { names, live, snapshot_seq, tail, skipped_snapshots: skipped, problem })
}

/// The state a snapshot stored at `seq` holds, if it decodes and is the state after `seq` events.
fn snapshot_at(seq: u64, bytes: &[u8]) -> Result<(Names, State), String> {
    match decode_snapshot(bytes) {
        Ok((names, state)) if state.seq() == seq => Ok((names, state)),
        Ok(_) => Err("it holds another sequence number".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Applies to `live` the events of `records` after it, up to event `limit`; what stopped it, if anything
/// (`live` then holds every event before the damage).
fn replay_tail(names: &mut Names, live: &mut State, records: &[RawRecord], limit: u64) -> Option<StoreError> {
    for (record, last) in spans(records, limit) {
        // A record that ends before the state's next event is not needed (even if it is damaged).
        if last <= live.seq() {
            continue;
        }
        let applied = match &record.bytes {
            Ok(bytes) => apply_chunk_tail_until(live, names, bytes, last).map(|_| ()).map_err(RecordDamage::from),
            Err(damage) => Err(damage.clone()),
        };
        if let Err(damage) = applied {
            return Some(damaged(live.seq(), last, damage));
        }
    }
    None
}

/// The chunks of a body of frames from the sync server: as records to read, and as records to cache.
fn from_frames(body: &[u8]) -> Result<(Vec<RawRecord>, Vec<EncodedChunk>), StoreError> {
    let unreadable = |e: String| StoreError::Read(format!("the sync server sent events that cannot be read: {e}"));
    let frames = decode_frames(body).map_err(|e| unreadable(e.to_string()))?;
    let mut records = Vec::with_capacity(frames.len());
    let mut chunks = Vec::with_capacity(frames.len());
    for bytes in frames {
        let info = chunk_info(bytes).map_err(|e| unreadable(e.to_string()))?;
        records.push(RawRecord { key: info.first_seq, bytes: Ok(bytes.to_vec()) });
        chunks.push(EncodedChunk { first_seq: info.first_seq, count: info.count, bytes: bytes.to_vec() });
    }
    Ok((records, chunks))
}

/// Records stored after some point, read but not yet applied.
pub struct Tail {
    /// The stored version the records were read at.
    pub version: LogVersion,
    records: Vec<RawRecord>,
}

impl Tail {
    /// Applies the records that continue `log` up to the version read; returns how many events arrived.
    /// On a damaged record, `log` and `live` keep every event before it.
    pub fn apply(self, log: &mut Log, live: &mut State) -> Result<u64, StoreError> {
        let before = log.len();
        extend(log, live, &self.records, self.version.head)?;
        match shortfall(&Ok(self.version), log.len()) {
            Some(missing) => Err(missing),
            None => Ok(log.len() - before),
        }
    }
}

/// Each record with the last event it may give: the one before the next record, never past `limit` (the
/// stored head; a record may reach past it when an append was cut off, or a later record overlaps it).
fn spans(records: &[RawRecord], limit: u64) -> impl Iterator<Item = (&RawRecord, u64)> {
    records.iter().enumerate().take_while(move |(_, r)| r.key <= limit).map(move |(i, r)| {
        let last = records.get(i + 1).map_or(limit, |next| next.key.saturating_sub(1)).min(limit);
        (r, last)
    })
}

/// Extends `log` with the records that continue it, up to event `limit`.
fn extend(log: &mut Log, live: &mut State, records: &[RawRecord], limit: u64) -> Result<(), StoreError> {
    for (record, last) in spans(records, limit) {
        if last <= log.len() {
            continue;
        }
        let extended = match &record.bytes {
            Ok(bytes) => log.extend_from_chunk_until(live, bytes, last).map(|_| ()).map_err(RecordDamage::from),
            Err(damage) => Err(damage.clone()),
        };
        if let Err(damage) = extended {
            return Err(damaged(log.len(), last, damage));
        }
    }
    Ok(())
}

/// Events after `have` up to `last` could not be read.
fn damaged(have: u64, last: u64, damage: RecordDamage) -> StoreError {
    let from = have.saturating_add(1);
    StoreError::DamagedRecord { from, to: last.max(from), damage }
}

/// Why a log read up to event `have` falls short of the index: events missing, or the index unreadable.
fn shortfall(index: &rule::StoredIndex, have: u64) -> Option<StoreError> {
    match index {
        Ok(v) if have < v.head => Some(StoreError::Missing { from: have.saturating_add(1), to: v.head }),
        Ok(_) => None,
        Err(d) => Some(StoreError::DamagedIndex(d.clone())),
    }
}
