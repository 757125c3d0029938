//! The page's handles (narrow: a Copy struct of signals, the session and the view) and the glue that turns
//! what the session reports into signals. Every piece of work goes to the session's queue; nothing here
//! decides, retries or locks.

use crate::session::{Progress, Replacement, RestoreInfo, Session, SessionError, Update as SessionUpdate};
use crate::shop::{Page, Shop};
use leptos::prelude::*;
use rewind_domain::{Command, Entity, ImportCheck, LogFilter};
use rewind_store::{Backend, Store, SyncStatus};
use std::rc::Rc;

pub const STORE_NAME: &str = "rewind";

#[derive(Clone, Copy)]
pub struct Ctx {
    session: StoredValue<Option<Rc<Session>>, LocalStorage>,
    shop: StoredValue<Shop, LocalStorage>,
    /// Bumped whenever the view changed (log, live state or cursor).
    pub version: RwSignal<u64>,
    /// Events applied in the state shown.
    pub cursor: RwSignal<u64>,
    /// Events in the log.
    pub head: RwSignal<u64>,
    pub error: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    pub progress: RwSignal<Option<Progress>>,
    pub backend: RwSignal<Option<Backend>>,
    /// Whether the log is this browser's or a sync server's, and whether that server answers.
    pub sync: RwSignal<SyncStatus>,
    pub restore: RwSignal<Option<RestoreInfo>>,
    pub history_ready: RwSignal<bool>,
    /// Work running or waiting in the session's queue ("Saving…").
    pub queued: RwSignal<u64>,
    /// Events shown of a damaged log (None: the log is whole).
    pub damaged: RwSignal<Option<u64>>,
    /// The user or item whose life the chart shows.
    pub selected: RwSignal<Option<Entity>>,
    /// Bumped when the event log's filter changed.
    pub filter_version: RwSignal<u64>,
    /// The loaded log's generation (see `Shop::generation`).
    pub generation: RwSignal<u64>,
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new()
    }
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            session: StoredValue::new_local(None),
            shop: StoredValue::new_local(Shop::default()),
            version: RwSignal::new(0),
            cursor: RwSignal::new(0),
            head: RwSignal::new(0),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            progress: RwSignal::new(None),
            backend: RwSignal::new(None),
            sync: RwSignal::new(SyncStatus::Local),
            restore: RwSignal::new(None),
            history_ready: RwSignal::new(false),
            queued: RwSignal::new(0),
            damaged: RwSignal::new(None),
            selected: RwSignal::new(None),
            filter_version: RwSignal::new(0),
            generation: RwSignal::new(0),
        }
    }

    fn session(&self) -> Option<Rc<Session>> {
        self.session.try_with_value(Clone::clone).flatten()
    }

    /// Reads the log and its view together. `None` while the session is busy changing them.
    pub fn read<U>(&self, f: impl FnOnce(&Page) -> U) -> Option<U> {
        let session = self.session()?;
        let book = session.book()?;
        self.shop.try_with_value(|shop| {
            f(&Page { log: &book.log, live: &book.live, history_ready: book.history_ready, shop })
        })
    }

    /// Changes the view (never the log), with the log at hand.
    fn update_view<U>(&self, f: impl FnOnce(&mut Shop, &crate::session::Book) -> U) -> Option<U> {
        let session = self.session()?;
        let book = session.book()?;
        self.shop.try_update_value(|shop| f(shop, &book))
    }

    /// The users (or items) in the state shown, in id order.
    pub fn users_shown(&self) -> Vec<rewind_domain::UserId> {
        self.update_view(|shop, book| shop.users_shown(book.log.names())).unwrap_or_default()
    }

    pub fn items_shown(&self) -> Vec<rewind_domain::ItemId> {
        self.update_view(|shop, book| shop.items_shown(book.log.names())).unwrap_or_default()
    }

    /// Publishes the view after it changed.
    fn refresh(&self) {
        if let Some((head, cursor)) = self.read(|p| (p.head(), p.view.seq().min(p.head()))) {
            // `set` notifies even when the value is the same: views that depend on the log's length alone
            // (density strip, revenue, suggestions) must not recompute on every move of the timeline.
            if self.head.get_untracked() != head {
                self.head.set(head);
            }
            if self.cursor.get_untracked() != cursor {
                self.cursor.set(cursor);
            }
        }
        self.version.update(|v| *v += 1);
    }

    /// Shows the state after the first `k` events.
    pub fn show_at(&self, k: u64) {
        self.update_view(|shop, book| shop.move_view(book, k));
        self.refresh();
    }

    /// One step forward or back: to the next matching event when the log is filtered.
    pub fn step(&self, forward: bool) {
        let cursor = self.cursor.get_untracked();
        if let Some(k) = self.read(|p| p.step_from(cursor, forward)) {
            self.show_at(k);
        }
    }

    pub fn set_filter(&self, filter: LogFilter) {
        self.update_view(|shop, book| shop.set_filter(filter, &book.log));
        self.filter_version.update(|v| *v += 1);
        self.version.update(|v| *v += 1);
    }

    pub fn go_live(&self) {
        let head = self.read(|p| p.head()).unwrap_or(0);
        self.show_at(head);
    }

    fn is_live_untracked(&self) -> bool {
        self.cursor.get_untracked() == self.head.get_untracked()
    }

    pub fn fail(&self, message: impl Into<String>) {
        self.notice.set(None);
        self.error.set(Some(message.into()));
    }

    fn tell(&self, notice: impl Into<String>) {
        self.error.set(None);
        self.notice.set(Some(notice.into()));
    }

    /// Reflects what the session reports.
    fn on_update(&self, update: SessionUpdate) {
        match update {
            SessionUpdate::Restored(info) => {
                self.restore.set(Some(info));
                self.go_live();
            }
            SessionUpdate::Replaced => {
                let state = self.update_view(|shop, book| {
                    shop.reset(book);
                    (shop.generation, book.history_ready, book.problem.is_some().then(|| book.log.len()))
                });
                if let Some((generation, ready, damaged)) = state {
                    self.generation.set(generation);
                    self.history_ready.set(ready);
                    self.damaged.set(damaged);
                }
                self.selected.set(None);
                self.filter_version.update(|v| *v += 1);
                self.go_live();
            }
            SessionUpdate::Grew => {
                let follow = self.is_live_untracked();
                self.update_view(|shop, book| shop.log_grew(&book.log));
                if follow {
                    self.go_live();
                } else {
                    self.refresh();
                }
            }
            SessionUpdate::Progress(p) => self.progress.set(p),
            SessionUpdate::Queue(n) => self.queued.set(n),
            SessionUpdate::Failed(e) => self.fail(e.to_string()),
            SessionUpdate::Sync(status) => self.sync.set(status),
        }
    }

    /// Opens the store and loads the log through the session.
    pub async fn load(self) {
        let store = Store::open_for_page(STORE_NAME).await;
        self.backend.set(Some(store.backend()));
        self.sync.set(store.sync_status());
        for reason in store.fallback_reasons() {
            web_sys::console::warn_1(&reason.into());
        }
        let confirm: crate::session::Confirm =
            Rc::new(|question: &str| window().confirm_with_message(question).unwrap_or(false));
        let ctx = self;
        let session = Session::new(store, Some(STORE_NAME), confirm, move |update| ctx.on_update(update));
        self.session.set_value(Some(session.clone()));
        if let Err(e) = session.load().await {
            self.fail(e.to_string());
        }
    }

    /// Runs one piece of the session's work and shows its error, if any.
    fn show<T>(&self, outcome: Result<T, SessionError>) -> Option<T> {
        match outcome {
            Ok(value) => Some(value),
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    /// Decides `command` against the live state, stores the event durably, and only then shows it.
    pub async fn submit(self, command: Command) {
        let Some(session) = self.session() else { return };
        if self.show(session.submit(command).await).is_some() {
            self.error.set(None);
            self.go_live();
        }
    }

    /// Appends `count` events from the load producer.
    pub async fn generate(self, count: u64, people: crate::session::Population) {
        if count == 0 {
            return self.fail("enter how many events to generate (at least 1)");
        }
        let Some(session) = self.session() else { return };
        if let Some(n) = self.show(session.generate(count, people).await) {
            self.tell(format!("Generated {n} events."));
            self.go_live();
        }
    }

    /// Checks a JSON Lines file completely (outside the queue: it does not touch the log), then hands it to
    /// the session, which asks before replacing a non-empty log. Any error leaves the log as it was.
    pub async fn import(self, bytes: Vec<u8>, file_name: String) {
        let Some(session) = self.session() else { return };
        self.error.set(None);
        self.notice.set(None);
        let total = bytes.len().max(1);
        let mut check = ImportCheck::new(bytes);
        let checked = loop {
            match check.advance(25_000) {
                Ok(_) if check.is_done() => break check.finish(),
                Ok(p) => {
                    self.progress.set(Some(Progress {
                        label: format!("Checking {file_name}: {} events", p.events),
                        fraction: p.bytes_done as f64 / total as f64 * 0.8,
                    }));
                    crate::session::yield_to_browser().await;
                }
                Err(e) => break Err(e),
            }
        };
        let (log, live) = match checked {
            Ok(ok) => ok,
            Err(e) => {
                self.progress.set(None);
                return self.fail(format!("{file_name} was not imported: {e}"));
            }
        };
        match session.import(log, live, &file_name).await {
            Ok(Replacement::Done(n)) => self.tell(format!("Imported {n} events from {file_name}.")),
            Ok(Replacement::Declined) => self.tell("Import cancelled: the log was not changed."),
            Err(e) => self.fail(format!("{file_name} was not imported: {e}")),
        }
    }

    /// Removes every event, after confirmation.
    pub async fn clear(self) {
        let Some(session) = self.session() else { return };
        match self.show(session.clear().await) {
            Some(Replacement::Done(_)) => self.tell("The log is empty."),
            Some(Replacement::Declined) => self.tell("Nothing was deleted."),
            None => {}
        }
    }

    /// Restores the shop as it was at the timeline's value, by compensating events, after confirmation.
    pub async fn restore_here(self) {
        let Some(session) = self.session() else { return };
        let k = self.cursor.get_untracked();
        match self.show(session.restore_to(k).await) {
            Some(Replacement::Done(0)) => self.tell(format!("The shop already is as it was after event {k}.")),
            Some(Replacement::Done(n)) => {
                self.tell(format!("Restored the shop as it was after event {k}: {n} compensating events appended."));
                self.go_live();
            }
            Some(Replacement::Declined) => self.tell("Nothing was changed."),
            None => {}
        }
    }

    /// Replaces a damaged log by its intact events, after confirmation.
    pub async fn keep_intact(self) {
        let Some(session) = self.session() else { return };
        match self.show(session.keep_intact().await) {
            Some(Replacement::Done(n)) => self.tell(format!("The log now holds its {n} intact events.")),
            Some(Replacement::Declined) => self.tell("The stored log was not changed."),
            None => {}
        }
    }

    /// A snapshot when the policy says so (`page_hidden`: the tab may be about to close).
    pub fn snapshot_if_due(&self, page_hidden: bool) {
        if let Some(session) = self.session() {
            session.snapshot_if_due(page_hidden);
        }
    }
}
