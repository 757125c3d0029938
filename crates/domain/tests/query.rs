//! The query language and read models against a naive reference: random logs (the shared command steps, at
//! random times), random queries built here as plain terms and written out as text, and a plain filter and a
//! plain fold over the events by name. The reference does its own calendar (counting days year by year) and
//! reads fields from events by name: it shares no code with the parser, the matcher or the model's fold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use rewind_domain::{BlameIndex, FixedOffset, Log, Model, ModelDef, Query, State};
use std::collections::BTreeMap;

mod common;
use common::*;

const TYPES: [&str; 7] = ["ToppedUp", "ItemAdded", "OrderPlaced", "Refunded", "Withdrawn", "WrittenOff", "PriceSet"];
const FIELDS: [&str; 6] = ["seq", "amount", "price", "qty", "total", "order"];
const OPS: [&str; 5] = ["<", "<=", "=", ">=", ">"];
/// 2026-01-01T00:00Z, in ms.
const START: u64 = 1_767_225_600_000;
const MINUTE: u64 = 60_000;
/// A compared number with this bit set is replaced by a value the log holds in that field (one plus or
/// minus it, or itself), so that the edges of each comparison are met.
const FROM_LOG: u64 = 1 << 63;

/// The terms with each `FROM_LOG` number or time replaced by one the log holds (times as seen `offset_ms`
/// ahead of UTC).
fn with_log_values(terms: &[(bool, RefTerm)], log: &Log, offset_ms: i64) -> Vec<(bool, RefTerm)> {
    terms
        .iter()
        .map(|(negated, term)| match term {
            RefTerm::Compare(f, o, pick) if pick & FROM_LOG != 0 => {
                let values: Vec<u64> = (1..=log.len())
                    .filter_map(|seq| parts(seq, &by_name(log.names(), &log.get(seq).unwrap().event)).3.get(FIELDS[*f]).copied())
                    .collect();
                let pick = pick & !FROM_LOG;
                let v = values.get(pick as usize % values.len().max(1)).copied().unwrap_or(pick % 100);
                let v = match (pick / 7) % 3 { 0 => v, 1 => v.saturating_add(1), _ => v.saturating_sub(1) };
                (*negated, RefTerm::Compare(*f, *o, v))
            }
            RefTerm::Time(after, pick) if pick & FROM_LOG != 0 => {
                let pick = pick & !FROM_LOG;
                let at = log.timestamps().get(pick as usize % log.timestamps().len().max(1)).map_or(START, |ts| (*ts as i64 + offset_ms) as u64);
                let at = match (pick / 7) % 3 { 0 => at, 1 => at + 15 * MINUTE, _ => at - 15 * MINUTE };
                (*negated, RefTerm::Time(*after, at))
            }
            other => (*negated, other.clone()),
        })
        .collect()
}

/// A query term as the test means it.
#[derive(Clone, Debug)]
enum RefTerm {
    Types(Vec<usize>),
    Users(Vec<String>),
    Items(Vec<String>),
    Compare(usize, usize, u64),
    /// after (true) / before (false) a local time, in ms as if it were UTC (or, with `FROM_LOG`, the local
    /// time of one of the log's events, a quarter hour either side or itself)
    Time(bool, u64),
    Word(String),
}

fn term() -> impl Strategy<Value = (bool, RefTerm)> {
    let id = prop_oneof![
        Just("alice"), Just("bob"), Just("carol"), Just("Z_9-zz0123456789abcdef0123456789"), Just("apple"), Just("pear"),
        Just("fig"), Just("nobody"),
    ]
    .prop_map(str::to_owned);
    let t = prop_oneof![
        prop::collection::vec(0..7usize, 1..3).prop_map(RefTerm::Types),
        prop::collection::vec(id.clone(), 1..3).prop_map(RefTerm::Users),
        prop::collection::vec(id.clone(), 1..3).prop_map(RefTerm::Items),
        (0..6usize, 0..5usize, prop_oneof![0..20u64, Just(u64::MAX), any::<u64>().prop_map(|pick| pick | FROM_LOG)])
            .prop_map(|(f, o, v)| RefTerm::Compare(f, o, v)),
        (any::<bool>(), prop_oneof![(0..3 * 96u64).prop_map(|q| START + q * 15 * MINUTE), any::<u64>().prop_map(|pick| pick | FROM_LOG)])
            .prop_map(|(a, at)| RefTerm::Time(a, at)),
        id.prop_flat_map(|id| {
            let n = id.len();
            // A leading '-' would be a negation: such words are written as `-` terms instead.
            (0..n, 1..=n).prop_map(move |(s, l)| id[s..(s + l).min(n)].trim_start_matches('-').to_uppercase())
        })
        .prop_filter("a word", |w| !w.is_empty())
        .prop_map(RefTerm::Word),
    ];
    (prop::bool::weighted(0.2), t)
}

fn written((negated, term): &(bool, RefTerm)) -> String {
    let body = match term {
        RefTerm::Types(ts) => format!("type:{}", ts.iter().map(|t| TYPES[*t].to_lowercase()).collect::<Vec<_>>().join(",")),
        RefTerm::Users(ids) => format!("user:{}", ids.join(",")),
        RefTerm::Items(ids) => format!("item:{}", ids.join(",")),
        RefTerm::Compare(f, o, v) => format!("{}{}{v}", FIELDS[*f], OPS[*o]),
        RefTerm::Time(after, wall) => {
            let (_, hour) = reference_labels(*wall as i64);
            format!("{}:{hour}:{:02}", if *after { "after" } else { "before" }, wall % 3_600_000 / MINUTE)
        }
        RefTerm::Word(w) => w.clone(),
    };
    if *negated { format!("-{body}") } else { body }
}

/// The event's type, user, item and numeric fields, read by name.
fn parts(seq: u64, e: &RefEvent) -> (&'static str, Option<&str>, Option<&str>, BTreeMap<&'static str, u64>) {
    let mut f = BTreeMap::from([("seq", seq)]);
    let (t, u, i) = match e {
        RefEvent::ToppedUp { user, amount } => {
            f.insert("amount", *amount);
            ("ToppedUp", Some(user.as_str()), None)
        }
        RefEvent::Withdrawn { user, amount } => {
            f.insert("amount", *amount);
            ("Withdrawn", Some(user.as_str()), None)
        }
        RefEvent::ItemAdded { item, price, qty } => {
            f.extend([("price", *price), ("qty", *qty)]);
            ("ItemAdded", None, Some(item.as_str()))
        }
        RefEvent::OrderPlaced { user, item, qty, price, total } => {
            f.extend([("price", *price), ("qty", *qty), ("total", *total)]);
            ("OrderPlaced", Some(user.as_str()), Some(item.as_str()))
        }
        RefEvent::Refunded { order, user, item, qty, total } => {
            f.extend([("order", *order), ("qty", *qty), ("total", *total)]);
            ("Refunded", Some(user.as_str()), Some(item.as_str()))
        }
        RefEvent::WrittenOff { item, qty } => {
            f.insert("qty", *qty);
            ("WrittenOff", None, Some(item.as_str()))
        }
        RefEvent::PriceSet { item, price } => {
            f.insert("price", *price);
            ("PriceSet", None, Some(item.as_str()))
        }
    };
    (t, u, i, f)
}

fn reference_matches(terms: &[(bool, RefTerm)], seq: u64, ts: u64, e: &RefEvent, offset_ms: i64) -> bool {
    let (t, u, i, fields) = parts(seq, e);
    let local = ts as i64 + offset_ms;
    terms.iter().all(|(negated, term)| {
        let holds = match term {
            RefTerm::Types(ts) => ts.iter().any(|x| TYPES[*x] == t),
            RefTerm::Users(ids) => u.is_some_and(|u| ids.iter().any(|id| id == u)),
            RefTerm::Items(ids) => i.is_some_and(|i| ids.iter().any(|id| id == i)),
            RefTerm::Compare(f, o, v) => fields.get(FIELDS[*f]).is_some_and(|x| match OPS[*o] {
                "<" => x < v,
                "<=" => x <= v,
                "=" => x == v,
                ">=" => x >= v,
                _ => x > v,
            }),
            RefTerm::Time(after, wall) => {
                if *after { local >= *wall as i64 } else { local < *wall as i64 }
            }
            RefTerm::Word(w) => {
                let w = w.to_lowercase();
                u.is_some_and(|u| u.to_lowercase().contains(&w)) || i.is_some_and(|i| i.to_lowercase().contains(&w))
            }
        };
        holds != *negated
    })
}

/// The run's events again, at random times from 2026-01-01 on (quarter hours apart, sometimes days), so that
/// some fall exactly on a time a query names.
fn retimed(log: &Log, gaps: &[u64]) -> Log {
    let mut out = Log::with_names(log.names().clone());
    let mut state = State::new();
    let mut ts = START;
    for (ix, event) in log.events().iter().enumerate() {
        ts += gaps.get(ix).copied().unwrap_or(1) * 15 * MINUTE;
        out.push(&mut state, ts, *event).unwrap();
    }
    out
}

/// A local day's and hour's labels, by counting: years from 1970, then months.
fn reference_labels(local_ms: i64) -> (String, String) {
    let mut days = local_ms.div_euclid(86_400_000);
    let hour = local_ms.rem_euclid(86_400_000) / 3_600_000;
    let mut year = 1970;
    loop {
        let len = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let feb = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 { 29 } else { 28 };
    let mut month = 1;
    for len in [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    let day = format!("{year:04}-{month:02}-{:02}", days + 1);
    (day.clone(), format!("{day}T{hour:02}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn a_query_matches_exactly_the_events_a_plain_filter_keeps(
        steps in steps(0..80),
        gaps in prop::collection::vec(prop_oneof![1..4u64, 20..200u64], 80),
        terms in prop::collection::vec(term(), 0..4),
        offset_h in -12i64..14,
    ) {
        let log = retimed(&run(&steps).log, &gaps);
        let terms = with_log_values(&terms, &log, offset_h * 3_600_000);
        let text = terms.iter().map(written).collect::<Vec<_>>().join("  ");
        let query = Query::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let offset = offset_h * 3_600_000;
        let matcher = query.matcher(log.names(), &FixedOffset(offset));
        let ours = matcher.matching(1, log.events(), log.timestamps());
        // A query for one user or item may test only that entity's events: the same answer.
        if let Some(entity) = matcher.required_entity() {
            let mut among = Vec::new();
            matcher.extend_matching_among(None, &log, BlameIndex::build(&log).events_of(entity), 0, &mut among);
            prop_assert_eq!(&among, &ours, "query {} over its entity's events", text);
        }
        let theirs: Vec<u64> = (1..=log.len())
            .filter(|seq| {
                let e = log.get(*seq).unwrap();
                reference_matches(&terms, *seq, e.ts, &by_name(log.names(), &e.event), offset)
            })
            .collect();
        prop_assert_eq!(ours, theirs, "query {}", text);
    }

    #[test]
    fn a_model_equals_a_plain_fold_at_every_point(
        steps in steps(0..80),
        gaps in prop::collection::vec(prop_oneof![1..4u64, 20..200u64], 80),
        terms in prop::collection::vec(term(), 0..2),
        group in 0..5usize,
        measure in 0..4usize,
        field in 0..4usize,
        offset_h in -12i64..14,
        folds in prop::collection::vec(0..90u64, 0..4),
    ) {
        let log = retimed(&run(&steps).log, &gaps);
        let terms = with_log_values(&terms, &log, offset_h * 3_600_000);
        let (group, measure, field) = (["user", "item", "type", "hour", "day"][group], ["count", "sum", "min", "max"][measure], ["amount", "price", "qty", "total"][field]);
        let text = terms.iter().map(written).collect::<Vec<_>>().join(" ");
        let def = ModelDef::new("", group, measure, Some(field), &text).unwrap();
        let offset = offset_h * 3_600_000;
        let local = FixedOffset(offset);
        // Folded in random steps, as the page does with progress and appends.
        let mut model = Model::new(def);
        for until in folds {
            prop_assert_eq!(model.fold(&log, &local, until).unwrap(), until.min(log.len()).max(model.folded()));
        }
        model.fold(&log, &local, log.len()).unwrap();

        let mut plain: BTreeMap<String, u64> = BTreeMap::new();
        for k in 0..=log.len() {
            if k > 0 {
                let e = log.get(k).unwrap();
                let named = by_name(log.names(), &e.event);
                if reference_matches(&terms, k, e.ts, &named, offset) {
                    let (t, u, i, fields) = parts(k, &named);
                    let (day, hour) = reference_labels(e.ts as i64 + offset);
                    let key = match group { "user" => u.map(str::to_owned), "item" => i.map(str::to_owned), "type" => Some(t.to_owned()), "hour" => Some(hour), _ => Some(day) };
                    let value = if measure == "count" { Some(1) } else { fields.get(field).copied() };
                    if let (Some(key), Some(v)) = (key, value) {
                        let slot = plain.entry(key).or_insert(match measure { "min" => u64::MAX, "max" | "sum" | "count" => 0, _ => unreachable!() });
                        *slot = match measure { "min" => (*slot).min(v), "max" => (*slot).max(v), _ => *slot + v };
                    }
                }
            }
            let ours: BTreeMap<String, u64> = (0..model.groups_at(k))
                .filter_map(|g| Some((model.label(g, log.names()), model.value_at(g, k)?)))
                .collect();
            prop_assert_eq!(&ours, &plain, "model {} {} {} where {} after {} events", group, measure, field, text, k);
        }
    }
}
