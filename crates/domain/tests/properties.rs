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

/// An event by name, as the reference model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RefEvent {
    ToppedUp { user: String, amount: u64 },
    ItemAdded { item: String, price: u64, qty: u64 },
    OrderPlaced { user: String, item: String, qty: u64, price: u64, total: u64 },
    Refunded { order: u64, user: String, item: String, qty: u64, total: u64 },
    Withdrawn { user: String, amount: u64 },
    WrittenOff { item: String, qty: u64 },
    PriceSet { item: String, price: u64 },
}

/// An order the reference remembers, by its seq: what a refund must give back, and whether one did.
#[derive(Clone, Debug)]
struct RefOrder {
    user: String,
    item: String,
    qty: u64,
    total: u64,
    refunded: bool,
}

/// The reference shop: CONTRACT §1 and §4 spelled out over ordered maps, with u128 arithmetic so nothing can
/// wrap. It shares no code with the domain's fold (no interning, no dense arrays, no capped helpers, no
/// order index of the log's).
#[derive(Clone, Debug, Default)]
struct RefShop {
    events: u64,
    /// user → balance
    balances: BTreeMap<String, u64>,
    /// item → (unit price, stock)
    items: BTreeMap<String, (u64, u64)>,
    /// seq of every order placed → its details and whether it was refunded
    orders: BTreeMap<u64, RefOrder>,
}

/// Ids are 1–32 characters from `A–Z a–z 0–9 _ -`.
fn ref_valid_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=32).contains(&n) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl RefShop {
    fn balance(&self, user: &str) -> u64 {
        self.balances.get(user).copied().unwrap_or(0)
    }

    fn price(&self, item: &str) -> u64 {
        self.items.get(item).map_or(0, |(price, _)| *price)
    }

    fn stock(&self, item: &str) -> u64 {
        self.items.get(item).map_or(0, |(_, stock)| *stock)
    }

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
                RefEvent::OrderPlaced { user: user.clone(), item: item.clone(), qty: *qty, price, total: total as u64 }
            }
            Command::Refund { order } => {
                let o = self.orders.get(order)?;
                RefEvent::Refunded {
                    order: *order,
                    user: o.user.clone(),
                    item: o.item.clone(),
                    qty: o.qty,
                    total: o.total,
                }
            }
            Command::Withdraw { user, amount } => RefEvent::Withdrawn { user: user.clone(), amount: *amount },
            Command::WriteOff { item, qty } => RefEvent::WrittenOff { item: item.clone(), qty: *qty },
            Command::SetPrice { item, price } => RefEvent::PriceSet { item: item.clone(), price: *price },
        };
        self.apply(&event).then_some(event)
    }

    /// Applies `event` if it keeps every rule; returns whether it did. A refused event changes nothing.
    fn apply(&mut self, event: &RefEvent) -> bool {
        let max = u128::from(MAX);
        let seq = self.events + 1;
        match event {
            RefEvent::ToppedUp { user, amount } => {
                let after = u128::from(self.balance(user)) + u128::from(*amount);
                if !ref_valid_id(user) || *amount < 1 || after > max {
                    return false;
                }
                self.balances.insert(user.clone(), after as u64);
            }
            RefEvent::ItemAdded { item, price, qty } => {
                let after = u128::from(self.stock(item)) + u128::from(*qty);
                if !ref_valid_id(item) || *price < 1 || *price > MAX || *qty < 1 || after > max {
                    return false;
                }
                self.items.insert(item.clone(), (*price, after as u64));
            }
            RefEvent::OrderPlaced { user, item, qty, price: recorded, total } => {
                if !ref_valid_id(user) || !ref_valid_id(item) || *qty < 1 {
                    return false;
                }
                let (Some(&balance), Some(&(price, stock))) = (self.balances.get(user), self.items.get(item)) else {
                    return false;
                };
                let cost = u128::from(price) * u128::from(*qty);
                if stock < *qty
                    || *recorded != price
                    || cost > max
                    || cost != u128::from(*total)
                    || u128::from(balance) < cost
                {
                    return false;
                }
                self.balances.insert(user.clone(), balance - *total);
                self.items.insert(item.clone(), (price, stock - *qty));
                let order = RefOrder { user: user.clone(), item: item.clone(), qty: *qty, total: *total, refunded: false };
                self.orders.insert(seq, order);
            }
            RefEvent::Refunded { order, user, item, qty, total } => {
                let Some(o) = self.orders.get(order) else { return false };
                if o.refunded || (&o.user, &o.item, o.qty, o.total) != (user, item, *qty, *total) {
                    return false;
                }
                let (Some(&balance), Some(&(price, stock))) = (self.balances.get(user), self.items.get(item)) else {
                    return false;
                };
                let (balance, stock) = (u128::from(balance) + u128::from(*total), u128::from(stock) + u128::from(*qty));
                if balance > max || stock > max {
                    return false;
                }
                self.balances.insert(user.clone(), balance as u64);
                self.items.insert(item.clone(), (price, stock as u64));
                if let Some(o) = self.orders.get_mut(order) {
                    o.refunded = true;
                }
            }
            RefEvent::Withdrawn { user, amount } => {
                let Some(&balance) = self.balances.get(user) else { return false };
                if !ref_valid_id(user) || *amount < 1 || *amount > balance {
                    return false;
                }
                self.balances.insert(user.clone(), balance - *amount);
            }
            RefEvent::WrittenOff { item, qty } => {
                let Some(&(price, stock)) = self.items.get(item) else { return false };
                if !ref_valid_id(item) || *qty < 1 || *qty > stock {
                    return false;
                }
                self.items.insert(item.clone(), (price, stock - *qty));
            }
            RefEvent::PriceSet { item, price } => {
                let Some(&(current, stock)) = self.items.get(item) else { return false };
                if !ref_valid_id(item) || *price < 1 || *price > MAX || *price == current {
                    return false;
                }
                self.items.insert(item.clone(), (*price, stock));
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

    /// The seq a refund pick stands for, chosen among this shop's orders so far (see [`Pick`]).
    fn pick_order(&self, pick: &Pick) -> u64 {
        let of = |want: Option<bool>| -> Vec<u64> {
            self.orders.iter().filter(|(_, o)| want.is_none_or(|w| o.refunded == w)).map(|(s, _)| *s).collect()
        };
        let choose = |seqs: Vec<u64>, ix: &Index| (!seqs.is_empty()).then(|| seqs[ix.index(seqs.len())]);
        let non_orders = || (1..=self.events).filter(|s| !self.orders.contains_key(s)).collect::<Vec<_>>();
        let any = |ix: &Index| choose(of(None), ix).or_else(|| choose(non_orders(), ix)).unwrap_or(0);
        match pick {
            Pick::AnyOrder(ix) => any(ix),
            Pick::Open(ix) => choose(of(Some(false)), ix).unwrap_or_else(|| any(ix)),
            Pick::Refunded(ix) => choose(of(Some(true)), ix).unwrap_or_else(|| any(ix)),
            Pick::NotAnOrder(ix) => choose(non_orders(), ix).unwrap_or(0),
            Pick::Next => self.events + 1,
            Pick::Seq(seq) => *seq,
        }
    }
}

/// A domain event by name.
fn by_name(names: &Names, event: &Event) -> RefEvent {
    let (u, i) = (|u| names.user_name(u).to_owned(), |i| names.item_name(i).to_owned());
    match *event {
        Event::ToppedUp { user, amount } => RefEvent::ToppedUp { user: u(user), amount: amount.0 },
        Event::ItemAdded { item, price, qty } => RefEvent::ItemAdded { item: i(item), price: price.0, qty: qty.0 },
        Event::OrderPlaced { user, item, qty, price, total } => {
            RefEvent::OrderPlaced { user: u(user), item: i(item), qty: qty.0, price: price.0, total: total.0 }
        }
        Event::Refunded { order, user, item, qty, total } => {
            RefEvent::Refunded { order, user: u(user), item: i(item), qty: qty.0, total: total.0 }
        }
        Event::Withdrawn { user, amount } => RefEvent::Withdrawn { user: u(user), amount: amount.0 },
        Event::WrittenOff { item, qty } => RefEvent::WrittenOff { item: i(item), qty: qty.0 },
        Event::PriceSet { item, price } => RefEvent::PriceSet { item: i(item), price: price.0 },
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

/// A number in a generated step: fixed, or relative to the value the command meets (a balance, a stock, a
/// price), so that the edges (exactly all of it, one more, one less, up to MAX) come up often.
#[derive(Clone, Copy, Debug)]
enum Num {
    Abs(u64),
    /// The current value plus this (saturating at 0 and u64::MAX).
    Rel(i8),
    /// What is left up to MAX plus this.
    ToMax(i8),
}

impl Num {
    fn at(self, current: u64) -> u64 {
        match self {
            Num::Abs(n) => n,
            Num::Rel(d) => current.saturating_add_signed(i64::from(d)),
            Num::ToMax(d) => MAX.saturating_sub(current).saturating_add_signed(i64::from(d)),
        }
    }
}

/// Which order seq a refund names, resolved against the shop when the step runs.
#[derive(Clone, Debug)]
enum Pick {
    /// Any order placed so far, refunded or not.
    AnyOrder(Index),
    /// An order not refunded yet.
    Open(Index),
    /// An order already refunded.
    Refunded(Index),
    /// An event that is no order.
    NotAnOrder(Index),
    /// The seq the refund itself would get.
    Next,
    Seq(u64),
}

/// A user or item id in a generated step: one that exists when the step runs (so commands meet), or as
/// typed.
#[derive(Clone, Debug)]
enum Name {
    /// An existing one, by its place in id order; the id given when none exists yet.
    Known(Index, &'static str),
    Raw(String),
}

impl Name {
    fn of<V>(&self, existing: &BTreeMap<String, V>) -> String {
        match self {
            Name::Known(ix, _) if !existing.is_empty() => {
                existing.keys().nth(ix.index(existing.len())).cloned().unwrap_or_default()
            }
            Name::Known(_, fallback) => (*fallback).to_owned(),
            Name::Raw(name) => name.clone(),
        }
    }
}

/// A generated step: a command whose ids, numbers and refund target are resolved against the shop as it runs.
#[derive(Clone, Debug)]
enum Step {
    TopUp { user: Name, amount: Num },
    AddItem { item: Name, price: Num, qty: Num },
    Order { user: Name, item: Name, qty: Num },
    Refund(Pick),
    Withdraw { user: Name, amount: Num },
    WriteOff { item: Name, qty: Num },
    SetPrice { item: Name, price: Num },
}

impl Step {
    /// The command this step stands for in `shop`.
    fn command(&self, shop: &RefShop) -> Command {
        let user = |name: &Name| name.of(&shop.balances);
        let item = |name: &Name| name.of(&shop.items);
        match self {
            Step::TopUp { user: u, amount } => {
                let user = user(u);
                Command::TopUp { amount: amount.at(shop.balance(&user)), user }
            }
            Step::AddItem { item: i, price, qty } => {
                let item = item(i);
                Command::AddItem { price: price.at(shop.price(&item)), qty: qty.at(shop.stock(&item)), item }
            }
            Step::Order { user: u, item: i, qty } => {
                let item = item(i);
                Command::Order { user: user(u), qty: qty.at(shop.stock(&item)), item }
            }
            Step::Refund(pick) => Command::Refund { order: shop.pick_order(pick) },
            Step::Withdraw { user: u, amount } => {
                let user = user(u);
                Command::Withdraw { amount: amount.at(shop.balance(&user)), user }
            }
            Step::WriteOff { item: i, qty } => {
                let item = item(i);
                Command::WriteOff { qty: qty.at(shop.stock(&item)), item }
            }
            Step::SetPrice { item: i, price } => {
                let item = item(i);
                Command::SetPrice { price: price.at(shop.price(&item)), item }
            }
        }
    }
}

fn huge() -> impl Strategy<Value = u64> {
    prop_oneof![Just(MAX), Just(MAX - 1), Just(MAX / 2 + 1), Just(MAX + 1), Just(u64::MAX)]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..2_000, 1 => Just(0u64), 1 => huge()]
}

fn qty() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..12, 1 => Just(0u64), 1 => prop_oneof![Just(MAX), Just(MAX + 1)]]
}

/// A top-up amount: mostly fixed, sometimes exactly up to MAX or one past it (so refunds can overflow).
fn top_up_amount() -> impl Strategy<Value = Num> {
    prop_oneof![10 => amount().prop_map(Num::Abs), 1 => prop_oneof![Just(Num::ToMax(0)), Just(Num::ToMax(1))]]
}

/// A restock: mostly fixed, sometimes exactly up to MAX or one past it.
fn restock_qty() -> impl Strategy<Value = Num> {
    prop_oneof![10 => qty().prop_map(Num::Abs), 1 => prop_oneof![Just(Num::ToMax(0)), Just(Num::ToMax(1))]]
}

/// A price: mostly fixed, sometimes the current price or next to it.
fn price() -> impl Strategy<Value = Num> {
    prop_oneof![
        8 => amount().prop_map(Num::Abs),
        1 => Just(Num::Abs(1)),
        3 => prop_oneof![Just(Num::Rel(0)), Just(Num::Rel(1)), Just(Num::Rel(-1))],
    ]
}

/// Some of what there is (a balance to withdraw, a stock to write off or order): the edges 0, 1, all of it,
/// one more, one less, MAX and beyond, or a small number.
fn part() -> impl Strategy<Value = Num> {
    prop_oneof![
        4 => (1u64..12).prop_map(Num::Abs),
        2 => (1u64..2_000).prop_map(Num::Abs),
        3 => Just(Num::Rel(0)),
        1 => prop_oneof![Just(Num::Rel(1)), Just(Num::Rel(-1))],
        1 => prop_oneof![Just(Num::Abs(0)), Just(Num::Abs(1))],
        1 => huge().prop_map(Num::Abs),
    ]
}

fn order_qty() -> impl Strategy<Value = Num> {
    prop_oneof![10 => qty().prop_map(Num::Abs), 1 => prop_oneof![Just(Num::Rel(0)), Just(Num::Rel(1))]]
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        5 => any::<Index>().prop_map(Pick::AnyOrder),
        3 => any::<Index>().prop_map(Pick::Open),
        2 => any::<Index>().prop_map(Pick::Refunded),
        1 => any::<Index>().prop_map(Pick::NotAnOrder),
        1 => prop_oneof![Just(Pick::Next), Just(Pick::Seq(0)), Just(Pick::Seq(MAX)), Just(Pick::Seq(u64::MAX))],
    ]
}

/// Mostly a few valid ids, some more often (so commands meet), sometimes an invalid one: a space, too long
/// (33), or empty.
fn raw_user() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => prop_oneof![
            3 => Just("alice"),
            2 => Just("bob"),
            1 => Just("carol"),
            1 => Just("dave"),
            1 => Just("Z_9-zz0123456789abcdef0123456789"),
        ],
        1 => prop_oneof![Just("bad id"), Just("Z_9-zz0123456789abcdef0123456789x")],
    ]
}

fn raw_item() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => prop_oneof![3 => Just("apple"), 2 => Just("pear"), 1 => Just("fig")],
        1 => prop_oneof![Just(""), Just("fig!")],
    ]
}

/// An existing user two times in three, else one as typed.
fn user() -> impl Strategy<Value = Name> {
    prop_oneof![
        2 => (any::<Index>(), raw_user()).prop_map(|(ix, fallback)| Name::Known(ix, fallback)),
        1 => raw_user().prop_map(|name| Name::Raw(name.into())),
    ]
}

fn item() -> impl Strategy<Value = Name> {
    prop_oneof![
        2 => (any::<Index>(), raw_item()).prop_map(|(ix, fallback)| Name::Known(ix, fallback)),
        1 => raw_item().prop_map(|name| Name::Raw(name.into())),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (user(), top_up_amount()).prop_map(|(user, amount)| Step::TopUp { user, amount }),
        2 => (item(), price(), restock_qty()).prop_map(|(item, price, qty)| Step::AddItem { item, price, qty }),
        6 => (user(), item(), order_qty()).prop_map(|(user, item, qty)| Step::Order { user, item, qty }),
        2 => pick().prop_map(Step::Refund),
        1 => (user(), part()).prop_map(|(user, amount)| Step::Withdraw { user, amount }),
        1 => (item(), part()).prop_map(|(item, qty)| Step::WriteOff { item, qty }),
        1 => (item(), price()).prop_map(|(item, price)| Step::SetPrice { item, price }),
    ]
}

fn steps(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), len)
}

/// A run of commands through the domain, beside the reference's verdicts.
struct Run {
    log: Log,
    state: State,
    /// The reference after the whole run.
    shop: RefShop,
    /// The commands the steps stood for, in order (accepted or not).
    commands: Vec<Command>,
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

/// Runs the steps through the domain and through the reference side by side. After each one: the domain
/// accepted it exactly when the reference did, with the same event, and both list the same shop; the domain's
/// invariants hold too.
fn run(steps: &[Step]) -> Run {
    let (mut log, mut state, mut shop) = (Log::new(), State::new(), RefShop::default());
    let mut expected = vec![shop.listing()];
    let mut commands = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let c = s.command(&shop);
        let before = state.clone();
        let verdict = shop.execute(&c);
        match log.decide(&state, &c) {
            Ok(event) => {
                let ours = by_name(log.names(), &event);
                assert_eq!(
                    verdict.as_ref(),
                    Some(&ours),
                    "the domain accepts {c:?} as {ours:?}, the reference does not agree (after {commands:?})"
                );
                log.push(&mut state, 1_000 + i as u64 * 7, event).unwrap();
                expected.push(shop.listing());
            }
            Err(rejection) => {
                assert_eq!(
                    verdict, None,
                    "the domain refuses {c:?} ({rejection}), the reference accepts it (after {commands:?})"
                );
                assert_eq!(state, before, "a refused command changed the state");
            }
        }
        assert_eq!(state.listing(log.names()), shop.listing(), "after {c:?} (after {commands:?})");
        assert_eq!(state.seq(), log.len(), "seq is the number of events: gapless");
        for (_, balance) in state.users() {
            assert!(balance.0 <= MAX);
        }
        for (_, price, stock) in state.items() {
            assert!((1..=MAX).contains(&price.0) && stock.0 <= MAX);
        }
        commands.push(c);
    }
    Run { log, state, shop, commands, expected }
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
        let _ = decode_snapshot(&bytes);
        let mut names = Names::new();
        let _ = decode_chunk(&bytes, &mut names, &mut Vec::new(), &mut Vec::new());
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
        use rewind_domain::{Entity, EntitySeries, ReadModels, Series};
        let run = run(&steps);
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
        prop_assert_eq!(outline.density(log, buckets), rewind_domain::density(log, buckets));
        prop_assert_eq!(outline.revenue_over_time(log, buckets), rewind_domain::revenue_over_time(log, buckets));
        // A branch's outline: the prefix's, then its own.
        let base = (log.len() as f64 * cut) as u64;
        let prefix = log.prefix(base);
        prop_assert_eq!(outline.prefix(base).revenue_over_time(&prefix, buckets), rewind_domain::revenue_over_time(&prefix, buckets));
        prop_assert_eq!(outline.prefix(base).density(&prefix, buckets), rewind_domain::density(&prefix, buckets));
    }
}
