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
  return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
}
function setText(cell, text) {
  if (cell.firstChild) cell.firstChild.nodeValue = text; else cell.textContent = text;
}
export function paintUsers(rows, balances, changed) {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i], b = balances[i];
    row.setAttribute('data-balance', String(b));
    row.classList.toggle('changed', changed[i] === 1);
    setText(row.cells[1], money(b));
  }
}
export function paintItems(rows, prices, stocks, changed) {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i], p = prices[i], s = stocks[i];
    row.setAttribute('data-price', String(p));
    row.setAttribute('data-stock', String(s));
    row.classList.toggle('changed', changed[i] === 1);
    setText(row.cells[1], money(p));
    setText(row.cells[2], count(s));
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
