//! Snapshots: the state at sequence n, with a format version and a CRC-32 so that a damaged snapshot is
//! detected rather than trusted. Only entities that exist are written, by name, so a snapshot restores into
//! fresh name tables on its own.

use crate::money::MAX;
use crate::names::{validate_id, Names};
use crate::state::{State, ABSENT};
use crate::wire::{Reader, WireError, Writer};
use std::fmt;

const VERSION: u8 = 1;

/// Why a snapshot could not be used. The caller falls back to an older snapshot or a full replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError(String);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "snapshot unusable: {}", self.0)
    }
}

impl std::error::Error for SnapshotError {}

impl From<WireError> for SnapshotError {
    fn from(e: WireError) -> Self {
        SnapshotError(e.to_string())
    }
}

pub fn encode_snapshot(state: &State, names: &Names) -> Vec<u8> {
    let mut w = Writer::with_capacity(64 + 24 * (names.user_count() + names.item_count()));
    w.u8(VERSION);
    w.varint(state.seq());
    let users: Vec<_> = state.users().collect();
    w.varint(users.len() as u64);
    for (user, balance) in users {
        w.str(names.user_name(user));
        w.varint(balance.0);
    }
    let items: Vec<_> = state.items().collect();
    w.varint(items.len() as u64);
    for (item, price, stock) in items {
        w.str(names.item_name(item));
        w.varint(price.0);
        w.varint(stock.0);
    }
    w.finish_with_crc()
}

fn bad(what: &str) -> SnapshotError {
    SnapshotError(what.to_owned())
}

/// Restores a snapshot into new name tables and its state.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(Names, State), SnapshotError> {
    let mut r = Reader::with_crc(bytes)?;
    let version = r.u8()?;
    if version != VERSION {
        return Err(SnapshotError(format!("unknown snapshot format version {version}")));
    }
    let seq = r.varint()?;
    if seq > MAX {
        return Err(bad("the sequence number is out of range"));
    }
    let mut names = Names::new();
    let n_users = r.count()?;
    let mut balances = vec![ABSENT; n_users];
    for slot in balances.iter_mut() {
        let name = r.str()?;
        validate_id(name).map_err(|e| SnapshotError(format!("user id {name:?} {e}")))?;
        let before = names.user_count();
        if names.intern_user(name).0 as usize != before {
            return Err(bad("a user is listed twice"));
        }
        let balance = r.varint()?;
        if balance > MAX {
            return Err(bad("a balance is above the maximum"));
        }
        *slot = balance;
    }
    let n_items = r.count()?;
    let (mut prices, mut stocks) = (vec![ABSENT; n_items], vec![ABSENT; n_items]);
    for (price_slot, stock_slot) in prices.iter_mut().zip(stocks.iter_mut()) {
        let name = r.str()?;
        validate_id(name).map_err(|e| SnapshotError(format!("item id {name:?} {e}")))?;
        let before = names.item_count();
        if names.intern_item(name).0 as usize != before {
            return Err(bad("an item is listed twice"));
        }
        let (price, stock) = (r.varint()?, r.varint()?);
        if !(1..=MAX).contains(&price) || stock > MAX {
            return Err(bad("a price or stock is out of range"));
        }
        *price_slot = price;
        *stock_slot = stock;
    }
    if !r.is_at_end() {
        return Err(bad("extra bytes after the state"));
    }
    Ok((names, State::from_parts(seq, balances, prices, stocks)))
}
