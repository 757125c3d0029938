//! The page's handles (narrow: a Copy struct of signals, the session and the view) and the glue that turns
//! what the session reports into signals. Every piece of work goes to the session's queue; nothing here
//! decides, retries or locks. Components read through [`Ctx::read`], which tracks what they read.

use crate::session::{OutboxView, Progress, Replacement, RestoreInfo, Session, SessionError, Update as SessionUpdate};
use crate::branch::{branch_names, BranchError, BranchSession, Shelf};
use crate::session::Book;
use crate::shop::{DiffLine, Page, Part, Shop, Sort, Source, ViewError};
use leptos::prelude::*;
use rewind_domain::{
    diff_across_in_order, BlameLine, Command, Entity, ImportCheck, LogFilter, Query,
};
use rewind_store::{AccessKeyGate, Backend, BranchShelf, Expected, PageStore, Store, StoreError, SyncStatus};
use std::rc::Rc;

pub const STORE_NAME: &str = "rewind";

fn source(book: &Book) -> Source<'_> {
    Source { log: &book.log, live: &book.live, history_ready: book.history_ready }
}

/// Whether the shop can be shown yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Finding out where the log lives.
    Opening,
    /// The log is open (or opening): the shop is shown.
    Open,
    /// The sync server wants its access key first: only its form is shown (CONTRACT §9).
    KeyNeeded,
}

#[derive(Clone, Copy)]
pub struct Ctx {
    session: StoredValue<Option<Rc<Session>>, LocalStorage>,
    /// The sync server's sign-in, while it waits for its access key.
    key_gate: StoredValue<Option<Rc<AccessKeyGate>>, LocalStorage>,
    pub access: RwSignal<Access>,
    shop: StoredValue<Shop, LocalStorage>,
    branch: StoredValue<Option<BranchSession>, LocalStorage>,
    /// The name of the what-if branch shown; `None` on the real log.
    pub branch_name: RwSignal<Option<String>>,
    /// The names of the branches saved in this browser, or why they cannot be listed.
    pub branches: RwSignal<Result<Vec<String>, String>>,
    /// Bumped whenever the real log changed (a branch compares itself with its latest state).
    pub main_version: RwSignal<u64>,
    /// Narrows both state tables to ids that contain it (CONTRACT §6 `entity-filter`).
    pub entity_filter: RwSignal<String>,
    /// The two points of history compared (CONTRACT §6 `diff-from`, `diff-to`).
    pub diff_points: RwSignal<Option<(u64, u64)>>,
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
    /// The shop of the sync server the page is on; `None` on the browser's own log.
    pub shop_name: RwSignal<Option<String>>,
    pub restore: RwSignal<Option<RestoreInfo>>,
    pub history_ready: RwSignal<bool>,
    /// Work running or waiting in the session's queue ("Saving…").
    pub queued: RwSignal<u64>,
    /// A write's answer was lost and the page is asking the server whether it was stored.
    pub checking: RwSignal<bool>,
    /// On a shared log: the commands waiting in this browser's outbox, and those refused after they waited.
    pub outbox: RwSignal<OutboxView>,
    /// Events shown of a damaged log (None: the log is whole).
    pub damaged: RwSignal<Option<u64>>,
    /// The user or item whose life the chart shows.
    pub selected: RwSignal<Option<Entity>>,
    /// Bumped when the event log's filter changed.
    pub filter_version: RwSignal<u64>,
    /// Bumped whenever another log is on screen (a load, an import, a branch shown or left).
    pub generation: RwSignal<u64>,
    /// Bumped when another log is on screen whose interned ids may name other entities than the last one's;
    /// not between a branch and the real log while their name tables agree, so the table rows stay.
    pub ids_generation: RwSignal<u64>,
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
            key_gate: StoredValue::new_local(None),
            access: RwSignal::new(Access::Opening),
            shop: StoredValue::new_local(Shop::default()),
            branch: StoredValue::new_local(None),
            branch_name: RwSignal::new(None),
            branches: RwSignal::new(Ok(Vec::new())),
            main_version: RwSignal::new(0),
            diff_points: RwSignal::new(None),
            entity_filter: RwSignal::new(String::new()),
            version: RwSignal::new(0),
            cursor: RwSignal::new(0),
            head: RwSignal::new(0),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            progress: RwSignal::new(None),
            backend: RwSignal::new(None),
            sync: RwSignal::new(SyncStatus::Local),
            shop_name: RwSignal::new(None),
            restore: RwSignal::new(None),
            history_ready: RwSignal::new(false),
            queued: RwSignal::new(0),
            checking: RwSignal::new(false),
            outbox: RwSignal::new(OutboxView::default()),
            damaged: RwSignal::new(None),
            selected: RwSignal::new(None),
            filter_version: RwSignal::new(0),
            generation: RwSignal::new(0),
            ids_generation: RwSignal::new(0),
        }
    }

    fn session(&self) -> Option<Rc<Session>> {
        self.session.try_with_value(Clone::clone).flatten()
    }

    fn on_branch(&self) -> bool {
        self.branch.try_with_value(Option::is_some).unwrap_or(false)
    }

    /// Reads the log shown (the real log, or the branch shown) and its view together. `None` while the
    /// session is busy changing them. The reader depends on what it reads: inside a memo or an effect, the
    /// [`Page`] tracks the signal of each part read, so the reader runs again when that part changes.
    pub fn read<U>(&self, f: impl FnOnce(&Page) -> U) -> Option<U> {
        let read = if self.on_branch() {
            let ctx = *self;
            let reads = move |part| ctx.track(part);
            self.branch.try_with_value(|b| b.as_ref().map(|b| f(&Page::new(&b.source(), b.shop(), &reads)))).flatten()
        } else {
            self.read_main(f)
        };
        if read.is_none() {
            // Busy: nothing was read, so the reader would follow nothing. It runs again when anything changes.
            for part in [Part::Log, Part::View, Part::Listing] {
                self.track(part);
            }
        }
        read
    }

    /// Reads the real log and its view, whatever is shown.
    pub fn read_main<U>(&self, f: impl FnOnce(&Page) -> U) -> Option<U> {
        let session = self.session()?;
        let book = session.book()?;
        let ctx = *self;
        let reads = move |part| ctx.track(part);
        self.shop.try_with_value(|shop| f(&Page::new(&source(&book), shop, &reads)))
    }

    /// The signals that say a part of the page changed: the only place that knows which is which.
    fn track(&self, part: Part) {
        match part {
            Part::Log => {
                self.generation.track();
                self.head.track();
            }
            Part::View => self.version.track(),
            Part::Listing => {
                self.filter_version.track();
                self.generation.track();
                self.head.track();
            }
            Part::Filter => {
                self.filter_version.track();
                self.generation.track();
            }
        }
    }

    /// Changes the view shown (never the log), with its log at hand.
    fn update_view<U>(&self, f: impl FnOnce(&mut Shop, &Source) -> U) -> Option<U> {
        if self.on_branch() {
            return self.branch.try_update_value(|b| {
                b.as_mut().map(|b| {
                    let (shop, source) = b.view_mut();
                    f(shop, &source)
                })
            })?;
        }
        self.update_main(|shop, book| f(shop, &source(book)))
    }

    /// Changes the real log's view, whatever is shown.
    fn update_main<U>(&self, f: impl FnOnce(&mut Shop, &Book) -> U) -> Option<U> {
        let session = self.session()?;
        let book = session.book()?;
        self.shop.try_update_value(|shop| f(shop, &book))
    }

    /// Ids for the forms' suggestions.
    pub fn known_ids(&self) -> (Vec<String>, Vec<String>) {
        self.track(Part::Log);
        self.update_view(|shop, source| shop.known_ids(source)).unwrap_or_default()
    }

    /// The users (or items) in the state shown that the entity filter keeps, in the order asked.
    pub fn users_listed(&self, sort: Sort) -> Vec<rewind_domain::UserId> {
        self.track(Part::Log);
        self.track(Part::View);
        let filter = self.entity_filter.get_untracked();
        self.update_view(|shop, source| shop.users_listed(source.log.names(), filter.trim(), sort)).unwrap_or_default()
    }

    pub fn items_listed(&self, sort: Sort) -> Vec<rewind_domain::ItemId> {
        self.track(Part::Log);
        self.track(Part::View);
        let filter = self.entity_filter.get_untracked();
        self.update_view(|shop, source| shop.items_listed(source.log.names(), filter.trim(), sort)).unwrap_or_default()
    }

    /// Publishes the view after it changed.
    fn refresh(&self) {
        if let Some((head, cursor)) = self.read(|p| (p.head(), p.state().seq().min(p.head()))) {
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
        let moved = self.update_view(|shop, source| shop.move_view(source, k));
        self.refresh();
        if let Some(Err(e)) = moved {
            // The tables are empty then, not a half-built state, and the timeline stays where it was asked
            // to go (not at 0, which the empty view would say); this says why.
            self.cursor.set(k.min(self.head.get_untracked()));
            self.fail(format!("the state after event {k} cannot be shown: {e}"));
        }
    }

    /// Compares the timeline's value with event `seq` (a shift-click on a second row of the event log).
    pub fn compare_with_cursor(&self, seq: u64) {
        let at = self.cursor.get_untracked();
        self.diff_points.set(Some((at.min(seq), at.max(seq))));
    }

    /// One step forward or back: to the next matching event when the log is filtered.
    pub fn step(&self, forward: bool) {
        let cursor = self.cursor.get_untracked();
        if let Some(k) = self.read(|p| p.step_from(cursor, forward)) {
            self.show_at(k);
        }
    }

    pub fn set_filter(&self, filter: LogFilter) {
        self.update_view(|shop, source| shop.set_filter(filter, source.log));
        self.filter_version.update(|v| *v += 1);
        self.version.update(|v| *v += 1);
    }

    /// Shows only the events that match `query` (every event for the empty query).
    pub fn set_query(&self, query: Query) {
        // One query for the page: asked of the real log and of the branch shown, so that going back and forth
        // keeps what the bar says. Only what lists events follows the filter's version.
        if self.on_branch() {
            self.update_view(|shop, source| shop.set_query(query.clone(), source.log));
        }
        if self.update_main(|shop, book| shop.set_query(query, &book.log)).is_none() {
            self.fail("the query was not asked: the log is busy loading; press Enter again once it is shown".to_owned());
        }
        self.filter_version.update(|v| *v += 1);
    }

    /// Brings the shown log's read models in line with `defs` and folds up to `budget` more events into
    /// those behind: the events folded and to fold, over every model.
    pub fn fold_models(&self, defs: &[rewind_domain::ModelDef], budget: u64) -> Option<(u64, u64)> {
        self.track(Part::Log);
        self.update_view(|shop, source| {
            shop.models.sync(defs);
            shop.models.fold(source.log, budget)
        })
    }

    /// Read model `index` at the cursor: the rows `rows(groups there)` of its groups.
    pub fn model_at(&self, index: usize, rows: impl FnOnce(usize) -> std::ops::Range<usize>) -> Option<crate::models::ModelAt> {
        self.track(Part::View);
        self.update_view(|shop, source| {
            let (k, previous) = (shop.view.seq(), shop.previous_seq);
            shop.models.at(index, source.log.names(), k, previous, rows)
        })
    }

    /// Read model `index`'s `n` largest groups at the cursor. It reads every group, so it follows nothing by
    /// itself: the chart asks it again once the timeline rests.
    pub fn model_top(&self, index: usize, n: usize) -> Vec<(String, u64)> {
        self.update_view(|shop, source| shop.models.top(index, source.log.names(), shop.view.seq(), n)).unwrap_or_default()
    }

    pub fn model_error(&self, index: usize) -> Option<String> {
        self.read(|p| p.models().error(index)).flatten()
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
        // On a branch, the real log still changes underneath: its view follows, the branch stays on screen.
        let shown = !self.on_branch();
        match update {
            SessionUpdate::Restored(info) => {
                self.restore.set(Some(info));
                if shown {
                    self.go_live();
                }
            }
            SessionUpdate::Replaced => {
                let state = self.update_main(|shop, book| {
                    let shown = shop.reset(&source(book));
                    (shown, book.history_ready, book.problem.is_some().then(|| book.log.len()))
                });
                if let Some((shown, ready, damaged)) = state {
                    self.history_ready.set(ready);
                    self.damaged.set(damaged);
                    if let Err(e) = shown {
                        self.fail(format!("the log cannot be shown: {e}"));
                    }
                }
                self.main_version.update(|v| *v += 1);
                if shown {
                    self.new_log_shown(false);
                }
            }
            SessionUpdate::Grew => {
                let follow = self.is_live_untracked();
                self.update_main(|shop, book| shop.log_grew(&book.log));
                self.main_version.update(|v| *v += 1);
                if !shown {
                } else if follow {
                    self.go_live();
                } else {
                    self.refresh();
                }
            }
            SessionUpdate::Progress(p) => self.progress.set(p),
            SessionUpdate::Queue(n) => self.queued.set(n),
            SessionUpdate::Failed(e) => self.fail(e.to_string()),
            SessionUpdate::Sync(status) => self.sync.set(status),
            SessionUpdate::Checking(checking) => self.checking.set(checking),
            SessionUpdate::Outbox(view) => self.outbox.set(view),
        }
    }

    /// Another log is on screen (a load, an import, a branch shown or left): views keyed by sequence numbers
    /// are rebuilt, those keyed by interned ids too unless `ids_agree`, and the view goes live.
    fn new_log_shown(&self, ids_agree: bool) {
        self.generation.update(|g| *g += 1);
        if !ids_agree {
            self.ids_generation.update(|g| *g += 1);
        }
        self.selected.set(None);
        self.diff_points.set(None);
        self.filter_version.update(|v| *v += 1);
        self.go_live();
    }

    /// Opens the store and loads the log through the session; first asks for the sync server's access key
    /// if it wants one.
    pub async fn load(self) {
        let store = match Store::open_for_page(STORE_NAME).await {
            PageStore::Ready(store) => store,
            PageStore::KeyNeeded(gate) => {
                self.key_gate.set_value(Some(Rc::new(gate)));
                self.access.set(Access::KeyNeeded);
                return;
            }
        };
        self.key_gate.set_value(None);
        self.access.set(Access::Open);
        self.backend.set(Some(store.backend()));
        self.sync.set(store.sync_status());
        self.shop_name.set(store.shop().map(str::to_owned));
        if store.sync_status() != SyncStatus::Local {
            crate::app_files::keep_app_files();
        }
        for reason in store.fallback_reasons() {
            web_sys::console::warn_1(&reason.into());
        }
        let confirm: crate::session::Confirm =
            Rc::new(|question: &str| window().confirm_with_message(question).unwrap_or(false));
        let ctx = self;
        let channel = store.channel(STORE_NAME);
        let session = Session::new(store, Some(&channel), confirm, move |update| ctx.on_update(update));
        self.session.set_value(Some(session.clone()));
        if let Err(e) = session.load().await {
            self.fail(e.to_string());
        }
    }

    /// Sends the access key; once the server took it, loads the shop. The error to show in the form if not:
    /// the server's own words for a wrong key.
    pub async fn submit_key(self, key: String) -> Result<(), String> {
        let Some(gate) = self.key_gate.try_with_value(Clone::clone).flatten() else { return Ok(()) };
        gate.submit(&key).await.map_err(|e| match e {
            StoreError::AccessKey { message } => message,
            StoreError::Offline { detail } => format!("the sync server cannot be reached ({detail}): try again in a moment"),
            e => format!("the key could not be checked: {e}"),
        })?;
        self.load().await;
        if self.access.get_untracked() == Access::KeyNeeded {
            return Err("the sync server took the key but still asks for it: this browser may refuse its cookie \
                        (allow cookies for this site, then try again)"
                .into());
        }
        Ok(())
    }

    /// The sync server's words when it asked for its access key.
    pub fn key_request(&self) -> Option<String> {
        self.key_gate.try_with_value(|g| g.as_ref().map(|g| g.message.clone())).flatten()
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
        if self.on_branch() {
            return self.submit_to_branch(command);
        }
        let Some(session) = self.session() else { return };
        match session.submit(command).await {
            Err(kept @ SessionError::Kept { .. }) => self.tell(format!("Kept: {kept}.")),
            Err(SessionError::Elsewhere) => self.tell(format!("{}.", SessionError::Elsewhere)),
            outcome => {
                if self.show(outcome).is_some() {
                    self.error.set(None);
                    self.go_live();
                }
            }
        }
    }

    /// Drops a command from the outbox before it is sent.
    pub async fn cancel_pending(self, id: u64, key: rewind_store::CommandKey) {
        let Some(session) = self.session() else { return };
        match session.drop_from_outbox(id, &key, false).await {
            Ok(rewind_store::Changed::AlreadySent) => {
                self.fail("that command is being sent already, so it can no longer be cancelled: the server decides it once")
            }
            Ok(rewind_store::Changed::Gone) => self.tell("That command had already left the outbox (sent from another tab, or cancelled there)."),
            Ok(_) => self.tell("Cancelled: the command was never sent."),
            Err(e) => self.fail(format!("the command could not be cancelled: {e}")),
        }
    }

    /// Drops a refused command from the conflict inbox.
    pub async fn discard_refused(self, id: u64, key: rewind_store::CommandKey) {
        let Some(session) = self.session() else { return };
        if let Err(e) = session.drop_from_outbox(id, &key, true).await {
            self.fail(format!("the refused command could not be dropped: {e}"));
        }
    }

    /// Sends a refused command again, as the user changed it.
    pub async fn retry_refused(self, id: u64, key: rewind_store::CommandKey, command: Command) {
        let Some(session) = self.session() else { return };
        match session.retry_refused(id, &key, command).await {
            Ok(_) => {
                self.tell("Sent again: the server stored it.");
                self.go_live();
            }
            Err(kept @ SessionError::Kept { .. }) => self.tell(format!("Kept: {kept}.")),
            Err(e) => self.fail(format!("refused again: {e}")),
        }
    }

    /// Appends `count` events from the load producer.
    pub async fn generate(self, count: u64, people: crate::session::Population) {
        if self.refused_on_branch("Generating") {
            return;
        }
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
        if self.refused_on_branch("Importing") {
            return;
        }
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
        if self.refused_on_branch("Clearing") {
            return;
        }
        let Some(session) = self.session() else { return };
        match self.show(session.clear().await) {
            Some(Replacement::Done(_)) => self.tell("The log is empty."),
            Some(Replacement::Declined) => self.tell("Nothing was deleted."),
            None => {}
        }
    }

    /// Restores the shop as it was at the timeline's value, by compensating events, after confirmation.
    pub async fn restore_here(self) {
        if self.refused_on_branch("Restoring to a point") {
            return;
        }
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
        if self.refused_on_branch("Keeping the intact events") {
            return;
        }
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

    /// Work that only makes sense on the real log is refused on a branch, with a way back.
    fn refused_on_branch(&self, what: &str) -> bool {
        let on_branch = self.on_branch();
        if on_branch {
            self.fail(format!("{what} is for the real log: go back to main first (a branch only takes commands)"));
        }
        on_branch
    }

    /// The branches saved for this log (each shop of a server keeps its own).
    fn shelf(&self) -> Option<BranchShelf> {
        BranchShelf::open(&rewind_store::name_for_shop(STORE_NAME, self.shop_name.get_untracked().as_deref()))
    }

    /// Lists the branches saved in this browser (or says why they cannot be listed).
    pub fn load_branches(&self) {
        let shelf = self.shelf();
        let names = branch_names(shelf.as_ref().map(|s| s as &dyn Shelf)).map_err(|e| e.to_string());
        self.branches.set(names);
    }

    fn main_epoch(&self) -> Result<u64, BranchError> {
        let session = self.session().ok_or(BranchError::Busy)?;
        let book = session.book().ok_or(BranchError::Busy)?;
        match book.version {
            Expected::Version(v) => Ok(v.epoch),
            Expected::DamagedIndex => Err(BranchError::DamagedIndex),
        }
    }

    /// Starts a what-if branch from the timeline's value and shows it.
    pub fn start_branch(&self) {
        match self.try_start_branch() {
            Ok((name, base, mut listed)) => {
                // The list was read to choose the name: the new branch joins it, with no second read.
                listed.push(name.clone());
                listed.sort();
                self.branches.set(Ok(listed));
                self.tell(format!("Branch {name} starts after event {base}. Commands now apply to it only; the real log is untouched."));
            }
            Err(e) => self.fail(format!("the branch was not started: {e}")),
        }
    }

    /// The new branch's name, its base, and the branches saved before it.
    fn try_start_branch(&self) -> Result<(String, u64, Vec<String>), BranchError> {
        if !self.history_ready.get_untracked() {
            return Err(BranchError::HistoryLoading);
        }
        if self.on_branch() {
            return Err(BranchError::OnBranch);
        }
        let epoch = self.main_epoch()?;
        let shelf = self.shelf().ok_or(BranchError::NoShelf)?;
        let base = self.cursor.get_untracked();
        let taken = shelf.names().map_err(BranchError::Unlisted)?;
        let name = (1..).map(|n| format!("what-if-{n}")).find(|n| !taken.contains(n)).unwrap_or_default();
        let started = self
            .update_main(|shop, book| BranchSession::start(name.clone(), shop, &book.log, base, epoch, &shelf))
            .ok_or(BranchError::Busy)??;
        self.show_branch(started);
        Ok((name, base, taken))
    }

    fn show_branch(&self, branch: BranchSession) {
        let name = branch.name().to_owned();
        let ids_agree = self.read(|p| p.names().agrees_with(branch.branch().log().names())).unwrap_or(false);
        self.branch.set_value(Some(branch));
        self.branch_name.set(Some(name));
        self.new_log_shown(ids_agree);
    }

    /// Shows the saved branch `name`.
    pub fn open_branch(&self, name: &str) {
        if self.branch_name.get_untracked().as_deref() == Some(name) {
            return;
        }
        let opened = self.main_epoch().and_then(|epoch| {
            let shelf = self.shelf().ok_or(BranchError::NoShelf)?;
            self.update_main(|shop, book| BranchSession::open(name, shop, &book.log, epoch, &shelf)).ok_or(BranchError::Busy)?
        });
        match opened {
            Ok(branch) => self.show_branch(branch),
            Err(e) => self.fail(format!("branch {name} cannot be opened: {e}")),
        }
    }

    /// Back to the real log.
    pub fn to_main(&self) {
        if self.on_branch() {
            let ids_agree = self.read(|branch| self.read_main(|main| main.names().agrees_with(branch.names()))).flatten().unwrap_or(false);
            self.branch.set_value(None);
            self.branch_name.set(None);
            self.new_log_shown(ids_agree);
        }
    }

    /// Deletes the branch shown, after confirmation, and goes back to the real log.
    pub fn delete_branch(&self) {
        let Some(name) = self.branch_name.get_untracked() else { return };
        let question = format!("Delete branch {name} and its own events? The real log is not touched.");
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return self.tell(format!("Branch {name} was kept."));
        }
        let deleted = self.shelf()
            .ok_or(BranchError::NoShelf)
            .and_then(|s| s.delete(&name).map_err(|error| BranchError::NotDeleted { name: name.clone(), error }));
        if let Err(e) = deleted {
            return self.fail(e.to_string());
        }
        self.load_branches();
        self.to_main();
        self.tell(format!("Branch {name} was deleted."));
    }

    /// A command on the branch shown: decided by the branch's session, kept with the branch, never in the real log.
    fn submit_to_branch(&self, command: Command) {
        let ts = rewind_store::clock::now_ms();
        let outcome = self.shelf().ok_or(BranchError::NoShelf).and_then(|shelf| {
            self.branch
                .try_update_value(|b| b.as_mut().map(|branch| branch.submit(&command, ts, &shelf)))
                .flatten()
                .ok_or(BranchError::Busy)?
        });
        match outcome {
            Ok(_) => {
                self.error.set(None);
                self.go_live();
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Every value that differs between the state after `from` events and after `to` events of the log shown.
    pub fn diff_between(&self, from: u64, to: u64) -> Result<Vec<DiffLine>, ViewError> {
        // Two points already in the log: only another log changes them, not an append.
        self.generation.track();
        self.update_view(|shop, source| shop.diff_between(source, from, to).map_err(ViewError::History))
            .unwrap_or(Err(ViewError::Busy))
    }

    /// The events up to `upto` that changed `entity`, newest first, with the entity's id.
    pub fn blame(&self, entity: Entity, upto: u64) -> Option<(String, Vec<BlameLine>)> {
        self.update_view(|shop, source| {
            let names = source.log.names();
            let name = match entity {
                Entity::User(u) => names.user_name(u).to_owned(),
                Entity::Item(i) => names.item_name(i).to_owned(),
            };
            (name, shop.blame_index(source.log).blame(source.log, entity, upto))
        })
    }

    /// One entity's values over the log shown, from the blame index.
    pub fn entity_series(&self, entity: Entity) -> Option<rewind_domain::EntitySeries> {
        self.track(Part::Log);
        self.update_view(|shop, source| rewind_domain::EntitySeries::from_index(source.log, shop.blame_index(source.log), entity))
    }

    /// On a branch: every value of the branch's latest state that differs from the real log's latest state.
    pub fn branch_compare(&self) -> Result<Vec<DiffLine>, ViewError> {
        self.read_main(|main| {
            self.branch
                .try_update_value(|b| {
                    let (shop, source) = b.as_mut()?.view_mut();
                    let (names, live) = (source.log.names(), source.live);
                    let (users, items) = shop.id_order(names);
                    let changes = diff_across_in_order((main.names(), main.live()), (names, live), users, items);
                    Some(changes.iter().map(DiffLine::from_difference).collect())
                })
                .flatten()
        })
        .flatten()
        .ok_or(ViewError::Busy)
    }
}
