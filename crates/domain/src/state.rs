use crate::event::Event;
use crate::money::{add_capped, mul_capped, Money, Qty, MAX};
use crate::names::{ItemId, Names, UserId};
use crate::rejection::Rejection;

/// Marks a slot whose user or item does not exist (yet). Never a valid amount, since amounts stop at MAX.
pub(crate) const ABSENT: u64 = u64::MAX;

/// The shop after the events 1..=seq: dense arrays indexed by interned ids.
///
/// Architecture Invariant: every value stored here satisfies the contract (no negative balance or stock,
/// nothing above MAX), because the only way in is [`State::apply`], which checks every rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    seq: u64,
    balances: Vec<u64>,
    prices: Vec<u64>,
    stocks: Vec<u64>,
}

/// The new values an event writes, computed before anything is written so a broken rule changes nothing.
enum Effect {
    Balance { user: usize, balance: u64 },
    Item { item: usize, price: u64, stock: u64 },
    Order { user: usize, balance: u64, item: usize, stock: u64 },
}

#[inline]
fn slot(values: &[u64], ix: usize) -> u64 {
    values.get(ix).copied().unwrap_or(ABSENT)
}

#[inline]
fn put(values: &mut Vec<u64>, ix: usize, value: u64) {
    if ix >= values.len() {
        values.resize(ix + 1, ABSENT);
    }
    if let Some(v) = values.get_mut(ix) {
        *v = value;
    }
}

impl State {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sequence number of the last event applied (0 for the empty shop).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn balance(&self, user: UserId) -> Option<Money> {
        Some(slot(&self.balances, user.0 as usize)).filter(|b| *b != ABSENT).map(Money)
    }

    pub fn price(&self, item: ItemId) -> Option<Money> {
        Some(slot(&self.prices, item.0 as usize)).filter(|p| *p != ABSENT).map(Money)
    }

    pub fn stock(&self, item: ItemId) -> Option<Qty> {
        Some(slot(&self.stocks, item.0 as usize)).filter(|s| *s != ABSENT).map(Qty)
    }

    /// Users that exist, by index (not id order; see [`Names::users_in_id_order`]).
    pub fn users(&self) -> impl Iterator<Item = (UserId, Money)> + '_ {
        self.balances
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != ABSENT)
            .map(|(ix, b)| (UserId(ix as u32), Money(*b)))
    }

    /// Items that exist, by index, with (price, stock).
    pub fn items(&self) -> impl Iterator<Item = (ItemId, Money, Qty)> + '_ {
        self.prices
            .iter()
            .zip(&self.stocks)
            .enumerate()
            .filter(|(_, (p, _))| **p != ABSENT)
            .map(|(ix, (p, s))| (ItemId(ix as u32), Money(*p), Qty(*s)))
    }

    /// Money held by all users. u128: a sum of many balances may pass MAX.
    pub fn money_held(&self) -> u128 {
        self.users().map(|(_, b)| b.0 as u128).sum()
    }

    /// Units in stock over all items.
    pub fn units_in_stock(&self) -> u128 {
        self.items().map(|(_, _, s)| s.0 as u128).sum()
    }

    /// Checks `event` against the rules and, if it keeps them, applies it as event `seq() + 1`. On error
    /// nothing changes.
    #[inline]
    pub fn apply(&mut self, names: &Names, event: &Event) -> Result<(), Rejection> {
        let effect = self.effect(names, event)?;
        match effect {
            Effect::Balance { user, balance } => put(&mut self.balances, user, balance),
            Effect::Item { item, price, stock } => {
                put(&mut self.prices, item, price);
                put(&mut self.stocks, item, stock);
            }
            Effect::Order { user, balance, item, stock } => {
                put(&mut self.balances, user, balance);
                put(&mut self.stocks, item, stock);
            }
        }
        self.seq += 1;
        Ok(())
    }

    /// Whether `event` would be accepted now, without applying it.
    pub fn check(&self, names: &Names, event: &Event) -> Result<(), Rejection> {
        self.effect(names, event).map(|_| ())
    }

    #[inline]
    fn effect(&self, names: &Names, event: &Event) -> Result<Effect, Rejection> {
        match *event {
            Event::ToppedUp { user, amount } => {
                let amount = amount.0;
                if amount < 1 {
                    return Err(Rejection::AmountTooSmall);
                }
                let ix = user.0 as usize;
                let balance = match slot(&self.balances, ix) {
                    ABSENT => 0,
                    b => b,
                };
                match add_capped(balance, amount) {
                    Some(balance) => Ok(Effect::Balance { user: ix, balance }),
                    None if amount > MAX => Err(Rejection::AmountTooLarge { amount }),
                    None => Err(Rejection::BalanceOverflow {
                        user: names.user_name(user).to_owned(),
                        balance,
                        amount,
                    }),
                }
            }
            Event::ItemAdded { item, price, qty } => {
                let (price, qty) = (price.0, qty.0);
                if !(1..=MAX).contains(&price) {
                    return Err(Rejection::PriceOutOfRange { price });
                }
                if qty < 1 {
                    return Err(Rejection::QtyTooSmall);
                }
                let ix = item.0 as usize;
                let stock = match slot(&self.stocks, ix) {
                    ABSENT => 0,
                    s => s,
                };
                match add_capped(stock, qty) {
                    Some(stock) => Ok(Effect::Item { item: ix, price, stock }),
                    None if qty > MAX => Err(Rejection::QtyTooLarge { qty }),
                    None => Err(Rejection::StockOverflow {
                        item: names.item_name(item).to_owned(),
                        stock,
                        qty,
                    }),
                }
            }
            Event::OrderPlaced { user, item, qty, price: recorded_price, total } => {
                let qty = qty.0;
                if qty < 1 {
                    return Err(Rejection::QtyTooSmall);
                }
                let (uix, iix) = (user.0 as usize, item.0 as usize);
                let balance = slot(&self.balances, uix);
                if balance == ABSENT {
                    return Err(Rejection::UnknownUser { user: names.user_name(user).to_owned() });
                }
                let price = slot(&self.prices, iix);
                let stock = slot(&self.stocks, iix);
                if price == ABSENT {
                    return Err(Rejection::UnknownItem { item: names.item_name(item).to_owned() });
                }
                if stock < qty {
                    return Err(Rejection::OutOfStock {
                        item: names.item_name(item).to_owned(),
                        stock,
                        qty,
                    });
                }
                let Some(cost) = mul_capped(price, qty) else {
                    return Err(Rejection::TotalOverflow {
                        item: names.item_name(item).to_owned(),
                        price,
                        qty,
                    });
                };
                if cost != total.0 {
                    return Err(Rejection::WrongTotal { recorded: total.0, price, qty });
                }
                if recorded_price.0 != price {
                    return Err(Rejection::WrongPrice {
                        item: names.item_name(item).to_owned(),
                        recorded: recorded_price.0,
                        price,
                    });
                }
                if balance < cost {
                    return Err(Rejection::InsufficientFunds {
                        user: names.user_name(user).to_owned(),
                        balance,
                        total: cost,
                    });
                }
                Ok(Effect::Order { user: uix, balance: balance - cost, item: iix, stock: stock - qty })
            }
            Event::Refunded { user, item, qty, total, .. } => {
                // That it matches an order not yet refunded is the log's check: the state knows no orders.
                let (uix, iix) = (user.0 as usize, item.0 as usize);
                let balance = self.existing_balance(names, user)?;
                let stock = self.existing_stock(names, item)?;
                let Some(balance) = add_capped(balance, total.0) else {
                    return Err(Rejection::BalanceOverflow { user: names.user_name(user).to_owned(), balance, amount: total.0 });
                };
                let Some(stock) = add_capped(stock, qty.0) else {
                    return Err(Rejection::StockOverflow { item: names.item_name(item).to_owned(), stock, qty: qty.0 });
                };
                Ok(Effect::Order { user: uix, balance, item: iix, stock })
            }
            Event::Withdrawn { user, amount } => {
                let balance = self.existing_balance(names, user)?;
                if amount.0 < 1 {
                    return Err(Rejection::AmountTooSmall);
                }
                if amount.0 > balance {
                    return Err(Rejection::WithdrawTooLarge {
                        user: names.user_name(user).to_owned(),
                        balance,
                        amount: amount.0,
                    });
                }
                Ok(Effect::Balance { user: user.0 as usize, balance: balance - amount.0 })
            }
            Event::WrittenOff { item, qty } => {
                let stock = self.existing_stock(names, item)?;
                if qty.0 < 1 {
                    return Err(Rejection::QtyTooSmall);
                }
                if qty.0 > stock {
                    return Err(Rejection::WriteOffTooLarge { item: names.item_name(item).to_owned(), stock, qty: qty.0 });
                }
                let ix = item.0 as usize;
                Ok(Effect::Item { item: ix, price: slot(&self.prices, ix), stock: stock - qty.0 })
            }
            Event::PriceSet { item, price } => {
                let stock = self.existing_stock(names, item)?;
                if !(1..=MAX).contains(&price.0) {
                    return Err(Rejection::PriceOutOfRange { price: price.0 });
                }
                let ix = item.0 as usize;
                if slot(&self.prices, ix) == price.0 {
                    return Err(Rejection::SamePrice { item: names.item_name(item).to_owned(), price: price.0 });
                }
                Ok(Effect::Item { item: ix, price: price.0, stock })
            }
        }
    }

    /// The balance of a user that exists, or why not.
    fn existing_balance(&self, names: &Names, user: crate::names::UserId) -> Result<u64, Rejection> {
        match slot(&self.balances, user.0 as usize) {
            ABSENT => Err(Rejection::UnknownUser { user: names.user_name(user).to_owned() }),
            b => Ok(b),
        }
    }

    /// The stock of an item that exists, or why not.
    fn existing_stock(&self, names: &Names, item: crate::names::ItemId) -> Result<u64, Rejection> {
        match slot(&self.prices, item.0 as usize) {
            ABSENT => Err(Rejection::UnknownItem { item: names.item_name(item).to_owned() }),
            _ => Ok(slot(&self.stocks, item.0 as usize)),
        }
    }

    /// Rebuilds a state from a snapshot's parts; the caller has checked every value.
    pub(crate) fn from_parts(seq: u64, balances: Vec<u64>, prices: Vec<u64>, stocks: Vec<u64>) -> Self {
        Self { seq, balances, prices, stocks }
    }

    pub(crate) fn parts(&self) -> (&[u64], &[u64], &[u64]) {
        (&self.balances, &self.prices, &self.stocks)
    }

    /// Copies `other` into `self`, reusing this state's allocations (the timeline does this on every move).
    pub fn clone_from_state(&mut self, other: &State) {
        self.seq = other.seq;
        self.balances.clone_from(&other.balances);
        self.prices.clone_from(&other.prices);
        self.stocks.clone_from(&other.stocks);
    }
}

/// The state by name, in id order: what a user sees, independent of how names were interned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub seq: u64,
    /// (user, balance)
    pub users: Vec<(String, u64)>,
    /// (item, price, stock)
    pub items: Vec<(String, u64, u64)>,
}

impl State {
    pub fn listing(&self, names: &Names) -> Listing {
        let mut users: Vec<_> = self.users().map(|(u, b)| (names.user_name(u).to_owned(), b.0)).collect();
        users.sort_unstable();
        let mut items: Vec<_> =
            self.items().map(|(i, p, s)| (names.item_name(i).to_owned(), p.0, s.0)).collect();
        items.sort_unstable();
        Listing { seq: self.seq, users, items }
    }
}
