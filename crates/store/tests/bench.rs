//! Store figures in headless Chromium with a 1,000,000-event log in IndexedDB. Prints numbers; run with
//! `cargo xtask bench browser`. Compare with ../shared/bench (plain JS and raw IndexedDB, same browser).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench may stop at the first surprise
#![cfg(all(target_arch = "wasm32", feature = "bench"))]

use rewind_domain::{decide, generate_log, Command, State};
use rewind_store::{encode_chunks, Store};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// The yardstick beside our append, in the same run: one put of 40 bytes in its own strict transaction, on a
// database of its own (as ../shared/bench/js-baseline.html measures it).
#[wasm_bindgen(inline_js = r#"
export function rawOpen(name) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('events');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
export function rawPut(db, key) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('events', 'readwrite', { durability: 'strict' });
    tx.objectStore('events').put(new Uint8Array(40), key);
    tx.oncomplete = () => resolve(performance.now() - t0);
    tx.onerror = () => reject(tx.error);
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = rawOpen)]
    fn raw_open(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawPut)]
    fn raw_put(db: &JsValue, key: f64) -> js_sys::Promise;
}

const N: u64 = 1_000_000;

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[wasm_bindgen_test]
async fn store_figures() {
    let t = now();
    let (log, live) = generate_log(1, N).unwrap();
    let generate_ms = now() - t;

    let name = format!("bench-{}", (js_sys::Math::random() * 1e12) as u64);
    let store = Store::open(&name).await;

    let t = now();
    let chunks = encode_chunks(log.names(), 1, log.events(), log.timestamps());
    let encode_ms = now() - t;
    let bytes: usize = chunks.iter().map(|c| c.bytes.len()).sum();
    // The decoder alone, in wasm (the native figure is `cargo bench -p rewind-domain`): the chunks in memory,
    // into columns that have room, best of three.
    let (mut events, mut timestamps) = (Vec::with_capacity(N as usize), Vec::with_capacity(N as usize));
    let mut decode_ms = f64::MAX;
    for _ in 0..3 {
        let (mut names, t) = (rewind_domain::Names::new(), now());
        events.clear();
        timestamps.clear();
        for c in &chunks {
            rewind_domain::decode_chunk(&c.bytes, &mut names, &mut events, &mut timestamps).unwrap();
        }
        decode_ms = decode_ms.min(now() - t);
    }
    assert_eq!(events.len() as u64, N);
    let t = now();
    let mut version = rewind_store::LogVersion::default();
    for batch in chunks.chunks(100) {
        version = store.append(version, batch).await.unwrap();
    }
    let write_ms = now() - t;

    let t = now();
    let loaded = store.read_log().await.unwrap();
    let read_ms = now() - t;
    assert_eq!(loaded.log.len(), N);
    assert!(loaded.problem.is_none());
    drop(loaded);

    // As the app's policy leaves it: a snapshot at most 10,000 events behind the head.
    let snap_at = N - 5_000;
    store.write_snapshot(version.epoch, &log.replay_prefix(snap_at).unwrap(), log.names()).await.unwrap();
    let mut restores = Vec::new();
    for _ in 0..5 {
        let t = now();
        let restored = store.restore().await.unwrap();
        restores.push(now() - t);
        assert_eq!(restored.live.seq(), N);
        assert_eq!(restored.live.listing(&restored.names), live.listing(log.names()));
    }
    restores.sort_by(f64::total_cmp);

    let mut names = log.names().clone();
    let mut state: State = live.clone();
    let raw_db = wasm_bindgen_futures::JsFuture::from(raw_open(&format!("{name}-raw"))).await.unwrap();
    let (mut appends, mut raw_puts) = (Vec::new(), Vec::new());
    for i in 0..300u64 {
        let event = decide(&state, &mut names, &(), &Command::TopUp { user: "bench".into(), amount: 1 }).unwrap();
        let chunk = encode_chunks(&names, version.head + 1, &[event], &[i]);
        let t = now();
        version = store.append(version, &chunk).await.unwrap();
        appends.push(now() - t);
        state.apply(&names, &event).unwrap();
        // Interleaved, so that both see the same disk and the same moment.
        let raw = wasm_bindgen_futures::JsFuture::from(raw_put(&raw_db, i as f64)).await.unwrap();
        raw_puts.push(raw.as_f64().unwrap());
    }
    appends.sort_by(f64::total_cmp);
    raw_puts.sort_by(f64::total_cmp);

    console_log!(
        "STORE-BENCH {{\"events\":{N},\"generate_ms\":{generate_ms:.0},\"encode_ms\":{encode_ms:.0},\
         \"chunk_decode_ms\":{decode_ms:.1},\"chunk_decode_m_events_per_s\":{:.1},\
         \"stored_bytes\":{bytes},\"records\":{},\"bulk_write_ms\":{write_ms:.0},\
         \"read_and_decode_ms\":{read_ms:.0},\"restore_ms_median\":{:.1},\"restore_tail\":5000,\
         \"append_p50_ms\":{:.2},\"append_p95_ms\":{:.2},\"raw_strict_one_put_p50_ms\":{:.2},\"raw_strict_one_put_p95_ms\":{:.2},\
         \"append_p95_over_raw_p95\":{:.2}}}",
        N as f64 / decode_ms / 1_000.0,
        chunks.len(),
        pct(&restores, 0.5),
        pct(&appends, 0.5),
        pct(&appends, 0.95),
        pct(&raw_puts, 0.5),
        pct(&raw_puts, 0.95),
        pct(&appends, 0.95) / pct(&raw_puts, 0.95)
    );
    store.clear(rewind_store::Expected::Version(version)).await.unwrap();
}
