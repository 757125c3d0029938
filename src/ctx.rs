//! The page's handles (narrow: a Copy struct of signals, the session and the view) and the glue that turns
//! what the session reports into signals. Every piece of work goes to the session's queue; nothing here
//! decides, retries or locks. Components read through [`Ctx::read`], which tracks what they read. What the
//! user asks of the session and how its answer is worded is in `actions.rs`; the what-if branches' shelf and
//! going to a branch and back in `branches.rs`.

use crate::session::{OutboxView, Progress, RestoreInfo, Session, Update as SessionUpdate};
use crate::branch::BranchSession;
use crate::session::Book;
use crate::shop::{DiffLine, Page, Part, Shop, Sort, Source, ViewError};
use leptos::prelude::*;
use rewind_domain::{
    BlameLine, Entity, LogFilter, Query,
};
use crate::opening::{open_page, Opened};
use rewind_store::{AccessKeyGate, Backend, StoreError, SyncStatus};
use std::rc::Rc;

mod actions;
mod branches;

pub const STORE_NAME: &str = "rewind";

fn source(book: &Book) -> Source<'_> {
    Source { log: &book.log, live: &book.live, history_ready: book.history_ready }
}

/// Whether the shop can be shown yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Finding out where the log lives.
    Opening,
    /// The log is open (or opening): the shop is shown.
    Open,
    /// The sync server wants its access key first: only its form is shown (CONTRACT §9).
    KeyNeeded,
    /// Nothing could be opened ([`crate::opening::Opened::NotOpened`]): why, for the page to say with a way to
    /// try again.
    CannotOpen(String),
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

    /// Opens the page's log ([`open_page`]) and loads it through the session; shows the access-key form, or
    /// why nothing could be opened, instead when that is the outcome.
    pub async fn load(self) {
        let (store, outboxing) = match open_page(STORE_NAME).await {
            Opened::Ready { store, outboxing } => (store, outboxing),
            Opened::KeyNeeded(gate) => {
                self.key_gate.set_value(Some(Rc::new(gate)));
                self.access.set(Access::KeyNeeded);
                return;
            }
            Opened::NotOpened(why) => return self.access.set(Access::CannotOpen(why.to_string())),
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
        if let Some(outboxing) = outboxing {
            session.set_outboxing(outboxing);
        }
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

    /// A snapshot when the policy says so (`page_hidden`: the tab may be about to close).
    pub fn snapshot_if_due(&self, page_hidden: bool) {
        if let Some(session) = self.session() {
            session.snapshot_if_due(page_hidden);
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
}
