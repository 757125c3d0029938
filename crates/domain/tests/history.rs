//! History tools (diff, blame, what-if branches), each checked against naive replays of the log: a diff
//! against two replayed listings compared by name, blame against what each event changed when replayed, a
//! branch against the replay of its own log. Random logs come from the random command sequences of
//! `properties.rs` (`tests/common`), resolved against the shop as it runs so that commands meet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use rewind_domain::{
    changes_at, decode_frames, diff, diff_across, diff_count, encode_chunk, encode_frames, encode_jsonl, BlameIndex, BlameLine,
    Branch, ChangeField, Command, Entity, EntityKind, EntitySeries, Event, ImportCheck, ItemId, Listing, Log, LogError,
    Names, Rejection, State, Timeline, UserId,
};
use std::collections::BTreeMap;

mod common;
use common::*;

/// The log the steps make: each command decided on the shop as it is, the refused ones left out.
fn shop_of(steps: &[Step]) -> (Log, State) {
    let run = run(steps);
    (run.log, run.state)
}

fn shop(commands: &[Command]) -> (Log, State) {
    let (mut log, mut live) = (Log::new(), State::new());
    for c in commands {
        let e = log.decide(&live, c).unwrap();
        log.push(&mut live, 0, e).unwrap();
    }
    (log, live)
}

// ---------------------------------------------------------------------------------------------------------
// What the naive replays say.

/// A value by name: ("user" or "item", id, field, before, after).
type Named = (&'static str, String, &'static str, Option<u64>, u64);

fn named(names: &Names, entity: Entity, field: ChangeField, before: Option<u64>, after: u64) -> Named {
    match entity {
        Entity::User(u) => ("user", names.user_name(u).to_owned(), field.as_str(), before, after),
        Entity::Item(i) => ("item", names.item_name(i).to_owned(), field.as_str(), before, after),
    }
}

/// Every value that differs between two listings, compared by name: users, then items with price before
/// stock, in id order.
fn listing_diff(then: &Listing, now: &Listing) -> Vec<Named> {
    let mut out = Vec::new();
    for (user, balance) in &now.users {
        let before = then.users.iter().find(|(u, _)| u == user).map(|(_, b)| *b);
        if before != Some(*balance) {
            out.push(("user", user.clone(), "balance", before, *balance));
        }
    }
    for (item, price, stock) in &now.items {
        let before = then.items.iter().find(|(i, _, _)| i == item);
        for (field, b, a) in [("price", before.map(|x| x.1), *price), ("stock", before.map(|x| x.2), *stock)] {
            if b != Some(a) {
                out.push(("item", item.clone(), field, b, a));
            }
        }
    }
    out
}

fn all_entities(names: &Names) -> Vec<Entity> {
    let users = (0..names.user_count() as u32).map(|u| Entity::User(UserId(u)));
    users.chain((0..names.item_count() as u32).map(|i| Entity::Item(ItemId(i)))).collect()
}

/// Blame the slow way: every event up to `upto`, newest first, replayed from the start to see what it changed,
/// keeping the changes of `entity`.
fn naive_blame(log: &Log, entity: Entity, upto: u64) -> Vec<BlameLine> {
    let (kind, id) = match entity {
        Entity::User(u) => (EntityKind::User, log.names().user_name(u)),
        Entity::Item(i) => (EntityKind::Item, log.names().item_name(i)),
    };
    let field = |f: &str| match f {
        "balance" => ChangeField::Balance,
        "price" => ChangeField::Price,
        _ => ChangeField::Stock,
    };
    let mut lines = Vec::new();
    for seq in (1..=upto.min(log.len())).rev() {
        let before = log.replay_prefix(seq - 1).unwrap();
        for c in changes_at(&before, log.names(), &log.get(seq).unwrap().event) {
            if c.kind == kind && c.id == id {
                lines.push(BlameLine { seq, field: field(c.field.as_str()), before: c.before, after: c.after });
            }
        }
    }
    lines
}

fn seqs_naming(log: &Log, entity: Entity) -> Vec<u32> {
    let concerns = |e: &Event| match (e.entities(), entity) {
        ((Some(u), _), Entity::User(user)) => u == user,
        ((_, Some(i)), Entity::Item(item)) => i == item,
        _ => false,
    };
    (1..).zip(log.events()).filter(|(_, e)| concerns(e)).map(|(s, _)| s).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The diff of k1 and k2 lists exactly the values that differ between two naive replays, compared by name,
    /// entities created in between with no before; its count agrees, and a state has no difference with itself.
    #[test]
    fn a_diff_lists_what_differs_between_two_naive_replays(steps in steps(0..150), a in any::<Index>(), b in any::<Index>()) {
        let (log, _) = shop_of(&steps);
        let names = log.names();
        let (k1, k2) = {
            let (a, b) = (a.index(log.len() as usize + 1) as u64, b.index(log.len() as usize + 1) as u64);
            (a.min(b), a.max(b))
        };
        let (then, now) = (log.replay_prefix(k1).unwrap(), log.replay_prefix(k2).unwrap());
        let want = listing_diff(&then.listing(names), &now.listing(names));
        let (users, items) = (names.users_in_id_order(), names.items_in_id_order());
        let got: Vec<Named> = diff(&then, &now, &users, &items).into_iter().map(|d| named(names, d.entity, d.field, d.before, d.after)).collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(diff_count(&then, &now), want.len() as u64);
        // The timeline's states (checkpoint + short replay) give the same diff.
        let timeline = {
            let mut t = Timeline::new(7);
            t.catch_up(&log).unwrap();
            t
        };
        let (mut at1, mut at2) = (State::new(), State::new());
        timeline.state_at(&log, k1, &mut at1).unwrap();
        timeline.state_at(&log, k2, &mut at2).unwrap();
        prop_assert_eq!(diff(&at1, &at2, &users, &items), diff(&then, &now, &users, &items));
        // Across logs, by name: the same values when both sides share one log's names.
        let across: Vec<Named> = diff_across((names, &then), (names, &now)).into_iter().map(|c| (c.kind.as_str(), c.id, c.field.as_str(), c.before, c.after)).collect();
        prop_assert_eq!(&across, &want);
        prop_assert!(diff(&now, &now, &users, &items).is_empty());
        prop_assert_eq!(diff_count(&now, &now), 0);
    }

    /// Blame lists exactly the events up to `upto` that changed the entity, newest first, with the values a
    /// naive replay gives before and after each; for every user and item. The index built in pieces equals
    /// the seqs of the events that name the entity, also after a truncation, and the chart from the index
    /// equals the one from the whole log.
    #[test]
    fn blame_lists_what_each_event_changed_newest_first(
        steps in steps(0..120),
        upto in any::<Index>(),
        cuts in prop::collection::vec(any::<Index>(), 0..4),
        cut_back in any::<Index>(),
    ) {
        let (log, _) = shop_of(&steps);
        let len = log.len() as usize;
        let mut index = BlameIndex::default();
        let mut cuts: Vec<u64> = cuts.iter().map(|c| c.index(len + 1) as u64).collect();
        cuts.sort_unstable();
        for k in cuts {
            index.catch_up(&log.prefix(k));
            prop_assert_eq!(index.indexed(), k);
        }
        index.catch_up(&log);
        prop_assert_eq!(index.indexed(), log.len());
        let upto = upto.index(len + 2) as u64;
        for entity in all_entities(log.names()) {
            prop_assert_eq!(index.events_of(entity).to_vec(), seqs_naming(&log, entity), "{:?}", entity);
            prop_assert_eq!(index.blame(&log, entity, upto), naive_blame(&log, entity, upto), "{:?} up to {}", entity, upto);
            prop_assert_eq!(EntitySeries::from_index(&log, &index, entity), EntitySeries::build(&log, entity));
        }
        let k = cut_back.index(len + 1) as u64;
        index.truncate(k);
        let prefix = log.prefix(k);
        for entity in all_entities(log.names()) {
            prop_assert_eq!(index.events_of(entity).to_vec(), seqs_naming(&prefix, entity));
        }
        index.catch_up(&log);
        for entity in all_entities(log.names()) {
            prop_assert_eq!(index.events_of(entity).to_vec(), seqs_naming(&log, entity));
        }
    }

    /// A branch's state is the replay of its log (the real log's first `base` events, then its own), its log is
    /// a valid log on its own, commands on it are decided exactly as on that log, and the real log is
    /// unchanged. Restoring it from `own()`, directly or by name through saved frames after the real log
    /// learned other names, gives the same branch.
    #[test]
    fn a_branch_is_the_replay_of_its_own_log_and_leaves_the_real_log_alone(
        main_steps in steps(0..100),
        at in any::<Index>(),
        branch_steps in steps(0..60),
    ) {
        let (main, main_live) = shop_of(&main_steps);
        let exported = encode_jsonl(&main);
        let known = (main.names().user_count(), main.names().item_count());
        let base = at.index(main.len() as usize + 1) as u64;
        let mut timeline = Timeline::new(16);
        timeline.catch_up(&main).unwrap();
        let mut at_base = State::new();
        timeline.state_at(&main, base, &mut at_base).unwrap();
        let mut branch = Branch::start("what-if".into(), &main, base, at_base).unwrap();
        // The same commands on a plain copy of the log up to base, decided and pushed as the real log does.
        let (mut copy, mut copy_live) = (main.prefix(base), main.replay_prefix(base).unwrap());
        for (i, step) in branch_steps.iter().enumerate() {
            let command = step.command(&RefShop::of(branch.log()));
            let ts = 5_000 + i as u64;
            let before = branch.live().clone();
            let expected = copy.decide(&copy_live, &command).and_then(|e| copy.push(&mut copy_live, ts, e).map(|()| e));
            let submitted = branch.submit(&command, ts);
            prop_assert_eq!(&submitted, &expected, "{:?}", command);
            if submitted.is_err() {
                prop_assert_eq!(branch.live(), &before);
            }
        }
        prop_assert_eq!(&branch.log().replay().unwrap(), branch.live());
        prop_assert_eq!(branch.live().seq(), branch.log().len());
        prop_assert_eq!(encode_jsonl(branch.log()), encode_jsonl(&copy));
        prop_assert_eq!(&branch.log().events()[..base as usize], &main.events()[..base as usize]);
        let (own, own_ts) = branch.own();
        prop_assert_eq!(own.len() as u64, branch.log().len() - base);
        prop_assert_eq!(own_ts.len(), own.len());
        if !branch.log().is_empty() {
            let (imported, imported_live) = ImportCheck::new(encode_jsonl(branch.log()).into_bytes()).finish().unwrap();
            prop_assert_eq!(imported_live.listing(imported.names()), branch.live().listing(branch.log().names()));
        }
        // Comparing the branch with the real log goes by name: the latest states' listings, compared.
        let compare: Vec<Named> = diff_across((main.names(), &main_live), (branch.log().names(), branch.live()))
            .into_iter()
            .map(|c| (c.kind.as_str(), c.id, c.field.as_str(), c.before, c.after))
            .collect();
        prop_assert_eq!(compare, listing_diff(&main_live.listing(main.names()), &branch.live().listing(branch.log().names())));
        prop_assert_eq!(encode_jsonl(&main), exported);
        prop_assert_eq!((main.names().user_count(), main.names().item_count()), known);

        let same = |restored: &Branch| {
            prop_assert_eq!(restored.base, base);
            prop_assert_eq!(encode_jsonl(restored.log()), encode_jsonl(branch.log()));
            prop_assert_eq!(restored.live().listing(restored.log().names()), branch.live().listing(branch.log().names()));
            prop_assert_eq!(&restored.log().replay().unwrap(), restored.live());
            Ok(())
        };
        let restored = Branch::restore("what-if".into(), &main, base, branch.log().names(), own, own_ts).unwrap();
        same(&restored)?;
        // Saved by name; meanwhile the real log learned names of its own, under the ids the branch gave its own.
        let frames = encode_frames(branch.log().names(), base + 1, own, own_ts);
        let mut later = main.clone();
        for n in ["zed", "yan", "xu"] {
            later.names_mut().intern_user(n);
            later.names_mut().intern_item(n);
        }
        let reloaded = Branch::restore_from_chunks("what-if".into(), &later, base, &decode_frames(&frames).unwrap()).unwrap();
        same(&reloaded)?;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Given / when / then.

fn topup(user: &str, amount: u64) -> Command {
    Command::TopUp { user: user.into(), amount }
}

fn add(item: &str, price: u64, qty: u64) -> Command {
    Command::AddItem { item: item.into(), price, qty }
}

fn order(user: &str, item: &str, qty: u64) -> Command {
    Command::Order { user: user.into(), item: item.into(), qty }
}

fn line(seq: u64, field: ChangeField, before: Option<u64>, after: u64) -> BlameLine {
    BlameLine { seq, field, before, after }
}

fn user_of(log: &Log, name: &str) -> Entity {
    Entity::User(log.names().user(name).unwrap())
}

fn item_of(log: &Log, name: &str) -> Entity {
    Entity::Item(log.names().item(name).unwrap())
}

#[test]
fn a_refund_shows_up_in_the_blame_of_the_user_and_of_the_item() {
    // Given alice bought two apples, and bob topped up in between
    let (log, _) = shop(&[add("apple", 30, 10), topup("alice", 500), order("alice", "apple", 2), topup("bob", 5), Command::Refund { order: 3 }]);
    // When the order is refunded, then both blames show it on top
    let index = BlameIndex::build(&log);
    use ChangeField::*;
    assert_eq!(
        index.blame(&log, user_of(&log, "alice"), 5),
        vec![line(5, Balance, Some(440), 500), line(3, Balance, Some(500), 440), line(2, Balance, None, 500)]
    );
    assert_eq!(
        index.blame(&log, item_of(&log, "apple"), 5),
        vec![line(5, Stock, Some(8), 10), line(3, Stock, Some(10), 8), line(1, Price, None, 30), line(1, Stock, None, 10)]
    );
    assert_eq!(index.events_of(user_of(&log, "alice")), [2, 3, 5]);
}

#[test]
fn a_restock_at_a_new_price_gives_two_blame_lines_price_first() {
    // Given an apple at 30, restocked at the same price, then at a new one, then repriced
    let (log, _) = shop(&[add("apple", 30, 10), add("apple", 30, 5), add("apple", 35, 1), Command::SetPrice { item: "apple".into(), price: 40 }]);
    let index = BlameIndex::build(&log);
    use ChangeField::*;
    // Then the new price and the restock are two lines of event 3, price first; the same-price restock is one
    assert_eq!(
        index.blame(&log, item_of(&log, "apple"), 4),
        vec![
            line(4, Price, Some(35), 40),
            line(3, Price, Some(30), 35),
            line(3, Stock, Some(15), 16),
            line(2, Stock, Some(10), 15),
            line(1, Price, None, 30),
            line(1, Stock, None, 10),
        ]
    );
}

#[test]
fn blame_at_an_earlier_point_leaves_the_later_events_out() {
    let (log, _) = shop(&[topup("alice", 100), topup("bob", 1), topup("alice", 20), topup("alice", 3)]);
    let index = BlameIndex::build(&log);
    let alice = user_of(&log, "alice");
    assert_eq!(index.blame(&log, alice, 3), vec![line(3, ChangeField::Balance, Some(100), 120), line(1, ChangeField::Balance, None, 100)]);
    assert_eq!(index.blame(&log, alice, 0), vec![]);
    // A user the index has never seen has no blame, and no events.
    assert_eq!(index.blame(&log, Entity::User(UserId(99)), 4), vec![]);
    assert!(index.events_of(Entity::Item(ItemId(0))).is_empty());
}

#[test]
fn an_entity_created_between_the_two_points_differs_with_no_before() {
    let (log, _) = shop(&[topup("bob", 10), add("pear", 7, 3), topup("alice", 5), order("bob", "pear", 1)]);
    let (then, now) = (log.replay_prefix(1).unwrap(), log.replay_prefix(4).unwrap());
    let names = log.names();
    let got = diff(&then, &now, &names.users_in_id_order(), &names.items_in_id_order());
    let got: Vec<Named> = got.into_iter().map(|d| named(names, d.entity, d.field, d.before, d.after)).collect();
    let n = |kind, id: &str, field, before, after| (kind, id.to_owned(), field, before, after);
    // Users in id order (alice before bob), then the item's price before its stock
    assert_eq!(
        got,
        vec![
            n("user", "alice", "balance", None, 5),
            n("user", "bob", "balance", Some(10), 3),
            n("item", "pear", "price", None, 7),
            n("item", "pear", "stock", None, 2),
        ]
    );
    assert_eq!(diff_count(&then, &now), 4);
}

#[test]
fn a_value_that_came_back_to_where_it_was_is_no_difference() {
    let (log, _) = shop(&[topup("alice", 50), add("fig", 9, 4), topup("alice", 10), Command::Withdraw { user: "alice".into(), amount: 10 }]);
    let (then, now) = (log.replay_prefix(2).unwrap(), log.replay_prefix(4).unwrap());
    let names = log.names();
    assert_eq!(diff(&then, &now, &names.users_in_id_order(), &names.items_in_id_order()), vec![]);
    assert_eq!(diff_count(&then, &now), 0);
}

#[test]
fn a_branch_can_refund_an_order_the_real_log_refunded_only_after_its_base() {
    // Given an order (3), refunded in the real log at 4
    let (main, _) = shop(&[add("apple", 30, 10), topup("alice", 500), order("alice", "apple", 2), Command::Refund { order: 3 }]);
    // When a branch starts at 3, then on it the order is still open; at 4 it is not
    let mut at_3 = Branch::start("before".into(), &main, 3, main.replay_prefix(3).unwrap()).unwrap();
    assert!(matches!(at_3.submit(&Command::Refund { order: 3 }, 9), Ok(Event::Refunded { order: 3, .. })));
    let mut at_4 = Branch::start("after".into(), &main, 4, main.replay_prefix(4).unwrap()).unwrap();
    assert_eq!(at_4.submit(&Command::Refund { order: 3 }, 9), Err(Rejection::AlreadyRefunded { order: 3, refund: 4 }));
    assert_eq!((at_3.log().len(), at_4.log().len(), main.len()), (4, 4, 4));
}

#[test]
fn a_branch_cannot_start_past_the_end_of_the_log_or_from_the_state_of_another_point() {
    let (main, live) = shop(&[topup("alice", 5), topup("bob", 6)]);
    assert_eq!(Branch::start("x".into(), &main, 3, live.clone()).unwrap_err(), LogError::Gap { expected: 3, found: 2 });
    assert_eq!(Branch::start("x".into(), &main, 1, live).unwrap_err(), LogError::Gap { expected: 1, found: 2 });
    let empty = Branch::start("x".into(), &main, 0, State::new()).unwrap();
    assert_eq!((empty.log().len(), empty.own().0.len()), (0, 0));
}

#[test]
fn new_names_on_a_branch_and_on_the_real_log_stay_apart() {
    let (mut main, mut live) = shop(&[topup("alice", 5)]);
    let mut branch = Branch::start("x".into(), &main, 1, live.clone()).unwrap();
    // The real log learns a name after the branch started, the branch another one
    let yan = main.decide(&live, &topup("yan", 3)).unwrap();
    main.push(&mut live, 9, yan).unwrap();
    branch.submit(&topup("zed", 7), 10).unwrap();
    assert_eq!((main.names().user("zed"), branch.log().names().user("yan")), (None, None));
    assert_eq!(live.listing(main.names()).users, vec![("alice".into(), 5), ("yan".into(), 3)]);
    assert_eq!(branch.live().listing(branch.log().names()).users, vec![("alice".into(), 5), ("zed".into(), 7)]);
    assert_eq!(branch.own().1, [10]);
    // Then comparing the branch with the real log goes by name, though yan and zed have the same id
    let compare = diff_across((main.names(), &live), (branch.log().names(), branch.live()));
    let compare: Vec<_> = compare.iter().map(|c| (c.id.as_str(), c.before, c.after)).collect();
    assert_eq!(compare, vec![("zed", None, 7)]);
}

#[test]
fn a_branch_takes_compensating_events_to_restore_a_point_of_its_own() {
    let (main, live) = shop(&[topup("alice", 5), add("fig", 9, 4)]);
    let mut branch = Branch::start("x".into(), &main, 2, live.clone()).unwrap();
    // Given a refused order (alice has 5, a fig costs 9), a top-up and an order on the branch
    branch.submit(&order("alice", "fig", 1), 10).unwrap_err();
    branch.submit(&topup("alice", 20), 11).unwrap();
    branch.submit(&order("alice", "fig", 2), 12).unwrap();
    // When the branch goes back to its base by compensation, then it holds the base's values again
    for event in rewind_domain::compensate(branch.live(), &live) {
        branch.push(13, event).unwrap();
    }
    assert_eq!(branch.live().listing(branch.log().names()).users, live.listing(main.names()).users);
    assert_eq!(branch.live().listing(branch.log().names()).items, live.listing(main.names()).items);
    assert_eq!(&branch.log().replay().unwrap(), branch.live());
    // An event that breaks a rule is refused and changes nothing
    let fig = main.names().item("fig").unwrap();
    let before = branch.live().clone();
    assert!(branch.push(14, Event::WrittenOff { item: fig, qty: rewind_domain::Qty(99) }).is_err());
    assert_eq!(branch.live(), &before);
}

#[test]
fn a_saved_branch_with_an_event_that_breaks_a_rule_is_refused_naming_the_event() {
    let (main, live) = shop(&[topup("alice", 5)]);
    let branch = Branch::start("x".into(), &main, 1, live).unwrap();
    let alice = main.names().user("alice").unwrap();
    let names = branch.log().names();
    let withdraw = |amount| Event::Withdrawn { user: alice, amount: rewind_domain::Money(amount) };
    let too_much = Branch::restore("x".into(), &main, 1, names, &[withdraw(2), withdraw(4)], &[1, 2]).unwrap_err();
    assert_eq!(too_much.to_string(), "event 3 breaks a rule: alice has 3, so 4 cannot be withdrawn");
    let cut = Branch::restore("x".into(), &main, 1, names, &[withdraw(2), withdraw(1)], &[1]).unwrap_err();
    assert!(matches!(cut, LogError::Damaged { first_seq: 3, .. }), "{cut:?}");
    let unknown = Event::ToppedUp { user: UserId(7), amount: rewind_domain::Money(1) };
    let stray = Branch::restore("x".into(), &main, 1, names, &[unknown], &[1]).unwrap_err();
    assert!(matches!(stray, LogError::Broken { seq: 2, rejection: Rejection::UnknownUser { .. } }), "{stray:?}");
    assert!(matches!(Branch::restore("x".into(), &main, 2, names, &[], &[]), Err(LogError::Gap { .. })));
}

#[test]
fn a_branch_saved_as_chunks_out_of_place_or_damaged_is_refused() {
    let (main, live) = shop(&[topup("alice", 5)]);
    let mut branch = Branch::start("x".into(), &main, 1, live).unwrap();
    for amount in [1, 2, 3] {
        branch.submit(&topup("zed", amount), amount).unwrap();
    }
    let (own, ts) = branch.own();
    let (first, rest) = (encode_chunk(branch.log().names(), 2, &own[..1], &ts[..1]), encode_chunk(branch.log().names(), 3, &own[1..], &ts[1..]));
    let back = Branch::restore_from_chunks("x".into(), &main, 1, &[&first, &rest]).unwrap();
    assert_eq!(encode_jsonl(back.log()), encode_jsonl(branch.log()));
    // Given the second chunk without the first, then events 2 are missing
    assert_eq!(Branch::restore_from_chunks("x".into(), &main, 1, &[&rest]).unwrap_err(), LogError::Gap { expected: 2, found: 3 });
    let mut damaged = rest.clone();
    damaged[6] ^= 0x40;
    assert!(matches!(Branch::restore_from_chunks("x".into(), &main, 1, &[&first, &damaged]), Err(LogError::Damaged { first_seq: 3, .. })));
}

#[test]
fn the_chart_from_the_index_equals_the_chart_from_the_whole_log() {
    let (log, _) = rewind_domain::generate_log(11, 20_000).unwrap();
    let mut index = BlameIndex::default();
    index.catch_up(&log.prefix(7_000));
    index.catch_up(&log);
    for entity in [user_of(&log, "alice"), user_of(&log, "zoe"), item_of(&log, "apple")] {
        assert_eq!(EntitySeries::from_index(&log, &index, entity), EntitySeries::build(&log, entity));
    }
    // A replaced log that is shorter: the index forgets what lies past its end.
    index.catch_up(&log.prefix(100));
    assert_eq!(index.indexed(), 100);
    assert!(index.events_of(user_of(&log, "alice")).iter().all(|s| *s <= 100));
}

#[test]
fn a_prefix_of_the_log_is_the_log_as_it_was_then() {
    let (log, _) = shop(&[add("apple", 30, 10), topup("alice", 500), order("alice", "apple", 2), Command::Refund { order: 3 }]);
    let mut before_refund = log.prefix(3);
    assert_eq!((before_refund.len(), before_refund.names().user_count()), (3, 1));
    let live = before_refund.replay().unwrap();
    assert!(before_refund.decide(&live, &Command::Refund { order: 3 }).is_ok());
    assert_eq!(log.prefix(99).len(), 4);
    let mut whole = log.prefix(4);
    let live = whole.replay().unwrap();
    assert_eq!(whole.decide(&live, &Command::Refund { order: 3 }), Err(Rejection::AlreadyRefunded { order: 3, refund: 4 }));
}

#[test]
fn the_random_logs_use_every_kind_of_event() {
    // The generator above is worth its properties only if it reaches every event type.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = BTreeMap::new();
    for _ in 0..50 {
        let steps = steps(50..120).new_tree(&mut runner).unwrap().current();
        for e in shop_of(&steps).0.events() {
            *seen.entry(e.type_name()).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
}

