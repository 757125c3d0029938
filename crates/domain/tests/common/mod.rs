//! What the property tests share: random command sequences, and the reference shop they are checked against.
//! A step is resolved against the reference as it runs (ids that exist, amounts next to the balance), so that
//! commands meet; `run` drives the domain and the reference side by side.
#![allow(dead_code)] // each test file uses its own part
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

use proptest::prelude::*;
use proptest::sample::Index;
use rewind_domain::{Command, Event, Listing, Log, Names, State, MAX};
use std::collections::BTreeMap;

/// An event by name, as the reference model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefEvent {
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
pub struct RefOrder {
    pub user: String,
    pub item: String,
    pub qty: u64,
    pub total: u64,
    pub refunded: bool,
}

/// The reference shop: CONTRACT §1 and §4 spelled out over ordered maps, with u128 arithmetic so nothing can
/// wrap. It shares no code with the domain's fold (no interning, no dense arrays, no capped helpers, no
/// order index of the log's).
#[derive(Clone, Debug, Default)]
pub struct RefShop {
    pub events: u64,
    /// user → balance
    pub balances: BTreeMap<String, u64>,
    /// item → (unit price, stock)
    pub items: BTreeMap<String, (u64, u64)>,
    /// seq of every order placed → its details and whether it was refunded
    pub orders: BTreeMap<u64, RefOrder>,
}

/// Ids are 1–32 characters from `A–Z a–z 0–9 _ -`.
pub fn ref_valid_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=32).contains(&n) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl RefShop {
    pub fn balance(&self, user: &str) -> u64 {
        self.balances.get(user).copied().unwrap_or(0)
    }

    pub fn price(&self, item: &str) -> u64 {
        self.items.get(item).map_or(0, |(price, _)| *price)
    }

    pub fn stock(&self, item: &str) -> u64 {
        self.items.get(item).map_or(0, |(_, stock)| *stock)
    }

    /// Decides `command` in this shop: the event it becomes (applied here) or `None` when it is refused.
    pub fn execute(&mut self, command: &Command) -> Option<RefEvent> {
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
    pub fn apply(&mut self, event: &RefEvent) -> bool {
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
    pub fn listing(&self) -> Listing {
        Listing {
            seq: self.events,
            users: self.balances.iter().map(|(u, b)| (u.clone(), *b)).collect(),
            items: self.items.iter().map(|(i, (p, s))| (i.clone(), *p, *s)).collect(),
        }
    }

    /// The seq a refund pick stands for, chosen among this shop's orders so far (see [`Pick`]).
    pub fn pick_order(&self, pick: &Pick) -> u64 {
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
pub fn by_name(names: &Names, event: &Event) -> RefEvent {
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

impl RefShop {
    /// The reference after every event of `log`, each of which must keep the rules.
    pub fn of(log: &Log) -> RefShop {
        let mut shop = RefShop::default();
        for (ix, event) in log.events().iter().enumerate() {
            let event = by_name(log.names(), event);
            assert!(shop.apply(&event), "the log holds event {} that the reference refuses: {event:?}", ix + 1);
        }
        shop
    }
}

/// Folds the reference over a log the domain holds: every event in it must keep the rules. Returns the
/// reference's listing after each prefix (index k: after events 1..=k).
pub fn reference_fold(log: &Log) -> Vec<Listing> {
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
pub enum Num {
    Abs(u64),
    /// The current value plus this (saturating at 0 and u64::MAX).
    Rel(i8),
    /// What is left up to MAX plus this.
    ToMax(i8),
}

impl Num {
    pub fn at(self, current: u64) -> u64 {
        match self {
            Num::Abs(n) => n,
            Num::Rel(d) => current.saturating_add_signed(i64::from(d)),
            Num::ToMax(d) => MAX.saturating_sub(current).saturating_add_signed(i64::from(d)),
        }
    }
}

/// Which order seq a refund names, resolved against the shop when the step runs.
#[derive(Clone, Debug)]
pub enum Pick {
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
pub enum Name {
    /// An existing one, by its place in id order; the id given when none exists yet.
    Known(Index, &'static str),
    Raw(String),
}

impl Name {
    pub fn of<V>(&self, existing: &BTreeMap<String, V>) -> String {
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
pub enum Step {
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
    pub fn command(&self, shop: &RefShop) -> Command {
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

pub fn huge() -> impl Strategy<Value = u64> {
    prop_oneof![Just(MAX), Just(MAX - 1), Just(MAX / 2 + 1), Just(MAX + 1), Just(u64::MAX)]
}

pub fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..2_000, 1 => Just(0u64), 1 => huge()]
}

pub fn qty() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..12, 1 => Just(0u64), 1 => prop_oneof![Just(MAX), Just(MAX + 1)]]
}

/// A top-up amount: mostly fixed, sometimes exactly up to MAX or one past it (so refunds can overflow).
pub fn top_up_amount() -> impl Strategy<Value = Num> {
    prop_oneof![10 => amount().prop_map(Num::Abs), 1 => prop_oneof![Just(Num::ToMax(0)), Just(Num::ToMax(1))]]
}

/// A restock: mostly fixed, sometimes exactly up to MAX or one past it.
pub fn restock_qty() -> impl Strategy<Value = Num> {
    prop_oneof![10 => qty().prop_map(Num::Abs), 1 => prop_oneof![Just(Num::ToMax(0)), Just(Num::ToMax(1))]]
}

/// A price: mostly fixed, sometimes the current price or next to it.
pub fn price() -> impl Strategy<Value = Num> {
    prop_oneof![
        8 => amount().prop_map(Num::Abs),
        1 => Just(Num::Abs(1)),
        3 => prop_oneof![Just(Num::Rel(0)), Just(Num::Rel(1)), Just(Num::Rel(-1))],
    ]
}

/// Some of what there is (a balance to withdraw, a stock to write off or order): the edges 0, 1, all of it,
/// one more, one less, MAX and beyond, or a small number.
pub fn part() -> impl Strategy<Value = Num> {
    prop_oneof![
        4 => (1u64..12).prop_map(Num::Abs),
        2 => (1u64..2_000).prop_map(Num::Abs),
        3 => Just(Num::Rel(0)),
        1 => prop_oneof![Just(Num::Rel(1)), Just(Num::Rel(-1))],
        1 => prop_oneof![Just(Num::Abs(0)), Just(Num::Abs(1))],
        1 => huge().prop_map(Num::Abs),
    ]
}

pub fn order_qty() -> impl Strategy<Value = Num> {
    prop_oneof![10 => qty().prop_map(Num::Abs), 1 => prop_oneof![Just(Num::Rel(0)), Just(Num::Rel(1))]]
}

pub fn pick() -> impl Strategy<Value = Pick> {
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
pub fn raw_user() -> impl Strategy<Value = &'static str> {
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

pub fn raw_item() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => prop_oneof![3 => Just("apple"), 2 => Just("pear"), 1 => Just("fig")],
        1 => prop_oneof![Just(""), Just("fig!")],
    ]
}

/// An existing user two times in three, else one as typed.
pub fn user() -> impl Strategy<Value = Name> {
    prop_oneof![
        2 => (any::<Index>(), raw_user()).prop_map(|(ix, fallback)| Name::Known(ix, fallback)),
        1 => raw_user().prop_map(|name| Name::Raw(name.into())),
    ]
}

pub fn item() -> impl Strategy<Value = Name> {
    prop_oneof![
        2 => (any::<Index>(), raw_item()).prop_map(|(ix, fallback)| Name::Known(ix, fallback)),
        1 => raw_item().prop_map(|name| Name::Raw(name.into())),
    ]
}

pub fn step() -> impl Strategy<Value = Step> {
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

pub fn steps(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), len)
}

/// A run of commands through the domain, beside the reference's verdicts.
pub struct Run {
    pub log: Log,
    pub state: State,
    /// The reference after the whole run.
    pub shop: RefShop,
    /// The commands the steps stood for, in order (accepted or not).
    pub commands: Vec<Command>,
    /// The reference's listing after the first k accepted commands, k = 0..=log.len().
    pub expected: Vec<Listing>,
}

impl Run {
    pub fn expected_at(&self, k: u64) -> &Listing {
        &self.expected[k as usize]
    }

    pub fn expected_now(&self) -> &Listing {
        self.expected_at(self.log.len())
    }
}

/// Runs the steps through the domain and through the reference side by side. After each one: the domain
/// accepted it exactly when the reference did, with the same event, and both list the same shop; the domain's
/// invariants hold too.
pub fn run(steps: &[Step]) -> Run {
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

