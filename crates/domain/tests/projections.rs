//! Read models, what one event changed, and one entity's series: each checked against a naive replay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use rewind_domain::{
    changes_at, generate_log, Change, ChangeField, Command, Entity, EntityKind, EntitySeries, Log,
    LogOutline, ReadModels, Series, State,
};

fn shop(commands: &[Command]) -> Log {
    let (mut log, mut live) = (Log::new(), State::new());
    for c in commands {
        let e = log.decide(&live, c).unwrap();
        log.push(&mut live, 0, e).unwrap();
    }
    log
}

fn changes_of(log: &Log, k: u64) -> Vec<Change> {
    let before = log.replay_prefix(k - 1).unwrap();
    changes_at(&before, log.names(), &log.get(k).unwrap().event)
}

fn change(kind: EntityKind, id: &str, field: ChangeField, before: Option<u64>, after: u64) -> Change {
    Change { kind, id: id.into(), field, before, after }
}

macro_rules! case {
    ($name:ident $body:block) => {
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
}

case!(what_each_kind_of_event_changed {
    let log = shop(&[
        Command::AddItem { item: "apple".into(), price: 30, qty: 10 },
        Command::TopUp { user: "alice".into(), amount: 500 },
        Command::Order { user: "alice".into(), item: "apple".into(), qty: 2 },
        Command::AddItem { item: "apple".into(), price: 30, qty: 5 },
        Command::AddItem { item: "apple".into(), price: 35, qty: 1 },
        Command::TopUp { user: "alice".into(), amount: 60 },
    ]);
    use ChangeField::*;
    use EntityKind::*;
    // An event that creates an entity has no "before".
    assert_eq!(changes_of(&log, 1), vec![change(Item, "apple", Price, None, 30), change(Item, "apple", Stock, None, 10)]);
    assert_eq!(changes_of(&log, 2), vec![change(User, "alice", Balance, None, 500)]);
    assert_eq!(
        changes_of(&log, 3),
        vec![change(User, "alice", Balance, Some(500), 440), change(Item, "apple", Stock, Some(10), 8)]
    );
    // A restock at the same price changes only the stock.
    assert_eq!(changes_of(&log, 4), vec![change(Item, "apple", Stock, Some(8), 13)]);
    assert_eq!(
        changes_of(&log, 5),
        vec![change(Item, "apple", Price, Some(30), 35), change(Item, "apple", Stock, Some(13), 14)]
    );
    assert_eq!(changes_of(&log, 6), vec![change(User, "alice", Balance, Some(440), 500)]);
});

fn naive_models(log: &Log, k: u64) -> ReadModels {
    let mut m = ReadModels::default();
    for e in log.events().iter().take(k as usize) {
        m.fold(e);
    }
    m
}

case!(read_models_moved_along_the_timeline_equal_a_naive_fold {
    let (log, _) = generate_log(5, 12_000).unwrap();
    let mut series = Series::default();
    series.catch_up(&log);
    // Drags forward (folded on from where they are), jumps back and far (from a checkpoint), and the ends.
    let (mut models, mut at) = (ReadModels::default(), None);
    for k in [5_000, 5_001, 5_300, 8_191, 8_192, 4_097, 9_000, 100, 12_000, 11_999, 0, 4_096, 30_000] {
        series.move_to(&log, at, k, &mut models);
        assert_eq!(models, naive_models(&log, k.min(12_000)), "k = {k}");
        at = Some(k.min(12_000));
    }
});

case!(read_models_at_any_k_equal_a_naive_fold {
    let (log, _) = generate_log(5, 12_000).unwrap();
    let mut series = Series::default();
    series.catch_up(&log);
    for k in [0, 1, 2, 4095, 4096, 4097, 8191, 8192, 9000, 12_000, 20_000] {
        assert_eq!(series.at(&log, k), naive_models(&log, k.min(12_000)), "k = {k}");
    }
    let all = series.at(&log, 12_000);
    let orders = log.events().iter().filter(|e| e.type_name() == "OrderPlaced").count() as u64;
    assert_eq!(all.orders, orders);
    assert_eq!(all.per_user.iter().map(|(o, _)| o).sum::<u64>(), orders);
    assert_eq!(all.per_user.iter().map(|(_, s)| s).sum::<u128>(), all.revenue);
    let top = all.top_spenders(3);
    assert!(top.len() == 3 && top[0].2 >= top[1].2 && top[1].2 >= top[2].2);
});

case!(density_counts_every_event_once {
    let (log, _) = generate_log(6, 5_000).unwrap();
    let mut outline = LogOutline::default();
    outline.catch_up(&log);
    let d = outline.density(&log, 100);
    assert_eq!(d.len(), 100);
    let total: u32 = d.iter().map(|b| b[0] + b[1] + b[2]).sum();
    assert_eq!(total, 5_000);
    assert_eq!(LogOutline::default().density(&Log::new(), 100).iter().map(|b| b[0] + b[1] + b[2]).sum::<u32>(), 0);
});

case!(an_entity_series_follows_the_replayed_state_at_every_k {
    let (log, _) = generate_log(9, 3_000).unwrap();
    let user = log.names().user("alice").unwrap();
    let item = log.names().item("apple").unwrap();
    let users = EntitySeries::build(&log, Entity::User(user));
    let items = EntitySeries::build(&log, Entity::Item(item));
    let mut state = State::new();
    for k in 0..=log.len() {
        if k > 0 {
            state.apply(log.names(), &log.get(k).unwrap().event).unwrap();
        }
        assert_eq!(users.at(k).map(|v| v.0), state.balance(user).map(|m| m.0), "k = {k}");
        assert_eq!(items.at(k), state.stock(item).map(|s| s.0).zip(state.price(item).map(|p| p.0)), "k = {k}");
    }
});

case!(the_log_filter_keeps_the_events_of_a_type_or_an_entity {
    use rewind_domain::LogFilter;
    let log = shop(&[
        Command::AddItem { item: "apple".into(), price: 30, qty: 10 },
        Command::TopUp { user: "alice".into(), amount: 500 },
        Command::TopUp { user: "bob".into(), amount: 500 },
        Command::Order { user: "alice".into(), item: "apple".into(), qty: 2 },
        Command::AddItem { item: "pear".into(), price: 5, qty: 1 },
    ]);
    let names = log.names();
    let by = |kind: Option<&str>, user: Option<&str>, item: Option<&str>| LogFilter {
        kind: kind.map(String::from),
        user: user.and_then(|u| names.user(u)),
        item: item.and_then(|i| names.item(i)),
        unknown_id: false,
    };
    assert_eq!(by(None, None, None).apply(&log), vec![1, 2, 3, 4, 5]);
    assert_eq!(by(Some("ToppedUp"), None, None).apply(&log), vec![2, 3]);
    assert_eq!(by(None, Some("alice"), None).apply(&log), vec![2, 4]);
    assert_eq!(by(None, None, Some("apple")).apply(&log), vec![1, 4]);
    assert_eq!(by(Some("OrderPlaced"), None, Some("apple")).apply(&log), vec![4]);
    assert_eq!(LogFilter { unknown_id: true, ..LogFilter::default() }.apply(&log), Vec::<u64>::new());
    let revenue = LogOutline::default().revenue_over_time(&log, 5);
    assert_eq!(revenue, vec![0, 0, 0, 60, 60]);
});
