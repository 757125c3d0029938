//! The store against the real IndexedDB and localStorage of headless Chromium (no mocks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(target_arch = "wasm32")]

use rewind_domain::{decide, generate_log, Command, Log, State};
use rewind_store::{encode_chunks, Backend, EncodedChunk, Store, StoreError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

fn all_chunks(log: &Log) -> Vec<EncodedChunk> {
    encode_chunks(log.names(), 1, log.events(), log.timestamps())
}

fn eval(js: &str) {
    js_sys::eval(js).expect("test script runs");
}

async fn open_idb(name: &str) -> Store {
    let store = Store::open(name).await;
    assert_eq!(store.backend(), Backend::IndexedDb, "{:?}", store.fallback_reasons());
    store
}

/// Appends one top-up as the next event of `log`, the way the app does: decide, store, then apply.
async fn append_top_up(store: &Store, log: &mut Log, live: &mut State, user: &str) -> Result<(), StoreError> {
    let event = decide(live, log.names_mut(), &Command::TopUp { user: user.into(), amount: 5 }).unwrap();
    let chunks = encode_chunks(log.names(), log.len() + 1, &[event], &[log.len() + 1]);
    store.append(log.len(), &chunks).await?;
    log.push(live, log.len() + 1, event).unwrap();
    Ok(())
}

#[wasm_bindgen_test]
async fn appended_events_survive_reopening() {
    let name = unique("append");
    let (mut log, mut live) = (Log::new(), State::new());
    {
        let store = open_idb(&name).await;
        for user in ["alice", "bob", "alice"] {
            append_top_up(&store, &mut log, &mut live, user).await.unwrap();
        }
    }
    let store = open_idb(&name).await;
    assert_eq!(store.head().await.unwrap(), 3);
    let restored = store.restore().await.unwrap();
    assert_eq!(restored.live.listing(&restored.names), live.listing(log.names()));
    assert_eq!((restored.snapshot_seq, restored.tail), (0, 3));
    let loaded = store.read_log().await.unwrap();
    assert!(loaded.error.is_none());
    assert_eq!(rewind_domain::encode_jsonl(&loaded.log), rewind_domain::encode_jsonl(&log));
}

#[wasm_bindgen_test]
async fn snapshot_plus_tail_equals_full_replay_and_a_damaged_snapshot_is_skipped() {
    let name = unique("snap");
    let (log, live) = generate_log(3, 25_000).unwrap();
    let store = open_idb(&name).await;
    store.replace(&all_chunks(&log)).await.unwrap();
    let at_20k = log.replay_prefix(20_000).unwrap();
    store.write_snapshot(&at_20k, log.names()).await.unwrap();

    let restored = store.restore().await.unwrap();
    assert_eq!((restored.snapshot_seq, restored.tail), (20_000, 5_000));
    assert_eq!(restored.live.listing(&restored.names), live.listing(log.names()));

    // A newer snapshot whose bytes are damaged: skipped, reported, never trusted.
    let mut bad = rewind_domain::encode_snapshot(&log.replay_prefix(24_000).unwrap(), log.names());
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    put_raw_snapshot(&name, 24_000, &bad).await;
    let restored = store.restore().await.unwrap();
    assert_eq!(restored.snapshot_seq, 20_000);
    assert_eq!(restored.skipped_snapshots.len(), 1, "{:?}", restored.skipped_snapshots);
    assert!(restored.skipped_snapshots[0].contains("checksum"), "{:?}", restored.skipped_snapshots);
    assert_eq!(restored.live.listing(&restored.names), live.listing(log.names()));
}

/// Overwrites a snapshot record with raw bytes, through plain JS IndexedDB.
async fn put_raw_snapshot(db: &str, seq: u64, bytes: &[u8]) {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let promise = js_sys::eval(&format!(
        r#"new Promise((ok, fail) => {{
            const r = indexedDB.open("{db}");
            r.onsuccess = () => {{
                const tx = r.result.transaction("snapshots", "readwrite");
                const hex = "{hex}";
                const bytes = new Uint8Array(hex.length / 2);
                for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
                tx.objectStore("snapshots").put(bytes, {seq});
                tx.oncomplete = () => {{ r.result.close(); ok(); }};
                tx.onerror = () => fail(tx.error);
            }};
            r.onerror = () => fail(r.error);
        }})"#
    ))
    .unwrap();
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_damaged_chunk_is_reported_with_its_range_and_earlier_events_load() {
    let name = unique("chunk");
    let (log, _) = generate_log(5, 6_000).unwrap();
    let mut chunks = all_chunks(&log);
    assert_eq!(chunks.len(), 3);
    let mid = chunks[1].bytes.len() / 2;
    chunks[1].bytes[mid] ^= 0x10;
    let store = open_idb(&name).await;
    store.replace(&chunks).await.unwrap();

    let loaded = store.read_log().await.unwrap();
    assert_eq!(loaded.log.len(), 2_000);
    let error = loaded.error.expect("the damage is reported");
    assert!(matches!(error, StoreError::Damaged { from: 2001, to: 4000, .. }), "{error:?}");
    assert!(error.to_string().starts_with("stored events 2001 to 4000 are damaged"), "{error}");

    let restored = store.restore().await.unwrap();
    assert_eq!(restored.live.seq(), 2_000);
    assert!(matches!(restored.error, Some(StoreError::Damaged { from: 2001, to: 4000, .. })));
}

#[wasm_bindgen_test]
async fn two_tabs_appending_at_once_lose_nothing_and_reuse_no_sequence_number() {
    let name = unique("tabs");
    let (a, b) = (open_idb(&name).await, open_idb(&name).await);
    const EACH: usize = 200;

    async fn writer(store: &Store, user: &str) -> (usize, usize) {
        let (mut log, mut live) = (Log::new(), State::new());
        let (mut written, mut conflicts) = (0, 0);
        while written < EACH {
            match append_top_up(store, &mut log, &mut live, user).await {
                Ok(()) => written += 1,
                Err(StoreError::Conflict { .. }) => {
                    conflicts += 1;
                    store.catch_up(&mut log, &mut live).await.unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
        (written, conflicts)
    }

    let ((wa, ca), (wb, cb)) = futures::join!(writer(&a, "alice"), writer(&b, "bob"));
    assert_eq!((wa, wb), (EACH, EACH));
    assert!(ca + cb > 0, "the writers did interleave");

    let loaded = a.read_log().await.unwrap();
    assert!(loaded.error.is_none(), "{:?}", loaded.error);
    assert_eq!(loaded.log.len(), 2 * EACH as u64);
    let listing = loaded.live.listing(loaded.log.names());
    assert_eq!(listing.users, vec![("alice".into(), 5 * EACH as u64), ("bob".into(), 5 * EACH as u64)]);
}

#[wasm_bindgen_test]
async fn an_injected_put_fault_acknowledges_nothing() {
    let name = unique("fault");
    let store = open_idb(&name).await;
    let (mut log, mut live) = (Log::new(), State::new());
    append_top_up(&store, &mut log, &mut live, "alice").await.unwrap();

    eval(
        "window.__realPut = IDBObjectStore.prototype.put;
         IDBObjectStore.prototype.put = function () { throw new DOMException('injected', 'UnknownError'); };",
    );
    let failed = append_top_up(&store, &mut log, &mut live, "bob").await;
    eval("IDBObjectStore.prototype.put = window.__realPut;");
    let error = failed.expect_err("the write fails");
    assert!(matches!(error, StoreError::Write(_)), "{error:?}");
    assert_eq!(log.len(), 1, "nothing acknowledged");
    assert_eq!(store.head().await.unwrap(), 1);

    eval(
        "IDBObjectStore.prototype.put = function (...a) { const r = window.__realPut.apply(this, a); this.transaction.abort(); return r; };",
    );
    let aborted = append_top_up(&store, &mut log, &mut live, "bob").await;
    eval("IDBObjectStore.prototype.put = window.__realPut;");
    assert!(aborted.is_err(), "an aborted transaction is an error");
    assert_eq!(store.head().await.unwrap(), 1);

    append_top_up(&store, &mut log, &mut live, "bob").await.unwrap();
    assert_eq!(store.head().await.unwrap(), 2);
}

#[wasm_bindgen_test]
async fn replacing_the_log_is_all_or_nothing() {
    let name = unique("replace");
    let store = open_idb(&name).await;
    let (old, _) = generate_log(8, 2_500).unwrap();
    store.replace(&all_chunks(&old)).await.unwrap();
    let (new, _) = generate_log(9, 5_000).unwrap();

    // The third put of the replacement throws: nothing of the new log may remain.
    eval(
        "window.__realPut = IDBObjectStore.prototype.put; window.__puts = 0;
         IDBObjectStore.prototype.put = function (...a) {
             if (++window.__puts === 3) throw new DOMException('injected', 'UnknownError');
             return window.__realPut.apply(this, a);
         };",
    );
    let failed = store.replace(&all_chunks(&new)).await;
    eval("IDBObjectStore.prototype.put = window.__realPut;");
    assert!(failed.is_err());
    let loaded = store.read_log().await.unwrap();
    assert_eq!(rewind_domain::encode_jsonl(&loaded.log), rewind_domain::encode_jsonl(&old));

    store.replace(&all_chunks(&new)).await.unwrap();
    let loaded = store.read_log().await.unwrap();
    assert_eq!(rewind_domain::encode_jsonl(&loaded.log), rewind_domain::encode_jsonl(&new));

    store.clear().await.unwrap();
    assert_eq!(store.head().await.unwrap(), 0);
    assert_eq!(store.read_log().await.unwrap().log.len(), 0);
}

#[wasm_bindgen_test]
async fn local_storage_quota_exhaustion_is_an_error_that_keeps_what_was_stored() {
    let name = unique("quota");
    let store = Store::open_local(&name).unwrap();
    let (mut log, mut live) = (Log::new(), State::new());
    append_top_up(&store, &mut log, &mut live, "alice").await.unwrap();
    // Fill the rest of the quota with filler, as other data of the site would.
    eval(
        "window.__filler = [];
         let size = 1 << 20;
         while (size >= 64) {
             try { const k = '__filler' + window.__filler.length; localStorage.setItem(k, 'x'.repeat(size)); window.__filler.push(k); }
             catch (e) { size >>= 1; }
         }",
    );
    let (big, _) = generate_log(11, 1_000).unwrap();
    let result = store.append(1, &encode_chunks(big.names(), 2, big.events(), big.timestamps())).await;
    eval("for (const k of window.__filler) localStorage.removeItem(k);");
    let error = result.expect_err("the quota is reached");
    assert_eq!(error, StoreError::QuotaExceeded { backend: "localStorage" });
    assert!(error.to_string().contains("is full"));
    assert_eq!(store.head().await.unwrap(), 1);
    let restored = store.restore().await.unwrap();
    assert_eq!(restored.live.listing(&restored.names), live.listing(log.names()));
    store.clear().await.unwrap();
}

#[wasm_bindgen_test]
async fn refused_indexeddb_falls_back_to_local_storage_then_memory() {
    eval(
        "window.__idb = Object.getOwnPropertyDescriptor(window, 'indexedDB') || Object.getOwnPropertyDescriptor(Window.prototype, 'indexedDB');
         Object.defineProperty(window, 'indexedDB', { configurable: true, get() { throw new DOMException('blocked', 'SecurityError'); } });",
    );
    let name = unique("fallback");
    let local = Store::open(&name).await;
    assert_eq!(local.backend(), Backend::LocalStorage);
    assert!(local.fallback_reasons()[0].starts_with("IndexedDB could not be opened"), "{:?}", local.fallback_reasons());

    eval(
        "window.__ls = Object.getOwnPropertyDescriptor(window, 'localStorage') || Object.getOwnPropertyDescriptor(Window.prototype, 'localStorage');
         Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('blocked', 'SecurityError'); } });",
    );
    let memory = Store::open(&name).await;
    eval(
        "delete window.indexedDB; delete window.localStorage;
         if (!('indexedDB' in window)) Object.defineProperty(window, 'indexedDB', window.__idb);
         if (!('localStorage' in window)) Object.defineProperty(window, 'localStorage', window.__ls);",
    );
    assert_eq!(memory.backend(), Backend::Memory);
    assert_eq!(memory.fallback_reasons().len(), 2);
    let (mut log, mut live) = (Log::new(), State::new());
    append_top_up(&memory, &mut log, &mut live, "alice").await.unwrap();
    assert_eq!(memory.restore().await.unwrap().live.seq(), 1);
    // The real backends are back for the other tests.
    assert_eq!(Store::open(&unique("after")).await.backend(), Backend::IndexedDb);
}

#[wasm_bindgen_test]
async fn after_another_tab_replaced_the_log_an_append_and_an_old_snapshot_are_refused() {
    let name = unique("epoch");
    let (a, b) = (open_idb(&name).await, open_idb(&name).await);
    let (old, old_live) = generate_log(21, 3_000).unwrap();
    a.replace(&all_chunks(&old)).await.unwrap();
    let restored = b.restore().await.unwrap();
    assert_eq!(restored.live.seq(), 3_000);

    // Tab A imports another log of the same length: B's head check alone would pass.
    let (new, _) = generate_log(22, 3_000).unwrap();
    a.replace(&all_chunks(&new)).await.unwrap();
    let mut names = restored.names.clone();
    let event = decide(&restored.live, &mut names, &Command::TopUp { user: "bob".into(), amount: 1 }).unwrap();
    let chunk = encode_chunks(&names, 3_001, &[event], &[1]);
    assert_eq!(b.append(3_000, &chunk).await, Err(StoreError::Replaced));
    assert_eq!(b.tail_after(3_000).await.err(), Some(StoreError::Replaced));
    // B's snapshot of the old log is dropped, not stored over the new one.
    b.write_snapshot(&old_live, old.names()).await.unwrap();
    assert_eq!(a.restore().await.unwrap().snapshot_seq, 0);

    // Once B has read the new log, it can append again.
    let loaded = b.read_log().await.unwrap();
    assert_eq!(rewind_domain::encode_jsonl(&loaded.log), rewind_domain::encode_jsonl(&new));
    let (mut log, mut live) = (loaded.log, loaded.live);
    append_top_up(&b, &mut log, &mut live, "bob").await.unwrap();
    assert_eq!(a.head().await.unwrap(), 3_001);
}
