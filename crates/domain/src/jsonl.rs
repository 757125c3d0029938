//! The interchange format: JSON Lines. Export writes version 2; import reads versions 1 and 2 in any mix,
//! upcasting a version 1 order with price = total / qty. Encoding writes the exact field order of the
//! contract; decoding checks every line (syntax, fields, seq, and the domain rules by replaying) and stops at
//! the first error with its line number. Decoding is incremental so a page can show progress on big files.

use crate::event::Event;
use crate::log::Log;
use crate::money::{Money, Qty, MAX};
use crate::names::{validate_id, Names};
use crate::state::State;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// The first problem in an imported file, with its line number (1-based; 0 for the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

/// Appends one event as a JSON Lines line, version 2 (with its `\n`).
pub fn encode_jsonl_line(out: &mut String, names: &Names, seq: u64, ts: u64, event: &Event) {
    // Ids are validated to `A-Z a-z 0-9 _ -`, so they never need escaping.
    let head = format_args!(r#"{{"v":2,"seq":{seq},"ts":{ts},"type":"{}""#, event.type_name());
    let _ = match *event {
        Event::ToppedUp { user, amount } | Event::Withdrawn { user, amount } => {
            writeln!(out, r#"{head},"user":"{}","amount":{}}}"#, names.user_name(user), amount.0)
        }
        Event::ItemAdded { item, price, qty } => {
            writeln!(out, r#"{head},"item":"{}","price":{},"qty":{}}}"#, names.item_name(item), price.0, qty.0)
        }
        Event::OrderPlaced { user, item, qty, price, total } => writeln!(
            out,
            r#"{head},"user":"{}","item":"{}","qty":{},"price":{},"total":{}}}"#,
            names.user_name(user),
            names.item_name(item),
            qty.0,
            price.0,
            total.0
        ),
        Event::Refunded { order, user, item, qty, total } => writeln!(
            out,
            r#"{head},"order":{order},"user":"{}","item":"{}","qty":{},"total":{}}}"#,
            names.user_name(user),
            names.item_name(item),
            qty.0,
            total.0
        ),
        Event::WrittenOff { item, qty } => writeln!(out, r#"{head},"item":"{}","qty":{}}}"#, names.item_name(item), qty.0),
        Event::PriceSet { item, price } => {
            writeln!(out, r#"{head},"item":"{}","price":{}}}"#, names.item_name(item), price.0)
        }
    };
}

/// The whole log as JSON Lines text.
pub fn encode_jsonl(log: &Log) -> String {
    encode_jsonl_pieces(log, usize::MAX).collect()
}

/// The whole log as JSON Lines text in pieces of at most `events_per_piece` lines, made one at a time: a page
/// hands each to the browser before it makes the next, and never holds a string of hundreds of megabytes.
pub fn encode_jsonl_pieces(log: &Log, events_per_piece: usize) -> impl Iterator<Item = String> + '_ {
    let per_piece = events_per_piece.max(1);
    let pieces = log.events().chunks(per_piece).zip(log.timestamps().chunks(per_piece));
    pieces.enumerate().map(move |(p, (events, timestamps))| {
        let mut out = String::with_capacity(events.len() * 110);
        for (i, (event, ts)) in events.iter().zip(timestamps).enumerate() {
            encode_jsonl_line(&mut out, log.names(), (p * per_piece + i) as u64 + 1, *ts, event);
        }
        out
    })
}

/// A field that may be absent but, when present, must hold a value of its type (`null` is an error).
#[derive(Default)]
enum Field<T> {
    #[default]
    Absent,
    Present(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Field::Present)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    v: u64,
    seq: u64,
    ts: u64,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    user: Field<Cow<'a, str>>,
    #[serde(default, borrow)]
    item: Field<Cow<'a, str>>,
    #[serde(default)]
    amount: Field<u64>,
    #[serde(default)]
    price: Field<u64>,
    #[serde(default)]
    qty: Field<u64>,
    #[serde(default)]
    total: Field<u64>,
    #[serde(default)]
    order: Field<u64>,
}

fn syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json says "at line 1 column N" of the single line it was given; the column is what helps.
    match text.rfind(" at line ") {
        Some(cut) => format!("{} (column {})", &text[..cut], e.column()),
        None => text,
    }
}

/// Checks a file line by line, building the log it describes. Feed it with [`ImportCheck::advance`] in
/// slices (so a page stays responsive), then take the result with [`ImportCheck::finish`].
pub struct ImportCheck {
    bytes: Vec<u8>,
    pos: usize,
    line: u64,
    log: Log,
    state: State,
}

/// How far a check has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    pub bytes_done: usize,
    pub bytes_total: usize,
    pub events: u64,
}

impl ImportCheck {
    pub fn new(bytes: Vec<u8>) -> Self {
        let pos = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        Self { bytes, pos, line: 0, log: Log::new(), state: State::new() }
    }

    pub fn progress(&self) -> ImportProgress {
        ImportProgress { bytes_done: self.pos, bytes_total: self.bytes.len(), events: self.log.len() }
    }

    pub fn is_done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Checks up to `max_lines` more lines.
    pub fn advance(&mut self, max_lines: usize) -> Result<ImportProgress, ImportError> {
        for _ in 0..max_lines {
            if self.is_done() {
                break;
            }
            self.line += 1;
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let (raw, next) = match rest.iter().position(|b| *b == b'\n') {
                Some(nl) => (&rest[..nl], self.pos + nl + 1),
                None => (rest, self.bytes.len()),
            };
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = self.line;
            let at = |message: String| ImportError { line, message };
            if raw.is_empty() {
                return Err(at("blank line; every line must hold one event".into()));
            }
            push_jsonl_line(&mut self.log, &mut self.state, raw).map_err(at)?;
            self.pos = next;
        }
        Ok(self.progress())
    }

    /// The checked log and its state, once every line has been checked.
    pub fn finish(mut self) -> Result<(Log, State), ImportError> {
        while !self.is_done() {
            self.advance(usize::MAX)?;
        }
        if self.log.is_empty() {
            return Err(ImportError { line: 0, message: "the file is empty: it holds no events".into() });
        }
        Ok((self.log, self.state))
    }
}

/// Checks one JSON Lines line (without its newline) as the next event of `log` and appends it, applying it
/// to `live` (the state after `log`). On error, with the reason in words, nothing changes but the names
/// table (which no state can see). The sync server reads its stream this way.
pub fn push_jsonl_line(log: &mut Log, live: &mut State, raw: &[u8]) -> Result<(), String> {
    let parsed: Line<'_> = serde_json::from_slice(raw).map_err(|e| syntax_message(&e))?;
    let event = to_event(&parsed, log.len() + 1, log.names_mut())?;
    let kind = event.type_name();
    log.push(live, parsed.ts, event).map_err(|rejection| format!("{kind}: {rejection}"))
}

/// The fields each type holds, beside `v`, `seq`, `ts` and `type`: exactly these, no more, no fewer.
fn fields_of(kind: &str, version: u64) -> Option<&'static [&'static str]> {
    Some(match (kind, version) {
        ("ToppedUp" | "Withdrawn", 2) | ("ToppedUp", 1) => &["user", "amount"],
        ("ItemAdded", _) => &["item", "price", "qty"],
        ("OrderPlaced", 1) => &["user", "item", "qty", "total"],
        ("OrderPlaced", 2) => &["user", "item", "qty", "price", "total"],
        ("Refunded", 2) => &["order", "user", "item", "qty", "total"],
        ("WrittenOff", 2) => &["item", "qty"],
        ("PriceSet", 2) => &["item", "price"],
        _ => return None,
    })
}

fn to_event(line: &Line<'_>, expected_seq: u64, names: &mut Names) -> Result<Event, String> {
    if line.v != 1 && line.v != 2 {
        return Err(format!("unknown format version v={}; this reads versions 1 and 2", line.v));
    }
    if line.seq != expected_seq {
        return Err(format!("seq is {}, expected {expected_seq}", line.seq));
    }
    if line.ts > MAX {
        return Err(format!("ts {} is past the maximum {MAX}", line.ts));
    }
    let kind = line.kind.as_ref();
    let Some(wanted) = fields_of(kind, line.v) else {
        return Err(if line.v == 1 && crate::event::EVENT_TYPES.contains(&kind) {
            format!("{kind} is a version 2 event: write it with \"v\":2")
        } else {
            format!("unknown event type {kind:?}; expected one of {}", crate::event::EVENT_TYPES.join(", "))
        });
    };
    let present = [
        ("user", matches!(line.user, Field::Present(_))),
        ("item", matches!(line.item, Field::Present(_))),
        ("amount", matches!(line.amount, Field::Present(_))),
        ("price", matches!(line.price, Field::Present(_))),
        ("qty", matches!(line.qty, Field::Present(_))),
        ("total", matches!(line.total, Field::Present(_))),
        ("order", matches!(line.order, Field::Present(_))),
    ];
    if let Some((name, _)) = present.iter().find(|(name, here)| *here && !wanted.contains(name)) {
        return Err(format!("{kind} has no field \"{name}\""));
    }
    if let Some((name, _)) = present.iter().find(|(name, here)| !*here && wanted.contains(name)) {
        return Err(format!("{kind} needs the field \"{name}\""));
    }
    let num = |f: &Field<u64>| match f {
        Field::Present(v) => *v,
        Field::Absent => 0,
    };
    let id = |what: &'static str, f: &Field<Cow<'_, str>>, names: &mut Names| match f {
        Field::Present(name) => {
            validate_id(name).map_err(|e| format!("{kind}: {what} id {name:?} {e}"))?;
            Ok(if what == "user" { names.intern_user(name).0 } else { names.intern_item(name).0 })
        }
        Field::Absent => Err(format!("{kind} needs the field \"{what}\"")),
    };
    use crate::names::{ItemId, UserId};
    let (amount, price, qty, total) = (Money(num(&line.amount)), Money(num(&line.price)), Qty(num(&line.qty)), Money(num(&line.total)));
    Ok(match kind {
        "ToppedUp" => Event::ToppedUp { user: UserId(id("user", &line.user, names)?), amount },
        "Withdrawn" => Event::Withdrawn { user: UserId(id("user", &line.user, names)?), amount },
        "ItemAdded" => Event::ItemAdded { item: ItemId(id("item", &line.item, names)?), price, qty },
        "WrittenOff" => Event::WrittenOff { item: ItemId(id("item", &line.item, names)?), qty },
        "PriceSet" => Event::PriceSet { item: ItemId(id("item", &line.item, names)?), price },
        "OrderPlaced" => {
            let user = UserId(id("user", &line.user, names)?);
            let item = ItemId(id("item", &line.item, names)?);
            // A version 1 order is upcast: its unit price is its total over its qty.
            let price = if line.v == 1 {
                Money(crate::chunk::upcast_price(total.0, qty.0).map_err(|_| {
                    format!("OrderPlaced: a version 1 order's total {} is not a multiple of its qty {}", total.0, qty.0)
                })?)
            } else {
                price
            };
            Event::OrderPlaced { user, item, qty, price, total }
        }
        _ => Event::Refunded {
            order: num(&line.order),
            user: UserId(id("user", &line.user, names)?),
            item: ItemId(id("item", &line.item, names)?),
            qty,
            total,
        },
    })
}
