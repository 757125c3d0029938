//! The state tables' rows, kept by place and painted in one call per move.
//!
//! A far jump of the timeline may change which entities are listed as well as their values: from 28 users to
//! 500 and back. Rows made and dropped through the view's reactive machinery cost tens of microseconds each,
//! so such a jump took 20-40 ms where a jump that kept the same rows took 5. Here a table's rows are plain
//! elements owned by a [`RowsAtPlaces`]: row `i` shows whichever entity is listed `i`-th, a move sends only
//! what differs at each place (numbers, and the names of the places whose entity changed), rows past the
//! list's end are set aside and taken again when it grows, and a new row is a clone of a template. Formatting
//! stays exact: integers are below 2^53, and money is formatted from the decimal digits, never by float
//! division.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
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
const KINDS = [
  { testid: 'user-row', id: 'data-user', values: ['data-balance'], formats: [money],
    title: "Click to chart this user's balance over time" },
  { testid: 'item-row', id: 'data-item', values: ['data-price', 'data-stock'], formats: [money, count],
    title: "Click to chart this item's stock over time" },
];
export class RowsAtPlaces {
  constructor(body, kind) {
    this.body = body;
    this.kind = KINDS[kind];
    this.rows = [];
    this.spare = [];
    this.selected = null;
    const template = document.createElement('tr');
    template.setAttribute('data-testid', this.kind.testid);
    template.title = this.kind.title;
    template.innerHTML = '<th scope="row"> </th>' + '<td class="num"> </td>'.repeat(this.kind.values.length);
    this.template = template;
  }
  row() {
    const tr = this.template.cloneNode(true);
    const texts = Array.from(tr.cells, cell => cell.firstChild);
    return { tr, name: texts[0], values: texts.slice(1) };
  }
  // flags, per place: bit 0 the first value changed, bit 1 the second, bit 2 "changed by the event at the
  // cursor" changed, bit 3 its new value, bit 4 another entity (its name is the next of `names`).
  show(len, places, names, first, second, flags, selected) {
    if (this.rows.length < len) {
      const added = document.createDocumentFragment();
      while (this.rows.length < len) {
        const row = this.spare.pop() ?? this.row();
        this.rows.push(row);
        added.appendChild(row.tr);
      }
      this.body.appendChild(added);
    }
    while (this.rows.length > len) {
      const row = this.rows.pop();
      row.tr.remove();
      this.spare.push(row);
    }
    const kind = this.kind;
    const named = names.split('\n');
    let next = 0;
    for (let i = 0; i < places.length; i++) {
      const row = this.rows[places[i]];
      const f = flags[i];
      if (f & 16) { const name = named[next++]; row.tr.setAttribute(kind.id, name); row.name.nodeValue = name; }
      if (f & 1) { row.tr.setAttribute(kind.values[0], String(first[i])); row.values[0].nodeValue = kind.formats[0](first[i]); }
      if ((f & 2) && kind.values.length > 1) { row.tr.setAttribute(kind.values[1], String(second[i])); row.values[1].nodeValue = kind.formats[1](second[i]); }
      if (f & 4) row.tr.classList.toggle('changed', (f & 8) !== 0);
    }
    this.select(selected);
  }
  select(selected) {
    const now = selected >= 0 && selected < this.rows.length ? this.rows[selected].tr : null;
    if (now !== this.selected) {
      this.selected?.classList.remove('selected');
      now?.classList.add('selected');
      this.selected = now;
    }
  }
  placeOf(event) {
    const tr = event.target instanceof Element ? event.target.closest('tr') : null;
    return tr && tr.parentNode === this.body ? tr.sectionRowIndex : -1;
  }
}
"#)]
extern "C" {
    type RowsAtPlacesJs;
    #[wasm_bindgen(constructor, js_class = "RowsAtPlaces")]
    fn new(body: &web_sys::HtmlElement, kind: u8) -> RowsAtPlacesJs;
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(method, js_class = "RowsAtPlaces")]
    fn show(this: &RowsAtPlacesJs, len: u32, places: &[u32], names: &str, first: &[f64], second: &[f64], flags: &[u8], selected: i32);
    #[wasm_bindgen(method, js_class = "RowsAtPlaces")]
    fn select(this: &RowsAtPlacesJs, selected: i32);
    #[wasm_bindgen(method, js_class = "RowsAtPlaces", js_name = placeOf)]
    fn place_of(this: &RowsAtPlacesJs, event: &web_sys::Event) -> i32;
}

/// What a table's row shows besides its entity's id: one or two values (the second is 0 where a table has
/// one), and whether the event at the cursor changed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowValues {
    pub first: u64,
    pub second: u64,
    pub changed: bool,
}

/// Which table: its rows' test id, id attribute, value attributes and formats.
#[derive(Clone, Copy, Debug)]
pub enum RowKind {
    User = 0,
    Item = 1,
}

/// A table body's rows by place, and what each place shows (the entity, as `K`, and its values).
pub struct RowsAtPlaces<K> {
    js: RowsAtPlacesJs,
    shown: Vec<(K, RowValues)>,
}

impl<K: Copy + PartialEq> RowsAtPlaces<K> {
    /// Rows in `body`, an empty `<tbody>` that only these rows fill.
    pub fn new(body: &web_sys::HtmlElement, kind: RowKind) -> Self {
        Self { js: RowsAtPlacesJs::new(body, kind as u8), shown: Vec::new() }
    }

    /// Shows `listed` (each entity and its values, in order) with `selected` marked; `name` gives the id of an
    /// entity that comes to a place. Only what differs from what is shown is sent.
    pub fn show(&mut self, listed: &[(K, RowValues)], selected: Option<K>, name: impl Fn(K) -> String) {
        self.shown.truncate(listed.len());
        let mut places = Vec::new();
        let mut names = String::new();
        let (mut first, mut second, mut flags) = (Vec::new(), Vec::new(), Vec::new());
        for (place, &(key, now)) in listed.iter().enumerate() {
            let was = self.shown.get(place).copied();
            let flag = match was {
                Some((shown_key, shown)) if shown_key == key => {
                    u8::from(shown.first != now.first)
                        | u8::from(shown.second != now.second) << 1
                        | u8::from(shown.changed != now.changed) << 2
                }
                _ => {
                    // Ids are never empty and never hold a line break (CONTRACT §1).
                    if !names.is_empty() {
                        names.push('\n');
                    }
                    names.push_str(&name(key));
                    0b1_0111
                }
            };
            match self.shown.get_mut(place) {
                Some(slot) => *slot = (key, now),
                None => self.shown.push((key, now)),
            }
            if flag == 0 {
                continue;
            }
            places.push(place as u32);
            // Exact: every amount is at most 2^53 − 1.
            first.push(now.first as f64);
            second.push(now.second as f64);
            flags.push(flag | u8::from(now.changed) << 3);
        }
        let selected = selected.and_then(|s| listed.iter().position(|(k, _)| *k == s)).map_or(-1, |p| p as i32);
        self.js.show(listed.len() as u32, &places, &names, &first, &second, &flags, selected);
    }

    /// Marks `selected` as selected (none if it is not shown), the rest as they are.
    pub fn select(&self, selected: Option<K>) {
        let place = selected.and_then(|s| self.shown.iter().position(|(k, _)| *k == s)).map_or(-1, |p| p as i32);
        self.js.select(place);
    }

    /// The entity of the row an event (a click) happened in.
    pub fn entity_at(&self, event: &web_sys::Event) -> Option<K> {
        let place = usize::try_from(self.js.place_of(event)).ok()?;
        self.shown.get(place).map(|(k, _)| *k)
    }
}
