//! Property tests over random command sequences. Every way of building a state (incremental, full replay,
//! snapshot + tail, checkpoints, the two encodings) is compared with an independent reference fold written
//! here, a tiny shop over `BTreeMap`s that decides each command by CONTRACT §1 and §4 on its own: the domain
//! must accept exactly the commands the reference accepts, record the same events, and list the same shop.
//! Restore to a point (compensation) and refund-once are checked against the reference too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use proptest::sample::Index;
use rewind_domain::{
    apply_chunk_tail, compensate, decode_chunk, decode_snapshot, encode_chunk, encode_jsonl, encode_jsonl_line,
    encode_snapshot, Command, Event, ImportCheck, Listing, Log, LogError, LogOutline, Names, Rejection, State, Timeline, MAX,
};
use std::collections::{BTreeMap, BTreeSet};

mod common;
use common::*;

fn chunks_of(log: &Log, size: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut seq = 1;
    while seq <= log.len() {
        let (events, ts) = log.range(seq, size);
        out.push(encode_chunk(log.names(), seq, events, ts));
        seq += events.len() as u64;
    }
    out
}

/// The seq of each refund in `log`, by the order it refunds; fails if an order was refunded twice.
fn refunds_in(log: &Log) -> Result<BTreeMap<u64, u64>, TestCaseError> {
    let mut refunds = BTreeMap::new();
    for (ix, event) in log.events().iter().enumerate() {
        if let Event::Refunded { order, .. } = *event {
            let seq = ix as u64 + 1;
            prop_assert!(order < seq, "refund #{seq} names order #{order}, which is not before it");
            prop_assert!(
                matches!(log.events()[order as usize - 1], Event::OrderPlaced { .. }),
                "refund #{seq} names event #{order}, which is no order"
            );
            if let Some(first) = refunds.insert(order, seq) {
                return Err(TestCaseError::fail(format!("order #{order} was refunded twice: #{first} and #{seq}")));
            }
        }
    }
    Ok(refunds)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn incremental_apply_and_full_replay_equal_the_reference(steps in steps(0..120)) {
        let run = run(&steps);
        prop_assert_eq!(&run.state.listing(run.log.names()), run.expected_now());
        let replayed = run.log.replay().unwrap();
        prop_assert_eq!(&replayed.listing(run.log.names()), run.expected_now());
    }

    #[test]
    fn snapshot_plus_tail_equals_the_reference(
        steps in steps(1..120),
        cut in 0.0f64..=1.0,
        chunk in 1usize..40,
    ) {
        let run = run(&steps);
        let log = &run.log;
        let k = (log.len() as f64 * cut) as u64;
        let at_k = log.replay_prefix(k).unwrap();
        prop_assert_eq!(&at_k.listing(log.names()), run.expected_at(k));
        let (mut names, mut restored) = decode_snapshot(&encode_snapshot(&at_k, log.names())).unwrap();
        prop_assert_eq!(&restored.listing(&names), run.expected_at(k));
        for bytes in chunks_of(log, chunk) {
            apply_chunk_tail(&mut restored, &mut names, &bytes).unwrap();
        }
        prop_assert_eq!(&restored.listing(&names), run.expected_now());
    }

    #[test]
    fn prefix_state_equals_the_reference_at_the_prefix(
        steps in steps(0..150),
        interval in 1u64..20,
        ks in prop::collection::vec(0.0f64..=1.0, 1..8),
    ) {
        let run = run(&steps);
        let log = &run.log;
        let mut timeline = Timeline::new(interval);
        timeline.catch_up(log).unwrap();
        let mut out = State::new();
        for k in ks {
            let k = (log.len() as f64 * k) as u64;
            timeline.state_at(log, k, &mut out).unwrap();
            prop_assert_eq!(&out.listing(log.names()), run.expected_at(k));
            prop_assert_eq!(&log.replay_prefix(k).unwrap().listing(log.names()), run.expected_at(k));
        }
    }

    #[test]
    fn jsonl_encode_then_decode_gives_the_same_log(steps in steps(1..120)) {
        let run = run(&steps);
        prop_assume!(!run.log.is_empty());
        let text = encode_jsonl(&run.log);
        prop_assert!(text.lines().all(|l| l.starts_with(r#"{"v":2,"#)), "export writes version 2 lines");
        let (back, back_state) = ImportCheck::new(text.clone().into_bytes()).finish().unwrap();
        prop_assert_eq!(encode_jsonl(&back), text);
        prop_assert_eq!(&back_state.listing(back.names()), run.expected_now());
        prop_assert_eq!(&reference_fold(&back), &run.expected);
        // The imported log knows its refunds: the orders refunded before are refused again.
        let mut back = back;
        for order in refunds_in(&back)?.into_keys() {
            let again = back.decide(&back_state, &Command::Refund { order });
            prop_assert!(again.is_err(), "order #{} refunded again after import: {:?}", order, again);
        }
    }

    #[test]
    fn binary_chunks_encode_then_decode_give_the_same_log(
        steps in steps(0..120),
        chunk in 1usize..50,
    ) {
        let run = run(&steps);
        let (mut back, mut live) = (Log::new(), State::new());
        for bytes in chunks_of(&run.log, chunk) {
            back.extend_from_chunk(&mut live, &bytes).unwrap();
        }
        prop_assert_eq!(encode_jsonl(&back), encode_jsonl(&run.log));
        prop_assert_eq!(&live.listing(back.names()), run.expected_now());
        prop_assert_eq!(&reference_fold(&back), &run.expected);
        // The decoded log knows its refunds too.
        for order in refunds_in(&back)?.into_keys() {
            let again = back.decide(&live, &Command::Refund { order });
            prop_assert!(again.is_err(), "order #{} refunded again after decoding: {:?}", order, again);
        }
    }

    /// Restore to a point (CONTRACT §4): the compensating events for k are each accepted, by the log and by
    /// the reference, and leave every user and item of k as it was then, and the later ones at 0.
    #[test]
    fn restore_to_k_brings_back_the_shop_at_k(steps in steps(0..120), at in any::<Index>()) {
        let Run { mut log, mut state, mut shop, expected, .. } = run(&steps);
        let len = log.len();
        let k = at.index(len as usize + 1) as u64;
        let before = state.listing(log.names());
        let target = log.replay_prefix(k).unwrap();
        let events = compensate(&state, &target);
        if k == len {
            prop_assert!(events.is_empty(), "restoring to the latest state appends {:?}", events);
        }
        for (j, event) in events.iter().enumerate() {
            let named = by_name(log.names(), event);
            let pushed = log.push(&mut state, 5_000_000 + j as u64, *event);
            prop_assert!(pushed.is_ok(), "compensating event {} of {} ({:?}) refused: {:?}", j + 1, events.len(), named, pushed);
            prop_assert!(shop.apply(&named), "the reference refuses compensating event {:?}", named);
        }
        prop_assert_eq!(log.len(), len + events.len() as u64);
        let now = state.listing(log.names());
        prop_assert_eq!(&now, &shop.listing());
        let then = &expected[k as usize];
        // Nothing is deleted and nothing new appears.
        let names = |l: &Listing| (
            l.users.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>(),
            l.items.iter().map(|(i, _, _)| i.clone()).collect::<Vec<_>>(),
        );
        prop_assert_eq!(names(&now), names(&before));
        for (user, balance) in &now.users {
            let want = then.users.iter().find(|(u, _)| u == user).map_or(0, |(_, b)| *b);
            prop_assert_eq!(*balance, want, "balance of {} after restoring to {}", user, k);
        }
        for (item, price, stock) in &now.items {
            match then.items.iter().find(|(i, _, _)| i == item) {
                Some((_, p, s)) => prop_assert_eq!((*price, *stock), (*p, *s), "price and stock of {} after restoring to {}", item, k),
                None => prop_assert_eq!(*stock, 0, "stock of {} (created after {}) after restoring", item, k),
            }
        }
        // Restoring again to the same point has nothing left to do; the whole log still replays to it.
        prop_assert!(compensate(&state, &target).is_empty());
        prop_assert_eq!(&log.replay().unwrap().listing(log.names()), &now);
        let folded = reference_fold(&log);
        prop_assert_eq!(folded.last().unwrap(), &now);
    }

    /// No order is refunded twice in an accepted log, and asking again for a refunded order is always refused:
    /// as a command, as an event pushed to the log, in a stored chunk and in an imported file.
    #[test]
    fn an_order_is_never_refunded_twice(steps in steps(1..120)) {
        let run = run(&steps);
        let refunds = refunds_in(&run.log)?;
        let asked: BTreeSet<u64> = run.commands.iter().filter_map(|c| match c {
            Command::Refund { order } => Some(*order),
            _ => None,
        }).collect();
        prop_assert!(refunds.keys().all(|o| asked.contains(o)));
        let mut shop = run.shop.clone();
        let len = run.log.len();
        for (&order, &refund) in &refunds {
            let mut log = run.log.clone();
            let again = Command::Refund { order };
            prop_assert_eq!(shop.execute(&again), None, "the reference refunds order #{} twice", order);
            let decided = log.decide(&run.state, &again);
            prop_assert_eq!(&decided, &Err(Rejection::AlreadyRefunded { order, refund }));
            // The very refund event again, as a stored or imported log would carry it.
            let twice = run.log.events()[refund as usize - 1];
            let mut live = run.state.clone();
            prop_assert_eq!(log.push(&mut live, 9_999_999, twice), Err(Rejection::AlreadyRefunded { order, refund }));
            prop_assert_eq!((log.len(), &live), (len, &run.state));
            let mut events = run.log.events().to_vec();
            events.push(twice);
            let mut ts = run.log.timestamps().to_vec();
            ts.push(9_999_999);
            let bytes = encode_chunk(run.log.names(), 1, &events, &ts);
            let (mut back, mut back_live) = (Log::new(), State::new());
            let decoded = back.extend_from_chunk(&mut back_live, &bytes);
            prop_assert!(
                matches!(decoded, Err(LogError::Broken { seq, rejection: Rejection::AlreadyRefunded { .. } }) if seq == len + 1),
                "a chunk that refunds order #{} twice decodes as {:?}", order, decoded
            );
            prop_assert_eq!(back.len(), len);
            prop_assert_eq!(&back_live.listing(back.names()), run.expected_now());
            let mut text = encode_jsonl(&run.log);
            encode_jsonl_line(&mut text, run.log.names(), len + 1, 9_999_999, &twice);
            let imported = ImportCheck::new(text.into_bytes()).finish();
            let Err(error) = imported else {
                return Err(TestCaseError::fail(format!("a file that refunds order #{order} twice imports")));
            };
            prop_assert_eq!(error.line, len + 1);
            prop_assert!(error.message.starts_with("Refunded: "), "{}", error);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = ImportCheck::new(bytes.clone()).finish();
        // As they are, and with their last four bytes made the right CRC-32 (as the fuzz targets do), so that
        // the decoders behind the checksum see random input too.
        let mut repaired = bytes.clone();
        if repaired.len() >= 4 {
            let body = repaired.len() - 4;
            let crc = crc32fast::hash(&repaired[..body]).to_le_bytes();
            repaired[body..].copy_from_slice(&crc);
        }
        for bytes in [&bytes, &repaired] {
            let _ = decode_snapshot(bytes);
            let (mut names, mut events, mut timestamps) = (Names::new(), Vec::new(), Vec::new());
            if decode_chunk(bytes, &mut names, &mut events, &mut timestamps).is_err() {
                prop_assert!(events.is_empty() && timestamps.is_empty(), "a refused chunk added events");
            }
        }
    }

    #[test]
    fn mutated_encodings_are_refused_or_still_valid(
        steps in steps(1..60),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 1..4),
        fix_checksum in any::<bool>(),
    ) {
        let run = run(&steps);
        let (log, state) = (&run.log, &run.state);
        prop_assume!(!log.is_empty());
        let mutate = |mut bytes: Vec<u8>| {
            for (ix, value) in &flips {
                let i = ix.index(bytes.len());
                bytes[i] = *value;
            }
            if fix_checksum && bytes.len() >= 4 {
                // Reach the parser behind the checksum too.
                let body = bytes.len() - 4;
                let crc = crc32fast::hash(&bytes[..body]).to_le_bytes();
                bytes[body..].copy_from_slice(&crc);
            }
            bytes
        };
        let snapshot = mutate(encode_snapshot(state, log.names()));
        if let Ok((names, restored)) = decode_snapshot(&snapshot) {
            for (_, b) in restored.users() { prop_assert!(b.0 <= MAX); }
            for (_, p, s) in restored.items() { prop_assert!((1..=MAX).contains(&p.0) && s.0 <= MAX); }
            let _ = restored.listing(&names);
        }
        for bytes in chunks_of(log, 16) {
            let (mut back, mut live) = (Log::new(), State::new());
            // A mutated chunk either fails to decode or yields events that are checked before they count:
            // whatever it kept, the reference accepts too (refunds included: each one once, of a real order).
            let _ = back.extend_from_chunk(&mut live, &mutate(bytes));
            prop_assert_eq!(live.seq(), back.len());
            let folded = reference_fold(&back);
            prop_assert_eq!(&live.listing(back.names()), folded.last().unwrap());
        }
        let mut text = encode_jsonl(log).into_bytes();
        for (ix, value) in &flips {
            let i = ix.index(text.len());
            text[i] = *value;
        }
        if let Ok((back, back_state)) = ImportCheck::new(text).finish() {
            // An import that passes holds only events the reference accepts, and lists the shop it folds to.
            let folded = reference_fold(&back);
            prop_assert_eq!(&back_state.listing(back.names()), folded.last().unwrap());
        }
    }
}

#[test]
fn a_damaged_chunk_is_refused_and_keeps_the_events_before_it() {
    let (log, state) = rewind_domain::generate_log(7, 3_000).unwrap();
    let expected = reference_fold(&log);
    assert_eq!(&state.listing(log.names()), expected.last().unwrap());
    let chunks = chunks_of(&log, 1_000);
    let (mut back, mut live) = (Log::new(), State::new());
    back.extend_from_chunk(&mut live, &chunks[0]).unwrap();
    let mut bad = chunks[1].clone();
    bad[40] ^= 0x55;
    let err = back.extend_from_chunk(&mut live, &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stored events from 1001 on are damaged: the checksum does not match (the data is damaged)"
    );
    assert_eq!((back.len(), live.seq()), (1_000, 1_000));
    assert_eq!(live.listing(back.names()), expected[1_000]);
    back.extend_from_chunk(&mut live, &chunks[1]).unwrap();
    back.extend_from_chunk(&mut live, &chunks[2]).unwrap();
    assert_eq!(&live.listing(back.names()), expected.last().unwrap());
}

#[test]
fn the_producer_is_deterministic_and_valid() {
    let (a, state) = rewind_domain::generate_log(42, 20_000).unwrap();
    let (b, _) = rewind_domain::generate_log(42, 20_000).unwrap();
    assert_eq!(encode_jsonl(&a), encode_jsonl(&b));
    assert_ne!(encode_jsonl(&a), encode_jsonl(&rewind_domain::generate_log(43, 20_000).unwrap().0));
    // Every generated event keeps the rules as the reference reads them, and the state is their fold.
    assert_eq!(&state.listing(a.names()), reference_fold(&a).last().unwrap());
    let orders = a.events().iter().filter(|e| e.type_name() == "OrderPlaced").count();
    assert!(orders > 20_000 / 3, "a shop log is mostly orders: {orders}");
    assert!(state.users().count() > 900 && state.items().count() > 250);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The entity series, its downsampling and the read models equal a naive replay at every k; entity values
    /// are checked against the reference's listings.
    #[test]
    fn projections_equal_a_naive_replay(steps in steps(1..150), buckets in 1usize..40) {
        use rewind_domain::{Entity, EntitySeries, Series};
        let run = run(&steps);
        let log = &run.log;
        let mut series = Series::default();
        series.catch_up(log);
        for k in 0..=log.len() {
            prop_assert_eq!(models_seen(&series.at(log, k)), reference_models(&log.events()[..k as usize]));
        }
        for ix in 0..log.names().user_count() {
            let user = rewind_domain::UserId(ix as u32);
            let name = log.names().user_name(user);
            let s = EntitySeries::build(log, Entity::User(user));
            for (k, listing) in run.expected.iter().enumerate() {
                let balance = listing.users.iter().find(|(u, _)| u == name).map(|(_, b)| *b);
                prop_assert_eq!(s.at(k as u64).map(|v| v.0), balance);
            }
            for b in s.downsample(buckets) {
                let values: Vec<u64> = (b.from_seq..=b.to_seq).filter_map(|k| s.at(k).map(|v| v.0)).collect();
                prop_assert_eq!(Some(b.min), values.iter().copied().min());
                prop_assert_eq!(Some(b.max), values.iter().copied().max());
            }
        }
        for ix in 0..log.names().item_count() {
            let item = rewind_domain::ItemId(ix as u32);
            let name = log.names().item_name(item);
            let s = EntitySeries::build(log, Entity::Item(item));
            for (k, listing) in run.expected.iter().enumerate() {
                let stock_price = listing.items.iter().find(|(i, _, _)| i == name).map(|(_, p, s)| (*s, *p));
                prop_assert_eq!(s.at(k as u64), stock_price);
            }
        }
    }
}

proptest! {
    // Longer logs, fewer of them: the outline keeps a mark every 64 events.
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_outline_draws_the_charts_a_pass_over_the_log_draws(
        steps in steps(0..400),
        buckets in 1usize..300,
        cut in 0.0f64..=1.0,
    ) {
        let run = run(&steps);
        let log = &run.log;
        let mut outline = LogOutline::default();
        outline.catch_up(log);
        prop_assert_eq!(outline.density(log, buckets), reference_density(log.events(), buckets));
        prop_assert_eq!(outline.revenue_over_time(log, buckets), reference_revenue(log.events(), buckets));
        // A branch's outline: the prefix's, then its own.
        let base = (log.len() as f64 * cut) as u64;
        let prefix = log.prefix(base);
        prop_assert_eq!(outline.prefix(base).revenue_over_time(&prefix, buckets), reference_revenue(prefix.events(), buckets));
        prop_assert_eq!(outline.prefix(base).density(&prefix, buckets), reference_density(prefix.events(), buckets));
    }
}

// The references below share no code with what they check: each reads the events' fields itself and keeps its
// sums in its own maps, so that a mistake in the domain's folds cannot repeat itself here.

/// The read models as plain sums: revenue, order and refund counts; per user (by id) orders and net spend, and
/// refunds; per item net units sold. Only non-zero entries are kept.
#[derive(Debug, PartialEq, Eq)]
struct Models {
    revenue: i128,
    orders: u64,
    refunds: u64,
    per_user: BTreeMap<u32, (u64, i128)>,
    refunds_per_user: BTreeMap<u32, u64>,
    sold: BTreeMap<u32, i128>,
}

fn reference_models(events: &[Event]) -> Models {
    let mut m = Models { revenue: 0, orders: 0, refunds: 0, per_user: BTreeMap::new(), refunds_per_user: BTreeMap::new(), sold: BTreeMap::new() };
    for event in events {
        match event {
            Event::OrderPlaced { user, item, qty, total, .. } => {
                m.revenue += i128::from(total.0);
                m.orders += 1;
                let u = m.per_user.entry(user.0).or_default();
                u.0 += 1;
                u.1 += i128::from(total.0);
                *m.sold.entry(item.0).or_default() += i128::from(qty.0);
            }
            Event::Refunded { user, item, qty, total, .. } => {
                m.revenue -= i128::from(total.0);
                m.refunds += 1;
                m.per_user.entry(user.0).or_default().1 -= i128::from(total.0);
                *m.refunds_per_user.entry(user.0).or_default() += 1;
                *m.sold.entry(item.0).or_default() -= i128::from(qty.0);
            }
            _ => {}
        }
    }
    m.per_user.retain(|_, v| *v != (0, 0));
    m.sold.retain(|_, v| *v != 0);
    m
}

/// What the domain's read models say, in the reference's terms.
fn models_seen(models: &rewind_domain::ReadModels) -> Models {
    let per_user = (0u32..)
        .zip(&models.per_user)
        .filter(|(_, v)| **v != (0, 0))
        .map(|(u, (orders, spend))| (u, (*orders, i128::try_from(*spend).unwrap())))
        .collect();
    let refunds_per_user = (0u32..).zip(&models.refunds_per_user).filter(|(_, n)| **n != 0).map(|(u, n)| (u, *n)).collect();
    let sold = (0u32..).zip(&models.sold).filter(|(_, n)| **n != 0).map(|(i, n)| (i, i128::try_from(*n).unwrap())).collect();
    Models {
        revenue: i128::try_from(models.revenue).unwrap(),
        orders: models.orders,
        refunds: models.refunds,
        per_user,
        refunds_per_user,
        sold,
    }
}

/// The slice of `len` events that event number `ix` (from 0) falls in, of `n` equal slices.
fn slice_of(ix: usize, len: usize, n: usize) -> usize {
    (ix * n / len.max(1)).min(n - 1)
}

/// Per slice: [money events, warehouse events, order events], counted by event type.
fn reference_density(events: &[Event], buckets: usize) -> Vec<[u32; 3]> {
    let n = buckets.max(1).min(events.len().max(1));
    let mut out = vec![[0u32; 3]; n];
    for (ix, event) in events.iter().enumerate() {
        let kind = match event.type_name() {
            "ToppedUp" | "Withdrawn" => 0,
            "ItemAdded" | "WrittenOff" | "PriceSet" => 1,
            "OrderPlaced" | "Refunded" => 2,
            other => panic!("an event type the reference does not know: {other}"),
        };
        out[slice_of(ix, events.len(), n)][kind] += 1;
    }
    out
}

/// Revenue (orders' totals less refunds') at the end of each slice.
fn reference_revenue(events: &[Event], buckets: usize) -> Vec<u128> {
    let n = buckets.max(1).min(events.len().max(1));
    let mut out = vec![0u128; n];
    let mut revenue: i128 = 0;
    for (ix, event) in events.iter().enumerate() {
        match event {
            Event::OrderPlaced { total, .. } => revenue += i128::from(total.0),
            Event::Refunded { total, .. } => revenue -= i128::from(total.0),
            _ => {}
        }
        out[slice_of(ix, events.len(), n)] = u128::try_from(revenue).unwrap();
    }
    out
}
