//! The page's view of the log: the timeline, the state at the cursor, the event log's filter, the read models
//! at the cursor. It reads the session's log and never changes it. No business rules here: every decision
//! and fold is the domain's.

use rewind_domain::{
    apply_with_changes, diff, BlameIndex, Change, ChangeField, Difference, Entity, EntityKind, ItemId, Log, LogError, LogFilter, LogOutline, Matcher, Names, Query, ReadModels, Series, State, Timeline, UserId,
};

/// Why a question about the log shown (a comparison, a point of history) has no answer on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewError {
    /// The log is being changed (a load, an import, a branch opened): asked again once it is done.
    Busy,
    /// The state at some point cannot be built from the view's checkpoints and the log.
    History(LogError),
}

impl std::fmt::Display for ViewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ViewError::Busy => write!(f, "the log is busy: the answer comes once the current work is done"),
            ViewError::History(e) => write!(f, "the history cannot be read at that point: {e}"),
        }
    }
}

/// Differences listed on screen: `stamp` changes whenever the list is another one; `problem` says why there is
/// no list (never shown as "0 values differ").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Differences {
    pub stamp: u64,
    pub lines: Vec<DiffLine>,
    pub problem: Option<String>,
}

impl Differences {
    pub fn new(stamp: u64, outcome: Result<Vec<DiffLine>, ViewError>) -> Self {
        match outcome {
            Ok(lines) => Differences { stamp, lines, problem: None },
            Err(e) => Differences { stamp, lines: Vec::new(), problem: Some(e.to_string()) },
        }
    }
}

pub struct Shop {
    pub timeline: Timeline,
    pub series: Series,
    /// The state shown: after the first `view.seq()` events.
    pub view: State,
    /// What the event at the cursor changed.
    pub changes: Vec<Change>,
    pub view_models: ReadModels,
    /// The events `view_models` is after (None when it is not of the log's history).
    view_models_seq: Option<u64>,
    /// Which events touched each user and item: blame and entity charts read it instead of the whole log.
    /// Kept up to date with the real log; a branch builds its own at first use ([`Shop::blame_index`]).
    blame: BlameIndex,
    /// Running totals along the log, for the whole-log charts (density, revenue over time).
    pub outline: LogOutline,
    /// Which log is loaded: a new log (load, import, another tab's replace) gets a new generation, so that
    /// views keyed by interned ids or sequence numbers are rebuilt rather than reused.
    pub generation: u64,
    /// The event log's filter and query, and the events that pass both (None: neither is set, every event).
    pub filter: LogFilter,
    pub query: Query,
    matcher: Option<Matcher>,
    pub matches: Option<Vec<u64>>,
    /// The events `matches` has looked at (1…this): appended events are checked on their own.
    matches_checked: u64,
    /// The read models the user defined, folded over this log.
    pub models: crate::models::ModelViews,
    /// The events the view was after before its last move ("what changed since the previous position").
    pub previous_seq: u64,
    /// The users and items of the log's name tables in id order, extended as names are learned.
    user_order: Vec<UserId>,
    item_order: Vec<ItemId>,
}

impl Default for Shop {
    fn default() -> Self {
        Self {
            timeline: Timeline::default(),
            series: Series::default(),
            view: State::new(),
            changes: Vec::new(),
            view_models: ReadModels::default(),
            view_models_seq: None,
            blame: BlameIndex::default(),
            outline: LogOutline::default(),
            generation: 0,
            filter: LogFilter::default(),
            query: Query::default(),
            matcher: None,
            matches: None,
            matches_checked: 0,
            models: crate::models::ModelViews::default(),
            previous_seq: 0,
            user_order: Vec::new(),
            item_order: Vec::new(),
        }
    }
}

/// A log and its live state, as the view reads them: the session's (the real log) or a what-if branch's.
pub struct Source<'a> {
    pub log: &'a Log,
    pub live: &'a State,
    /// Whether the whole history is at hand (the real log's loads after its live state).
    pub history_ready: bool,
}

impl Source<'_> {
    pub fn head(&self) -> u64 {
        self.live.seq()
    }
}

/// Which part of the page a reader depends on: a [`Page`] says so as it is read, so that what the reader
/// made is made again when that part changes (in the page, each part is a signal; natively, nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The log shown: its events, names, live state and whole-log outlines (another log, or more events).
    Log,
    /// The state at the cursor and what goes with it (a move, or a change of the log).
    View,
    /// The events the event log lists (its filter and query, or the log).
    Listing,
    /// The event log's filter and query themselves (set by the user, or reset with another log).
    Filter,
}

/// The log shown and the view of it, read together: what the components see. Every accessor tells the
/// reader which [`Part`] it read, so a component never names what it depends on, and cannot forget it.
pub struct Page<'a> {
    log: &'a Log,
    live: &'a State,
    history_ready: bool,
    shop: &'a Shop,
    reads: &'a dyn Fn(Part),
}

impl<'a> Page<'a> {
    pub fn new(source: &Source<'a>, shop: &'a Shop, reads: &'a dyn Fn(Part)) -> Self {
        Page { log: source.log, live: source.live, history_ready: source.history_ready, shop, reads }
    }

    /// The log shown.
    pub fn log(&self) -> &'a Log {
        (self.reads)(Part::Log);
        self.log
    }

    /// Events in the log (also before the history has loaded: the live state knows its sequence number).
    pub fn head(&self) -> u64 {
        (self.reads)(Part::Log);
        self.live.seq()
    }

    pub fn names(&self) -> &'a Names {
        self.log().names()
    }

    /// The log's live state (its head).
    pub fn live(&self) -> &'a State {
        (self.reads)(Part::Log);
        self.live
    }

    /// Whether the whole history is at hand (the real log's loads after its live state).
    pub fn history_ready(&self) -> bool {
        (self.reads)(Part::Log);
        self.history_ready
    }

    /// Running totals along the log (the density strip, revenue over time).
    pub fn outline(&self) -> &'a LogOutline {
        (self.reads)(Part::Log);
        &self.shop.outline
    }

    /// The state shown: after the first `state().seq()` events.
    pub fn state(&self) -> &'a State {
        (self.reads)(Part::View);
        &self.shop.view
    }

    /// The read models at the cursor.
    pub fn read_models(&self) -> &'a ReadModels {
        (self.reads)(Part::View);
        &self.shop.view_models
    }

    /// What the event at the cursor changed.
    pub fn changes(&self) -> &'a [Change] {
        (self.reads)(Part::View);
        &self.shop.changes
    }

    /// Whether the event at the cursor changed user (item) `name`.
    pub fn changed_user(&self, name: &str) -> bool {
        (self.reads)(Part::View);
        self.shop.changed_user(name)
    }

    pub fn changed_item(&self, name: &str) -> bool {
        (self.reads)(Part::View);
        self.shop.changed_item(name)
    }

    /// The events the view was after before its last move.
    pub fn previous_seq(&self) -> u64 {
        (self.reads)(Part::View);
        self.shop.previous_seq
    }

    /// The user's read models of this log.
    pub fn models(&self) -> &'a crate::models::ModelViews {
        (self.reads)(Part::View);
        &self.shop.models
    }

    /// Whether the event log lists only some events (a filter or a query is set).
    pub fn is_filtered(&self) -> bool {
        (self.reads)(Part::Filter);
        self.shop.matches.is_some()
    }

    pub fn filter(&self) -> &'a LogFilter {
        (self.reads)(Part::Filter);
        &self.shop.filter
    }

    pub fn query(&self) -> &'a Query {
        (self.reads)(Part::Filter);
        &self.shop.query
    }

    /// Events listed in the event log: the matching ones, or all.
    pub fn listed(&self) -> u64 {
        (self.reads)(Part::Listing);
        self.shop.matches.as_ref().map_or(self.log().len(), |m| m.len() as u64)
    }

    /// The sequence number of the `index`-th listed event (0-based).
    pub fn listed_seq(&self, index: u64) -> Option<u64> {
        (self.reads)(Part::Listing);
        match &self.shop.matches {
            Some(m) => m.get(index as usize).copied(),
            None => (index < self.log.len()).then_some(index + 1),
        }
    }

    /// Where event `seq` is (or would be) in the listed events. Appends come after it, so only the filter,
    /// the query or another log move it.
    pub fn listed_index(&self, seq: u64) -> u64 {
        (self.reads)(Part::Filter);
        self.shop.listed_index(seq)
    }

    /// The matching events' sequence numbers, ascending (`None`: every event is listed).
    pub fn matches(&self) -> Option<&'a [u64]> {
        (self.reads)(Part::Listing);
        self.shop.matches.as_deref()
    }

    /// The next (`forward`) or previous listed event from `from`, for stepping through a filtered log.
    pub fn step_from(&self, from: u64, forward: bool) -> u64 {
        (self.reads)(Part::Listing);
        match &self.shop.matches {
            None if forward => (from + 1).min(self.head()),
            None => from.saturating_sub(1),
            Some(m) if forward => m.get(m.partition_point(|s| *s <= from)).copied().unwrap_or(from),
            Some(m) => {
                let i = m.partition_point(|s| *s < from);
                i.checked_sub(1).and_then(|i| m.get(i)).copied().unwrap_or(from)
            }
        }
    }

}

impl Shop {
    /// A whole new log is in place (load, import, clear, another tab's replace): the timeline is rebuilt,
    /// and filters and orders that refer to the old log are reset. An error says the log breaks a rule at
    /// some event (its every event was checked on the way in, so it would be a bug): the view is then empty.
    pub fn reset(&mut self, source: &Source) -> Result<(), LogError> {
        self.timeline = Timeline::default();
        self.series = Series::default();
        self.blame = BlameIndex::default();
        self.outline = LogOutline::default();
        let built = self.timeline.catch_up(source.log);
        self.series.catch_up(source.log);
        self.blame.catch_up(source.log);
        self.outline.catch_up(source.log);
        self.generation += 1;
        // Interned indices may name other entities in the new log.
        self.user_order.clear();
        self.item_order.clear();
        // The query stays (it is the user's question, and in the page's address); it is asked of the new log.
        self.filter = LogFilter::default();
        self.matcher = None;
        self.refilter(source.log);
        self.models.restart();
        self.view = State::new();
        self.view_models_seq = None;
        built?;
        self.move_view(source, source.head())
    }

    /// The view of a what-if branch that starts after event `base` of the real log viewed by `main`: the real
    /// log's checkpoints up to `base` are shared out, the rest is built from the branch's log.
    pub fn for_branch(main: &Shop, base: u64, source: &Source) -> Result<Shop, LogError> {
        let timeline = main.timeline.prefix(base);
        let series = main.series.prefix(base);
        // The blame index is built when the branch is first questioned, not when it starts.
        // A branch's name tables extend the real log's (it is made from the real log as it is now), so the
        // real log's id order is the start of the branch's: only the names the branch learned are merged in.
        let (user_order, item_order) = (main.user_order.clone(), main.item_order.clone());
        let outline = main.outline.prefix(base);
        let query = main.query.clone();
        let mut shop = Shop { timeline, series, outline, generation: main.generation, user_order, item_order, query, ..Shop::default() };
        shop.refilter(source.log);
        shop.timeline.catch_up(source.log)?;
        shop.series.catch_up(source.log);
        shop.outline.catch_up(source.log);
        shop.move_view(source, source.head())?;
        Ok(shop)
    }

    /// After events were appended to the log.
    pub fn log_grew(&mut self, log: &Log) {
        let _ = self.timeline.catch_up(log);
        self.series.catch_up(log);
        self.blame.catch_up(log);
        self.outline.catch_up(log);
        self.match_appended(log);
        self.models.log_grew(log);
    }

    pub fn set_filter(&mut self, filter: LogFilter, log: &Log) {
        self.filter = filter;
        self.refilter(log);
    }

    /// Asks the query of the whole log (it has parsed already: a query that does not parse never gets here).
    pub fn set_query(&mut self, query: Query, log: &Log) {
        self.query = query;
        self.matcher = None;
        self.refilter(log);
    }

    fn refilter(&mut self, log: &Log) {
        self.matches = (self.filter.is_active() || !self.query.is_empty()).then(Vec::new);
        self.matches_checked = 0;
        self.match_appended(log);
    }

    /// Checks the events appended since the last look against the filter and the query.
    fn match_appended(&mut self, log: &Log) {
        let Some(matches) = self.matches.as_mut() else { return };
        if self.matches_checked > log.len() {
            // Fewer events than were checked: another log; ask again from the start, its ids resolved anew.
            matches.clear();
            self.matches_checked = 0;
            self.matcher = None;
        }
        if !self.matcher.as_ref().is_some_and(|m| m.is_current(log.names())) {
            self.matcher = Some(self.query.matcher(log.names(), &crate::zone::HostZone));
        }
        let from = self.matches_checked as usize;
        let (events, timestamps) = (&log.events()[from..], &log.timestamps()[from..]);
        if let Some(matcher) = &self.matcher {
            match matcher.required_entity() {
                // One user's or item's events: its list in the blame index, not the whole log.
                Some(entity) => {
                    self.blame.catch_up(log);
                    matcher.extend_matching_among(Some(&self.filter), log, self.blame.events_of(entity), from as u64, matches);
                }
                None => matcher.extend_matching(Some(&self.filter), from as u64 + 1, events, timestamps, matches),
            }
        }
        self.matches_checked = log.len();
    }

    /// Where event `seq` is (or would be) in the listed events.
    pub fn listed_index(&self, seq: u64) -> u64 {
        match &self.matches {
            Some(m) => m.partition_point(|s| *s < seq) as u64,
            None => seq.saturating_sub(1),
        }
    }

    /// Shows the state after the first `k` events, and what event `k` changed. If that state cannot be
    /// built (the view's checkpoints are not of this log), the view is emptied rather than left half-built,
    /// and the error says why.
    pub fn move_view(&mut self, source: &Source, k: u64) -> Result<(), LogError> {
        let k = k.min(source.head());
        self.previous_seq = self.view.seq();
        self.changes.clear();
        if !source.history_ready {
            self.view.clone_from_state(source.live);
            self.view_models = ReadModels::default();
            self.view_models_seq = None;
            return Ok(());
        }
        if k == 0 {
            self.view = State::new();
        } else {
            // The state before event k, then event k itself: its changes come from the domain.
            if let Err(e) = self.timeline.state_at(source.log, k - 1, &mut self.view) {
                self.forget_view();
                return Err(e);
            }
            if let Some(envelope) = source.log.get(k) {
                match apply_with_changes(&mut self.view, source.log.names(), &envelope.event) {
                    Ok(changes) => self.changes = changes,
                    Err(rejection) => {
                        self.forget_view();
                        return Err(LogError::Broken { seq: k, rejection });
                    }
                }
            }
        }
        self.series.move_to(source.log, self.view_models_seq, k, &mut self.view_models);
        self.view_models_seq = Some(k);
        Ok(())
    }

    /// A point that could not be built shows nothing of any point: no state, no read models.
    fn forget_view(&mut self) {
        self.view = State::new();
        self.view_models = ReadModels::default();
        self.view_models_seq = None;
    }

    /// Every value that differs between the state after `from` events and after `to` events of `source`.
    pub fn diff_between(&mut self, source: &Source, from: u64, to: u64) -> Result<Vec<DiffLine>, LogError> {
        let (from, to) = (from.min(source.head()), to.min(source.head()));
        let (mut before, mut after) = (State::new(), State::new());
        self.timeline.state_at(source.log, from, &mut before)?;
        self.timeline.state_at(source.log, to, &mut after)?;
        let (users, items) = self.id_order(source.log.names());
        Ok(diff(&before, &after, users, items).iter().map(DiffLine::from_difference).collect())
    }

    /// The blame index of `log` (the log this view shows), caught up first.
    pub fn blame_index(&mut self, log: &Log) -> &BlameIndex {
        self.blame.catch_up(log);
        &self.blame
    }

    /// Every user and item of the log, in id order (cached until new ids are interned).
    pub fn id_order(&mut self, names: &Names) -> (&[UserId], &[ItemId]) {
        if self.user_order.len() != names.user_count() {
            names.extend_users_in_id_order(&mut self.user_order);
        }
        if self.item_order.len() != names.item_count() {
            names.extend_items_in_id_order(&mut self.item_order);
        }
        (&self.user_order, &self.item_order)
    }

    /// Existing ids for the forms' suggestions: the first 500 users and items of the live state, in id order
    /// (from the cached order: sorting 100,000 names on every append would cost more than the append).
    pub fn known_ids(&mut self, source: &Source) -> (Vec<String>, Vec<String>) {
        let names = source.log.names();
        let (users, items) = self.id_order(names);
        let users = users.iter().filter(|u| source.live.balance(**u).is_some()).take(500).map(|u| names.user_name(*u).to_owned()).collect();
        let items = items.iter().filter(|i| source.live.price(**i).is_some()).take(500).map(|i| names.item_name(*i).to_owned()).collect();
        (users, items)
    }

    /// Users that exist in the state shown whose id contains `filter`, in the order asked.
    pub fn users_listed(&mut self, names: &Names, filter: &str, sort: Sort) -> Vec<UserId> {
        let mut users: Vec<UserId> = self.users_shown(names);
        if !filter.is_empty() {
            users.retain(|u| names.user_name(*u).contains(filter));
        }
        if sort.by == SortKey::Balance {
            users.sort_by_key(|u| self.view.balance(*u).map_or(0, |m| m.0));
            if sort.descending {
                users.reverse();
            }
        }
        users
    }

    /// Items that exist in the state shown whose id contains `filter`, in the order asked.
    pub fn items_listed(&mut self, names: &Names, filter: &str, sort: Sort) -> Vec<ItemId> {
        let mut items: Vec<ItemId> = self.items_shown(names);
        if !filter.is_empty() {
            items.retain(|i| names.item_name(*i).contains(filter));
        }
        let key = |i: &ItemId| match sort.by {
            SortKey::Price => self.view.price(*i).map_or(0, |m| m.0),
            _ => self.view.stock(*i).map_or(0, |q| q.0),
        };
        if matches!(sort.by, SortKey::Price | SortKey::Stock) {
            // Stable: equal values keep their id order.
            items.sort_by_key(key);
            if sort.descending {
                items.reverse();
            }
        }
        items
    }

    /// Users that exist in the state shown, in id order.
    pub fn users_shown(&mut self, names: &Names) -> Vec<UserId> {
        self.id_order(names);
        self.user_order.iter().copied().filter(|u| self.view.balance(*u).is_some()).collect()
    }

    pub fn items_shown(&mut self, names: &Names) -> Vec<ItemId> {
        self.id_order(names);
        self.item_order.iter().copied().filter(|i| self.view.price(*i).is_some()).collect()
    }

    pub fn changed_user(&self, name: &str) -> bool {
        self.changes.iter().any(|c| c.kind == rewind_domain::EntityKind::User && c.id == name)
    }

    pub fn changed_item(&self, name: &str) -> bool {
        self.changes.iter().any(|c| c.kind == rewind_domain::EntityKind::Item && c.id == name)
    }
}

/// Which column a state table is sorted by (`Id`: id order, the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Id,
    Balance,
    Price,
    Stock,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sort {
    pub by: SortKey,
    pub descending: bool,
}

impl Sort {
    /// A click on `column`'s header: largest first, then smallest first, then back to id order.
    pub fn next(self, column: SortKey) -> Sort {
        match (self.by == column, self.descending) {
            (false, _) => Sort { by: column, descending: true },
            (true, true) => Sort { by: column, descending: false },
            (true, false) => Sort::default(),
        }
    }

    /// `aria-sort` of `column`'s header.
    pub fn aria(self, column: SortKey) -> &'static str {
        match (self.by == column, self.descending) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }
}

/// One value that differs, as the page shows and tests read it (CONTRACT §6 `diff-row`).
#[derive(Clone, Debug, PartialEq)]
pub struct DiffLine {
    pub kind: EntityKind,
    /// The entity in the log shown, whose id is looked up when its row is drawn.
    pub entity: Entity,
    pub field: ChangeField,
    pub before: Option<u64>,
    pub after: u64,
}

impl DiffLine {
    pub fn from_difference(d: &Difference) -> DiffLine {
        DiffLine { kind: kind_of(d.entity), entity: d.entity, field: d.field, before: d.before, after: d.after }
    }
}

/// The kind of an entity, as the contract writes it.
pub fn kind_of(entity: Entity) -> EntityKind {
    match entity {
        Entity::User(_) => EntityKind::User,
        Entity::Item(_) => EntityKind::Item,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_domain::Command;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn log_of(commands: &[Command]) -> (Log, State) {
        let (mut log, mut live) = (Log::new(), State::new());
        for command in commands {
            let event = log.decide(&live, command).unwrap();
            log.push(&mut live, 1, event).unwrap();
        }
        (log, live)
    }

    /// A view whose checkpoints (every 2 events) are of log A, asked about log B: replaying B's events from
    /// A's state at 2 breaks a rule at B's event 4 (carol exists in B only).
    fn a_view_of_another_log() -> (Shop, Log, State) {
        let (a, _) = log_of(&[
            Command::TopUp { user: "alice".into(), amount: 100 },
            Command::AddItem { item: "apple".into(), price: 30, qty: 2 },
        ]);
        let (b, b_live) = log_of(&[
            Command::TopUp { user: "bob".into(), amount: 50 },
            Command::TopUp { user: "carol".into(), amount: 50 },
            Command::AddItem { item: "apple".into(), price: 30, qty: 2 },
            Command::Order { user: "carol".into(), item: "apple".into(), qty: 1 },
        ]);
        let mut shop = Shop { timeline: Timeline::new(2), ..Shop::default() };
        shop.timeline.catch_up(&a).unwrap();
        (shop, b, b_live)
    }

    #[wasm_bindgen_test]
    fn given_a_view_that_cannot_build_a_point_when_compared_then_it_says_so_instead_of_no_differences() {
        let (mut shop, b, b_live) = a_view_of_another_log();
        let source = Source { log: &b, live: &b_live, history_ready: true };
        let compared = shop.diff_between(&source, 0, 4);
        assert!(matches!(compared, Err(LogError::Broken { seq: 4, .. })), "{compared:?}");
        let shown = Differences::new(1, compared.map_err(ViewError::History));
        assert!(shown.problem.unwrap().contains("event 4 breaks a rule"));
    }

    #[wasm_bindgen_test]
    fn given_a_view_that_cannot_build_a_point_when_moved_there_then_it_errs_and_shows_no_half_built_state() {
        let (mut shop, b, b_live) = a_view_of_another_log();
        let source = Source { log: &b, live: &b_live, history_ready: true };
        let moved = shop.move_view(&source, 4);
        assert!(matches!(moved, Err(LogError::Broken { seq: 4, .. })), "{moved:?}");
        assert_eq!(shop.view.seq(), 0, "an empty view, not A's users with B's events on top");
        assert!(shop.view.listing(b.names()).users.is_empty());
        assert_eq!(shop.view_models, ReadModels::default(), "nor the read models of the point before");
        // The same view rebuilt for B answers.
        shop.reset(&source).unwrap();
        assert!(shop.move_view(&source, 4).is_ok());
        assert_eq!(shop.view.seq(), 4);
    }
}
