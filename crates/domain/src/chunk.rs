//! The storage encoding of a chunk of consecutive events: compact, self-contained and checksummed.
//!
//! Layout (version 3): `3`, first seq, count, first ts (varints), the chunk's user names, its item names, then
//! the events; a CRC-32 of all of it closes the chunk. Chunk-local name lists keep every chunk readable on its
//! own, whatever order the name tables were built in.
//!
//! The names are listed in the order of the writer's table, each followed by a hint: its index there, as the
//! step from the previous one (usually one byte). A reader whose table agrees, as a reload's does, compares
//! the name at that index (16 bytes in one step) instead of hashing it and probing; any other reader looks
//! the name up. A hint is only ever compared, never trusted.
//!
//! An event is a three-byte head, then up to six fields as little-endian integers of as few bytes as their
//! values need: the time delta (zigzag), then the event's ids (as indices into the chunk's name lists),
//! amounts and counts. The head holds the event's tag (3 bits) and each field's byte count (3 bits each:
//! 0 to 6 bytes, or 7 for 8), 0 for the fields the event does not have. A reader finds every field from the
//! head alone, so decoding does not branch on each number's length as a varint's reader must.
//!
//! Version 2 wrote the fields as varints after a tag byte; version 1 (the first release's) also, without the
//! order's unit price and the corrections. Both are still read.
use crate::event::Event;
use crate::money::{Money, Qty, MAX};
use crate::names::{IdError, ItemId, Names, UserId};
use crate::wire::{unzigzag, zigzag, Reader, WireError, Writer};
use std::fmt;

/// Version 3 lays each event out behind a head of its fields' lengths; version 2 added the order's unit price
/// and the four correction events. Both earlier versions are still read, version 1's orders upcast with
/// price = total / qty.
const VERSION: u8 = 3;
const VERSION_2: u8 = 2;
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

/// The fewest bytes an event takes in a chunk: in version 3 its head; before, a top-up's tag, time delta,
/// user and amount.
const fn min_event_bytes(version: u8) -> usize {
    if version == VERSION {
        HEAD_BYTES
    } else {
        4
    }
}
/// A version 3 event's head: its tag and its fields' lengths.
const HEAD_BYTES: usize = 3;
/// Fields after the head, at most: the time delta and five of the event's.
const FIELDS: usize = 6;
/// A version 3 event at its longest: its head and six fields of eight bytes. Events are read from a window of
/// this many bytes, so that every read of a field is of eight bytes in bounds.
const WINDOW: usize = 64;
/// A field's byte count, by its length code.
const FIELD_BYTES: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 8];
/// The bits of a field of each length code, in the eight bytes read from where it starts.
const FIELD_MASK: [u64; 8] = [0, 0xff, 0xffff, 0xff_ffff, 0xffff_ffff, 0xff_ffff_ffff, 0xffff_ffff_ffff, u64::MAX];

/// How many of the six fields each tag's event has (its time delta included).
const fn fields_of(tag: u8) -> Option<usize> {
    match tag {
        TOPPED_UP | WITHDRAWN | WRITTEN_OFF | PRICE_SET => Some(3),
        ITEM_ADDED => Some(4),
        ORDER_PLACED | REFUNDED => Some(6),
        _ => None,
    }
}
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
    /// A listed name that no event of the chunk uses, or one listed twice: Rewind's writers list each name
    /// they use once, and a reader that kept whatever names it is sent would let anyone fill its tables.
    UnusedName,
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
            ChunkError::UnusedName => write!(f, "the chunk lists a name that none of its events uses, or lists one twice"),
        }
    }
}

impl std::error::Error for ChunkError {}

impl From<WireError> for ChunkError {
    fn from(e: WireError) -> Self {
        ChunkError::Wire(e)
    }
}

/// A chunk's own list of the global ids it uses, in global order, and each one's place in it.
struct LocalNames {
    local_of: Vec<u32>,
    globals: Vec<u32>,
}

impl LocalNames {
    fn of(global_count: usize, used: impl Iterator<Item = u32>) -> Self {
        let mut local_of = vec![NONE; global_count];
        let mut globals = Vec::new();
        for global in used {
            let ix = global as usize;
            if ix >= local_of.len() {
                local_of.resize(ix + 1, NONE);
            }
            if let Some(slot @ &mut NONE) = local_of.get_mut(ix) {
                *slot = 0;
                globals.push(global);
            }
        }
        globals.sort_unstable();
        for (local, &global) in globals.iter().enumerate() {
            if let Some(slot) = local_of.get_mut(global as usize) {
                *slot = local as u32;
            }
        }
        Self { local_of, globals }
    }

    fn local(&self, global: u32) -> u64 {
        u64::from(self.local_of.get(global as usize).copied().unwrap_or(NONE))
    }

    /// The names, each followed by its hint: the step from the previous one's index in the writer's table.
    fn write<'n>(&self, out: &mut Writer, name: impl Fn(u32) -> &'n str) {
        out.varint(self.globals.len() as u64);
        let mut previous = 0;
        for &global in &self.globals {
            out.str(name(global));
            out.varint(u64::from(global - previous));
            previous = global;
        }
    }
}

/// Encodes events `first_seq, first_seq + 1, …` with their timestamps.
pub fn encode_chunk(names: &Names, first_seq: u64, events: &[Event], timestamps: &[u64]) -> Vec<u8> {
    let users = LocalNames::of(names.user_count(), events.iter().filter_map(|e| e.entities().0).map(|u| u.0));
    let items = LocalNames::of(names.item_count(), events.iter().filter_map(|e| e.entities().1).map(|i| i.0));
    let mut body = Vec::with_capacity(events.len() * 14);
    let mut prev_ts = timestamps.first().copied().unwrap_or(0);
    let first_ts = prev_ts;
    for (event, &ts) in events.iter().zip(timestamps) {
        let delta = zigzag(ts as i64 - prev_ts as i64);
        let (tag, fields): (u8, [u64; FIELDS]) = match *event {
            Event::ToppedUp { user, amount } => (TOPPED_UP, [delta, users.local(user.0), amount.0, 0, 0, 0]),
            Event::ItemAdded { item, price, qty } => (ITEM_ADDED, [delta, items.local(item.0), price.0, qty.0, 0, 0]),
            Event::OrderPlaced { user, item, qty, price, total } => {
                (ORDER_PLACED, [delta, users.local(user.0), items.local(item.0), qty.0, price.0, total.0])
            }
            Event::Refunded { order, user, item, qty, total } => {
                (REFUNDED, [delta, order, users.local(user.0), items.local(item.0), qty.0, total.0])
            }
            Event::Withdrawn { user, amount } => (WITHDRAWN, [delta, users.local(user.0), amount.0, 0, 0, 0]),
            Event::WrittenOff { item, qty } => (WRITTEN_OFF, [delta, items.local(item.0), qty.0, 0, 0, 0]),
            Event::PriceSet { item, price } => (PRICE_SET, [delta, items.local(item.0), price.0, 0, 0, 0]),
        };
        put_event(&mut body, tag, &fields);
        prev_ts = ts;
    }
    let count = events.len().min(timestamps.len());
    let mut out = Writer::with_capacity(body.len() + 64 + 16 * (users.globals.len() + items.globals.len()));
    out.u8(VERSION);
    out.varint(first_seq);
    out.varint(count as u64);
    out.varint(first_ts);
    users.write(&mut out, |g| names.user_name(UserId(g)));
    items.write(&mut out, |g| names.item_name(ItemId(g)));
    out.bytes.extend_from_slice(&body);
    out.finish_with_crc()
}

/// An event's head and fields. Fields the event does not have are zero, so they take no bytes.
fn put_event(out: &mut Vec<u8>, tag: u8, fields: &[u64; FIELDS]) {
    let mut head = u32::from(tag);
    for (j, &v) in fields.iter().enumerate() {
        let bytes = (u64::BITS - v.leading_zeros()).div_ceil(8) as usize;
        let code = if bytes <= 6 { bytes } else { 7 };
        head |= (code as u32) << (3 + 3 * j);
    }
    out.extend_from_slice(&head.to_le_bytes()[..HEAD_BYTES]);
    for (j, &v) in fields.iter().enumerate() {
        let code = (head >> (3 + 3 * j)) as usize & 7;
        out.extend_from_slice(&v.to_le_bytes()[..FIELD_BYTES[code]]);
    }
}

/// A chunk's name list as indices into the reader's table. From version 3 each name carries a hint, its index
/// in the writer's table.
fn read_names(
    r: &mut Reader<'_>,
    hinted: bool,
    mut intern: impl FnMut(&[u8], Option<&[u8; 16]>, Option<u64>) -> Result<u32, IdError>,
) -> Result<Vec<u32>, ChunkError> {
    // Each event names at most one user and one item, so a chunk lists at most that many names.
    let n = r.count_of(MIN_NAME_BYTES, MAX_CHUNK_EVENTS)?;
    let mut globals = Vec::with_capacity(n);
    let mut hint = 0u64;
    for _ in 0..n {
        let (name, window) = r.raw_str_window()?;
        let this_hint = if hinted {
            hint = hint.saturating_add(r.varint()?);
            Some(hint)
        } else {
            None
        };
        let ix = intern(name, window, this_hint)
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
    if !matches!(version, VERSION | VERSION_2 | VERSION_1) {
        return Err(ChunkError::UnknownVersion(version));
    }
    let first_seq = r.varint()?;
    let count = r.count_of(min_event_bytes(version), MAX_CHUNK_EVENTS)?;
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
    let result = decode_into(bytes, names, events, timestamps).map(|(info, _)| info);
    if result.is_err() {
        events.truncate(events_before);
        timestamps.truncate(ts_before);
    }
    result
}

/// As [`decode_chunk`], for bytes from a stranger (the sync server's appends): also refuses a chunk that
/// lists a name none of its events uses, or lists one twice ([`ChunkError::UnusedName`]). The names table
/// may still have grown on error; [`Names::checkpoint`] and [`Names::roll_back`] undo that.
pub fn decode_chunk_strict(
    bytes: &[u8],
    names: &mut Names,
    events: &mut Vec<Event>,
    timestamps: &mut Vec<u64>,
) -> Result<ChunkInfo, ChunkError> {
    let (events_before, ts_before) = (events.len(), timestamps.len());
    let result = decode_into(bytes, names, events, timestamps).and_then(|(info, listed)| {
        let decoded = events.get(events_before..).unwrap_or_default();
        if listed.used_exactly_by(decoded) {
            Ok(info)
        } else {
            Err(ChunkError::UnusedName)
        }
    });
    if result.is_err() {
        events.truncate(events_before);
        timestamps.truncate(ts_before);
    }
    result
}

/// The names a chunk lists, as indices into the reader's table.
struct Listed {
    users: Vec<u32>,
    items: Vec<u32>,
}

impl Listed {
    /// Whether the events use every listed name and the list names none twice.
    fn used_exactly_by(mut self, events: &[Event]) -> bool {
        let (mut users, mut items) = (Vec::with_capacity(self.users.len()), Vec::with_capacity(self.items.len()));
        for event in events {
            let (user, item) = event.entities();
            users.extend(user.map(|u| u.0));
            items.extend(item.map(|i| i.0));
        }
        for list in [&mut users, &mut items, &mut self.users, &mut self.items] {
            list.sort_unstable();
        }
        users.dedup();
        items.dedup();
        users == self.users && items == self.items
    }
}

fn decode_into(
    bytes: &[u8],
    names: &mut Names,
    events: &mut Vec<Event>,
    timestamps: &mut Vec<u64>,
) -> Result<(ChunkInfo, Listed), ChunkError> {
    let mut r = Reader::with_crc(bytes)?;
    let version = r.u8()?;
    if !matches!(version, VERSION | VERSION_2 | VERSION_1) {
        return Err(ChunkError::UnknownVersion(version));
    }
    let first_seq = r.varint()?;
    let count = r.count_of(min_event_bytes(version), MAX_CHUNK_EVENTS)?;
    let mut ts = r.varint()?;
    let hinted = version == VERSION;
    let users = read_names(&mut r, hinted, |n, window, hint| names.intern_user_hinted(n, window, hint).map(|u| u.0))?;
    let items = read_names(&mut r, hinted, |n, window, hint| names.intern_item_hinted(n, window, hint).map(|i| i.0))?;
    events.reserve(count);
    timestamps.reserve(count);
    if version == VERSION {
        decode_events(r.remaining(), (&users, &items), ts, count, events, timestamps)?;
        return Ok((ChunkInfo { first_seq, count: count as u64 }, Listed { users, items }));
    }
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
            REFUNDED if version == VERSION_2 => Event::Refunded {
                order: r.varint()?,
                user: UserId(global(&users, r.varint()?)?),
                item: ItemId(global(&items, r.varint()?)?),
                qty: Qty(r.varint()?),
                total: Money(r.varint()?),
            },
            WITHDRAWN if version == VERSION_2 => {
                Event::Withdrawn { user: UserId(global(&users, r.varint()?)?), amount: Money(r.varint()?) }
            }
            WRITTEN_OFF if version == VERSION_2 => {
                Event::WrittenOff { item: ItemId(global(&items, r.varint()?)?), qty: Qty(r.varint()?) }
            }
            PRICE_SET if version == VERSION_2 => {
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
    Ok((ChunkInfo { first_seq, count: count as u64 }, Listed { users, items }))
}

/// A version 3 event's tag, fields and length, from a window that starts with it.
#[inline(always)]
fn read_event(w: &[u8; WINDOW]) -> (u8, [u64; FIELDS], usize, u32) {
    let head = u32::from(w[0]) | u32::from(w[1]) << 8 | u32::from(w[2]) << 16;
    let mut at = HEAD_BYTES;
    let mut fields = [0u64; FIELDS];
    for (j, field) in fields.iter_mut().enumerate() {
        let code = (head >> (3 + 3 * j)) as usize & 7;
        // At most 3 + 5 × 8 = 43 bytes precede the last field, so eight bytes from `at` are in the window.
        let word = w.get(at..at + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()).unwrap_or_default();
        *field = u64::from_le_bytes(word) & FIELD_MASK[code];
        at += FIELD_BYTES[code];
    }
    ((head & 7) as u8, fields, at, head)
}

/// The events of a version 3 chunk: `body` is all that follows the name lists.
fn decode_events(
    body: &[u8],
    (users, items): (&[u32], &[u32]),
    mut ts: u64,
    count: usize,
    events: &mut Vec<Event>,
    timestamps: &mut Vec<u64>,
) -> Result<(), ChunkError> {
    let mut pos = 0;
    let mut tail = [0u8; WINDOW];
    for _ in 0..count {
        // Where fewer than a window's bytes are left (the last few events), they are read from a zero-padded
        // copy, and an event that would run past them is refused as truncated.
        let window = match body.get(pos..pos + WINDOW).and_then(|w| <&[u8; WINDOW]>::try_from(w).ok()) {
            Some(window) => window,
            None => {
                let left = body.get(pos..).unwrap_or_default();
                tail.fill(0);
                for (to, from) in tail.iter_mut().zip(left) {
                    *to = *from;
                }
                &tail
            }
        };
        let (tag, f, len, head) = read_event(window);
        if pos + len > body.len() {
            return Err(ChunkError::Wire(WireError::Truncated));
        }
        pos += len;
        let Some(used) = fields_of(tag) else { return Err(ChunkError::UnknownEventTag(tag)) };
        if head >> (3 + 3 * used) != 0 {
            return Err(ChunkError::Wire(WireError::Malformed("an event has more fields than its kind")));
        }
        ts = ts.checked_add_signed(unzigzag(f[0])).filter(|t| *t <= MAX).ok_or(ChunkError::TimestampOutOfRange)?;
        let user = |local| global(users, local).map(UserId);
        let item = |local| global(items, local).map(ItemId);
        let event = match tag {
            TOPPED_UP => Event::ToppedUp { user: user(f[1])?, amount: Money(f[2]) },
            ITEM_ADDED => Event::ItemAdded { item: item(f[1])?, price: Money(f[2]), qty: Qty(f[3]) },
            ORDER_PLACED => Event::OrderPlaced {
                user: user(f[1])?,
                item: item(f[2])?,
                qty: Qty(f[3]),
                price: Money(f[4]),
                total: Money(f[5]),
            },
            REFUNDED => Event::Refunded { order: f[1], user: user(f[2])?, item: item(f[3])?, qty: Qty(f[4]), total: Money(f[5]) },
            WITHDRAWN => Event::Withdrawn { user: user(f[1])?, amount: Money(f[2]) },
            WRITTEN_OFF => Event::WrittenOff { item: item(f[1])?, qty: Qty(f[2]) },
            _ => Event::PriceSet { item: item(f[1])?, price: Money(f[2]) },
        };
        events.push(event);
        timestamps.push(ts);
    }
    if pos != body.len() {
        return Err(ChunkError::TrailingBytes);
    }
    Ok(())
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

    fn decoded(bytes: &[u8]) -> Result<(Vec<Event>, Vec<u64>, Names), ChunkError> {
        let (mut names, mut events, mut ts) = (Names::new(), Vec::new(), Vec::new());
        decode_chunk(bytes, &mut names, &mut events, &mut ts).map(|_| (events, ts, names))
    }

    /// The bytes with their checksum made right again after an edit: damage the checksum would not catch.
    fn recrc(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes.truncate(bytes.len() - 4);
        Writer { bytes }.finish_with_crc()
    }

    #[test]
    fn names_are_found_by_name_whatever_the_hints_say() {
        let mut writer = Names::new();
        let long = "Z_9-zz0123456789abcdef0123456789";
        let (alice, bob, carol) = (writer.intern_user("alice"), writer.intern_user(long), writer.intern_user("carol"));
        let apple = writer.intern_item("apple");
        let events = [
            Event::ToppedUp { user: carol, amount: Money(5) },
            Event::ToppedUp { user: alice, amount: Money(7) },
            Event::OrderPlaced { user: bob, item: apple, qty: Qty(1), price: Money(2), total: Money(2) },
        ];
        let bytes = encode_chunk(&writer, 1, &events, &[1, 2, 3]);
        let by_name = |names: &Names, events: &[Event]| -> Vec<String> {
            let line = |e: &Event| {
                let mut out = String::new();
                crate::jsonl::encode_jsonl_line(&mut out, names, 1, 0, e);
                out
            };
            events.iter().map(line).collect()
        };
        // A reader whose table agrees (the hints hold), one that knows other names under those indices (each
        // hint points at another name, or past the end), and one that knows nothing.
        let mut other = Names::new();
        for name in ["carol", "dave", "alice"] {
            other.intern_user(name);
        }
        other.intern_item("pear");
        for mut reader in [writer.clone(), other, Names::new()] {
            let (mut got, mut ts) = (Vec::new(), Vec::new());
            decode_chunk(&bytes, &mut reader, &mut got, &mut ts).unwrap();
            assert_eq!(by_name(&reader, &got), by_name(&writer, &events));
            assert!(reader.user(long).is_some());
        }
    }

    /// A version 2 chunk of one top-up of user 0, listing `users` as its user names.
    fn top_up_listing(users: &[&str]) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        w.u8(VERSION_2);
        for header in [1, 1, 1_000] {
            w.varint(header);
        }
        w.varint(users.len() as u64);
        for user in users {
            w.str(user);
        }
        w.varint(0);
        w.u8(TOPPED_UP);
        w.varint(0);
        w.varint(0);
        w.varint(5);
        w.finish_with_crc()
    }

    #[test]
    fn a_strict_read_refuses_names_no_event_uses_and_names_listed_twice() {
        let mut names = Names::new();
        let (mut events, mut ts) = (Vec::new(), Vec::new());
        assert!(decode_chunk_strict(&top_up_listing(&["alice"]), &mut names, &mut events, &mut ts).is_ok());
        // The lenient read takes junk names (stored records are read as they are); the strict one does not.
        for junk in [&["bob", "junk"][..], &["bob", "bob"][..]] {
            let bytes = top_up_listing(junk);
            let before = names.checkpoint();
            let refused = decode_chunk_strict(&bytes, &mut names, &mut events, &mut ts);
            assert_eq!(refused, Err(ChunkError::UnusedName));
            assert_eq!((events.len(), ts.len()), (1, 1), "nothing of a refused chunk is kept");
            names.roll_back(before);
            assert_eq!((names.user_count(), names.user("bob"), names.user("junk")), (1, None, None));
            assert!(decode_chunk(&bytes, &mut Names::new(), &mut Vec::new(), &mut Vec::new()).is_ok());
        }
        // A name learnt after the roll-back gets the index the forgotten one had, and is found by name.
        assert_eq!(names.intern_user("carol"), UserId(1));
        assert_eq!(names.user("carol"), Some(UserId(1)));
        assert_eq!(names.user_name(UserId(1)), "carol");
    }

    #[test]
    fn a_version_2_chunk_is_still_read() {
        // As the second release stored it: varint fields after a tag byte.
        let mut w = Writer::with_capacity(64);
        w.u8(VERSION_2);
        for header in [1, 4, 1_000, 1] {
            w.varint(header);
        }
        w.str("alice");
        w.varint(1);
        w.str("apple");
        let events: [(u8, i64, &[u64]); 4] = [
            (ITEM_ADDED, 0, &[0, 30, 10]),
            (TOPPED_UP, 5, &[0, 500]),
            (ORDER_PLACED, -2, &[0, 0, 2, 30, 60]),
            (PRICE_SET, 10, &[0, 45]),
        ];
        for (tag, delta, fields) in events {
            w.u8(tag);
            w.varint(zigzag(delta));
            for f in fields {
                w.varint(*f);
            }
        }
        let (events, ts, names) = decoded(&w.finish_with_crc()).unwrap();
        let (alice, apple) = (names.user("alice").unwrap(), names.item("apple").unwrap());
        assert_eq!(
            events,
            [
                Event::ItemAdded { item: apple, price: Money(30), qty: Qty(10) },
                Event::ToppedUp { user: alice, amount: Money(500) },
                Event::OrderPlaced { user: alice, item: apple, qty: Qty(2), price: Money(30), total: Money(60) },
                Event::PriceSet { item: apple, price: Money(45) },
            ]
        );
        assert_eq!(ts, [1_000, 1_005, 1_003, 1_013]);
    }

    #[test]
    fn an_event_takes_only_the_bytes_its_values_need() {
        let mut names = Names::new();
        let alice = names.intern_user("alice");
        let chunk = |amount: u64| encode_chunk(&names, 1, &[Event::ToppedUp { user: alice, amount: Money(amount) }], &[7]);
        // A head and one byte for the amount (the time delta and alice's index are zero: no bytes).
        assert_eq!(chunk(200).len() + 2, chunk(70_000).len());
        for amount in [0, 1, 255, 256, 1 << 48, MAX] {
            let (events, ts, _) = decoded(&chunk(amount)).unwrap();
            assert_eq!((events, ts), (vec![Event::ToppedUp { user: UserId(0), amount: Money(amount) }], vec![7]));
        }
    }

    #[test]
    fn a_head_that_does_not_fit_its_event_is_refused() {
        let mut names = Names::new();
        let alice = names.intern_user("alice");
        let bytes = encode_chunk(&names, 1, &[Event::ToppedUp { user: alice, amount: Money(500) }], &[7]);
        // The event's head is its chunk's last three bytes but the amount's two, before the checksum.
        let head = bytes.len() - 4 - 2 - 3;
        // A top-up with a fourth field.
        let mut extra = bytes.clone();
        extra[head + 1] |= 0b0001_0000; // field 3 (bits 12-14 of the head): one byte
        extra.insert(bytes.len() - 4, 9);
        assert_eq!(decoded(&recrc(extra)).err(), Some(ChunkError::Wire(WireError::Malformed("an event has more fields than its kind"))));
        // An amount running past the end.
        let mut short = bytes.clone();
        short.remove(bytes.len() - 5);
        assert_eq!(decoded(&recrc(short)).err(), Some(ChunkError::Wire(WireError::Truncated)));
        // A tag no event has.
        let mut unknown = bytes.clone();
        unknown[head] |= 0b111;
        assert_eq!(decoded(&recrc(unknown)).err(), Some(ChunkError::UnknownEventTag(7)));
        // Bytes after the last event.
        let mut trailing = bytes;
        trailing.insert(trailing.len() - 4, 0);
        assert_eq!(decoded(&recrc(trailing)).err(), Some(ChunkError::TrailingBytes));
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
            decode(&crafted(over, min_event_bytes(VERSION) * (over as usize) + 8)),
            Err(ChunkError::Wire(WireError::Malformed("a count is above the format's maximum")))
        );
    }
}
