//! The page's shared handles (narrow: a Copy struct of signals and the model) and the actions that move data
//! between the forms, the domain and the store. Actions never hold the model across an await.

use crate::shop::Shop;
use leptos::prelude::*;
use rewind_domain::{decide, Command, Event, ImportCheck, Log, Producer, State};
use rewind_store::{encode_chunks, should_snapshot, LogChange, Store, StoreError, MAX_CHUNK_EVENTS};
use std::rc::Rc;

pub const STORE_NAME: &str = "rewind";

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

#[derive(Clone, Copy)]
pub struct Ctx {
    pub shop: StoredValue<Shop, LocalStorage>,
    /// Bumped whenever the model changed (log, live state or view).
    pub version: RwSignal<u64>,
    /// Events applied in the state shown.
    pub cursor: RwSignal<u64>,
    /// Events in the log.
    pub head: RwSignal<u64>,
    pub error: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    pub progress: RwSignal<Option<Progress>>,
    pub backend: RwSignal<Option<&'static str>>,
    pub restore: RwSignal<Option<RestoreInfo>>,
    pub history_ready: RwSignal<bool>,
    pub saving: RwSignal<bool>,
    /// The user or item whose life the chart shows.
    pub selected: RwSignal<Option<rewind_domain::Entity>>,
    /// Bumped when the event log's filter changed.
    pub filter_version: RwSignal<u64>,
    /// The loaded log's generation (see `Shop::generation`).
    pub generation: RwSignal<u64>,
}

fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

fn perf_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Lets the browser paint and handle input between slices of long work.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            shop: StoredValue::new_local(Shop::default()),
            version: RwSignal::new(0),
            cursor: RwSignal::new(0),
            head: RwSignal::new(0),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            progress: RwSignal::new(None),
            backend: RwSignal::new(None),
            restore: RwSignal::new(None),
            history_ready: RwSignal::new(false),
            saving: RwSignal::new(false),
            selected: RwSignal::new(None),
            filter_version: RwSignal::new(0),
            generation: RwSignal::new(0),
        }
    }

    pub fn read<U>(&self, f: impl FnOnce(&Shop) -> U) -> Option<U> {
        self.shop.try_with_value(f)
    }

    pub fn write<U>(&self, f: impl FnOnce(&mut Shop) -> U) -> Option<U> {
        self.shop.try_update_value(f)
    }

    /// Publishes the model to the views after it changed.
    fn refresh(&self) {
        if let Some((head, cursor)) = self.read(|s| (s.head(), s.view.seq().min(s.head()))) {
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
        self.write(|s| s.move_view(k));
        self.refresh();
    }

    /// One step forward or back: to the next matching event when the log is filtered.
    pub fn step(&self, forward: bool) {
        let cursor = self.cursor.get_untracked();
        if let Some(k) = self.read(|s| s.step_from(cursor, forward)) {
            self.show_at(k);
        }
    }

    pub fn set_filter(&self, filter: rewind_domain::LogFilter) {
        self.write(|s| s.set_filter(filter));
        self.filter_version.update(|v| *v += 1);
        self.version.update(|v| *v += 1);
    }

    /// Puts a whole new log in place (load, import, clear, another tab's replace): filters and the chart's
    /// selection refer to the old one, so they are reset.
    fn install_log(&self, log: Log, live: State) {
        let generation = self.write(|s| {
            s.set_log(log, live);
            s.generation
        });
        self.selected.set(None);
        self.filter_version.update(|v| *v += 1);
        if let Some(g) = generation {
            self.generation.set(g);
        }
    }

    pub fn go_live(&self) {
        let head = self.read(|s| s.head()).unwrap_or(0);
        self.show_at(head);
    }

    fn fail(&self, message: impl Into<String>) {
        self.notice.set(None);
        self.error.set(Some(message.into()));
    }

    /// Marks the start of a write; `false` (with the reason on screen) if it cannot start now.
    fn begin(&self) -> bool {
        let started = self.write(|s| {
            if !s.history_ready {
                Err("please wait: the history is still loading")
            } else if s.busy {
                Err("please wait: the previous change is still being saved")
            } else {
                s.busy = true;
                Ok(())
            }
        });
        match started {
            Some(Ok(())) => {
                self.saving.set(true);
                true
            }
            Some(Err(why)) => {
                self.progress.set(None);
                self.fail(why);
                false
            }
            None => false,
        }
    }

    fn end(&self) {
        let pending = self.write(|s| {
            s.busy = false;
            s.sync_pending.take()
        });
        self.saving.set(false);
        if let Some(Some(change)) = pending {
            let ctx = *self;
            leptos::task::spawn_local(async move { ctx.sync_from_other_tab(change).await });
        }
    }

    /// Reacts to a store error of a write: another tab's replace means reloading the whole log.
    async fn after_write_error(&self, store: &Store, e: StoreError) {
        if e == StoreError::Replaced {
            if let Err(reload) = self.reload_log(store).await {
                return self.fail(reload.to_string());
            }
        }
        self.fail(e.to_string());
    }

    fn store(&self) -> Option<Rc<Store>> {
        self.read(|s| s.store.clone()).flatten()
    }

    fn announce(&self, change: LogChange) {
        self.read(|s| s.tab_sync.as_ref().map(|t| t.announce(change)));
    }

    /// Decides `command` against the live state, stores the event durably, and only then shows it.
    pub async fn submit(self, command: Command) {
        if !self.begin() {
            return;
        }
        for attempt in 1..=3 {
            let prepared = self.write(|s| {
                let event = decide(&s.live, s.log.names_mut(), &command)?;
                let ts = now_ms().max(s.log.timestamps().last().copied().unwrap_or(0)).min(rewind_domain::MAX);
                let head = s.head();
                Ok::<_, rewind_domain::Rejection>((head, ts, event, encode_chunks(s.log.names(), head + 1, &[event], &[ts])))
            });
            let Some(prepared) = prepared else { break };
            let (head, ts, event, chunks) = match prepared {
                Ok(p) => p,
                Err(rejection) => {
                    self.fail(rejection.to_string());
                    break;
                }
            };
            let Some(store) = self.store() else { break };
            match store.append(head, &chunks).await {
                Ok(_) => {
                    if !self.accept(&[(ts, event)]) {
                        let _ = self.reload_log(&store).await;
                    }
                    self.error.set(None);
                    self.announce(LogChange::Appended);
                    self.go_live();
                    self.snapshot_if_due(false);
                    break;
                }
                Err(StoreError::Conflict { .. }) if attempt < 3 => {
                    // Another tab wrote first: read its events, then decide again.
                    if let Err(e) = self.pull_tail(&store).await {
                        self.after_write_error(&store, e).await;
                        break;
                    }
                }
                Err(StoreError::Conflict { .. }) => {
                    self.fail("other tabs kept writing at the same moment, so this was not saved; please try again");
                    break;
                }
                Err(e) => {
                    self.after_write_error(&store, e).await;
                    break;
                }
            }
        }
        self.end();
    }

    /// Applies events that are already stored. `false` if one breaks a rule against the page's log, which
    /// means the page's copy is stale: the caller reloads it from storage.
    fn accept(&self, events: &[(u64, Event)]) -> bool {
        self.write(|s| {
            let mut all = true;
            for (ts, event) in events {
                let Shop { log, live, .. } = s;
                if log.push(live, *ts, *event).is_err() {
                    all = false;
                    break;
                }
            }
            s.log_grew();
            all
        })
        .unwrap_or(false)
    }

    async fn pull_tail(&self, store: &Store) -> Result<u64, StoreError> {
        let after = self.read(|s| s.head()).unwrap_or(0);
        let tail = store.tail_after(after).await?;
        let follow = self.is_live_untracked();
        let arrived = self.write(|s| {
            let Shop { log, live, .. } = s;
            let arrived = tail.apply(log, live);
            s.log_grew();
            arrived
        });
        let arrived = arrived.unwrap_or(Ok(0))?;
        if follow {
            self.go_live();
        } else {
            self.refresh();
        }
        Ok(arrived)
    }

    fn is_live_untracked(&self) -> bool {
        self.cursor.get_untracked() == self.head.get_untracked()
    }

    /// Another tab changed the log: read its new events (or the whole log after a replace).
    pub async fn sync_from_other_tab(self, change: LogChange) {
        let ready = self.write(|s| {
            if s.busy || !s.history_ready {
                // A replace outweighs any append: the whole log is read again.
                if s.sync_pending != Some(LogChange::Replaced) {
                    s.sync_pending = Some(change);
                }
                false
            } else {
                s.busy = true;
                true
            }
        });
        if ready != Some(true) {
            return;
        }
        let Some(store) = self.store() else { return self.end() };
        let result = match change {
            LogChange::Appended => match self.pull_tail(&store).await {
                Err(StoreError::Replaced) => self.reload_log(&store).await,
                other => other.map(|_| ()),
            },
            LogChange::Replaced => self.reload_log(&store).await,
        };
        if let Err(e) = result {
            self.fail(e.to_string());
        }
        self.end();
    }

    /// Reads the whole log again (after another tab imported or cleared).
    async fn reload_log(&self, store: &Store) -> Result<(), StoreError> {
        let loaded = store.read_log().await?;
        let error = loaded.error.clone();
        self.install_log(loaded.log, loaded.live);
        self.go_live();
        error.map_or(Ok(()), Err)
    }

    /// Opens the store, shows the live state from the newest snapshot and the tail, then loads the whole
    /// history for the timeline.
    pub async fn load(self) {
        let started = perf_now();
        let store = Rc::new(Store::open(STORE_NAME).await);
        self.backend.set(Some(store.backend().as_str()));
        for reason in store.fallback_reasons() {
            web_sys::console::warn_1(&reason.into());
        }
        let restored = match store.restore().await {
            Ok(r) => r,
            Err(e) => {
                self.write(|s| s.store = Some(store.clone()));
                return self.fail(e.to_string());
            }
        };
        for skipped in &restored.skipped_snapshots {
            web_sys::console::warn_1(&format!("Rewind skipped a snapshot: {skipped}").into());
        }
        let info = RestoreInfo {
            snapshot_seq: restored.snapshot_seq,
            tail: restored.tail,
            ms: (perf_now() - started).max(0.0).round() as u64,
        };
        let restore_error = restored.error.clone();
        // Join the other tabs now: what they write while the history loads is caught up afterwards.
        let ctx = self;
        let sync = rewind_store::TabSync::join(STORE_NAME, move |change| {
            leptos::task::spawn_local(async move { ctx.sync_from_other_tab(change).await });
        });
        self.write(|s| s.tab_sync = sync);
        self.write(|s| {
            s.store = Some(store.clone());
            s.last_snapshot = restored.snapshot_seq;
            s.log = Log::with_names(restored.names);
            s.live = restored.live;
            s.move_view(s.head());
        });
        self.restore.set(Some(info));
        self.refresh();
        if let Some(e) = restore_error {
            self.fail(e.to_string());
        }

        // The whole history, for the timeline. Progress shows while it loads.
        let total = self.head.get_untracked();
        if total > 0 {
            self.progress.set(Some(Progress { label: "Loading history".into(), fraction: 0.0 }));
        }
        let loaded = store.read_log().await;
        self.progress.set(None);
        match loaded {
            Ok(loaded) => {
                let error = loaded.error.clone();
                self.install_log(loaded.log, loaded.live);
                self.history_ready.set(true);
                self.go_live();
                if let Some(e) = error {
                    self.fail(e.to_string());
                }
                self.snapshot_if_due(false);
                // Anything another tab did while the history loaded.
                self.end();
            }
            // Without the history the page shows the live state but refuses writes, and says why.
            Err(e) => self.fail(format!("{e}; reload the page to try again")),
        }
    }

    /// Writes a snapshot of the live state in the background when the policy says so.
    pub fn snapshot_if_due(&self, page_hidden: bool) {
        let due = self.read(|s| {
            (s.history_ready && should_snapshot(s.head(), s.last_snapshot, page_hidden))
                .then(|| (s.store.clone(), s.live.clone(), s.log.names().clone()))
        });
        let Some(Some((Some(store), live, names))) = due else { return };
        let seq = live.seq();
        self.write(|s| s.last_snapshot = seq);
        leptos::task::spawn_local(async move {
            if let Err(e) = store.write_snapshot(&live, &names).await {
                web_sys::console::warn_1(&format!("Rewind could not write a snapshot: {e}").into());
            }
        });
    }

    /// Appends `count` events from the load producer, stored in batches, with progress.
    pub async fn generate(self, count: u64) {
        if count == 0 {
            return self.fail("enter how many events to generate (at least 1)");
        }
        if !self.begin() {
            return;
        }
        const BATCH: u64 = 20 * MAX_CHUNK_EVENTS as u64;
        let mut producer = Producer::new(self.read(|s| s.head()).unwrap_or(0) ^ 0x5eed);
        let mut done = 0;
        self.error.set(None);
        while done < count {
            let n = BATCH.min(count - done);
            let prepared = self.write(|s| {
                let mut scratch: State = s.live.clone();
                let mut ts = now_ms().max(s.log.timestamps().last().copied().unwrap_or(0));
                let mut events = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let (at, event) = producer.next_event(s.log.names_mut(), &scratch, ts)?;
                    scratch.apply(s.log.names(), &event)?;
                    ts = at;
                    events.push((at, event));
                }
                let (evs, tss): (Vec<Event>, Vec<u64>) = events.iter().map(|(t, e)| (*e, *t)).unzip();
                Ok::<_, rewind_domain::Rejection>((s.head(), encode_chunks(s.log.names(), s.head() + 1, &evs, &tss), events))
            });
            let (head, chunks, events) = match prepared {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    self.fail(format!("the generator stopped: {e}"));
                    break;
                }
                None => break,
            };
            let Some(store) = self.store() else { break };
            match store.append(head, &chunks).await {
                Ok(_) => {
                    if !self.accept(&events) {
                        let _ = self.reload_log(&store).await;
                        break;
                    }
                    done += n;
                    self.announce(LogChange::Appended);
                    self.snapshot_if_due(false);
                }
                Err(StoreError::Conflict { .. }) => {
                    if let Err(e) = self.pull_tail(&store).await {
                        self.after_write_error(&store, e).await;
                        break;
                    }
                }
                Err(e) => {
                    self.after_write_error(&store, e).await;
                    break;
                }
            }
            self.progress.set(Some(Progress {
                label: format!("Generated {done} of {count} events"),
                fraction: done as f64 / count as f64,
            }));
            self.refresh();
            yield_to_browser().await;
        }
        self.progress.set(None);
        if done == count {
            self.notice.set(Some(format!("Generated {count} events.")));
        }
        self.go_live();
        self.end();
    }

    /// Checks a JSON Lines file completely, asks before replacing a non-empty log, then replaces it in one
    /// write. Any error leaves the log as it was.
    pub async fn import(self, bytes: Vec<u8>, file_name: String) {
        if !self.begin() {
            return;
        }
        self.error.set(None);
        self.notice.set(None);
        let total = bytes.len().max(1);
        let mut check = ImportCheck::new(bytes);
        let checked = loop {
            match check.advance(25_000) {
                Ok(p) if check.is_done() => {
                    let _ = p;
                    break check.finish();
                }
                Ok(p) => {
                    self.progress.set(Some(Progress {
                        label: format!("Checking {file_name}: {} events", p.events),
                        fraction: p.bytes_done as f64 / total as f64 * 0.8,
                    }));
                    yield_to_browser().await;
                }
                Err(e) => break Err(e),
            }
        };
        let (log, live) = match checked {
            Ok(ok) => ok,
            Err(e) => {
                self.progress.set(None);
                self.fail(format!("{file_name} was not imported: {e}"));
                return self.end();
            }
        };
        let current = self.read(|s| s.head()).unwrap_or(0);
        if current > 0 {
            let question = format!(
                "Replace the current log of {current} events with the {} events of {file_name}?",
                log.len()
            );
            let confirmed = web_sys::window().and_then(|w| w.confirm_with_message(&question).ok()).unwrap_or(false);
            if !confirmed {
                self.progress.set(None);
                self.notice.set(Some("Import cancelled: the log was not changed.".into()));
                return self.end();
            }
        }
        self.progress.set(Some(Progress { label: format!("Saving {} events", log.len()), fraction: 0.85 }));
        yield_to_browser().await;
        let chunks = encode_chunks(log.names(), 1, log.events(), log.timestamps());
        let Some(store) = self.store() else {
            self.progress.set(None);
            return self.end();
        };
        match store.replace(&chunks).await {
            Ok(()) => {
                let n = log.len();
                self.install_log(log, live);
                self.announce(LogChange::Replaced);
                self.go_live();
                self.snapshot_if_due(false);
                self.notice.set(Some(format!("Imported {n} events from {file_name}.")));
            }
            Err(e) => self.fail(format!("{file_name} was not imported: {e}")),
        }
        self.progress.set(None);
        self.end();
    }

    /// Removes every event, after confirmation.
    pub async fn clear(self) {
        let current = self.read(|s| s.head()).unwrap_or(0);
        let question = format!("Delete all {current} events? Export first if you want to keep them.");
        let confirmed = web_sys::window().and_then(|w| w.confirm_with_message(&question).ok()).unwrap_or(false);
        if !confirmed || !self.begin() {
            return;
        }
        let Some(store) = self.store() else { return self.end() };
        match store.clear().await {
            Ok(()) => {
                self.install_log(Log::new(), State::new());
                self.announce(LogChange::Replaced);
                self.go_live();
                self.error.set(None);
                self.notice.set(Some("The log is empty.".into()));
            }
            Err(e) => self.fail(e.to_string()),
        }
        self.end();
    }
}
