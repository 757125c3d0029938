//! Painting many table rows in one call. A far jump of the timeline changes most of a thousand rows; one
//! call into JavaScript per move, which loops over the rows, costs far less than thousands of separate
//! calls (each decoding a string and crossing the wasm boundary). Formatting stays exact: integers are
//! below 2^53, and money is formatted from the decimal digits, never by float division.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
function money(v) {
  const s = String(v).padStart(3, '0');
  return s.slice(0, -2) + '.' + s.slice(-2);
}
function count(v) {
  const s = String(v);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += '\u202f';
    out += s[i];
  }
  return out;
}
function setText(cell, text) {
  if (cell.firstChild) cell.firstChild.nodeValue = text; else cell.textContent = text;
}
// Writes a value only where it differs: a write costs far more than the read.
function setValue(row, attr, cell, value, format) {
  const text = String(value);
  if (row.getAttribute(attr) === text) return;
  row.setAttribute(attr, text);
  setText(cell, format(value));
}
export function paintUsers(rows, balances, changed) {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    setValue(row, 'data-balance', row.cells[1], balances[i], money);
    row.classList.toggle('changed', changed[i] === 1);
  }
}
export function paintItems(rows, prices, stocks, changed) {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    setValue(row, 'data-price', row.cells[1], prices[i], money);
    setValue(row, 'data-stock', row.cells[2], stocks[i], count);
    row.classList.toggle('changed', changed[i] === 1);
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = paintUsers)]
    fn paint_users_js(rows: &js_sys::Array, balances: &[f64], changed: &[u8]);
    #[wasm_bindgen(js_name = paintItems)]
    fn paint_items_js(rows: &js_sys::Array, prices: &[f64], stocks: &[f64], changed: &[u8]);
}

/// (row, balance, changed by the event at the cursor)
pub fn paint_users(rows: &[(web_sys::HtmlElement, u64, bool)]) {
    if rows.is_empty() {
        return;
    }
    let elements = js_sys::Array::new();
    let (mut balances, mut changed) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (row, balance, c) in rows {
        elements.push(row);
        // Exact: every amount is at most 2^53 − 1.
        balances.push(*balance as f64);
        changed.push(u8::from(*c));
    }
    paint_users_js(&elements, &balances, &changed);
}

/// (row, price, stock, changed by the event at the cursor)
pub fn paint_items(rows: &[(web_sys::HtmlElement, u64, u64, bool)]) {
    if rows.is_empty() {
        return;
    }
    let elements = js_sys::Array::new();
    let mut prices = Vec::with_capacity(rows.len());
    let mut stocks = Vec::with_capacity(rows.len());
    let mut changed = Vec::with_capacity(rows.len());
    for (row, price, stock, c) in rows {
        elements.push(row);
        prices.push(*price as f64);
        stocks.push(*stock as f64);
        changed.push(u8::from(*c));
    }
    paint_items_js(&elements, &prices, &stocks, &changed);
}
