//! Property tests over random command sequences: invariants hold, and every way of rebuilding a state (
//! incremental, full replay, snapshot + tail, checkpoints, the two encodings) gives the same shop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use rewind_domain::{
    apply_chunk_tail, decide, decode_chunk, decode_snapshot, encode_chunk, encode_jsonl, encode_snapshot, Command,
    ImportCheck, Log, State, Timeline, MAX,
};

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

fn user() -> impl Strategy<Value = String> {
    prop_oneof![Just("alice"), Just("bob"), Just("carol"), Just("dave"), Just("bad id")].prop_map(String::from)
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![Just("apple"), Just("pear"), Just("fig"), Just("")].prop_map(String::from)
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        1 => (user(), amount()).prop_map(|(user, amount)| Command::TopUp { user, amount }),
        1 => (item(), amount(), qty()).prop_map(|(item, price, qty)| Command::AddItem { item, price, qty }),
        2 => (user(), item(), qty()).prop_map(|(user, item, qty)| Command::Order { user, item, qty }),
    ]
}

/// Runs the commands, keeping the accepted ones, checking the invariants after each.
fn run(commands: &[Command]) -> (Log, State) {
    let (mut log, mut state) = (Log::new(), State::new());
    for (i, c) in commands.iter().enumerate() {
        let before = state.clone();
        match decide(&state, log.names_mut(), c) {
            Ok(event) => log.push(&mut state, 1_000 + i as u64 * 7, event).unwrap(),
            Err(_) => assert_eq!(state, before, "a refused command changed the state"),
        }
        assert_eq!(state.seq(), log.len(), "seq is the number of events: gapless");
        for (_, balance) in state.users() {
            assert!(balance.0 <= MAX);
        }
        for (_, price, stock) in state.items() {
            assert!((1..=MAX).contains(&price.0) && stock.0 <= MAX);
        }
    }
    (log, state)
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
    fn incremental_apply_equals_full_replay(commands in prop::collection::vec(command(), 0..120)) {
        let (log, state) = run(&commands);
        let replayed = log.replay().unwrap();
        prop_assert_eq!(replayed.listing(log.names()), state.listing(log.names()));
    }

    #[test]
    fn snapshot_plus_tail_equals_full_replay(
        commands in prop::collection::vec(command(), 1..120),
        cut in 0.0f64..=1.0,
        chunk in 1usize..40,
    ) {
        let (log, state) = run(&commands);
        let k = (log.len() as f64 * cut) as u64;
        let at_k = log.replay_prefix(k).unwrap();
        let (mut names, mut restored) = decode_snapshot(&encode_snapshot(&at_k, log.names())).unwrap();
        prop_assert_eq!(restored.listing(&names), at_k.listing(log.names()));
        for bytes in chunks_of(&log, chunk) {
            apply_chunk_tail(&mut restored, &mut names, &bytes).unwrap();
        }
        prop_assert_eq!(restored.listing(&names), state.listing(log.names()));
    }

    #[test]
    fn prefix_state_equals_replay_of_the_prefix(
        commands in prop::collection::vec(command(), 0..150),
        interval in 1u64..20,
        ks in prop::collection::vec(0.0f64..=1.0, 1..8),
    ) {
        let (log, _) = run(&commands);
        let mut timeline = Timeline::new(interval);
        timeline.catch_up(&log).unwrap();
        let mut out = State::new();
        for k in ks {
            let k = (log.len() as f64 * k) as u64;
            timeline.state_at(&log, k, &mut out).unwrap();
            prop_assert_eq!(out.listing(log.names()), log.replay_prefix(k).unwrap().listing(log.names()));
        }
    }

    #[test]
    fn jsonl_encode_then_decode_gives_the_same_log(commands in prop::collection::vec(command(), 1..120)) {
        let (log, state) = run(&commands);
        prop_assume!(!log.is_empty());
        let text = encode_jsonl(&log);
        let (back, back_state) = ImportCheck::new(text.clone().into_bytes()).finish().unwrap();
        prop_assert_eq!(encode_jsonl(&back), text);
        prop_assert_eq!(back_state.listing(back.names()), state.listing(log.names()));
    }

    #[test]
    fn binary_chunks_encode_then_decode_give_the_same_log(
        commands in prop::collection::vec(command(), 0..120),
        chunk in 1usize..50,
    ) {
        let (log, _) = run(&commands);
        let (mut back, mut live) = (Log::new(), State::new());
        for bytes in chunks_of(&log, chunk) {
            back.extend_from_chunk(&mut live, &bytes).unwrap();
        }
        prop_assert_eq!(encode_jsonl(&back), encode_jsonl(&log));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = ImportCheck::new(bytes.clone()).finish();
        let _ = decode_snapshot(&bytes);
        let mut names = rewind_domain::Names::new();
        let _ = decode_chunk(&bytes, &mut names, &mut Vec::new(), &mut Vec::new());
    }

    #[test]
    fn mutated_encodings_are_refused_or_still_valid(
        commands in prop::collection::vec(command(), 1..60),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        fix_checksum in any::<bool>(),
    ) {
        let (log, state) = run(&commands);
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
        let snapshot = mutate(encode_snapshot(&state, log.names()));
        if let Ok((names, restored)) = decode_snapshot(&snapshot) {
            for (_, b) in restored.users() { prop_assert!(b.0 <= MAX); }
            let _ = restored.listing(&names);
        }
        for bytes in chunks_of(&log, 16) {
            let (mut back, mut live) = (Log::new(), State::new());
            // A mutated chunk either fails to decode or yields events that are checked before they count.
            let _ = back.extend_from_chunk(&mut live, &mutate(bytes));
            prop_assert_eq!(live.seq(), back.len());
        }
        let mut text = encode_jsonl(&log).into_bytes();
        for (ix, value) in &flips {
            let i = ix.index(text.len());
            text[i] = *value;
        }
        if let Ok((back, back_state)) = ImportCheck::new(text).finish() {
            prop_assert_eq!(back.replay().unwrap(), back_state);
        }
    }
}

#[test]
fn a_damaged_chunk_is_refused_and_keeps_the_events_before_it() {
    let (log, state) = rewind_domain::generate_log(7, 3_000).unwrap();
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
    back.extend_from_chunk(&mut live, &chunks[1]).unwrap();
    back.extend_from_chunk(&mut live, &chunks[2]).unwrap();
    assert_eq!(live.listing(back.names()), state.listing(log.names()));
}

#[test]
fn the_producer_is_deterministic_and_valid() {
    let (a, state) = rewind_domain::generate_log(42, 20_000).unwrap();
    let (b, _) = rewind_domain::generate_log(42, 20_000).unwrap();
    assert_eq!(encode_jsonl(&a), encode_jsonl(&b));
    assert_ne!(encode_jsonl(&a), encode_jsonl(&rewind_domain::generate_log(43, 20_000).unwrap().0));
    assert_eq!(a.replay().unwrap(), state);
    let orders = a.events().iter().filter(|e| e.type_name() == "OrderPlaced").count();
    assert!(orders > 20_000 / 3, "a shop log is mostly orders: {orders}");
    assert!(state.users().count() > 900 && state.items().count() > 250);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The entity series, its downsampling and the read models equal a naive replay at every k.
    #[test]
    fn projections_equal_a_naive_replay(commands in prop::collection::vec(command(), 1..150), buckets in 1usize..40) {
        use rewind_domain::{Entity, EntitySeries, ReadModels, Series};
        let (log, _) = run(&commands);
        let mut series = Series::default();
        series.catch_up(&log);
        let mut naive = ReadModels::default();
        let mut states = vec![State::new()];
        let mut state = State::new();
        for (k, e) in log.events().iter().enumerate() {
            prop_assert_eq!(series.at(&log, k as u64), naive.clone());
            naive.fold(e);
            state.apply(log.names(), e).unwrap();
            states.push(state.clone());
        }
        prop_assert_eq!(series.at(&log, log.len()), naive);
        for ix in 0..log.names().user_count() {
            let user = rewind_domain::UserId(ix as u32);
            let s = EntitySeries::build(&log, Entity::User(user));
            for (k, st) in states.iter().enumerate() {
                prop_assert_eq!(s.at(k as u64).map(|v| v.0), st.balance(user).map(|m| m.0));
            }
            for b in s.downsample(buckets) {
                let values: Vec<u64> = (b.from_seq..=b.to_seq).filter_map(|k| s.at(k).map(|v| v.0)).collect();
                prop_assert_eq!(Some(b.min), values.iter().copied().min());
                prop_assert_eq!(Some(b.max), values.iter().copied().max());
            }
        }
        for ix in 0..log.names().item_count() {
            let item = rewind_domain::ItemId(ix as u32);
            let s = EntitySeries::build(&log, Entity::Item(item));
            for (k, st) in states.iter().enumerate() {
                prop_assert_eq!(s.at(k as u64), st.stock(item).map(|q| q.0).zip(st.price(item).map(|p| p.0)));
            }
        }
    }
}
