//! Read models a user defines in the page: a new question folded over the whole log.
//!
//! A [`ModelDef`] says what to group by, what to measure and which events count (a query). A [`Model`] is
//! its fold: built once over the log (in steps, so the page can show progress), then kept up to date as
//! events arrive. It keeps, per group, each change with its event's sequence number, so its value as of any
//! point of history is a binary search: the model follows the timeline without folding again.

use crate::calendar::{day_label, hour_label, LocalTime, DAY_MS, HOUR_MS};
use crate::event::{Event, EVENT_TYPES};
use crate::log::Log;
use crate::names::{ItemId, Names, UserId};
use crate::query::{Field, Matcher, Query, QueryError};
use rustc_hash::FxHashMap;
use std::fmt;

/// What a model's groups are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupBy {
    User,
    Item,
    Type,
    /// The event's local hour, `YYYY-MM-DDTHH`.
    Hour,
    /// The event's local day, `YYYY-MM-DD`.
    Day,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [GroupBy::User, GroupBy::Item, GroupBy::Type, GroupBy::Hour, GroupBy::Day];

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::User => "user",
            GroupBy::Item => "item",
            GroupBy::Type => "type",
            GroupBy::Hour => "hour",
            GroupBy::Day => "day",
        }
    }

    pub fn parse(name: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// What a model computes over each group's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    Count,
    Sum(Field),
    Min(Field),
    Max(Field),
}

impl Measure {
    /// `count`, `sum`, `min` or `max`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Count => "count",
            Measure::Sum(_) => "sum",
            Measure::Min(_) => "min",
            Measure::Max(_) => "max",
        }
    }

    pub fn field(self) -> Option<Field> {
        match self {
            Measure::Count => None,
            Measure::Sum(f) | Measure::Min(f) | Measure::Max(f) => Some(f),
        }
    }

    /// From the form's or the file's words; `field` is ignored for `count`.
    pub fn parse(measure: &str, field: Option<&str>) -> Result<Measure, ModelDefError> {
        let field = || {
            let name = field.ok_or(ModelDefError::NoField)?;
            MEASURED_FIELDS.into_iter().find(|f| f.name() == name).ok_or_else(|| ModelDefError::Field(name.to_owned()))
        };
        match measure {
            "count" => Ok(Measure::Count),
            "sum" => Ok(Measure::Sum(field()?)),
            "min" => Ok(Measure::Min(field()?)),
            "max" => Ok(Measure::Max(field()?)),
            other => Err(ModelDefError::Measure(other.to_owned())),
        }
    }
}

/// The fields a model may measure (CONTRACT §10).
pub const MEASURED_FIELDS: [Field; 4] = [Field::Amount, Field::Price, Field::Qty, Field::Total];

/// The longest name a model may have, in characters.
pub const MAX_MODEL_NAME: usize = 60;
/// The largest model definition file taken, in bytes.
pub const MAX_MODEL_FILE: usize = 4_096;

/// A read model as the user defined it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDef {
    pub name: String,
    pub group: GroupBy,
    pub measure: Measure,
    pub query: Query,
}

/// Why a model definition is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelDefError {
    Group(String),
    Measure(String),
    Field(String),
    NoField,
    Name(usize),
    Query(QueryError),
    TooLarge(usize),
    /// The file is not a model definition (not JSON, another format, unknown or missing keys).
    NotAModel(String),
}

impl fmt::Display for ModelDefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelDefError::Group(g) => write!(f, "cannot group by `{g}`: use user, item, type, hour or day"),
            ModelDefError::Measure(m) => write!(f, "cannot measure `{m}`: use count, sum, min or max"),
            ModelDefError::Field(x) => write!(f, "cannot measure the field `{x}`: use amount, price, qty or total"),
            ModelDefError::NoField => write!(f, "sum, min and max need a field: amount, price, qty or total"),
            ModelDefError::Name(n) => write!(f, "the name has {n} characters; at most {MAX_MODEL_NAME} are allowed"),
            ModelDefError::Query(e) => write!(f, "its query does not parse: {e}"),
            ModelDefError::TooLarge(n) => {
                write!(f, "the file has {n} bytes; a model definition is at most {MAX_MODEL_FILE} bytes")
            }
            ModelDefError::NotAModel(why) => write!(f, "this is not a Rewind model definition: {why}"),
        }
    }
}

impl std::error::Error for ModelDefError {}

/// The file's shape: `{"rewind_model":1,"name":…,"group":…,"measure":…,"field":…,"query":…}`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    rewind_model: u32,
    name: String,
    group: String,
    measure: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default)]
    query: String,
}

impl ModelDef {
    /// A definition from the form's or the file's words, checked.
    pub fn new(name: &str, group: &str, measure: &str, field: Option<&str>, query: &str) -> Result<ModelDef, ModelDefError> {
        let group = GroupBy::parse(group).ok_or_else(|| ModelDefError::Group(group.to_owned()))?;
        let measure = Measure::parse(measure, field)?;
        let query = Query::parse(query).map_err(ModelDefError::Query)?;
        let name = name.trim();
        let chars = name.chars().count();
        if chars > MAX_MODEL_NAME || name.chars().any(char::is_control) {
            return Err(ModelDefError::Name(chars));
        }
        let name = if name.is_empty() { describe(group, measure, &query) } else { name.to_owned() };
        Ok(ModelDef { name, group, measure, query })
    }

    /// The definition as a small JSON file (what `model-export` downloads).
    pub fn to_json(&self) -> String {
        let file = ModelFile {
            rewind_model: 1,
            name: self.name.clone(),
            group: self.group.name().to_owned(),
            measure: self.measure.name().to_owned(),
            field: self.measure.field().map(|f| f.name().to_owned()),
            query: self.query.text().to_owned(),
        };
        serde_json::to_string(&file).unwrap_or_default()
    }

    /// A definition from such a file, checked like one typed in the form.
    pub fn from_json(text: &str) -> Result<ModelDef, ModelDefError> {
        if text.len() > MAX_MODEL_FILE {
            return Err(ModelDefError::TooLarge(text.len()));
        }
        let file: ModelFile = serde_json::from_str(text.trim()).map_err(|e| ModelDefError::NotAModel(e.to_string()))?;
        if file.rewind_model != 1 {
            return Err(ModelDefError::NotAModel(format!("it is of version {}, this page reads version 1", file.rewind_model)));
        }
        ModelDef::new(&file.name, &file.group, &file.measure, file.field.as_deref(), &file.query)
    }
}

/// "sum of total by user where type:OrderPlaced": a model's default name.
pub fn describe(group: GroupBy, measure: Measure, query: &Query) -> String {
    let what = match measure.field() {
        Some(f) => format!("{} of {}", measure.name(), f.name()),
        None => "count".to_owned(),
    };
    let mut text = format!("{what} by {}", group.name());
    if !query.is_empty() {
        text.push_str(" where ");
        text.push_str(query.text());
    }
    text.chars().take(MAX_MODEL_NAME).collect()
}

/// Why a model cannot go on folding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// A sum passed the largest integer kept (`u64`).
    Overflow { seq: u64 },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Overflow { seq } => write!(f, "its sum passes {} at event {seq}", u64::MAX),
        }
    }
}

impl std::error::Error for ModelError {}

/// The host's offset, asked once per quarter hour of UTC (zones change offset on quarter hours at most),
/// not once per event.
struct OffsetCache<'a> {
    local: &'a dyn LocalTime,
    slot: i64,
    offset: i64,
}

impl OffsetCache<'_> {
    fn local_ms(&mut self, ts: u64) -> i64 {
        let utc = ts as i64;
        let slot = utc.div_euclid(900_000);
        if slot != self.slot {
            self.slot = slot;
            self.offset = self.local.offset_ms(utc);
        }
        utc + self.offset
    }
}

/// A read model folded over a log.
pub struct Model {
    def: ModelDef,
    matcher: Option<Matcher>,
    /// Each group's key, in the order the groups first appeared (so the groups that exist after event `k`
    /// are a prefix of this list).
    keys: Vec<i64>,
    index: FxHashMap<i64, u32>,
    /// Per group: the sequence number of each event that changed its value, and the value after it.
    steps: Vec<Vec<(u64, u64)>>,
    /// Per group: the event it first appeared at (ascending).
    first_seq: Vec<u64>,
    folded: u64,
    error: Option<ModelError>,
}

impl Model {
    pub fn new(def: ModelDef) -> Model {
        Model {
            def,
            matcher: None,
            keys: Vec::new(),
            index: FxHashMap::default(),
            steps: Vec::new(),
            first_seq: Vec::new(),
            folded: 0,
            error: None,
        }
    }

    pub fn def(&self) -> &ModelDef {
        &self.def
    }

    /// How many events of the log are folded in.
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// Why the model stopped folding, if it did.
    pub fn error(&self) -> Option<&ModelError> {
        self.error.as_ref()
    }

    /// Folds the log's events after those already folded, up to event `until` (at most the log's length):
    /// the page calls it in steps to show progress. Returns how many events are folded.
    #[inline(never)] // a whole-log pass: kept at the domain's optimisation (see `Matcher::extend_matching`)
    pub fn fold(&mut self, log: &Log, local: &dyn LocalTime, until: u64) -> Result<u64, ModelError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let until = until.min(log.len());
        if until <= self.folded {
            return Ok(self.folded);
        }
        let names = log.names();
        if !self.matcher.as_ref().is_some_and(|m| m.is_current(names)) {
            self.matcher = Some(self.def.query.matcher(names, local));
        }
        let Some(matcher) = self.matcher.take() else { return Ok(self.folded) };
        let mut offsets = OffsetCache { local, slot: i64::MIN, offset: 0 };
        let (from, to) = (self.folded as usize, until as usize);
        let (events, timestamps) = (&log.events()[from..to], &log.timestamps()[from..to]);
        let mut result = Ok(until);
        for (i, (event, &ts)) in events.iter().zip(timestamps).enumerate() {
            let seq = from as u64 + 1 + i as u64;
            if !matcher.matches(seq, ts, event) {
                continue;
            }
            if let Err(e) = self.fold_one(seq, ts, event, &mut offsets) {
                self.error = Some(e.clone());
                result = Err(e);
                break;
            }
        }
        self.matcher = Some(matcher);
        if result.is_ok() {
            self.folded = until;
        }
        result
    }

    fn fold_one(&mut self, seq: u64, ts: u64, event: &Event, offsets: &mut OffsetCache) -> Result<(), ModelError> {
        let key = match self.def.group {
            GroupBy::User => event.entities().0.map(|u| i64::from(u.0)),
            GroupBy::Item => event.entities().1.map(|i| i64::from(i.0)),
            GroupBy::Type => Some(event.type_index() as i64),
            GroupBy::Hour => Some(offsets.local_ms(ts).div_euclid(HOUR_MS)),
            GroupBy::Day => Some(offsets.local_ms(ts).div_euclid(DAY_MS)),
        };
        let Some(key) = key else { return Ok(()) };
        // An event without the measured field is not one the model measures (a top-up has no total).
        let measured = match self.def.measure.field() {
            Some(f) => match f.of(seq, event) {
                Some(v) => v,
                None => return Ok(()),
            },
            None => 1,
        };
        let group = match self.index.get(&key) {
            Some(g) => *g as usize,
            None => {
                let g = self.keys.len();
                self.index.insert(key, g as u32);
                self.keys.push(key);
                self.steps.push(Vec::new());
                self.first_seq.push(seq);
                g
            }
        };
        let Some(steps) = self.steps.get_mut(group) else { return Ok(()) };
        let before = steps.last().map(|(_, v)| *v);
        let value = match (self.def.measure, before) {
            (_, None) => measured,
            (Measure::Count | Measure::Sum(_), Some(n)) => n.checked_add(measured).ok_or(ModelError::Overflow { seq })?,
            (Measure::Min(_), Some(n)) => n.min(measured),
            (Measure::Max(_), Some(n)) => n.max(measured),
        };
        if before != Some(value) {
            steps.push((seq, value));
        }
        Ok(())
    }

    /// How many groups exist after the first `k` events.
    pub fn groups_at(&self, k: u64) -> usize {
        self.first_seq.partition_point(|s| *s <= k)
    }

    /// All the groups the folded events made.
    pub fn group_count(&self) -> usize {
        self.keys.len()
    }

    /// Group `group`'s value after the first `k` events (`None` before it first appears).
    pub fn value_at(&self, group: usize, k: u64) -> Option<u64> {
        let steps = self.steps.get(group)?;
        let i = steps.partition_point(|(s, _)| *s <= k);
        i.checked_sub(1).and_then(|i| steps.get(i)).map(|(_, v)| *v)
    }

    /// The event at or before `k` that last changed group `group`, if any.
    pub fn changed_at(&self, group: usize, k: u64) -> Option<u64> {
        let steps = self.steps.get(group)?;
        let i = steps.partition_point(|(s, _)| *s <= k);
        i.checked_sub(1).and_then(|i| steps.get(i)).map(|(s, _)| *s)
    }

    /// Group `group`'s name: a user or item id, an event type, `YYYY-MM-DDTHH` or `YYYY-MM-DD`.
    pub fn label(&self, group: usize, names: &Names) -> String {
        let Some(&key) = self.keys.get(group) else { return String::new() };
        match self.def.group {
            GroupBy::User => names.user_name(UserId(key as u32)).to_owned(),
            GroupBy::Item => names.item_name(ItemId(key as u32)).to_owned(),
            GroupBy::Type => EVENT_TYPES.get(key as usize).copied().unwrap_or("?").to_owned(),
            GroupBy::Hour => hour_label(key),
            GroupBy::Day => day_label(key),
        }
    }

    /// Every group, in the order a reader looks for them: ids alphabetically, types in the format's order,
    /// hours and days in time order.
    pub fn groups_in_order(&self, names: &Names) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.keys.len() as u32).collect();
        match self.def.group {
            GroupBy::User => order.sort_by_cached_key(|g| names.user_name(UserId(self.keys[*g as usize] as u32))),
            GroupBy::Item => order.sort_by_cached_key(|g| names.item_name(ItemId(self.keys[*g as usize] as u32))),
            GroupBy::Type | GroupBy::Hour | GroupBy::Day => order.sort_by_key(|g| self.keys[*g as usize]),
        }
        order
    }

    /// The `n` groups with the largest values after the first `k` events, largest first (ties: first
    /// appeared first).
    pub fn top_at(&self, k: u64, n: usize) -> Vec<(usize, u64)> {
        let mut top: Vec<(usize, u64)> = Vec::with_capacity(n + 1);
        for group in 0..self.groups_at(k) {
            let Some(v) = self.value_at(group, k) else { continue };
            if top.len() == n && top.last().is_some_and(|(_, least)| *least >= v) {
                continue;
            }
            let at = top.partition_point(|(_, t)| *t >= v);
            top.insert(at, (group, v));
            top.truncate(n);
        }
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::FixedOffset;
    use crate::command::Command;
    use crate::state::State;

    /// Given these commands (each accepted) at these times …
    fn given(commands: &[(u64, Command)]) -> Log {
        let mut log = Log::new();
        let mut state = State::new();
        for (ts, command) in commands {
            let event = log.decide(&state, command).unwrap_or_else(|e| unreachable!("{command:?}: {e}"));
            log.push(&mut state, *ts, event).unwrap_or_else(|e| unreachable!("{e}"));
        }
        log
    }

    fn shop() -> Log {
        let top_up = |user: &str, amount| Command::TopUp { user: user.into(), amount };
        let add = |item: &str, price, qty| Command::AddItem { item: item.into(), price, qty };
        let order = |user: &str, item: &str, qty| Command::Order { user: user.into(), item: item.into(), qty };
        let hour = 3_600_000;
        given(&[
            (0, top_up("alice", 1000)),
            (hour, add("apple", 30, 10)),
            (2 * hour, order("alice", "apple", 2)),
            (25 * hour, top_up("bob", 500)),
            (26 * hour, order("bob", "apple", 3)),
            (27 * hour, order("alice", "apple", 1)),
        ])
    }

    /// … when this model is folded over the whole log, its values by label after `k` events.
    fn when_folded(def: &str, k: u64) -> Vec<(String, u64)> {
        let log = shop();
        let mut parts = def.split(' ');
        let (group, measure, field) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
        let query = parts.collect::<Vec<_>>().join(" ");
        let def = ModelDef::new("", group, measure, field.filter(|f| *f != "-"), &query).unwrap_or_else(|e| unreachable!("{e}"));
        let mut model = Model::new(def);
        assert_eq!(model.fold(&log, &FixedOffset(0), u64::MAX), Ok(6));
        model
            .groups_in_order(log.names())
            .into_iter()
            .filter_map(|g| Some((model.label(g as usize, log.names()), model.value_at(g as usize, k)?)))
            .collect()
    }

    fn rows(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(l, v)| (l.to_string(), *v)).collect()
    }

    #[test]
    fn sum_of_totals_by_user_follows_the_timeline() {
        assert_eq!(when_folded("user sum total", 6), rows(&[("alice", 90), ("bob", 90)]));
        assert_eq!(when_folded("user sum total", 5), rows(&[("alice", 60), ("bob", 90)]));
        assert_eq!(when_folded("user sum total", 3), rows(&[("alice", 60)]));
        assert_eq!(when_folded("user sum total", 2), rows(&[]), "a top-up has no total");
    }

    #[test]
    fn each_grouping_and_measure() {
        assert_eq!(when_folded("type count -", 6), rows(&[("ToppedUp", 2), ("ItemAdded", 1), ("OrderPlaced", 3)]));
        assert_eq!(when_folded("item max qty type:OrderPlaced", 6), rows(&[("apple", 3)]));
        assert_eq!(when_folded("item min qty", 6), rows(&[("apple", 1)]));
        assert_eq!(when_folded("day count -", 6), rows(&[("1970-01-01", 3), ("1970-01-02", 3)]));
        assert_eq!(when_folded("hour sum amount", 6), rows(&[("1970-01-01T00", 1000), ("1970-01-02T01", 500)]));
        assert_eq!(when_folded("user count - user:bob", 6), rows(&[("bob", 2)]));
    }

    #[test]
    fn a_model_folded_in_steps_equals_one_folded_at_once_and_follows_appends() {
        let log = shop();
        let def = ModelDef::new("", "user", "sum", Some("total"), "").unwrap_or_else(|e| unreachable!("{e}"));
        let mut stepped = Model::new(def.clone());
        for until in [1, 2, 4, 4, 6] {
            assert_eq!(stepped.fold(&log, &FixedOffset(0), until), Ok(until));
        }
        let mut whole = Model::new(def);
        assert_eq!(whole.fold(&log, &FixedOffset(0), 99), Ok(6));
        for k in 0..=6 {
            for g in 0..2 {
                assert_eq!(stepped.value_at(g, k), whole.value_at(g, k));
            }
        }
        assert_eq!(whole.top_at(6, 1).len(), 1);
        assert_eq!(whole.groups_at(2), 0);
        assert_eq!(whole.changed_at(0, 5), Some(3));
    }

    #[test]
    fn a_definition_round_trips_as_json_and_a_bad_one_is_refused_with_its_reason() {
        let def = ModelDef::new("Big spenders", "user", "sum", Some("total"), "type:OrderPlaced total>=500").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(ModelDef::from_json(&def.to_json()), Ok(def));
        let named = ModelDef::new("", "day", "count", Some("total"), "").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(named.name, "count by day");
        assert_eq!(named.measure, Measure::Count, "the field is ignored for count");
        let refused = |text: &str, why: &str| match ModelDef::from_json(text) {
            Err(e) => assert!(e.to_string().contains(why), "{text}: {e}"),
            Ok(d) => panic!("{text} was taken as {d:?}"),
        };
        refused("not json", "not a Rewind model");
        refused(r#"{"rewind_model":2,"name":"","group":"user","measure":"count"}"#, "version 2");
        refused(r#"{"rewind_model":1,"name":"","group":"colour","measure":"count"}"#, "cannot group by `colour`");
        refused(r#"{"rewind_model":1,"name":"","group":"user","measure":"sum"}"#, "need a field");
        refused(r#"{"rewind_model":1,"name":"","group":"user","measure":"sum","field":"seq"}"#, "the field `seq`");
        refused(r#"{"rewind_model":1,"name":"","group":"user","measure":"count","query":"totl>1"}"#, "no field `totl`");
        refused(r#"{"rewind_model":1,"name":"","group":"user","measure":"count","extra":1}"#, "unknown field");
        refused(&" ".repeat(5000), "at most 4096 bytes");
    }
}
