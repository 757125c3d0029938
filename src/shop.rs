//! The page's model: the log, the live state and the state at the timeline's cursor, kept together so the
//! views read one consistent picture. No business rules here: every decision and fold is the domain's.

use rewind_domain::{
    apply_with_changes, Change, ItemId, Log, LogFilter, Names, ReadModels, Series, State, Timeline, UserId,
};
use rewind_store::Store;
use std::rc::Rc;

pub struct Shop {
    pub store: Option<Rc<Store>>,
    /// Every stored event. Empty until the history has loaded (the live state comes first, from a snapshot).
    pub log: Log,
    /// The state after the whole log: what commands are decided against.
    pub live: State,
    pub timeline: Timeline,
    pub series: Series,
    /// The state shown: after the first `view.seq()` events.
    pub view: State,
    /// What the event at the cursor changed.
    pub changes: Vec<Change>,
    pub view_models: ReadModels,
    /// Whether the whole log is loaded (until then only the live state is known).
    pub history_ready: bool,
    pub last_snapshot: u64,
    /// A write or long read is under way: other writes wait.
    pub busy: bool,
    /// Another tab changed the log while we were busy: what to catch up with afterwards.
    pub sync_pending: Option<rewind_store::LogChange>,
    /// Which log is loaded: a new log (load, import, another tab's replace) gets a new generation, so that
    /// views keyed by interned ids or sequence numbers are rebuilt rather than reused.
    pub generation: u64,
    pub tab_sync: Option<rewind_store::TabSync>,
    /// The event log's filter, and the events it keeps (None: no filter, every event).
    pub filter: LogFilter,
    pub matches: Option<Vec<u64>>,
    user_order: (usize, Vec<UserId>),
    item_order: (usize, Vec<ItemId>),
}

impl Default for Shop {
    fn default() -> Self {
        Self {
            store: None,
            log: Log::new(),
            live: State::new(),
            timeline: Timeline::default(),
            series: Series::default(),
            view: State::new(),
            changes: Vec::new(),
            view_models: ReadModels::default(),
            history_ready: false,
            last_snapshot: 0,
            busy: false,
            sync_pending: None,
            generation: 0,
            tab_sync: None,
            filter: LogFilter::default(),
            matches: None,
            user_order: (0, Vec::new()),
            item_order: (0, Vec::new()),
        }
    }
}

impl Shop {
    /// Events in the log (also before the history has loaded: the live state knows its sequence number).
    pub fn head(&self) -> u64 {
        self.live.seq()
    }

    pub fn names(&self) -> &Names {
        self.log.names()
    }

    /// Installs a fully loaded log and its state.
    pub fn set_log(&mut self, log: Log, live: State) {
        self.log = log;
        self.live = live;
        self.timeline = Timeline::default();
        self.series = Series::default();
        // Built from a log whose every event was checked on the way in, so these cannot fail; if they did,
        // the timeline would only be shorter.
        let _ = self.timeline.catch_up(&self.log);
        self.series.catch_up(&self.log);
        self.history_ready = true;
        self.generation += 1;
        self.last_snapshot = 0;
        // Interned indices may name other entities in the new log.
        self.user_order = (usize::MAX, Vec::new());
        self.item_order = (usize::MAX, Vec::new());
        self.filter = LogFilter::default();
        self.matches = None;
        self.view = State::new();
        self.move_view(self.head());
    }

    /// After events were appended to `log` and `live`.
    pub fn log_grew(&mut self) {
        let _ = self.timeline.catch_up(&self.log);
        self.series.catch_up(&self.log);
        self.refilter();
    }

    pub fn set_filter(&mut self, filter: LogFilter) {
        self.filter = filter;
        self.refilter();
    }

    fn refilter(&mut self) {
        self.matches = self.filter.is_active().then(|| self.filter.apply(&self.log));
    }

    /// Events listed in the event log: the matching ones, or all.
    pub fn listed(&self) -> u64 {
        self.matches.as_ref().map_or(self.log.len(), |m| m.len() as u64)
    }

    /// The sequence number of the `index`-th listed event (0-based).
    pub fn listed_seq(&self, index: u64) -> Option<u64> {
        match &self.matches {
            Some(m) => m.get(index as usize).copied(),
            None => (index < self.log.len()).then_some(index + 1),
        }
    }

    /// Where event `seq` is (or would be) in the listed events.
    pub fn listed_index(&self, seq: u64) -> u64 {
        match &self.matches {
            Some(m) => m.partition_point(|s| *s < seq) as u64,
            None => seq.saturating_sub(1),
        }
    }

    /// The next (`forward`) or previous listed event from `from`, for stepping through a filtered log.
    pub fn step_from(&self, from: u64, forward: bool) -> u64 {
        match &self.matches {
            None if forward => (from + 1).min(self.head()),
            None => from.saturating_sub(1),
            Some(m) if forward => m.get(m.partition_point(|s| *s <= from)).copied().unwrap_or(from),
            Some(m) => {
                let i = m.partition_point(|s| *s < from);
                i.checked_sub(1).and_then(|i| m.get(i)).copied().unwrap_or(from)
            }
        }
    }

    /// Shows the state after the first `k` events, and what event `k` changed.
    pub fn move_view(&mut self, k: u64) {
        let k = k.min(self.head());
        self.changes.clear();
        if !self.history_ready {
            self.view.clone_from_state(&self.live);
            self.view_models = ReadModels::default();
            return;
        }
        if k == 0 {
            self.view = State::new();
        } else {
            // The state before event k, then event k itself: its changes come from the domain.
            let _ = self.timeline.state_at(&self.log, k - 1, &mut self.view);
            if let Some(envelope) = self.log.get(k) {
                self.changes = apply_with_changes(&mut self.view, self.log.names(), &envelope.event).unwrap_or_default();
            }
        }
        self.view_models = self.series.at(&self.log, k);
    }

    /// Users that exist in the state shown, in id order.
    pub fn users_shown(&mut self) -> Vec<UserId> {
        let names = self.log.names();
        if self.user_order.0 != names.user_count() {
            self.user_order = (names.user_count(), names.users_in_id_order());
        }
        self.user_order.1.iter().copied().filter(|u| self.view.balance(*u).is_some()).collect()
    }

    pub fn items_shown(&mut self) -> Vec<ItemId> {
        let names = self.log.names();
        if self.item_order.0 != names.item_count() {
            self.item_order = (names.item_count(), names.items_in_id_order());
        }
        self.item_order.1.iter().copied().filter(|i| self.view.price(*i).is_some()).collect()
    }

    /// Existing ids for the forms' suggestions.
    pub fn known_ids(&self) -> (Vec<String>, Vec<String>) {
        let names = self.log.names();
        let mut users: Vec<String> = self.live.users().map(|(u, _)| names.user_name(u).to_owned()).collect();
        let mut items: Vec<String> = self.live.items().map(|(i, _, _)| names.item_name(i).to_owned()).collect();
        users.sort_unstable();
        items.sort_unstable();
        users.truncate(500);
        items.truncate(500);
        (users, items)
    }

    pub fn changed_user(&self, name: &str) -> bool {
        self.changes.iter().any(|c| c.kind == rewind_domain::EntityKind::User && c.id == name)
    }

    pub fn changed_item(&self, name: &str) -> bool {
        self.changes.iter().any(|c| c.kind == rewind_domain::EntityKind::Item && c.id == name)
    }
}
