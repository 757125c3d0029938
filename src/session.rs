//! The session: the store, the log, the live state, and one ordered queue for everything that reads or
//! writes them. Plain Rust with no signals; the page reflects what it reports ([`Update`]) and shows the
//! typed errors it returns ([`SessionError`]).
//!
//! One policy for every write: decide against the log as this page has it, store naming that version, and
//! only then apply. If another tab moved the log first, read what it did (its new events, or the whole log
//! after a replace) and decide again, a bounded number of times. A write that replaces the log (import,
//! clear, keeping the intact events of a damaged log) asks the user again with the new count instead.

mod outbox;

use crate::queue::Queue;
pub use outbox::{Outboxing, OutboxView, Stall};
use rewind_store::clock::{self, Clock, SystemClock};
use rewind_domain::{compensate, Command, Event, ImportCheck, ImportError, Log, Names, Producer, Rejection, State};
use rewind_store::{
    encode_chunks, should_snapshot, Appended, Backoff, CommandKey, Expected, Feed, FeedNews, LogChange, LogVersion, Store,
    StoreError, SyncStatus, TabSync, MAX_CHUNK_EVENTS,
};
use std::cell::{Cell, Ref, RefCell};
use std::fmt;
use std::rc::Rc;

/// Lines of an imported file checked between two looks at the page.
const IMPORT_CHECK_LINES: usize = 25_000;
/// How often one write is decided again because other tabs kept writing first.
pub const MAX_ATTEMPTS: u32 = 12;
/// Events stored per write while generating.
const GENERATE_BATCH: u64 = 20 * MAX_CHUNK_EVENTS as u64;
/// How long an append whose answer was lost is sent again before the page gives up and says it does not know.
const CHECK_FOR_MS: u64 = 60_000;
/// The waits between those sends: the first and the longest.
const CHECK_FIRST_MS: u32 = 500;
const CHECK_MAX_MS: u32 = 8_000;

/// The log as this page has it.
pub struct Book {
    /// Every event read or stored. Empty while the history loads (the live state comes first).
    pub log: Log,
    /// The state after the whole log: what commands are decided against.
    pub live: State,
    /// The stored version the log was read at; writes name it.
    pub version: Expected,
    /// Whether the whole history has been read.
    pub history_ready: bool,
    /// Why the log shown is shorter than the stored one (damage, or a failed read): writes that build on
    /// the log are refused until the log is replaced.
    pub problem: Option<StoreError>,
    pub last_snapshot: u64,
}

impl Book {
    /// Events in the log (also while the history loads: the live state knows its sequence number).
    pub fn head(&self) -> u64 {
        self.live.seq()
    }
}

/// How the live state was rebuilt on load (CONTRACT §3 `restore-info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreInfo {
    pub snapshot_seq: u64,
    pub tail: u64,
    pub ms: u64,
}

/// Long work under way: what, and how far (0..=1).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub label: String,
    pub fraction: f64,
}

/// What the page hears from the session.
#[derive(Clone, Debug)]
pub enum Update {
    /// The live state is known (from a snapshot and the tail); the history is still loading.
    Restored(RestoreInfo),
    /// A whole log is in place: after load, an import, a clear, or another tab's replace.
    Replaced,
    /// Events were appended (by this page or another tab).
    Grew,
    Progress(Option<Progress>),
    /// Pieces of work running or waiting in the queue.
    Queue(u64),
    /// Background work (catching up with another tab) failed.
    Failed(SessionError),
    /// The sync server of a shared log answers, or cannot be reached.
    Sync(SyncStatus),
    /// A write's answer was lost, and the page is asking the server whether it was stored (true), or is done
    /// asking (false).
    Checking(bool),
    /// The outbox as it is now (a page on a shared log).
    Outbox(OutboxView),
}

/// Why a piece of work did not do what was asked.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionError {
    /// The shop's rules refuse the command.
    Rejected(Rejection),
    /// The load producer could not go on.
    Generator(Rejection),
    /// Storage failed; nothing of this write was stored.
    Store(StoreError),
    /// The stored log is damaged: only a true prefix of it is shown, and writes that build on it wait until it
    /// is replaced.
    Damaged { intact: u64, problem: StoreError },
    /// Other tabs kept writing first, every time.
    Contended { attempts: u32 },
    /// The user said no when asked; nothing was written. (Work that asks turns this into its own answer.)
    Declined,
    /// The sync server could not take the command now: it is kept in this browser's outbox (with `waiting`
    /// commands in all) and sent when the server is back.
    Kept { waiting: usize, reason: String },
    /// Commands made earlier still wait in this browser's outbox: they go to the server first.
    OutboxFirst { waiting: usize },
    /// A file to import is not a valid log (its line and why); nothing was changed.
    Unreadable(ImportError),
    /// The command left this browser's outbox from another tab (sent from there, or cancelled there) before
    /// this one sent it: the log shows which.
    Elsewhere,
    /// A session on a shared log was given no outbox ([`Session::set_outboxing`]): nothing was opened, kept
    /// or sent.
    NoOutbox,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Rejected(r) => write!(f, "{r}"),
            SessionError::Generator(r) => write!(f, "the generator stopped: {r}"),
            SessionError::Store(e) => write!(f, "{e}"),
            SessionError::Damaged { intact, problem } => write!(
                f,
                "{problem}. Only the first {intact} events are shown, and nothing can be added to a damaged log: \
                 export the intact events, then keep only them, import a file or clear the log to carry on"
            ),
            SessionError::Declined => write!(f, "nothing was changed"),
            SessionError::OutboxFirst { waiting } => write!(
                f,
                "{waiting} commands made earlier still wait in this browser's outbox for the sync server: they go first, \
                 in the order they were made; try again once they are sent"
            ),
            SessionError::Unreadable(e) => write!(f, "{e}"),
            SessionError::Elsewhere => write!(
                f,
                "another tab of this browser took it from the outbox first (sent it, or cancelled it): the log shows which"
            ),
            SessionError::NoOutbox => write!(
                f,
                "this page cannot send commands to the sync server (its outbox is not loaded): nothing was opened or sent; reload the page"
            ),
            SessionError::Kept { waiting, reason } => write!(
                f,
                "the sync server cannot take it now ({reason}): it is kept in this browser's outbox ({waiting} waiting) \
                 and sent as soon as the server is back"
            ),
            SessionError::Contended { attempts } => write!(
                f,
                "other tabs kept writing at the same moment ({attempts} tries), so this was not saved; \
                 please try again"
            ),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        SessionError::Store(e)
    }
}

/// What a write that replaces the whole log did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Done: the log now holds this many events.
    Done(u64),
    /// The user said no: nothing changed.
    Declined,
}

/// How many users and items generated events are spread over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Population {
    pub users: u32,
    pub items: u32,
}

impl Default for Population {
    /// As the producer's own default: a thousand users and three hundred items.
    fn default() -> Self {
        Population { users: 1_000, items: 300 }
    }
}

/// The log a replace puts in place.
enum NewLog {
    /// A checked log (an import) or an empty one (clear).
    Given(Log, State),
    /// The intact prefix of a damaged log, as this page has read it when the write's turn comes.
    IntactPrefix,
}

/// Asks the user a yes/no question (the browser's `confirm()` on the page; a script in tests).
pub type Confirm = Rc<dyn Fn(&str) -> bool>;

pub struct Session {
    store: Rc<Store>,
    book: RefCell<Book>,
    queue: Queue,
    /// A tab-sync request not yet served: a replace outweighs any append.
    sync_wanted: Cell<Option<LogChange>>,
    tab_sync: RefCell<Option<TabSync>>,
    /// On a shared log, the server's feed of new events.
    feed: RefCell<Option<Feed>>,
    notify: Box<dyn Fn(Update)>,
    confirm: Confirm,
    /// The name other tabs of this store listen on, if the session joins them.
    channel: Option<String>,
    /// Events' timestamps, durations and waits.
    clock: Rc<dyn Clock>,
    /// On a shared log, the outbox as last shown and when to send it again.
    sending: RefCell<outbox::Sending>,
    /// On a shared log, the outbox's functions, from the shared log's module ([`Session::set_outboxing`]).
    outboxing: Cell<Option<Outboxing>>,
}

/// Lets the browser paint and handle input between slices of long work.
pub async fn yield_to_browser() {
    clock::sleep(0).await;
}

/// While an append's outcome is unknown: what a failed send says, if it leaves the outcome unknown. A send
/// that is refused as "nothing stored" (the server away, or asking for its key) says that of itself only,
/// not of the send whose answer was lost.
fn still_unknown(e: &StoreError) -> Option<&str> {
    match e {
        StoreError::OutcomeUnknown { detail, .. } | StoreError::Offline { detail } => Some(detail),
        StoreError::AccessKey { message } | StoreError::Busy { message } => Some(message),
        _ => None,
    }
}

/// What one attempt of a write prepared: the events and their encoding, decided on `version`.
struct Prepared {
    version: LogVersion,
    events: Vec<(u64, Event)>,
    chunks: Vec<rewind_store::EncodedChunk>,
}

impl Session {
    /// A session over `store`. `channel`: the store's name, to hear other tabs (None: this page alone).
    pub fn new(store: Store, channel: Option<&str>, confirm: Confirm, notify: impl Fn(Update) + 'static) -> Rc<Self> {
        Self::with_clock(store, channel, confirm, notify, Rc::new(SystemClock))
    }

    /// As [`Session::new`], with its clock given (tests give one of their own).
    pub fn with_clock(
        store: Store,
        channel: Option<&str>,
        confirm: Confirm,
        notify: impl Fn(Update) + 'static,
        clock: Rc<dyn Clock>,
    ) -> Rc<Self> {
        Rc::new(Session {
            store: Rc::new(store),
            book: RefCell::new(Book {
                log: Log::new(),
                live: State::new(),
                version: Expected::Version(LogVersion::default()),
                history_ready: false,
                problem: None,
                last_snapshot: 0,
            }),
            queue: Queue::default(),
            sync_wanted: Cell::new(None),
            tab_sync: RefCell::new(None),
            feed: RefCell::new(None),
            notify: Box::new(notify),
            confirm,
            channel: channel.map(str::to_owned),
            clock,
            sending: RefCell::new(outbox::Sending::default()),
            outboxing: Cell::new(None),
        })
    }

    /// Gives a session on a shared log its outbox's functions (from the shared log's module, which the page
    /// fetched before it opened the store), before [`Session::load`], which refuses to open a shared log
    /// without them ([`SessionError::NoOutbox`]).
    pub fn set_outboxing(&self, outboxing: Outboxing) {
        self.outboxing.set(Some(outboxing));
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The log as this page has it, to read (never held across an await).
    pub fn book(&self) -> Option<Ref<'_, Book>> {
        self.book.try_borrow().ok()
    }

    /// Pieces of work running or waiting.
    pub fn queued(&self) -> u64 {
        self.queue.len()
    }

    fn tell(&self, update: Update) {
        (self.notify)(update);
    }

    fn progress(&self, label: String, fraction: f64) {
        self.tell(Update::Progress(Some(Progress { label, fraction })));
    }

    /// Takes a turn in the queue, telling the page how much work is waiting.
    async fn turn(&self) -> crate::queue::Turn {
        let waiting = self.queue.turn();
        self.tell(Update::Queue(self.queue.len()));
        waiting.await
    }

    fn turn_done(&self, turn: crate::queue::Turn) {
        drop(turn);
        self.tell(Update::Queue(self.queue.len()));
    }

    /// Opens the log: the live state from the newest snapshot and the tail first, then the whole history.
    /// The first piece of work in the queue: anything asked meanwhile waits for it.
    pub async fn load(self: &Rc<Self>) -> Result<RestoreInfo, SessionError> {
        let turn = self.turn().await;
        let outcome = self.load_in_turn().await;
        self.turn_done(turn);
        outcome
    }

    async fn load_in_turn(self: &Rc<Self>) -> Result<RestoreInfo, SessionError> {
        // Without its outbox, a session on a shared log would neither send the commands kept earlier nor keep
        // its own appends behind them.
        if self.store.outbox().is_some() && self.outboxing.get().is_none() {
            return Err(SessionError::NoOutbox);
        }
        let started = self.clock.monotonic_ms();
        let mut info = RestoreInfo { snapshot_seq: 0, tail: 0, ms: 0 };
        // A restore that fails is only slower: the full read below says what is wrong.
        match self.store.restore().await {
            Ok(restored) => {
                for skipped in &restored.skipped_snapshots {
                    clock::warn(&format!("Rewind skipped a snapshot: {skipped}"));
                }
                info = RestoreInfo {
                    snapshot_seq: restored.snapshot_seq,
                    tail: restored.tail,
                    ms: (self.clock.monotonic_ms() - started).max(0.0).round() as u64,
                };
                let mut book = self.book.borrow_mut();
                book.log = Log::with_names(restored.names);
                book.live = restored.live;
                book.last_snapshot = restored.snapshot_seq;
            }
            Err(e) => clock::warn(&format!("Rewind could not restore the live state: {e}")),
        }
        self.tell(Update::Restored(info));
        // Join the other tabs now: what they write while the history loads is caught up afterwards.
        self.join_tabs();
        if let Some(outboxing) = self.outboxing.get() {
            outboxing.show(self).await;
            outboxing.keep_sending(self);
        }
        let total = self.book.borrow().head();
        if total > 0 {
            self.progress("Loading history".into(), 0.0);
        }
        let loaded = self.reload_log().await;
        self.tell(Update::Progress(None));
        loaded?;
        self.snapshot_if_due(false);
        match self.damage() {
            Some(e) => Err(e),
            None => Ok(info),
        }
    }

    fn join_tabs(self: &Rc<Self>) {
        let Some(channel) = &self.channel else { return };
        let weak = Rc::downgrade(self);
        let joined = TabSync::join(channel, move |change| {
            if let Some(session) = weak.upgrade() {
                clock::spawn(async move {
                    if let Err(e) = session.sync(change).await {
                        session.tell(Update::Failed(e));
                    }
                });
            }
        });
        *self.tab_sync.borrow_mut() = joined;
        self.listen_to_server();
    }

    /// On a shared log: hears the server's feed, catching up whenever the log grew elsewhere and whenever the
    /// server is back after being out of reach.
    fn listen_to_server(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let was = Cell::new(self.store.sync_status());
        let feed = self.store.listen(move |news| {
            let Some(session) = weak.upgrade() else { return };
            let catch_up = match news {
                FeedNews::Status(status) => {
                    session.tell(Update::Sync(status));
                    let back = was.replace(status) != status && status == SyncStatus::Connected;
                    if back {
                        session.want_round();
                    }
                    back
                }
                FeedNews::Grew(version) => session.book().is_none_or(|b| b.version != Expected::Version(version)),
            };
            if catch_up {
                clock::spawn(async move {
                    match session.sync(LogChange::Appended).await {
                        // `sync-status` says so already, and the page catches up when the server is back.
                        Err(SessionError::Store(StoreError::Offline { .. } | StoreError::AccessKey { .. })) | Ok(()) => {}
                        Err(e) => session.tell(Update::Failed(e)),
                    }
                });
            }
        });
        *self.feed.borrow_mut() = feed;
    }

    fn announce(&self, change: LogChange) {
        if let Some(t) = self.tab_sync.borrow().as_ref() {
            t.announce(change);
        }
    }

    /// The damage that keeps writes from building on the log, as an error for the page.
    fn damage(&self) -> Option<SessionError> {
        let book = self.book.borrow();
        book.problem.clone().map(|problem| SessionError::Damaged { intact: book.log.len(), problem })
    }

    /// Reads the whole log again and puts it in place.
    async fn reload_log(&self) -> Result<(), StoreError> {
        let loaded = self.store.read_log().await;
        {
            let mut book = self.book.borrow_mut();
            match loaded {
                Ok(loaded) => {
                    if let Some(problem) = &loaded.problem {
                        clock::warn(&format!("Rewind: {problem}"));
                    }
                    book.log = loaded.log;
                    book.live = loaded.live;
                    book.version = loaded.version;
                    book.problem = loaded.problem;
                }
                Err(e) => {
                    // Nothing could be read: show no history rather than a guess, and say why.
                    book.log = Log::new();
                    book.live = State::new();
                    book.problem = Some(e.clone());
                    book.history_ready = true;
                    drop(book);
                    self.tell(Update::Replaced);
                    return Err(e);
                }
            }
            book.history_ready = true;
            book.last_snapshot = book.last_snapshot.min(book.log.len());
        }
        self.tell(Update::Replaced);
        Ok(())
    }

    /// Reads the events other tabs appended after this page's log; after another tab's replace, the whole
    /// log. Returns whether the log was replaced.
    async fn catch_up(&self) -> Result<bool, StoreError> {
        let version = self.book.borrow().version;
        let Expected::Version(version) = version else {
            self.reload_log().await?;
            return Ok(true);
        };
        match self.store.tail_after(version).await {
            Ok(tail) => {
                let applied = {
                    let mut book = self.book.borrow_mut();
                    let book = &mut *book;
                    let new_version = tail.version;
                    let applied = tail.apply(&mut book.log, &mut book.live);
                    if applied.is_ok() {
                        book.version = Expected::Version(new_version);
                    }
                    applied
                };
                match applied {
                    Ok(0) => Ok(false),
                    Ok(_) => {
                        self.tell(Update::Grew);
                        Ok(false)
                    }
                    // A damaged tail: read the whole log again, which shows the true prefix and says why.
                    Err(_) => self.reload_log().await.map(|()| true),
                }
            }
            Err(StoreError::Replaced) => self.reload_log().await.map(|()| true),
            Err(e) => Err(e),
        }
    }

    /// Another tab changed the log: catch up with it, in turn with this page's own work.
    pub async fn sync(&self, change: LogChange) -> Result<(), SessionError> {
        if change == LogChange::Outbox {
            if let Some(outboxing) = self.outboxing.get() {
                outboxing.show(self).await;
            }
            return Ok(());
        }
        let wanted = match (self.sync_wanted.get(), change) {
            (Some(LogChange::Replaced), _) | (_, LogChange::Replaced) => LogChange::Replaced,
            _ => LogChange::Appended,
        };
        let already_queued = self.sync_wanted.replace(Some(wanted)).is_some();
        if already_queued {
            return Ok(());
        }
        let turn = self.turn().await;
        let outcome = match self.sync_wanted.take() {
            Some(LogChange::Replaced) => self.reload_log().await,
            Some(LogChange::Appended) => self.catch_up().await.map(|_| ()),
            Some(LogChange::Outbox) | None => Ok(()),
        };
        self.turn_done(turn);
        outcome.map_err(SessionError::from)
    }

    /// Decides `command` against the live state, stores the event durably, and only then applies it.
    /// Returns the event's sequence number.
    pub async fn submit(&self, command: Command) -> Result<u64, SessionError> {
        let turn = self.turn().await;
        if self.store.server_decides() {
            let outcome = match self.outboxing.get() {
                Some(outboxing) => outboxing.submit(self, &command).await,
                None => Err(SessionError::NoOutbox),
            };
            self.turn_done(turn);
            return outcome;
        }
        let outcome = self
            .write_events(|book| {
                let Book { log, live, .. } = book;
                let event = log.decide(live, &command).map_err(SessionError::Rejected)?;
                let ts = self.next_timestamp(&book.log);
                Ok(vec![(ts, event)])
            })
            .await
            .map(|()| self.book.borrow().head());
        self.turn_done(turn);
        outcome
    }

    /// Appends `count` events from the load producer, spread over `people`, stored in batches, with
    /// progress. Returns how many were stored (all of them, unless an error says why not).
    pub async fn generate(&self, count: u64, people: Population) -> Result<u64, SessionError> {
        let turn = self.turn().await;
        let outcome = self.generate_in_turn(count, people).await;
        self.tell(Update::Progress(None));
        self.turn_done(turn);
        outcome
    }

    async fn generate_in_turn(&self, count: u64, people: Population) -> Result<u64, SessionError> {
        if let Some(first) = self.outbox_first() {
            return Err(first);
        }
        let mut producer = Producer::with_population(self.book.borrow().head() ^ 0x5eed, people.users, people.items);
        let mut done = 0;
        while done < count {
            let n = GENERATE_BATCH.min(count - done);
            self.write_events(|book| {
                let mut scratch = book.live.clone();
                // Stamped at most now: generated events never run ahead of the clock.
                let now = self.clock.now_ms().max(book.log.timestamps().last().copied().unwrap_or(0));
                let mut events = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let (_, event) = producer.next_event(book.log.names_mut(), &scratch, now).map_err(SessionError::Generator)?;
                    scratch.apply(book.log.names(), &event).map_err(SessionError::Generator)?;
                    events.push((now, event));
                }
                Ok(events)
            })
            .await?;
            done += n;
            self.progress(format!("Generated {done} of {count} events"), done as f64 / count as f64);
            yield_to_browser().await;
        }
        Ok(done)
    }

    /// The one write policy for appends: decide on the log as this page has it, store naming its version,
    /// apply only after the store said yes; after another tab's write, catch up and decide again.
    /// One key for the whole write, kept across its decisions: a shared log stores it at most once, whatever
    /// is sent again after a lost answer.
    async fn write_events(
        &self,
        mut decide_events: impl FnMut(&mut Book) -> Result<Vec<(u64, Event)>, SessionError>,
    ) -> Result<(), SessionError> {
        let key = CommandKey::random()?;
        for _ in 0..MAX_ATTEMPTS {
            if let Some(damage) = self.damage() {
                return Err(damage);
            }
            let prepared = {
                let mut book = self.book.borrow_mut();
                let Expected::Version(version) = book.version else {
                    return Err(SessionError::Store(StoreError::Replaced));
                };
                let events = decide_events(&mut book)?;
                if events.is_empty() {
                    return Ok(());
                }
                let (evs, tss): (Vec<Event>, Vec<u64>) = events.iter().map(|(t, e)| (*e, *t)).unzip();
                let chunks = encode_chunks(book.log.names(), version.head + 1, &evs, &tss);
                Prepared { version, events, chunks }
            };
            match self.append_until_known(&prepared, &key).await {
                Ok(Appended::StoredBefore) => {
                    // An earlier send of this write went in (its answer was lost): the log has the events
                    // as stored, which this page reads rather than pushing its own copy.
                    if let Err(e) = self.catch_up().await {
                        clock::warn(&format!("Rewind: stored, but not read back yet: {e}"));
                    }
                    self.announce(LogChange::Appended);
                    self.snapshot_if_due(false);
                    return Ok(());
                }
                Ok(Appended::Stored(stored)) => {
                    let applied = {
                        let mut book = self.book.borrow_mut();
                        let book = &mut *book;
                        book.version = Expected::Version(stored);
                        prepared.events.iter().try_for_each(|(ts, e)| book.log.push(&mut book.live, *ts, *e))
                    };
                    if applied.is_err() {
                        // Cannot happen for events decided on this very state; if it did, the stored log is
                        // the truth: read it again. The events are stored either way, so this is no error
                        // of the write (a failed read shows as the log's problem).
                        let _ = self.reload_log().await;
                    } else {
                        self.tell(Update::Grew);
                    }
                    self.announce(LogChange::Appended);
                    self.snapshot_if_due(false);
                    return Ok(());
                }
                Err(StoreError::Conflict { .. } | StoreError::Replaced) => {
                    self.catch_up().await?;
                }
                Err(e) => return Err(SessionError::Store(e)),
            }
        }
        Err(SessionError::Contended { attempts: MAX_ATTEMPTS })
    }

    /// Sends one decision; when its answer is lost, says that it is checking and sends the very same request
    /// (version, events, key) again, with growing waits, until the server answers for certain: stored (now or
    /// before), a conflict (decide again, same key: nothing was stored), or a refusal. After
    /// [`CHECK_FOR_MS`] without such an answer, [`StoreError::OutcomeUnknown`] with how long it asked.
    async fn append_until_known(&self, prepared: &Prepared, key: &CommandKey) -> Result<Appended, StoreError> {
        self.send_until_known(|| self.store.append_with_key(prepared.version, &prepared.chunks, key), false).await
    }

    /// Sends a request of one key (`send`, the same request each time) until its answer is certain: while
    /// it is lost, or the server cannot take it yet, says that it is checking and sends it again with growing
    /// waits. After [`CHECK_FOR_MS`] without a certain answer, [`StoreError::OutcomeUnknown`] with how long
    /// it asked. `stop_when_away`: stop at once when the server is known to be out of reach (the outbox
    /// sends the same request again when it is back).
    async fn send_until_known<T, F>(&self, send: impl Fn() -> F, stop_when_away: bool) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut detail = match send().await {
            Err(StoreError::OutcomeUnknown { detail, .. } | StoreError::Busy { message: detail }) => detail,
            first => return first,
        };
        self.tell(Update::Checking(true));
        let started = self.clock.monotonic_ms();
        let mut backoff = Backoff::new(CHECK_FIRST_MS, CHECK_MAX_MS);
        let outcome = loop {
            let waited_ms = (self.clock.monotonic_ms() - started).max(0.0) as u64;
            if waited_ms >= CHECK_FOR_MS {
                break Err(StoreError::OutcomeUnknown { detail, waited_ms });
            }
            self.clock.sleep(backoff.next_ms()).await;
            match send().await {
                Err(StoreError::Offline { detail }) if stop_when_away => break Err(StoreError::OutcomeUnknown { detail, waited_ms }),
                Err(e) => match still_unknown(&e) {
                    Some(now) => detail = now.to_owned(),
                    None => break Err(e),
                },
                known => break known,
            }
        };
        self.tell(Update::Checking(false));
        outcome
    }

    /// Restores the shop as it was after event `k`: appends the compensating events (all in one write, or
    /// none), after the user confirmed how many. Returns how many were appended (0: it already was so).
    pub async fn restore_to(&self, k: u64) -> Result<Replacement, SessionError> {
        let turn = self.turn().await;
        if let Some(first) = self.outbox_first() {
            self.turn_done(turn);
            return Err(first);
        }
        let mut confirmed = None;
        let outcome = self
            .write_events(|book| {
                let target = book.log.replay_prefix(k.min(book.log.len())).map_err(|e| SessionError::Store(StoreError::Read(e.to_string())))?;
                let events = compensate(&book.live, &target);
                // Asked again only if another tab's events changed what it takes.
                if !events.is_empty() && confirmed != Some(events.len()) {
                    let n = events.len();
                    let question = format!(
                        "Restore the shop as it was after event {k}? This appends {n} compensating events; nothing is edited or deleted."
                    );
                    if !(self.confirm)(&question) {
                        return Err(SessionError::Declined);
                    }
                    confirmed = Some(n);
                }
                let ts = self.next_timestamp(&book.log);
                Ok(events.into_iter().map(|e| (ts, e)).collect())
            })
            .await;
        self.turn_done(turn);
        match outcome {
            Ok(()) => Ok(Replacement::Done(confirmed.unwrap_or(0) as u64)),
            Err(SessionError::Declined) => Ok(Replacement::Declined),
            Err(e) => Err(e),
        }
    }

    /// Replaces the log with `log` (an import checked beforehand), after the user confirmed, in one write.
    /// If the log moved meanwhile, the user is asked again with the new count.
    /// Checks a JSON Lines file completely, with progress (outside the queue: it does not touch the log), then
    /// replaces the log with it after confirmation. Any error leaves the log as it was.
    pub async fn import_file(&self, bytes: Vec<u8>, file_name: &str) -> Result<Replacement, SessionError> {
        let total = bytes.len().max(1);
        let mut check = ImportCheck::new(bytes);
        let checked = loop {
            match check.advance(IMPORT_CHECK_LINES) {
                Ok(_) if check.is_done() => break check.finish(),
                Ok(p) => {
                    self.progress(format!("Checking {file_name}: {} events", p.events), p.bytes_done as f64 / total as f64 * 0.8);
                    // The page stays responsive and shows the progress between steps.
                    self.clock.sleep(0).await;
                }
                Err(e) => break Err(e),
            }
        };
        match checked {
            Ok((log, live)) => self.import(log, live, file_name).await,
            Err(e) => {
                self.tell(Update::Progress(None));
                Err(SessionError::Unreadable(e))
            }
        }
    }

    /// Replaces the log with a checked one, after confirmation.
    pub async fn import(&self, log: Log, live: State, file_name: &str) -> Result<Replacement, SessionError> {
        let n = log.len();
        let question = |current: u64| format!("Replace the current log of {current} events with the {n} events of {file_name}?");
        self.replace_log(NewLog::Given(log, live), question).await
    }

    /// Removes every event, after confirmation.
    pub async fn clear(&self) -> Result<Replacement, SessionError> {
        let question = |current: u64| format!("Delete all {current} events? Export first if you want to keep them.");
        self.replace_log(NewLog::Given(Log::new(), State::new()), question).await
    }

    /// Replaces a damaged log by its intact events (as read when its turn comes), after confirmation.
    pub async fn keep_intact(&self) -> Result<Replacement, SessionError> {
        let question = |current: u64| {
            format!("Keep the {current} intact events and drop the damaged rest of the stored log? Export first if you want a copy.")
        };
        self.replace_log(NewLog::IntactPrefix, question).await
    }

    async fn replace_log(&self, new: NewLog, question: impl Fn(u64) -> String) -> Result<Replacement, SessionError> {
        let turn = self.turn().await;
        let outcome = self.replace_in_turn(new, question).await;
        self.tell(Update::Progress(None));
        self.turn_done(turn);
        outcome
    }

    async fn replace_in_turn(&self, mut new: NewLog, question: impl Fn(u64) -> String) -> Result<Replacement, SessionError> {
        if self.store.sync_status() != SyncStatus::Local {
            // Said before asking: the answer could not change anything.
            return Err(SessionError::Store(StoreError::SharedLogKept));
        }
        let mut asked_at = None;
        for _ in 0..MAX_ATTEMPTS {
            let (current, expected, damaged) = {
                let book = self.book.borrow();
                (book.head(), book.version, book.problem.is_some())
            };
            if matches!(new, NewLog::IntactPrefix) && !damaged {
                // Another tab repaired or replaced the log meanwhile: nothing left to keep.
                return Ok(Replacement::Declined);
            }
            // Ask whenever there is something to lose, and again whenever that changed since the last answer.
            if (current > 0 || damaged) && asked_at != Some(expected) {
                if !(self.confirm)(&question(current)) {
                    return Ok(Replacement::Declined);
                }
                asked_at = Some(expected);
            }
            let chunks = match &new {
                NewLog::Given(log, _) => encode_chunks(log.names(), 1, log.events(), log.timestamps()),
                NewLog::IntactPrefix => {
                    let book = self.book.borrow();
                    encode_chunks(book.log.names(), 1, book.log.events(), book.log.timestamps())
                }
            };
            self.progress(format!("Saving {} events", chunks.iter().map(|c| c.count).sum::<u64>()), 0.9);
            match self.store.replace(expected, &chunks).await {
                Ok(version) => {
                    {
                        let mut book = self.book.borrow_mut();
                        if let NewLog::Given(log, live) = std::mem::replace(&mut new, NewLog::IntactPrefix) {
                            book.log = log;
                            book.live = live;
                        }
                        book.version = Expected::Version(version);
                        book.problem = None;
                        book.history_ready = true;
                        book.last_snapshot = 0;
                    }
                    self.tell(Update::Replaced);
                    self.announce(LogChange::Replaced);
                    // Inside the turn, not in the background: a reload right after a large import then
                    // starts from this snapshot instead of replaying every imported event.
                    if let Some(due) = self.due_snapshot(false) {
                        self.progress(format!("Saving a snapshot at event {}", due.live.seq()), 0.95);
                        write_snapshot(&self.store, due).await;
                    }
                    return Ok(Replacement::Done(version.head));
                }
                Err(StoreError::Conflict { .. } | StoreError::Replaced) => {
                    self.catch_up().await?;
                }
                Err(e) => return Err(SessionError::Store(e)),
            }
        }
        Err(SessionError::Contended { attempts: MAX_ATTEMPTS })
    }

    /// The timestamp of an event appended to `log` now: the clock's, never before the log's last event (a
    /// clock set back does not make time run backwards in the log), and within what the formats store.
    fn next_timestamp(&self, log: &Log) -> u64 {
        self.clock.now_ms().max(log.timestamps().last().copied().unwrap_or(0)).min(rewind_domain::MAX)
    }

    /// Writes a snapshot of the live state in the background when the policy says so. It is taken from a
    /// state whose events are all stored, and the store drops it if the log was replaced meanwhile.
    pub fn snapshot_if_due(&self, page_hidden: bool) {
        let Some(due) = self.due_snapshot(page_hidden) else { return };
        let store = self.store.clone();
        clock::spawn(async move { write_snapshot(&store, due).await });
    }

    /// The live state to snapshot now, if the policy says one is due; marks it as taken.
    fn due_snapshot(&self, page_hidden: bool) -> Option<DueSnapshot> {
        let Ok(mut book) = self.book.try_borrow_mut() else { return None };
        let Expected::Version(version) = book.version else { return None };
        if !book.history_ready || book.problem.is_some() || !should_snapshot(book.head(), book.last_snapshot, page_hidden) {
            return None;
        }
        book.last_snapshot = book.head();
        Some(DueSnapshot { epoch: version.epoch, live: book.live.clone(), names: book.log.names().clone() })
    }
}

/// A snapshot the policy asked for, taken from a state whose events are all stored.
struct DueSnapshot {
    epoch: u64,
    live: State,
    names: Names,
}

/// A snapshot that cannot be written costs only speed at the next load (the log is whole): said, not shown.
async fn write_snapshot(store: &Store, due: DueSnapshot) {
    if let Err(e) = store.write_snapshot(due.epoch, &due.live, &due.names).await {
        clock::warn(&format!("Rewind could not write a snapshot: {e}"));
    }
}
