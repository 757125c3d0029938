//! The query bar's language: a question asked of the whole log, answered by reading every event again.
//!
//! A query is terms separated by spaces, and an event matches when every term holds. [`Query::parse`] only
//! reads the text (so a query can be checked, stored and put in a link before a log is open);
//! [`Query::matcher`] resolves its ids and local dates against a log's names and the host's time zone.
//!
//! | term | holds for an event … |
//! |---|---|
//! | `type:OrderPlaced` (`type:A,B`: either) | of that type (any case) |
//! | `user:alice`, `item:apple` (`,` for either) | that names that user / item |
//! | `total>=5000`, `qty=3`, `<`, `<=`, `>` | whose field compares so; fields: `seq amount price qty total order` |
//! | `after:2026-11-01`, `before:2026-12-01T18:30` | at or after / before that local time |
//! | `ali` (a bare word) | that names a user or item whose id contains it (any case) |
//! | `-term` | for which the term does not hold |

use crate::calendar::{LocalDateTime, LocalTime};
use crate::event::{Event, EVENT_TYPES};
use crate::entity::Entity;
use crate::log::Log;
use crate::names::{validate_id, Names};
use crate::projections::LogFilter;
use std::fmt;

/// The longest query taken, in bytes: a query is typed or linked, not generated.
pub const MAX_QUERY_LEN: usize = 1_000;

/// A number an event carries (CONTRACT §5), or its place in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Seq,
    Amount,
    Price,
    Qty,
    Total,
    Order,
}

impl Field {
    pub const ALL: [Field; 6] = [Field::Seq, Field::Amount, Field::Price, Field::Qty, Field::Total, Field::Order];

    pub fn name(self) -> &'static str {
        match self {
            Field::Seq => "seq",
            Field::Amount => "amount",
            Field::Price => "price",
            Field::Qty => "qty",
            Field::Total => "total",
            Field::Order => "order",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The field's value in event `seq`, if an event of its type has that field.
    #[inline]
    pub fn of(self, seq: u64, event: &Event) -> Option<u64> {
        use Event::*;
        match (self, *event) {
            (Field::Seq, _) => Some(seq),
            (Field::Amount, ToppedUp { amount, .. } | Withdrawn { amount, .. }) => Some(amount.0),
            (Field::Price, ItemAdded { price, .. } | OrderPlaced { price, .. } | PriceSet { price, .. }) => Some(price.0),
            (
                Field::Qty,
                ItemAdded { qty, .. } | OrderPlaced { qty, .. } | Refunded { qty, .. } | WrittenOff { qty, .. },
            ) => Some(qty.0),
            (Field::Total, OrderPlaced { total, .. } | Refunded { total, .. }) => Some(total.0),
            (Field::Order, Refunded { order, .. }) => Some(order),
            _ => None,
        }
    }
}

/// The event types (bits of [`EVENT_TYPES`]' indices) that name a user, and those that name an item.
const TYPES_WITH_USER: u8 = 0b001_1101;
const TYPES_WITH_ITEM: u8 = 0b110_1110;

impl Field {
    /// The event types that carry this field.
    fn types(self) -> u8 {
        match self {
            Field::Seq => u8::MAX,
            Field::Amount => 0b001_0001,
            Field::Price => 0b100_0110,
            Field::Qty => 0b010_1110,
            Field::Total => 0b000_1100,
            Field::Order => 0b000_1000,
        }
    }
}

/// How a field is compared with a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Less,
    AtMost,
    Equal,
    AtLeast,
    Greater,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::AtMost => "<=",
            Comparison::Equal => "=",
            Comparison::AtLeast => ">=",
            Comparison::Greater => ">",
        }
    }

    #[inline]
    fn holds(self, left: u64, right: u64) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::AtMost => left <= right,
            Comparison::Equal => left == right,
            Comparison::AtLeast => left >= right,
            Comparison::Greater => left > right,
        }
    }
}

/// One term of a query, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A bit per index of [`EVENT_TYPES`].
    Types(u8),
    Users(Vec<String>),
    Items(Vec<String>),
    Compare { field: Field, comparison: Comparison, value: u64 },
    After(LocalDateTime),
    Before(LocalDateTime),
    /// A bare word: some id the event names contains it.
    Word(String),
}

/// A term and whether it is negated (`-term`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    pub negated: bool,
    pub term: Term,
}

/// A parsed query: every clause must hold. The empty query matches every event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    text: String,
    clauses: Vec<Clause>,
}

/// Why a query does not parse, and where: `start..end` is the byte range of the term at fault, `column` the
/// character it starts at (1 for the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub start: usize,
    pub end: usize,
    pub column: usize,
    /// The term at fault, as typed.
    pub term: String,
    pub reason: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.term.is_empty() {
            return write!(f, "{}", self.reason);
        }
        write!(f, "`{}` (at character {}): {}", self.term, self.column, self.reason)
    }
}

impl std::error::Error for QueryError {}

const KEYS: &str = "type, user, item, after or before";

impl Query {
    /// Reads a query. Nothing about a log is needed: an id no log names is a valid query that matches nothing.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.len() > MAX_QUERY_LEN {
            return Err(QueryError {
                start: 0,
                end: text.len(),
                column: 1,
                term: String::new(),
                reason: format!("the query has {} bytes; at most {MAX_QUERY_LEN} are taken", text.len()),
            });
        }
        let mut clauses = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            let token = &rest[start..];
            let len = token.find(char::is_whitespace).unwrap_or(token.len());
            let word = &token[..len];
            let at = offset + start;
            clauses.push(parse_clause(word).map_err(|reason| QueryError {
                start: at,
                end: at + len,
                column: text[..at].chars().count() + 1,
                term: word.to_owned(),
                reason,
            })?);
            offset = at + len;
            rest = &text[offset..];
        }
        Ok(Query { text: text.trim().to_owned(), clauses })
    }

    /// The query as typed (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The query resolved against a log's names and the host's zone, ready to test events.
    pub fn matcher(&self, names: &Names, local: &dyn LocalTime) -> Matcher {
        let tests: Vec<(bool, Test)> = self.clauses.iter().map(|c| (c.negated, resolve(&c.term, names, local))).collect();
        // The types an event must have to match at all, from the terms that say so (a type, a field only some
        // types carry, a user or an item): most events are then passed over on their type alone.
        let mut types = 0b111_1111;
        for (negated, test) in &tests {
            types &= match (negated, test) {
                (false, Test::Types(mask)) => *mask,
                (true, Test::Types(mask)) => !mask,
                (false, Test::Compare { field, .. }) => field.types(),
                (false, Test::Users(_) | Test::User(_)) => TYPES_WITH_USER,
                (false, Test::Items(_) | Test::Item(_)) => TYPES_WITH_ITEM,
                _ => u8::MAX,
            };
        }
        // Type terms are wholly in the mask now.
        let tests = tests.into_iter().filter(|(_, t)| !matches!(t, Test::Types(_))).collect();
        Matcher { tests, types, users: names.user_count(), items: names.item_count() }
    }
}

fn parse_clause(word: &str) -> Result<Clause, String> {
    let (negated, body) = match word.strip_prefix('-') {
        Some(body) if !body.is_empty() => (true, body),
        _ => (false, word),
    };
    Ok(Clause { negated, term: parse_term(body)? })
}

fn parse_term(body: &str) -> Result<Term, String> {
    if let Some((key, value)) = body.split_once(':') {
        if value.is_empty() {
            return Err(format!("`{key}:` needs a value after the colon"));
        }
        return match key.to_ascii_lowercase().as_str() {
            "type" => {
                let mut mask = 0u8;
                for name in value.split(',') {
                    let index = EVENT_TYPES.iter().position(|t| t.eq_ignore_ascii_case(name)).ok_or_else(|| {
                        format!("there is no event type `{name}`; the types are {}", EVENT_TYPES.join(", "))
                    })?;
                    mask |= 1 << index;
                }
                Ok(Term::Types(mask))
            }
            "user" => Ok(Term::Users(ids(value)?)),
            "item" => Ok(Term::Items(ids(value)?)),
            "after" | "before" => {
                let at = LocalDateTime::parse(value)
                    .ok_or_else(|| format!("`{value}` is not a date: write YYYY-MM-DD, or YYYY-MM-DDTHH:MM (local time)"))?;
                Ok(if key.eq_ignore_ascii_case("after") { Term::After(at) } else { Term::Before(at) })
            }
            _ => Err(format!("there is no `{key}:`; use {KEYS}, a comparison such as total>=500, or a word")),
        };
    }
    if let Some(at) = body.find(['<', '>', '=']) {
        let (name, tail) = body.split_at(at);
        let (comparison, number) = if let Some(n) = tail.strip_prefix("<=") {
            (Comparison::AtMost, n)
        } else if let Some(n) = tail.strip_prefix(">=") {
            (Comparison::AtLeast, n)
        } else if let Some(n) = tail.strip_prefix('<') {
            (Comparison::Less, n)
        } else if let Some(n) = tail.strip_prefix('>') {
            (Comparison::Greater, n)
        } else {
            (Comparison::Equal, &tail[1..])
        };
        let fields = Field::ALL.map(Field::name).join(", ");
        if name.is_empty() {
            return Err(format!("a comparison needs a field before it: one of {fields}"));
        }
        let field = Field::parse(name).ok_or_else(|| format!("there is no field `{name}`; the fields are {fields}"))?;
        if number.is_empty() {
            return Err(format!("`{name}{}` needs a number after it", comparison.symbol()));
        }
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{number}` is not a whole number (amounts are in cents: 5000, not 50.00)"));
        }
        let value = number.parse().map_err(|_| format!("`{number}` is too large"))?;
        return Ok(Term::Compare { field, comparison, value });
    }
    validate_id(body).map_err(|e| {
        format!("a word {e}; a word is part of a user or item id, otherwise use {KEYS}: or a comparison")
    })?;
    Ok(Term::Word(body.to_owned()))
}

fn ids(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(|id| validate_id(id).map(|()| id.to_owned()).map_err(|e| format!("the id `{id}` {e}")))
        .collect()
}

/// A term resolved against a log's names and the host's zone.
#[derive(Clone, Debug)]
enum Test {
    Types(u8),
    /// Interned ids (a name no log knows resolves to none: nothing matches); one id, the common case, apart.
    Users(Vec<u32>),
    Items(Vec<u32>),
    User(u32),
    Item(u32),
    Compare { field: Field, comparison: Comparison, value: u64 },
    AtOrAfter(u64),
    Before(u64),
    /// A bit per interned user / item: whether its id contains the word.
    Word { users: Vec<u64>, items: Vec<u64> },
}

fn resolve(term: &Term, names: &Names, local: &dyn LocalTime) -> Test {
    let utc = |at: &LocalDateTime| at.to_utc_ms(local).max(0) as u64;
    match term {
        Term::Types(mask) => Test::Types(*mask),
        Term::Users(ids) => match ids.iter().filter_map(|id| names.user(id)).map(|u| u.0).collect::<Vec<_>>()[..] {
            [one] => Test::User(one),
            ref many => Test::Users(many.to_vec()),
        },
        Term::Items(ids) => match ids.iter().filter_map(|id| names.item(id)).map(|i| i.0).collect::<Vec<_>>()[..] {
            [one] => Test::Item(one),
            ref many => Test::Items(many.to_vec()),
        },
        Term::Compare { field, comparison, value } => Test::Compare { field: *field, comparison: *comparison, value: *value },
        Term::After(at) => Test::AtOrAfter(utc(at)),
        Term::Before(at) => Test::Before(utc(at)),
        Term::Word(word) => {
            // Ids are ASCII: compared window by window, any case, with no copy of each of 100,000 ids.
            let word = word.as_bytes();
            let has = |id: &str| word.is_empty() || id.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
            let bits = |count: usize, name: &dyn Fn(u32) -> bool| {
                let mut bits = vec![0u64; count.div_ceil(64)];
                for i in 0..count as u32 {
                    if name(i) {
                        bits[i as usize / 64] |= 1 << (i % 64);
                    }
                }
                bits
            };
            Test::Word {
                users: bits(names.user_count(), &|i| has(names.user_name(crate::UserId(i)))),
                items: bits(names.item_count(), &|i| has(names.item_name(crate::ItemId(i)))),
            }
        }
    }
}

fn bit(bits: &[u64], i: u32) -> bool {
    bits.get(i as usize / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// A query ready to test events of one log. Ids are resolved when it is made: once the log has learned new
/// names ([`Matcher::is_current`] says), make it again.
#[derive(Clone, Debug)]
pub struct Matcher {
    tests: Vec<(bool, Test)>,
    /// A bit per event type that can match at all.
    types: u8,
    users: usize,
    items: usize,
}

impl Matcher {
    /// Whether this matcher knows every name `names` has.
    pub fn is_current(&self, names: &Names) -> bool {
        self.users == names.user_count() && self.items == names.item_count()
    }

    /// Whether event `seq`, at `ts`, matches every term.
    #[inline(always)]
    pub fn matches(&self, seq: u64, ts: u64, event: &Event) -> bool {
        self.types & (1 << event.type_index()) != 0
            && self.tests.iter().all(|(negated, test)| test_holds(test, seq, ts, event) != *negated)
    }

    /// The sequence numbers of the events of `events` (event `first_seq` first) that match.
    pub fn matching(&self, first_seq: u64, events: &[Event], timestamps: &[u64]) -> Vec<u64> {
        let mut out = Vec::new();
        self.extend_matching(None, first_seq, events, timestamps, &mut out);
        out
    }

    /// An entity every matching event names (the query asks for one user or one item), if there is one: its
    /// own events (the blame index's list) are then the only ones worth testing.
    pub fn required_entity(&self) -> Option<Entity> {
        self.tests.iter().find_map(|(negated, test)| match (negated, test) {
            (false, Test::User(id)) => Some(Entity::User(crate::UserId(*id))),
            (false, Test::Item(id)) => Some(Entity::Item(crate::ItemId(*id))),
            _ => None,
        })
    }

    /// As [`Matcher::extend_matching`], over the events `candidates` of `log` (ascending sequence numbers) past
    /// event `after`.
    #[inline(never)]
    pub fn extend_matching_among(&self, filter: Option<&LogFilter>, log: &Log, candidates: &[u32], after: u64, out: &mut Vec<u64>) {
        let filter = filter.filter(|f| f.is_active());
        let from = candidates.partition_point(|s| u64::from(*s) <= after);
        for seq in candidates.get(from..).unwrap_or_default().iter().map(|s| u64::from(*s)) {
            if let Some(e) = log.get(seq) {
                if self.matches(seq, e.ts, &e.event) && filter.is_none_or(|f| f.matches(&e.event)) {
                    out.push(seq);
                }
            }
        }
    }

    /// Appends to `out` the sequence numbers of the events of `events` (event `first_seq` first) that match,
    /// and pass `filter` too if one is given. The event log's whole-log question: one pass, types first.
    // Kept out of line: the domain is built for speed, the page's code for size, and a whole-log pass
    // inlined into the page would run at the page's optimisation.
    #[inline(never)]
    pub fn extend_matching(&self, filter: Option<&LogFilter>, first_seq: u64, events: &[Event], timestamps: &[u64], out: &mut Vec<u64>) {
        let filter = filter.filter(|f| f.is_active());
        if self.tests.is_empty() && filter.is_none() {
            // Types only (or nothing): a pass over the events' tags.
            let types = self.types;
            out.extend(events.iter().zip(first_seq..).filter(|(e, _)| types & (1 << e.type_index()) != 0).map(|(_, seq)| seq));
            return;
        }
        for (i, (event, ts)) in events.iter().zip(timestamps).enumerate() {
            let seq = first_seq + i as u64;
            if self.matches(seq, *ts, event) && filter.is_none_or(|f| f.matches(event)) {
                out.push(seq);
            }
        }
    }
}

#[inline(always)]
fn test_holds(test: &Test, seq: u64, ts: u64, event: &Event) -> bool {
    match test {
        Test::Types(mask) => mask & (1 << event.type_index()) != 0,
        Test::Users(ids) => event.entities().0.is_some_and(|u| ids.contains(&u.0)),
        Test::Items(ids) => event.entities().1.is_some_and(|i| ids.contains(&i.0)),
        Test::User(id) => event.entities().0.is_some_and(|u| u.0 == *id),
        Test::Item(id) => event.entities().1.is_some_and(|i| i.0 == *id),
        Test::Compare { field, comparison, value } => field.of(seq, event).is_some_and(|v| comparison.holds(v, *value)),
        Test::AtOrAfter(at) => ts >= *at,
        Test::Before(at) => ts < *at,
        Test::Word { users, items } => {
            let (user, item) = event.entities();
            user.is_some_and(|u| bit(users, u.0)) || item.is_some_and(|i| bit(items, i.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::FixedOffset;
    use crate::money::{Money, Qty};
    use crate::{ItemId, UserId};

    fn given_names() -> Names {
        let mut names = Names::new();
        names.intern_user("alice");
        names.intern_user("bob");
        names.intern_item("apple");
        names
    }

    fn order(qty: u64, total: u64) -> Event {
        Event::OrderPlaced { user: UserId(0), item: ItemId(0), qty: Qty(qty), price: Money(total / qty), total: Money(total) }
    }

    fn when_matched(query: &str, seq: u64, ts: u64, event: Event) -> bool {
        let query = Query::parse(query).unwrap_or_else(|e| unreachable!("{query}: {e}"));
        query.matcher(&given_names(), &FixedOffset(0)).matches(seq, ts, &event)
    }

    #[test]
    fn terms_all_hold_and_each_kind_tests_its_part_of_the_event() {
        let topup = Event::ToppedUp { user: UserId(1), amount: Money(500) };
        assert!(when_matched("", 1, 0, topup));
        assert!(when_matched("type:OrderPlaced user:alice total>=5000", 3, 0, order(2, 6000)));
        assert!(!when_matched("type:OrderPlaced user:alice total>=5000", 3, 0, order(2, 4000)));
        assert!(!when_matched("type:OrderPlaced user:bob", 3, 0, order(2, 6000)));
        assert!(when_matched("TYPE:toppedup,orderplaced", 1, 0, topup));
        assert!(when_matched("user:carol,bob", 1, 0, topup), "either id of a list");
        assert!(!when_matched("user:carol", 1, 0, topup), "an id the log does not know matches nothing");
        assert!(when_matched("item:apple qty=2 price<3001", 1, 0, order(2, 6000)));
        assert!(!when_matched("total>0", 1, 0, topup), "a top-up has no total");
        assert!(when_matched("-total>0", 1, 0, topup));
        assert!(when_matched("seq>=7 seq<8", 7, 0, topup));
        assert!(when_matched("ob", 1, 0, topup), "a word finds bob");
        assert!(when_matched("APP", 1, 0, order(1, 30)), "any case");
        assert!(!when_matched("-app", 1, 0, order(1, 30)));
    }

    #[test]
    fn time_windows_are_local_after_inclusive_before_exclusive() {
        let midnight = crate::calendar::days_from_civil(2026, 11, 1) as u64 * 86_400_000;
        let topup = Event::ToppedUp { user: UserId(0), amount: Money(1) };
        assert!(when_matched("after:2026-11-01 before:2026-11-02", 1, midnight, topup));
        assert!(!when_matched("after:2026-11-01", 1, midnight - 1, topup));
        assert!(!when_matched("before:2026-11-01", 1, midnight, topup));
        assert!(when_matched("after:2026-11-01T23:59", 1, midnight + 86_399_999, topup));
        // Two hours ahead of UTC: local midnight is 22:00 UTC the day before.
        let query = Query::parse("after:2026-11-01").unwrap_or_default();
        let ahead = query.matcher(&given_names(), &FixedOffset(2 * 3_600_000));
        assert!(ahead.matches(1, midnight - 2 * 3_600_000, &topup));
        assert!(!ahead.matches(1, midnight - 2 * 3_600_000 - 1, &topup));
    }

    #[test]
    fn a_query_that_does_not_parse_says_where_and_why() {
        let cases = [
            ("type:OrderPlaced totl>=5", 17, "there is no field `totl`"),
            ("type:Ordered", 0, "there is no event type `Ordered`"),
            ("user:", 0, "needs a value"),
            ("  user:al!ce", 2, "contains '!'"),
            ("total>=50.00", 0, "not a whole number"),
            ("total>=", 0, "needs a number"),
            ("after:2026-13-01", 0, "is not a date"),
            ("colour:red", 0, "there is no `colour:`"),
            (">=5", 0, "needs a field"),
            ("qty>99999999999999999999", 0, "too large"),
        ];
        for (text, start, reason) in cases {
            match Query::parse(text) {
                Err(e) => {
                    assert_eq!(e.start, start, "{text}: {e}");
                    assert!(e.reason.contains(reason), "{text}: {e}");
                }
                Ok(q) => panic!("{text} parsed as {q:?}"),
            }
        }
        // Columns count characters, not bytes (an ideographic space is three bytes).
        assert!(Query::parse("\u{3000}totl>1").is_err_and(|e| e.start == 3 && e.column == 2 && e.to_string().contains("at character 2")));
        let long = "a ".repeat(600);
        assert!(Query::parse(&long).is_err_and(|e| e.reason.contains("1200 bytes; at most 1000")));
    }

    #[test]
    fn a_query_for_one_entity_tests_only_its_events_and_finds_the_same() {
        let mut log = Log::new();
        let mut state = crate::State::new();
        for (ts, command) in [
            (1, crate::Command::TopUp { user: "alice".into(), amount: 500 }),
            (2, crate::Command::TopUp { user: "bob".into(), amount: 500 }),
            (3, crate::Command::AddItem { item: "apple".into(), price: 30, qty: 9 }),
            (4, crate::Command::Order { user: "alice".into(), item: "apple".into(), qty: 2 }),
            (5, crate::Command::Order { user: "bob".into(), item: "apple".into(), qty: 1 }),
        ] {
            let event = log.decide(&state, &command).unwrap_or_else(|e| unreachable!("{e}"));
            log.push(&mut state, ts, event).unwrap_or_else(|e| unreachable!("{e}"));
        }
        let index = crate::BlameIndex::build(&log);
        for (text, entity) in [("user:alice type:OrderPlaced", "alice"), ("qty>=1 item:apple", "apple"), ("-user:bob", "")] {
            let m = Query::parse(text).unwrap_or_default().matcher(log.names(), &FixedOffset(0));
            let whole = m.matching(1, log.events(), log.timestamps());
            match m.required_entity() {
                Some(e) => {
                    assert!(!entity.is_empty(), "{text} names no entity every match has");
                    let mut among = Vec::new();
                    m.extend_matching_among(None, &log, index.events_of(e), 0, &mut among);
                    assert_eq!(among, whole, "{text}");
                    let mut later = Vec::new();
                    m.extend_matching_among(None, &log, index.events_of(e), 4, &mut later);
                    assert_eq!(later, whole.iter().copied().filter(|s| *s > 4).collect::<Vec<_>>(), "{text}");
                }
                None => assert!(entity.is_empty(), "{text} should name {entity}"),
            }
        }
    }

    #[test]
    fn a_matcher_knows_when_the_log_has_learned_new_names() {
        let mut names = given_names();
        let matcher = Query::parse("user:carol").unwrap_or_default().matcher(&names, &FixedOffset(0));
        assert!(matcher.is_current(&names));
        names.intern_user("carol");
        assert!(!matcher.is_current(&names));
    }
}
