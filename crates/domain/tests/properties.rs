//! Property tests over random command sequences. Every way of building a state (incremental, full replay,
//! snapshot + tail, checkpoints, the two encodings) is compared with an independent reference fold written
//! here, a tiny shop over `BTreeMap`s that decides each command by CONTRACT §1 on its own: the domain must
//! accept exactly the commands the reference accepts, record the same events, and list the same shop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use rewind_domain::{
    apply_chunk_tail, decide, decode_chunk, decode_snapshot, encode_chunk, encode_jsonl, encode_snapshot, Command,
    Event, ImportCheck, Listing, Log, Names, State, Timeline, MAX,
};
use std::collections::BTreeMap;

/// An event by name, as the reference model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RefEvent {
    ToppedUp { user: String, amount: u64 },
    ItemAdded { item: String, price: u64, qty: u64 },
    OrderPlaced { user: String, item: String, qty: u64, total: u64 },
}

/// The reference shop: CONTRACT §1 spelled out over ordered maps, with u128 arithmetic so nothing can wrap.
/// It shares no code with the domain's fold (no interning, no dense arrays, no capped helpers).
#[derive(Clone, Debug, Default)]
struct RefShop {
    events: u64,
    /// user → balance
    balances: BTreeMap<String, u64>,
    /// item → (unit price, stock)
    items: BTreeMap<String, (u64, u64)>,
}

/// Ids are 1–32 characters from `A–Z a–z 0–9 _ -`.
fn ref_valid_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=32).contains(&n) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl RefShop {
    /// Decides `command` in this shop: the event it becomes (applied here) or `None` when it is refused.
    fn execute(&mut self, command: &Command) -> Option<RefEvent> {
        let event = match command {
            Command::TopUp { user, amount } => RefEvent::ToppedUp { user: user.clone(), amount: *amount },
            Command::AddItem { item, price, qty } => {
                RefEvent::ItemAdded { item: item.clone(), price: *price, qty: *qty }
            }
            Command::Order { user, item, qty } => {
                let (price, _) = *self.items.get(item)?;
                let total = u128::from(price) * u128::from(*qty);
                if total > u128::from(MAX) {
                    return None;
                }
                RefEvent::OrderPlaced { user: user.clone(), item: item.clone(), qty: *qty, total: total as u64 }
            }
        };
        self.apply(&event).then_some(event)
    }

    /// Applies `event` if it keeps every rule; returns whether it did. A refused event changes nothing.
    fn apply(&mut self, event: &RefEvent) -> bool {
        let max = u128::from(MAX);
        match event {
            RefEvent::ToppedUp { user, amount } => {
                let balance = self.balances.get(user).copied().unwrap_or(0);
                let after = u128::from(balance) + u128::from(*amount);
                if !ref_valid_id(user) || *amount < 1 || after > max {
                    return false;
                }
                self.balances.insert(user.clone(), after as u64);
            }
            RefEvent::ItemAdded { item, price, qty } => {
                let stock = self.items.get(item).map_or(0, |(_, stock)| *stock);
                let after = u128::from(stock) + u128::from(*qty);
                if !ref_valid_id(item) || *price < 1 || *price > MAX || *qty < 1 || after > max {
                    return false;
                }
                self.items.insert(item.clone(), (*price, after as u64));
            }
            RefEvent::OrderPlaced { user, item, qty, total } => {
                if !ref_valid_id(user) || !ref_valid_id(item) || *qty < 1 {
                    return false;
                }
                let (Some(&balance), Some(&(price, stock))) = (self.balances.get(user), self.items.get(item)) else {
                    return false;
                };
                let cost = u128::from(price) * u128::from(*qty);
                if stock < *qty || cost > max || cost != u128::from(*total) || u128::from(balance) < cost {
                    return false;
                }
                self.balances.insert(user.clone(), balance - *total);
                self.items.insert(item.clone(), (price, stock - *qty));
            }
        }
        self.events += 1;
        true
    }

    /// The shop by name in id order, in the domain's `Listing` shape.
    fn listing(&self) -> Listing {
        Listing {
            seq: self.events,
            users: self.balances.iter().map(|(u, b)| (u.clone(), *b)).collect(),
            items: self.items.iter().map(|(i, (p, s))| (i.clone(), *p, *s)).collect(),
        }
    }
}

/// A domain event by name.
fn by_name(names: &Names, event: &Event) -> RefEvent {
    match *event {
        Event::ToppedUp { user, amount } => RefEvent::ToppedUp { user: names.user_name(user).into(), amount: amount.0 },
        Event::ItemAdded { item, price, qty } => {
            RefEvent::ItemAdded { item: names.item_name(item).into(), price: price.0, qty: qty.0 }
        }
        Event::OrderPlaced { user, item, qty, total } => RefEvent::OrderPlaced {
            user: names.user_name(user).into(),
            item: names.item_name(item).into(),
            qty: qty.0,
            total: total.0,
        },
    }
}

/// Folds the reference over a log the domain holds: every event in it must keep the rules. Returns the
/// reference's listing after each prefix (index k: after events 1..=k).
fn reference_fold(log: &Log) -> Vec<Listing> {
    let mut shop = RefShop::default();
    let mut listings = vec![shop.listing()];
    for (ix, event) in log.events().iter().enumerate() {
        let event = by_name(log.names(), event);
        assert!(shop.apply(&event), "the log holds event {} that the reference refuses: {event:?}", ix + 1);
        listings.push(shop.listing());
    }
    listings
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 1u64..2_000,
        1 => Just(0u64),
        1 => prop_oneof![Just(MAX), Just(MAX - 1), Just(MAX / 2 + 1), Just(MAX + 1), Just(u64::MAX)],
    ]
}

fn qty() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..12, 1 => Just(0u64), 1 => prop_oneof![Just(MAX), Just(MAX + 1)]]
}

/// Mostly a few valid ids (so commands meet), sometimes an invalid one: a space, too long (33), or empty.
fn user() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop_oneof![Just("alice"), Just("bob"), Just("carol"), Just("dave"), Just("Z_9-zz0123456789abcdef0123456789")],
        1 => prop_oneof![Just("bad id"), Just("Z_9-zz0123456789abcdef0123456789x")],
    ]
    .prop_map(String::from)
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![8 => prop_oneof![Just("apple"), Just("pear"), Just("fig")], 1 => prop_oneof![Just(""), Just("fig!")]]
        .prop_map(String::from)
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        1 => (user(), amount()).prop_map(|(user, amount)| Command::TopUp { user, amount }),
        1 => (item(), amount(), qty()).prop_map(|(item, price, qty)| Command::AddItem { item, price, qty }),
        2 => (user(), item(), qty()).prop_map(|(user, item, qty)| Command::Order { user, item, qty }),
    ]
}

/// A run of commands through the domain, beside the reference's verdicts.
struct Run {
    log: Log,
    state: State,
    /// The reference's listing after the first k accepted commands, k = 0..=log.len().
    expected: Vec<Listing>,
}

impl Run {
    fn expected_at(&self, k: u64) -> &Listing {
        &self.expected[k as usize]
    }

    fn expected_now(&self) -> &Listing {
        self.expected_at(self.log.len())
    }
}

/// Runs the commands through the domain and through the reference side by side. After each one: the domain
/// accepted it exactly when the reference did, with the same event, and both list the same shop; the domain's
/// invariants hold too.
fn run(commands: &[Command]) -> Run {
    let (mut log, mut state, mut shop) = (Log::new(), State::new(), RefShop::default());
    let mut expected = vec![shop.listing()];
    for (i, c) in commands.iter().enumerate() {
        let before = state.clone();
        let verdict = shop.execute(c);
        match decide(&state, log.names_mut(), c) {
            Ok(event) => {
                let ours = by_name(log.names(), &event);
                assert_eq!(verdict.as_ref(), Some(&ours), "the domain accepts {c:?} as {ours:?}, the reference does not agree");
                log.push(&mut state, 1_000 + i as u64 * 7, event).unwrap();
                expected.push(shop.listing());
            }
            Err(rejection) => {
                assert_eq!(verdict, None, "the domain refuses {c:?} ({rejection}), the reference accepts it");
                assert_eq!(state, before, "a refused command changed the state");
            }
        }
        assert_eq!(state.listing(log.names()), shop.listing(), "after {c:?}");
        assert_eq!(state.seq(), log.len(), "seq is the number of events: gapless");
        for (_, balance) in state.users() {
            assert!(balance.0 <= MAX);
        }
        for (_, price, stock) in state.items() {
            assert!((1..=MAX).contains(&price.0) && stock.0 <= MAX);
        }
    }
    Run { log, state, expected }
}

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn incremental_apply_and_full_replay_equal_the_reference(commands in prop::collection::vec(command(), 0..120)) {
        let run = run(&commands);
        prop_assert_eq!(&run.state.listing(run.log.names()), run.expected_now());
        let replayed = run.log.replay().unwrap();
        prop_assert_eq!(&replayed.listing(run.log.names()), run.expected_now());
    }

    #[test]
    fn snapshot_plus_tail_equals_the_reference(
        commands in prop::collection::vec(command(), 1..120),
        cut in 0.0f64..=1.0,
        chunk in 1usize..40,
    ) {
        let run = run(&commands);
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
        commands in prop::collection::vec(command(), 0..150),
        interval in 1u64..20,
        ks in prop::collection::vec(0.0f64..=1.0, 1..8),
    ) {
        let run = run(&commands);
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
    fn jsonl_encode_then_decode_gives_the_same_log(commands in prop::collection::vec(command(), 1..120)) {
        let run = run(&commands);
        prop_assume!(!run.log.is_empty());
        let text = encode_jsonl(&run.log);
        let (back, back_state) = ImportCheck::new(text.clone().into_bytes()).finish().unwrap();
        prop_assert_eq!(encode_jsonl(&back), text);
        prop_assert_eq!(&back_state.listing(back.names()), run.expected_now());
        prop_assert_eq!(&reference_fold(&back), &run.expected);
    }

    #[test]
    fn binary_chunks_encode_then_decode_give_the_same_log(
        commands in prop::collection::vec(command(), 0..120),
        chunk in 1usize..50,
    ) {
        let run = run(&commands);
        let (mut back, mut live) = (Log::new(), State::new());
        for bytes in chunks_of(&run.log, chunk) {
            back.extend_from_chunk(&mut live, &bytes).unwrap();
        }
        prop_assert_eq!(encode_jsonl(&back), encode_jsonl(&run.log));
        prop_assert_eq!(&live.listing(back.names()), run.expected_now());
        prop_assert_eq!(&reference_fold(&back), &run.expected);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = ImportCheck::new(bytes.clone()).finish();
        let _ = decode_snapshot(&bytes);
        let mut names = Names::new();
        let _ = decode_chunk(&bytes, &mut names, &mut Vec::new(), &mut Vec::new());
    }

    #[test]
    fn mutated_encodings_are_refused_or_still_valid(
        commands in prop::collection::vec(command(), 1..60),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        fix_checksum in any::<bool>(),
    ) {
        let run = run(&commands);
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
            // whatever it kept, the reference accepts too.
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
    fn projections_equal_a_naive_replay(commands in prop::collection::vec(command(), 1..150), buckets in 1usize..40) {
        use rewind_domain::{Entity, EntitySeries, ReadModels, Series};
        let run = run(&commands);
        let log = &run.log;
        let mut series = Series::default();
        series.catch_up(log);
        let mut naive = ReadModels::default();
        for (k, e) in log.events().iter().enumerate() {
            prop_assert_eq!(series.at(log, k as u64), naive.clone());
            naive.fold(e);
        }
        prop_assert_eq!(series.at(log, log.len()), naive);
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
