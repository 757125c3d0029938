//! The virtual lists' geometry, one place for every list of the page (the event log, the state tables, diff
//! and blame): each row is [`ROW_H`] px tall (style/main.css keeps rows at exactly this), and past
//! [`ALL_ROWS_UP_TO`] rows only those in view and a few around exist. The event log, which may list a million
//! rows, scrolls a spacer capped below Chromium's element-height limit, its position scaled to the row index
//! ([`ScaledList`]).

use std::ops::Range;

/// Row height of every list, in px.
pub const ROW_H: f64 = 28.0;
/// Up to this many rows, every row exists (CONTRACT §6); past it, only the rows in view and a few around.
pub const ALL_ROWS_UP_TO: usize = 500;
/// Rows kept beyond each edge of the view, so a short scroll shows rows that are already there.
const OVERSCAN: usize = 6;
/// Chromium caps an element's height (somewhere from 16.7 to 33.5 million px): the spacer stays well below.
const MAX_SPACER: f64 = 4_000_000.0;

/// The height of `rows` rows, as CSS.
pub fn px(rows: usize) -> String {
    format!("{}px", rows as f64 * ROW_H)
}

/// Which rows exist for a list of `len` rows, `view_rows` of them in view, scrolled to `scroll_top`.
pub fn window(len: usize, view_rows: usize, scroll_top: f64) -> Range<usize> {
    if len <= ALL_ROWS_UP_TO {
        return 0..len;
    }
    let first = ((scroll_top / ROW_H).max(0.0) as usize).saturating_sub(OVERSCAN).min(len);
    first..(first + view_rows + 2 * OVERSCAN).min(len)
}

/// Where to scroll a list whose view is `client_height` px tall and at `scroll_top`, so that row `index` is in
/// view (centred); `None` if it is in view already.
pub fn scroll_to_show(index: usize, scroll_top: f64, client_height: f64) -> Option<f64> {
    let height = client_height - ROW_H;
    let row_top = index as f64 * ROW_H;
    (row_top < scroll_top || row_top > scroll_top + height - ROW_H).then(|| (row_top - height / 2.0).max(0.0))
}

/// A list of any length with `view_rows` rows in view: its spacer is the rows' full height up to the cap, and
/// past it the scroll position is scaled to the row index, so that every row stays reachable.
#[derive(Clone, Copy, Debug)]
pub struct ScaledList {
    pub view_rows: u64,
}

impl ScaledList {
    /// The spacer's height for `listed` rows: their full height, capped below Chromium's limit.
    pub fn spacer_height(self, listed: u64) -> f64 {
        (listed as f64 * ROW_H).min(MAX_SPACER)
    }

    /// How far the list scrolls, in px, and over how many rows that range is spread (None: all rows fit).
    fn scroll_range(self, listed: u64) -> Option<(f64, f64)> {
        let rows = listed.checked_sub(self.view_rows).filter(|r| *r > 0)?;
        Some(((self.spacer_height(listed) - self.view_rows as f64 * ROW_H).max(1.0), rows as f64))
    }

    /// Which listed row sits at the top for a scroll position.
    pub fn first_row(self, scroll_top: f64, listed: u64) -> u64 {
        self.scroll_range(listed).map_or(0, |(px, rows)| ((scroll_top / px).clamp(0.0, 1.0) * rows).round() as u64)
    }

    /// The scroll position that puts row `first` at the top.
    pub fn scroll_for(self, first: u64, listed: u64) -> f64 {
        self.scroll_range(listed).map_or(0.0, |(px, rows)| first as f64 / rows * px)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    const LOG: ScaledList = ScaledList { view_rows: 14 };
    /// Rows at which the spacer reaches its cap and scrolling becomes scaled.
    const SCALED_FROM: u64 = (MAX_SPACER / ROW_H) as u64;

    #[wasm_bindgen_test]
    fn below_the_cap_every_row_has_its_own_place() {
        for listed in [LOG.view_rows + 1, 1_000, 100_000, SCALED_FROM] {
            assert_eq!(LOG.spacer_height(listed), listed as f64 * ROW_H, "{listed}");
            let last = listed - LOG.view_rows;
            for first in [0, 1, last / 2, last - 1, last] {
                let top = LOG.scroll_for(first, listed);
                assert!((top - first as f64 * ROW_H).abs() < 1e-6, "{listed} rows, row {first}: one row per {ROW_H} px, not {top}");
                assert_eq!(LOG.first_row(top.round(), listed), first);
            }
        }
    }

    #[wasm_bindgen_test]
    fn above_the_cap_the_scroll_is_scaled_and_every_row_is_still_reachable() {
        for listed in [SCALED_FROM + 1, 200_000, 1_000_000] {
            assert_eq!(LOG.spacer_height(listed), MAX_SPACER, "{listed}");
            let last = listed - LOG.view_rows;
            let (px, _) = LOG.scroll_range(listed).unwrap();
            assert_eq!(LOG.first_row(px, listed), last, "the end of the scroll shows the last rows");
            assert_eq!(LOG.first_row(px * 10.0, listed), last, "past the end is clamped");
            assert_eq!(LOG.first_row(-5.0, listed), 0);
            // Browsers scroll by whole pixels: each row is still the top row at some whole-pixel position.
            for first in [0, 1, 2, 3, last / 3, last / 2, last - 2, last - 1, last] {
                let top = LOG.scroll_for(first, listed).round();
                assert_eq!(LOG.first_row(top, listed), first, "{listed} rows, row {first} at {top} px");
            }
            let mut previous = 0;
            for step in 0..=1_000u64 {
                let row = LOG.first_row(px * step as f64 / 1_000.0, listed);
                assert!(row >= previous, "scrolling down never moves up");
                previous = row;
            }
        }
    }

    #[wasm_bindgen_test]
    fn a_short_list_does_not_scroll() {
        for listed in [0, 1, LOG.view_rows] {
            assert_eq!(LOG.scroll_range(listed), None);
            assert_eq!(LOG.first_row(500.0, listed), 0);
            assert_eq!(LOG.scroll_for(3, listed), 0.0);
        }
    }

    #[wasm_bindgen_test]
    fn a_long_list_has_only_the_rows_in_view_and_a_few_around() {
        assert_eq!(window(ALL_ROWS_UP_TO, 16, 9_000.0), 0..ALL_ROWS_UP_TO, "every row up to the cap");
        let rows = window(10_000, 16, 100.0 * ROW_H);
        assert!(rows.contains(&100) && rows.contains(&115), "{rows:?}");
        assert!(rows.len() <= 16 + 2 * OVERSCAN);
        assert_eq!(window(10_000, 16, 1e9).end, 10_000);
        assert_eq!(scroll_to_show(10, 10.0 * ROW_H, 16.0 * ROW_H), None, "in view already");
        assert!(scroll_to_show(100, 0.0, 16.0 * ROW_H).is_some_and(|top| top > 80.0 * ROW_H));
    }
}
