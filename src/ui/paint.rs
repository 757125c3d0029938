//! Painting many table rows in one call. A far jump of the timeline changes most of a table's rows; one
//! call into JavaScript per move, which loops over the rows, costs far less than thousands of separate
//! calls (each decoding a string and crossing the wasm boundary). Formatting stays exact: integers are
//! below 2^53, and money is formatted from the decimal digits, never by float division.
//!
//! Rows are kept in JavaScript, in numbered slots, from their first paint until they leave: a move then
//! sends only numbers (slots, values, what changed), and builds no array of elements and reads no attribute
//! back. Each slot holds the row and the text nodes of its value cells.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const slots = [];
const free = [];
function money(v) {
  const s = String(v).padStart(3, '0');
  return s.slice(0, -2) + '.' + s.slice(-2);
}
function count(v) {
  const s = String(v);
  if (s.length <= 3) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += '\u202f';
    out += s[i];
  }
  return out;
}
function textOf(cell) {
  if (!cell.firstChild) cell.appendChild(document.createTextNode(''));
  return cell.firstChild;
}
export function keepRow(row) {
  const slot = free.length ? free.pop() : slots.length;
  const cells = [];
  for (let i = 1; i < row.cells.length; i++) cells.push(textOf(row.cells[i]));
  slots[slot] = { row, cells };
  return slot;
}
export function dropRow(slot) {
  if (slots[slot] === undefined) return;
  slots[slot] = undefined;
  free.push(slot);
}
// flags, per row: bit 0 the first value changed, bit 1 the second, bit 2 "changed by the event at the cursor"
// changed, bit 3 its new value.
function paint(ids, first, second, flags, names, formats) {
  for (let i = 0; i < ids.length; i++) {
    const kept = slots[ids[i]];
    if (kept === undefined) continue;
    const f = flags[i];
    if (f & 1) { kept.row.setAttribute(names[0], String(first[i])); kept.cells[0].nodeValue = formats[0](first[i]); }
    if (f & 2) { kept.row.setAttribute(names[1], String(second[i])); kept.cells[1].nodeValue = formats[1](second[i]); }
    if (f & 4) kept.row.classList.toggle('changed', (f & 8) !== 0);
  }
}
export function paintUsers(ids, balances, flags) {
  paint(ids, balances, balances, flags, ['data-balance'], [money]);
}
export function paintItems(ids, prices, stocks, flags) {
  paint(ids, prices, stocks, flags, ['data-price', 'data-stock'], [money, count]);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = keepRow)]
    fn keep_row_js(row: &web_sys::HtmlElement) -> u32;
    #[wasm_bindgen(js_name = dropRow)]
    fn drop_row_js(slot: u32);
    #[wasm_bindgen(js_name = paintUsers)]
    fn paint_users_js(ids: &[u32], balances: &[f64], flags: &[u8]);
    #[wasm_bindgen(js_name = paintItems)]
    fn paint_items_js(ids: &[u32], prices: &[f64], stocks: &[f64], flags: &[u8]);
}

/// A user's row: balance, and whether the event at the cursor changed it.
pub type UserCell = (u64, bool);
/// An item's row: price, stock, and whether the event at the cursor changed it.
pub type ItemCell = (u64, u64, bool);

/// A row kept for painting until [`drop_row`]: its slot number.
pub fn keep_row(row: &web_sys::HtmlElement) -> u32 {
    keep_row_js(row)
}

pub fn drop_row(slot: u32) {
    drop_row_js(slot);
}

/// What changed in a row between what it shows and what it should: the flags `paint` reads.
fn flags(first: bool, second: bool, was_changed: bool, changed: bool) -> u8 {
    u8::from(first) | u8::from(second) << 1 | u8::from(was_changed != changed) << 2 | u8::from(changed) << 3
}

/// (slot, shown, now) of users' rows.
pub fn paint_users(rows: &[(u32, UserCell, UserCell)]) {
    if rows.is_empty() {
        return;
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut balances = Vec::with_capacity(rows.len());
    let mut changed = Vec::with_capacity(rows.len());
    for &(slot, (was, was_changed), (balance, now_changed)) in rows {
        ids.push(slot);
        // Exact: every amount is at most 2^53 − 1.
        balances.push(balance as f64);
        changed.push(flags(was != balance, false, was_changed, now_changed));
    }
    paint_users_js(&ids, &balances, &changed);
}

/// (slot, shown, now) of items' rows.
pub fn paint_items(rows: &[(u32, ItemCell, ItemCell)]) {
    if rows.is_empty() {
        return;
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut prices = Vec::with_capacity(rows.len());
    let mut stocks = Vec::with_capacity(rows.len());
    let mut changed = Vec::with_capacity(rows.len());
    for &(slot, (was_price, was_stock, was_changed), (price, stock, now_changed)) in rows {
        ids.push(slot);
        prices.push(price as f64);
        stocks.push(stock as f64);
        changed.push(flags(was_price != price, was_stock != stock, was_changed, now_changed));
    }
    paint_items_js(&ids, &prices, &stocks, &changed);
}
