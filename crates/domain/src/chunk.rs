//! The storage encoding of a chunk of consecutive events: compact, self-contained and checksummed.
//!
//! Layout (version 2): `2`, first seq, count, first ts, the chunk's user names, its item names, then per event
//! a tag byte, the ts delta (zigzag) and the fields as varints, with ids as indices into the chunk's own name
//! lists; a CRC-32 of all of it closes the chunk. Chunk-local name lists keep every chunk readable on its own,
//! whatever order the name tables were built in.

use crate::event::Event;
use crate::money::{Money, Qty, MAX};
use crate::names::{IdError, ItemId, Names, UserId};
use crate::wire::{Reader, WireError, Writer};
use std::fmt;

/// Version 2 adds the order's unit price and the four correction events; version 1 (the first release's)
/// is still read, its orders upcast with price = total / qty.
const VERSION: u8 = 2;
const VERSION_1: u8 = 1;
const TOPPED_UP: u8 = 0;
const ITEM_ADDED: u8 = 1;
const ORDER_PLACED: u8 = 2;
const REFUNDED: u8 = 3;
const WITHDRAWN: u8 = 4;
const WRITTEN_OFF: u8 = 5;
const PRICE_SET: u8 = 6;
const NONE: u32 = u32::MAX;

/// Where a decoded chunk sits in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    pub first_seq: u64,
    pub count: u64,
}

/// Events in one chunk at most: the format's maximum, which the store's records stay within. A decoder
/// refuses a larger count before it allocates anything for it.
pub const MAX_CHUNK_EVENTS: usize = 2_000;

/// The fewest bytes an event takes in a chunk (a top-up: tag, time delta, user, amount).
const MIN_EVENT_BYTES: usize = 4;
/// The fewest bytes a listed name takes (its length and one character).
const MIN_NAME_BYTES: usize = 2;

/// Why a chunk could not be read: the stored bytes are damaged or were not written by Rewind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// The bytes themselves: truncated, checksum, malformed numbers or counts.
    Wire(WireError),
    UnknownVersion(u8),
    /// A listed id is not a valid id.
    BadId { id: String, error: IdError },
    /// An event refers to a name the chunk does not list.
    UnlistedId,
    UnknownEventTag(u8),
    /// A version-1 order whose total is not a whole multiple of its qty: it has no unit price to upcast to.
    UnevenOrderTotal { total: u64, qty: u64 },
    TimestampOutOfRange,
    TrailingBytes,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::Wire(e) => write!(f, "{e}"),
            ChunkError::UnknownVersion(v) => write!(f, "unknown chunk format version {v}"),
            ChunkError::BadId { id, error } => write!(f, "a stored id {id:?} {error}"),
            ChunkError::UnlistedId => write!(f, "an event names an id the chunk does not list"),
            ChunkError::UnknownEventTag(t) => write!(f, "unknown event tag {t}"),
            ChunkError::UnevenOrderTotal { total, qty } => {
                write!(f, "a version 1 order's total {total} is not a multiple of its qty {qty}")
            }
            ChunkError::TimestampOutOfRange => write!(f, "a timestamp is out of range"),
            ChunkError::TrailingBytes => write!(f, "extra bytes after the last event"),
        }
    }
}

impl std::error::Error for ChunkError {}

impl From<WireError> for ChunkError {
    fn from(e: WireError) -> Self {
        ChunkError::Wire(e)
    }
}

/// Assigns chunk-local indices to global ids in order of first use.
struct LocalNames {
    local_of: Vec<u32>,
    globals: Vec<u32>,
}

impl LocalNames {
    fn new(global_count: usize) -> Self {
        Self { local_of: vec![NONE; global_count], globals: Vec::new() }
    }

    fn local(&mut self, global: u32) -> u64 {
        let ix = global as usize;
        if ix >= self.local_of.len() {
            self.local_of.resize(ix + 1, NONE);
        }
        let slot = &mut self.local_of[ix];
        if *slot == NONE {
            *slot = self.globals.len() as u32;
            self.globals.push(global);
        }
        u64::from(*slot)
    }
}

/// Encodes events `first_seq, first_seq + 1, …` with their timestamps.
pub fn encode_chunk(names: &Names, first_seq: u64, events: &[Event], timestamps: &[u64]) -> Vec<u8> {
    let mut users = LocalNames::new(names.user_count());
    let mut items = LocalNames::new(names.item_count());
    let mut body = Writer::with_capacity(events.len() * 12);
    let mut prev_ts = timestamps.first().copied().unwrap_or(0);
    let first_ts = prev_ts;
    for (event, &ts) in events.iter().zip(timestamps) {
        match *event {
            Event::ToppedUp { user, amount } => {
                body.u8(TOPPED_UP);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(users.local(user.0));
                body.varint(amount.0);
            }
            Event::ItemAdded { item, price, qty } => {
                body.u8(ITEM_ADDED);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(items.local(item.0));
                body.varint(price.0);
                body.varint(qty.0);
            }
            Event::OrderPlaced { user, item, qty, price, total } => {
                body.u8(ORDER_PLACED);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(users.local(user.0));
                body.varint(items.local(item.0));
                body.varint(qty.0);
                body.varint(price.0);
                body.varint(total.0);
            }
            Event::Refunded { order, user, item, qty, total } => {
                body.u8(REFUNDED);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(order);
                body.varint(users.local(user.0));
                body.varint(items.local(item.0));
                body.varint(qty.0);
                body.varint(total.0);
            }
            Event::Withdrawn { user, amount } => {
                body.u8(WITHDRAWN);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(users.local(user.0));
                body.varint(amount.0);
            }
            Event::WrittenOff { item, qty } => {
                body.u8(WRITTEN_OFF);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(items.local(item.0));
                body.varint(qty.0);
            }
            Event::PriceSet { item, price } => {
                body.u8(PRICE_SET);
                body.zigzag(ts as i64 - prev_ts as i64);
                body.varint(items.local(item.0));
                body.varint(price.0);
            }
        }
        prev_ts = ts;
    }
    let count = events.len().min(timestamps.len());
    let mut out = Writer::with_capacity(body.bytes.len() + 64 + 16 * (users.globals.len() + items.globals.len()));
    out.u8(VERSION);
    out.varint(first_seq);
    out.varint(count as u64);
    out.varint(first_ts);
    out.varint(users.globals.len() as u64);
    for g in &users.globals {
        out.str(names.user_name(UserId(*g)));
    }
    out.varint(items.globals.len() as u64);
    for g in &items.globals {
        out.str(names.item_name(ItemId(*g)));
    }
    out.bytes.extend_from_slice(&body.bytes);
    out.finish_with_crc()
}

fn read_names(
    r: &mut Reader<'_>,
    mut intern: impl FnMut(&[u8]) -> Result<u32, IdError>,
) -> Result<Vec<u32>, ChunkError> {
    // Each event names at most one user and one item, so a chunk lists at most that many names.
    let n = r.count_of(MIN_NAME_BYTES, MAX_CHUNK_EVENTS)?;
    let mut globals = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.raw_str()?;
        let ix = intern(name)
            .map_err(|error| ChunkError::BadId { id: String::from_utf8_lossy(name).into_owned(), error })?;
        globals.push(ix);
    }
    Ok(globals)
}

#[inline(always)]
fn global(globals: &[u32], local: u64) -> Result<u32, ChunkError> {
    usize::try_from(local)
        .ok()
        .and_then(|l| globals.get(l).copied())
        .ok_or(ChunkError::UnlistedId)
}

/// A version-1 order's unit price: its total over its qty, which must divide it.
pub(crate) fn upcast_price(total: u64, qty: u64) -> Result<u64, ChunkError> {
    match total.checked_rem(qty) {
        Some(0) => Ok(total / qty),
        _ => Err(ChunkError::UnevenOrderTotal { total, qty }),
    }
}

/// Where a chunk sits in the log, read from its header (after its checksum is checked), without decoding
/// its events: enough to file it as a record.
pub fn chunk_info(bytes: &[u8]) -> Result<ChunkInfo, ChunkError> {
    let mut r = Reader::with_crc(bytes)?;
    let version = r.u8()?;
    if version != VERSION && version != VERSION_1 {
        return Err(ChunkError::UnknownVersion(version));
    }
    let first_seq = r.varint()?;
    let count = r.count_of(MIN_EVENT_BYTES, MAX_CHUNK_EVENTS)?;
    Ok(ChunkInfo { first_seq, count: count as u64 })
}

/// Decodes a chunk, appending its events and timestamps to `events` and `timestamps` and interning its names.
/// On error neither vector changes (the names table may have grown, which no state can see).
pub fn decode_chunk(
    bytes: &[u8],
    names: &mut Names,
    events: &mut Vec<Event>,
    timestamps: &mut Vec<u64>,
) -> Result<ChunkInfo, ChunkError> {
    let (events_before, ts_before) = (events.len(), timestamps.len());
    let result = decode_into(bytes, names, events, timestamps);
    if result.is_err() {
        events.truncate(events_before);
        timestamps.truncate(ts_before);
    }
    result
}

fn decode_into(
    bytes: &[u8],
    names: &mut Names,
    events: &mut Vec<Event>,
    timestamps: &mut Vec<u64>,
) -> Result<ChunkInfo, ChunkError> {
    let mut r = Reader::with_crc(bytes)?;
    let version = r.u8()?;
    if version != VERSION && version != VERSION_1 {
        return Err(ChunkError::UnknownVersion(version));
    }
    let first_seq = r.varint()?;
    let count = r.count_of(MIN_EVENT_BYTES, MAX_CHUNK_EVENTS)?;
    let mut ts = r.varint()?;
    let users = read_names(&mut r, |n| names.intern_user_bytes(n).map(|u| u.0))?;
    let items = read_names(&mut r, |n| names.intern_item_bytes(n).map(|i| i.0))?;
    events.reserve(count);
    timestamps.reserve(count);
    for _ in 0..count {
        let tag = r.u8()?;
        let delta = r.zigzag()?;
        ts = ts
            .checked_add_signed(delta)
            .filter(|t| *t <= MAX)
            .ok_or(ChunkError::TimestampOutOfRange)?;
        let event = match tag {
            TOPPED_UP => Event::ToppedUp {
                user: UserId(global(&users, r.varint()?)?),
                amount: Money(r.varint()?),
            },
            ITEM_ADDED => Event::ItemAdded {
                item: ItemId(global(&items, r.varint()?)?),
                price: Money(r.varint()?),
                qty: Qty(r.varint()?),
            },
            ORDER_PLACED => {
                let user = UserId(global(&users, r.varint()?)?);
                let item = ItemId(global(&items, r.varint()?)?);
                let qty = r.varint()?;
                let (price, total) = if version == VERSION_1 {
                    let total = r.varint()?;
                    (upcast_price(total, qty)?, total)
                } else {
                    (r.varint()?, r.varint()?)
                };
                Event::OrderPlaced { user, item, qty: Qty(qty), price: Money(price), total: Money(total) }
            }
            REFUNDED if version == VERSION => Event::Refunded {
                order: r.varint()?,
                user: UserId(global(&users, r.varint()?)?),
                item: ItemId(global(&items, r.varint()?)?),
                qty: Qty(r.varint()?),
                total: Money(r.varint()?),
            },
            WITHDRAWN if version == VERSION => {
                Event::Withdrawn { user: UserId(global(&users, r.varint()?)?), amount: Money(r.varint()?) }
            }
            WRITTEN_OFF if version == VERSION => {
                Event::WrittenOff { item: ItemId(global(&items, r.varint()?)?), qty: Qty(r.varint()?) }
            }
            PRICE_SET if version == VERSION => {
                Event::PriceSet { item: ItemId(global(&items, r.varint()?)?), price: Money(r.varint()?) }
            }
            other => return Err(ChunkError::UnknownEventTag(other)),
        };
        events.push(event);
        timestamps.push(ts);
    }
    if !r.is_at_end() {
        return Err(ChunkError::TrailingBytes);
    }
    Ok(ChunkInfo { first_seq, count: count as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk header that claims `count` events, followed by `padding` zero bytes, with a valid checksum.
    fn crafted(count: u64, padding: usize) -> Vec<u8> {
        let mut w = Writer::with_capacity(16 + padding);
        w.u8(VERSION);
        w.varint(1);
        w.varint(count);
        w.varint(0);
        w.bytes.extend(std::iter::repeat_n(0u8, padding));
        w.finish_with_crc()
    }

    #[test]
    fn a_crafted_count_is_refused_before_anything_is_allocated_for_it() {
        let decode = |bytes: &[u8]| decode_chunk(bytes, &mut Names::new(), &mut Vec::new(), &mut Vec::new());
        // More events than the bytes could hold.
        assert_eq!(decode(&crafted(u64::MAX >> 1, 8)), Err(ChunkError::Wire(WireError::Malformed("a count is larger than the data"))));
        assert_eq!(decode(&crafted(1_000_000, 64)), Err(ChunkError::Wire(WireError::Malformed("a count is larger than the data"))));
        // Enough bytes, but more events than a chunk may hold.
        let over = MAX_CHUNK_EVENTS as u64 + 1;
        assert_eq!(
            decode(&crafted(over, MIN_EVENT_BYTES * (over as usize) + 8)),
            Err(ChunkError::Wire(WireError::Malformed("a count is above the format's maximum")))
        );
    }
}
