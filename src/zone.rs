//! The browser's time zone, for the domain's local dates (query windows, hours and days of read models) and
//! for times shown in lists. Natively (tests) it is UTC.

use rewind_domain::LocalTime;

/// The zone the page runs in.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostZone;

impl LocalTime for HostZone {
    fn offset_ms(&self, utc_ms: i64) -> i64 {
        -utc_offset_minutes(utc_ms.max(0) as u64) * 60_000
    }
}

/// The offset from UTC in minutes at `ts` (as `Date.getTimezoneOffset`, so UTC − local), which changes with
/// daylight-saving time. Offsets change only at whole quarter hours, so one reading per quarter hour is
/// cached: creating a `Date` per event costs more than the event.
#[cfg(target_arch = "wasm32")]
fn utc_offset_minutes(ts: u64) -> i64 {
    const QUARTER_HOUR_MS: u64 = 15 * 60 * 1000;
    thread_local! {
        static OFFSETS: std::cell::RefCell<std::collections::HashMap<u64, i64>> = Default::default();
    }
    let quarter = ts / QUARTER_HOUR_MS;
    OFFSETS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 4_096 {
            cache.clear();
        }
        *cache.entry(quarter).or_insert_with(|| {
            js_sys::Date::new(&wasm_bindgen::JsValue::from_f64((quarter * QUARTER_HOUR_MS) as f64)).get_timezone_offset() as i64
        })
    })
}

#[cfg(not(target_arch = "wasm32"))]
fn utc_offset_minutes(_ts: u64) -> i64 {
    0
}
