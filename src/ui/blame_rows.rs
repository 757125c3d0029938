//! Blame's rows, built in JavaScript in one call per move. A far jump of the timeline can add hundreds of
//! them at once (every row exists up to 500, CONTRACT §6); one call that builds them from numbers and one
//! string costs a fraction of building each through the view layer, a wasm call per element and attribute.
//!
//! Rows are numbered from the oldest line, which keeps its number, and place, as the timeline moves: a move
//! adds rows at the top (newer lines) or bottom (older ones, when scrolled) and removes the ones past the
//! window, and the rows in between stay.

use rewind_domain::{BlameLine, ChangeField};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const FIELDS = ['balance', 'price', 'stock'];
function row(index, rowHeight, seq, field, before, after, text) {
  const slot = document.createElement('div');
  slot.className = 'row-slot';
  slot.setAttribute('role', 'listitem');
  slot.style.bottom = (index * rowHeight) + 'px';
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'blame-row';
  b.setAttribute('data-testid', 'blame-row');
  b.setAttribute('data-seq', String(seq));
  b.setAttribute('data-field', FIELDS[field]);
  if (!Number.isNaN(before)) b.setAttribute('data-before', String(before));
  b.setAttribute('data-after', String(after));
  b.textContent = text;
  slot.appendChild(b);
  return slot;
}
// The list shows rows lo..hi (numbered from the oldest), newest first. `added` are the new ones: the first
// `newer` of them, oldest first, go on top; the rest, newest first, at the bottom.
export function syncBlame(list, rowHeight, clear, lo, hi, newer, indices, seqs, fields, befores, afters, texts) {
  if (clear || list._hi === undefined) { list.replaceChildren(); list._lo = lo; list._hi = lo; }
  while (list._hi > Math.max(hi, list._lo) && list.firstChild) { list.firstChild.remove(); list._hi--; }
  while (list._lo < Math.min(lo, list._hi) && list.lastChild) { list.lastChild.remove(); list._lo++; }
  if (list._lo === list._hi) { list._lo = lo; list._hi = lo; }
  const words = texts.split('\n');
  for (let i = 0; i < indices.length; i++) {
    const el = row(indices[i], rowHeight, seqs[i], fields[i], befores[i], afters[i], words[i] ?? '');
    if (i < newer) list.insertBefore(el, list.firstChild); else list.appendChild(el);
  }
  list._lo = lo; list._hi = hi;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = syncBlame)]
    #[allow(clippy::too_many_arguments)]
    fn sync_blame_js(
        list: &web_sys::HtmlElement,
        row_height: f64,
        clear: bool,
        lo: u32,
        hi: u32,
        newer: u32,
        indices: &[u32],
        seqs: &[f64],
        fields: &[u8],
        befores: &[f64],
        afters: &[f64],
        texts: &str,
    );
}

/// What the list holds: whose lines (the stamp), and which of them, numbered from the oldest.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Built {
    pub stamp: u64,
    pub range: (usize, usize),
}

/// The rows to add to go from `built` to `range` of the lines of `stamp`: whether to clear first, the newer
/// rows to put on top (oldest first), and the older ones to put at the bottom (newest first).
pub fn rows_to_add(built: Option<Built>, stamp: u64, range: (usize, usize)) -> (bool, Vec<usize>, Vec<usize>) {
    let (lo, hi) = range;
    match built {
        Some(b) if b.stamp == stamp && b.range.0 < b.range.1 && b.range.0 < hi && lo < b.range.1 => {
            let newer = (b.range.1.max(lo)..hi).collect();
            let older = (lo..b.range.0.min(hi)).rev().collect();
            (false, newer, older)
        }
        _ => (true, (lo..hi).collect(), Vec::new()),
    }
}

/// Brings `list` from `built` to the rows `range` of `lines` (newest first, as blame lists them; row 0 is the
/// last line), `text` giving each row's words.
pub fn sync(
    list: &web_sys::HtmlElement,
    built: Option<Built>,
    stamp: u64,
    range: (usize, usize),
    lines: &[BlameLine],
    text: impl Fn(&BlameLine) -> String,
) -> Built {
    let (clear, newer, older) = rows_to_add(built, stamp, range);
    let added: Vec<(usize, &BlameLine)> =
        newer.iter().chain(&older).filter_map(|&i| Some((i, lines.get(lines.len().checked_sub(i + 1)?)?))).collect();
    let indices: Vec<u32> = added.iter().map(|(i, _)| *i as u32).collect();
    let seqs: Vec<f64> = added.iter().map(|(_, l)| l.seq as f64).collect();
    let fields: Vec<u8> = added
        .iter()
        .map(|(_, l)| match l.field {
            ChangeField::Balance => 0,
            ChangeField::Price => 1,
            ChangeField::Stock => 2,
        })
        .collect();
    // Exact: every value is at most 2^53 − 1; an absent "before" is NaN.
    let befores: Vec<f64> = added.iter().map(|(_, l)| l.before.map_or(f64::NAN, |b| b as f64)).collect();
    let afters: Vec<f64> = added.iter().map(|(_, l)| l.after as f64).collect();
    let texts = added.iter().map(|(_, l)| text(l)).collect::<Vec<_>>().join("\n");
    sync_blame_js(
        list,
        super::rows::ROW_H,
        clear,
        range.0 as u32,
        range.1 as u32,
        newer.len() as u32,
        &indices,
        &seqs,
        &fields,
        &befores,
        &afters,
        &texts,
    );
    Built { stamp, range }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    /// The seqs of the list's rows in page order, and each row's place from the bottom.
    fn shown(list: &web_sys::HtmlElement) -> Vec<(String, String)> {
        let rows = list.children();
        (0..rows.length())
            .filter_map(|i| rows.item(i))
            .filter_map(|slot| {
                let place = slot.get_attribute("style").unwrap_or_default();
                let seq = slot.first_element_child()?.get_attribute("data-seq")?;
                Some((seq, place))
            })
            .collect()
    }

    #[wasm_bindgen_test]
    fn the_list_in_the_page_stays_newest_first_as_rows_come_and_go() {
        let Some(list) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("div").ok())
            .and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el).ok())
        else {
            panic!("no document to build in");
        };
        // Blame lists newest first: seqs 90, 80, …, 10 (row 0 is seq 10, the oldest).
        let lines: Vec<BlameLine> = (1..=9u64)
            .rev()
            .map(|k| BlameLine { seq: k * 10, field: ChangeField::Balance, before: (k > 1).then_some(k), after: k + 1 })
            .collect();
        let text = |l: &BlameLine| format!("#{}", l.seq);
        let seqs = |list: &web_sys::HtmlElement| shown(list).into_iter().map(|(seq, _)| seq).collect::<Vec<_>>();
        let built = sync(&list, None, 1, (0, 3), &lines, text);
        assert_eq!(shown(&list), vec![("30".into(), "bottom: 56px;".into()), ("20".into(), "bottom: 28px;".into()), ("10".into(), "bottom: 0px;".into())]);
        // Forward: newer rows on top.
        let built = sync(&list, Some(built), 1, (0, 5), &lines, text);
        assert_eq!(seqs(&list), ["50", "40", "30", "20", "10"]);
        // A window away from the oldest, then scrolled back towards it: rows leave and come at both ends.
        let built = sync(&list, Some(built), 1, (3, 8), &lines, text);
        assert_eq!(seqs(&list), ["80", "70", "60", "50", "40"]);
        let built = sync(&list, Some(built), 1, (1, 4), &lines, text);
        assert_eq!(seqs(&list), ["40", "30", "20"]);
        // Another entity's lines: built afresh.
        let built = sync(&list, Some(built), 2, (0, 2), &lines, text);
        assert_eq!(seqs(&list), ["20", "10"]);
        let _ = sync(&list, Some(built), 2, (0, 0), &lines, text);
        assert_eq!(seqs(&list), Vec::<String>::new());
        // The first line (seq 10) was created: no "before".
        let _ = sync(&list, None, 3, (0, 1), &lines, text);
        let first = list.first_element_child().and_then(|slot| slot.first_element_child());
        assert_eq!(first.map(|b| (b.has_attribute("data-before"), b.get_attribute("data-after"), b.text_content())), Some((false, Some("2".into()), Some("#10".into()))));
    }

    #[wasm_bindgen_test]
    fn a_move_adds_only_the_rows_it_uncovers() {
        // Forward in time: newer lines on top.
        assert_eq!(rows_to_add(Some(Built { stamp: 1, range: (0, 3) }), 1, (0, 5)), (false, vec![3, 4], vec![]));
        // A window scrolled towards the oldest: older lines at the bottom, newest of them first.
        assert_eq!(rows_to_add(Some(Built { stamp: 1, range: (5, 9) }), 1, (2, 7)), (false, vec![], vec![4, 3, 2]));
        // Back in time: nothing to add, the list drops its top rows.
        assert_eq!(rows_to_add(Some(Built { stamp: 1, range: (0, 5) }), 1, (0, 2)), (false, vec![], vec![]));
        // Another entity, or no overlap: built afresh.
        assert_eq!(rows_to_add(Some(Built { stamp: 1, range: (0, 2) }), 2, (0, 2)), (true, vec![0, 1], vec![]));
        assert_eq!(rows_to_add(Some(Built { stamp: 1, range: (0, 2) }), 1, (4, 6)), (true, vec![4, 5], vec![]));
        assert_eq!(rows_to_add(None, 1, (0, 1)), (true, vec![0], vec![]));
    }
}
