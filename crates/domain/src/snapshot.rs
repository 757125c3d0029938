//! Snapshots: the state at sequence n, with a format version and a CRC-32 so that a damaged snapshot is
//! detected rather than trusted. Only entities that exist are written, by name, so a snapshot restores into
//! fresh name tables on its own.

use crate::money::MAX;
use crate::names::{validate_id, IdError, Names};
use crate::entity::EntityKind;
use crate::state::{State, ABSENT};
use crate::wire::{Reader, WireError, Writer};
use std::fmt;

const VERSION: u8 = 1;

/// Users or items in one snapshot at most: interned ids are 32-bit.
const MAX_ENTITIES: usize = u32::MAX as usize;
/// The fewest bytes a user takes in a snapshot (a one-character name and a balance).
const MIN_USER_BYTES: usize = 3;
/// The fewest bytes an item takes (a one-character name, a price and a stock).
const MIN_ITEM_BYTES: usize = 4;

/// Why a snapshot could not be used. The caller falls back to an older snapshot or a full replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The bytes themselves: truncated, checksum, malformed numbers or counts.
    Wire(WireError),
    UnknownVersion(u8),
    SeqOutOfRange,
    BadId { kind: EntityKind, id: String, error: IdError },
    ListedTwice(EntityKind),
    /// A balance, price or stock outside the shop's rules.
    ValueOutOfRange(EntityKind),
    TrailingBytes,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("snapshot unusable: ")?;
        match self {
            SnapshotError::Wire(e) => write!(f, "{e}"),
            SnapshotError::UnknownVersion(v) => write!(f, "unknown snapshot format version {v}"),
            SnapshotError::SeqOutOfRange => write!(f, "the sequence number is out of range"),
            SnapshotError::BadId { kind, id, error } => write!(f, "{} id {id:?} {error}", kind.as_str()),
            SnapshotError::ListedTwice(kind) => write!(f, "a {} is listed twice", kind.as_str()),
            SnapshotError::ValueOutOfRange(EntityKind::User) => write!(f, "a balance is above the maximum"),
            SnapshotError::ValueOutOfRange(EntityKind::Item) => write!(f, "a price or stock is out of range"),
            SnapshotError::TrailingBytes => write!(f, "extra bytes after the state"),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl From<WireError> for SnapshotError {
    fn from(e: WireError) -> Self {
        SnapshotError::Wire(e)
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

/// Restores a snapshot into new name tables and its state.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(Names, State), SnapshotError> {
    let mut r = Reader::with_crc(bytes)?;
    let version = r.u8()?;
    if version != VERSION {
        return Err(SnapshotError::UnknownVersion(version));
    }
    let seq = r.varint()?;
    if seq > MAX {
        return Err(SnapshotError::SeqOutOfRange);
    }
    let mut names = Names::new();
    let n_users = r.count_of(MIN_USER_BYTES, MAX_ENTITIES)?;
    let mut balances = vec![ABSENT; n_users];
    for slot in balances.iter_mut() {
        let name = r.str()?;
        validate_id(name).map_err(|error| SnapshotError::BadId { kind: EntityKind::User, id: name.into(), error })?;
        let before = names.user_count();
        if names.intern_user(name).0 as usize != before {
            return Err(SnapshotError::ListedTwice(EntityKind::User));
        }
        let balance = r.varint()?;
        if balance > MAX {
            return Err(SnapshotError::ValueOutOfRange(EntityKind::User));
        }
        *slot = balance;
    }
    let n_items = r.count_of(MIN_ITEM_BYTES, MAX_ENTITIES)?;
    let (mut prices, mut stocks) = (vec![ABSENT; n_items], vec![ABSENT; n_items]);
    for (price_slot, stock_slot) in prices.iter_mut().zip(stocks.iter_mut()) {
        let name = r.str()?;
        validate_id(name).map_err(|error| SnapshotError::BadId { kind: EntityKind::Item, id: name.into(), error })?;
        let before = names.item_count();
        if names.intern_item(name).0 as usize != before {
            return Err(SnapshotError::ListedTwice(EntityKind::Item));
        }
        let (price, stock) = (r.varint()?, r.varint()?);
        if !(1..=MAX).contains(&price) || stock > MAX {
            return Err(SnapshotError::ValueOutOfRange(EntityKind::Item));
        }
        *price_slot = price;
        *stock_slot = stock;
    }
    if !r.is_at_end() {
        return Err(SnapshotError::TrailingBytes);
    }
    Ok((names, State::from_parts(seq, balances, prices, stocks)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crafted_entity_count_is_refused_before_anything_is_allocated_for_it() {
        for (users, padding) in [(u64::MAX >> 1, 16usize), (1_000, 2_000)] {
            let mut w = Writer::with_capacity(16 + padding);
            w.u8(VERSION);
            w.varint(0);
            w.varint(users);
            w.bytes.extend(std::iter::repeat_n(0u8, padding));
            let bytes = w.finish_with_crc();
            assert_eq!(
                decode_snapshot(&bytes).err(),
                Some(SnapshotError::Wire(WireError::Malformed("a count is larger than the data"))),
                "{users} users in {padding} bytes"
            );
        }
    }
}
