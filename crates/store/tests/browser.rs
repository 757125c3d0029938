//! The store against the real IndexedDB and localStorage of headless Chromium (no mocks), and the memory
//! backend: the same behaviour from all three.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(target_arch = "wasm32")]

use rewind_domain::{decide, encode_jsonl, generate_log, Command, Log, State};
use rewind_store::{
    encode_chunks, Appended, Backend, Backoff, CommandKey, EncodedChunk, Expected, LogVersion, PageLog, PageStore, RecordDamage, Store,
    StoreError, SyncStatus, Unreachable,
};
use wasm_bindgen_test::*;

#[path = "support/fake_server.rs"]
mod fake_server;
use fake_server::FakeServer;

wasm_bindgen_test_configure!(run_in_browser);

const ALL: [Backend; 3] = [Backend::IndexedDb, Backend::LocalStorage, Backend::Memory];
/// The backends whose records outlive a page, and so can be damaged or shared by two handles.
const PERSISTENT: [Backend; 2] = [Backend::IndexedDb, Backend::LocalStorage];

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

fn all_chunks(log: &Log) -> Vec<EncodedChunk> {
    encode_chunks(log.names(), 1, log.events(), log.timestamps())
}

fn eval(js: &str) {
    js_sys::eval(js).expect("test script runs");
}

async fn eval_async(js: &str) {
    let promise = js_sys::eval(js).expect("test script runs");
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await.expect("test script resolves");
}

/// A store of `backend` named `name`. For memory every call gives a new, empty store.
async fn open(backend: Backend, name: &str) -> Store {
    let store = match backend {
        Backend::IndexedDb => Store::open(name).await,
        Backend::LocalStorage => Store::open_local(name).unwrap(),
        Backend::Memory => Store::in_memory(),
    };
    assert_eq!(store.backend(), backend, "{:?}", store.fallback_reasons());
    store
}

/// A page's copy of the log: events, state, and the version it read.
struct Copy {
    log: Log,
    live: State,
    version: LogVersion,
}

impl Copy {
    fn new() -> Self {
        Copy { log: Log::new(), live: State::new(), version: LogVersion::default() }
    }

    async fn read(store: &Store) -> Self {
        let loaded = store.read_log().await.unwrap();
        assert!(loaded.problem.is_none(), "{:?}", loaded.problem);
        let Expected::Version(version) = loaded.version else { panic!("the index is damaged") };
        Copy { log: loaded.log, live: loaded.live, version }
    }

    /// Appends one top-up as the next event, the way the app does: decide, store, then apply.
    async fn top_up(&mut self, store: &Store, user: &str) -> Result<(), StoreError> {
        let event = decide(&self.live, self.log.names_mut(), &(), &Command::TopUp { user: user.into(), amount: 5 }).unwrap();
        let chunks = encode_chunks(self.log.names(), self.log.len() + 1, &[event], &[self.log.len() + 1]);
        self.version = store.append(self.version, &chunks).await?;
        self.log.push(&mut self.live, self.log.len() + 1, event).unwrap();
        Ok(())
    }

    async fn catch_up(&mut self, store: &Store) -> Result<u64, StoreError> {
        let tail = store.tail_after(self.version).await?;
        let version = tail.version;
        let n = tail.apply(&mut self.log, &mut self.live)?;
        self.version = version;
        Ok(n)
    }
}

#[wasm_bindgen_test]
async fn appended_events_survive_reopening() {
    for backend in ALL {
        let name = unique("append");
        let store = open(backend, &name).await;
        let mut copy = Copy::new();
        for user in ["alice", "bob", "alice"] {
            copy.top_up(&store, user).await.unwrap();
        }
        let store = if backend == Backend::Memory { store } else { open(backend, &name).await };
        assert_eq!(store.head().await.unwrap(), 3, "{backend}");
        let restored = store.restore().await.unwrap();
        assert_eq!(restored.live.listing(&restored.names), copy.live.listing(copy.log.names()), "{backend}");
        assert_eq!((restored.snapshot_seq, restored.tail), (0, 3), "{backend}");
        let loaded = Copy::read(&store).await;
        assert_eq!(encode_jsonl(&loaded.log), encode_jsonl(&copy.log), "{backend}");
    }
}

#[wasm_bindgen_test]
async fn an_append_on_a_version_the_store_no_longer_holds_is_refused_and_writes_nothing() {
    for backend in ALL {
        let store = open(backend, &unique("stale")).await;
        let mut a = Copy::new();
        a.top_up(&store, "alice").await.unwrap();
        let mut stale = Copy::new();
        let error = stale.top_up(&store, "bob").await.unwrap_err();
        assert_eq!(error, StoreError::Conflict { expected: 0, found: 1 }, "{backend}");
        assert_eq!(store.head().await.unwrap(), 1, "{backend}");
        // The refused append wrote nothing, not even over the record it would have replaced: alice's event
        // is there, bob's is not.
        assert_eq!(encode_jsonl(&Copy::read(&store).await.log), encode_jsonl(&a.log), "{backend}");
        // After reading what the other writer stored, the same writer goes on.
        assert_eq!(stale.catch_up(&store).await.unwrap(), 1, "{backend}");
        stale.top_up(&store, "bob").await.unwrap();

        // A replace in between: an append on the old log is refused as such.
        let (new, _) = generate_log(3, 10).unwrap();
        store.replace(Expected::Version(stale.version), &all_chunks(&new)).await.unwrap();
        assert_eq!(a.top_up(&store, "carol").await.unwrap_err(), StoreError::Replaced, "{backend}");
        assert_eq!(store.tail_after(a.version).await.err(), Some(StoreError::Replaced), "{backend}");
        assert_eq!(encode_jsonl(&Copy::read(&store).await.log), encode_jsonl(&new), "{backend}");
    }
}

#[wasm_bindgen_test]
async fn a_replace_or_clear_names_the_log_it_replaces_and_never_erases_events_it_did_not_see() {
    for backend in ALL {
        let store = open(backend, &unique("import-race")).await;
        let (old, _) = generate_log(8, 2_500).unwrap();
        store.replace(Expected::Version(LogVersion::default()), &all_chunks(&old)).await.unwrap();
        let importer = Copy::read(&store).await;
        // Another tab appends while the importer checks its file and asks the user.
        let mut other = Copy::read(&store).await;
        other.top_up(&store, "bob").await.unwrap();

        let (new, _) = generate_log(9, 5_000).unwrap();
        let refused = store.replace(Expected::Version(importer.version), &all_chunks(&new)).await;
        assert_eq!(refused, Err(StoreError::Conflict { expected: 2_500, found: 2_501 }), "{backend}");
        assert_eq!(store.clear(Expected::Version(importer.version)).await, refused, "{backend}");
        assert_eq!(store.head().await.unwrap(), 2_501, "{backend}: the other tab's event is kept");

        // Asked again with the new count, the user says yes: the replace names what it saw this time.
        let seen = store.version().await.unwrap();
        let replaced = store.replace(Expected::Version(seen), &all_chunks(&new)).await.unwrap();
        assert_eq!(replaced.head, 5_000, "{backend}");
        assert_ne!(replaced.epoch, seen.epoch, "{backend}: a replace starts a new epoch");
        assert_eq!(encode_jsonl(&Copy::read(&store).await.log), encode_jsonl(&new), "{backend}");
        store.clear(Expected::Version(replaced)).await.unwrap();
        assert_eq!(store.head().await.unwrap(), 0, "{backend}");
    }
}

#[wasm_bindgen_test]
async fn snapshot_plus_tail_equals_full_replay_and_a_stale_snapshot_is_dropped() {
    for backend in ALL {
        let store = open(backend, &unique("snap")).await;
        let (log, live) = generate_log(3, 25_000).unwrap();
        let version = store.replace(Expected::Version(LogVersion::default()), &all_chunks(&log)).await.unwrap();
        let at_20k = log.replay_prefix(20_000).unwrap();
        assert!(store.write_snapshot(version.epoch, &at_20k, log.names()).await.unwrap(), "{backend}");

        let restored = store.restore().await.unwrap();
        assert_eq!((restored.snapshot_seq, restored.tail), (20_000, 5_000), "{backend}");
        assert_eq!(restored.live.listing(&restored.names), live.listing(log.names()), "{backend}");

        // A snapshot of another epoch, or ahead of the head, is dropped: never stored over the log.
        assert!(!store.write_snapshot(version.epoch + 1, &live, log.names()).await.unwrap(), "{backend}");
        let (longer, longer_live) = generate_log(3, 26_000).unwrap();
        assert!(!store.write_snapshot(version.epoch, &longer_live, longer.names()).await.unwrap(), "{backend}");
        assert_eq!(store.restore().await.unwrap().snapshot_seq, 20_000, "{backend}");
    }
}

#[wasm_bindgen_test]
async fn two_handles_appending_at_once_lose_nothing_and_reuse_no_sequence_number() {
    for backend in PERSISTENT {
        let name = unique("tabs");
        let (a, b) = (open(backend, &name).await, open(backend, &name).await);
        const EACH: usize = 100;

        async fn writer(store: &Store, user: &str) -> (usize, usize) {
            let mut copy = Copy::new();
            let (mut written, mut conflicts) = (0, 0);
            while written < EACH {
                match copy.top_up(store, user).await {
                    Ok(()) => written += 1,
                    Err(StoreError::Conflict { .. }) => {
                        conflicts += 1;
                        copy.catch_up(store).await.unwrap();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            (written, conflicts)
        }

        let ((wa, ca), (wb, cb)) = futures::join!(writer(&a, "alice"), writer(&b, "bob"));
        assert_eq!((wa, wb), (EACH, EACH), "{backend}");
        assert!(ca + cb > 0, "{backend}: the writers did interleave");
        let loaded = Copy::read(&a).await;
        assert_eq!(loaded.log.len(), 2 * EACH as u64, "{backend}");
        let listing = loaded.live.listing(loaded.log.names());
        assert_eq!(listing.users, vec![("alice".into(), 5 * EACH as u64), ("bob".into(), 5 * EACH as u64)], "{backend}");
    }
}

// ---- Damage: whatever record is damaged, a true prefix loads and the damage is named. ----

/// Hex of bytes, for test scripts.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a raw JS value (a JS expression; `BYTES` stands for the given bytes) under `key` of `object_store`
/// in IndexedDB, or under the localStorage key of the record.
async fn put_raw(backend: Backend, name: &str, kind: &str, key: &str, value_js: &str, bytes: &[u8]) {
    let bytes_js = format!(
        "(() => {{ const h = '{}'; const b = new Uint8Array(h.length / 2); \
          for (let i = 0; i < b.length; i++) b[i] = parseInt(h.substr(i * 2, 2), 16); return b; }})()",
        hex(bytes)
    );
    let value = value_js.replace("BYTES", &bytes_js);
    match backend {
        Backend::IndexedDb => {
            let store = match kind {
                "c" => "chunks",
                "s" => "snapshots",
                _ => "meta",
            };
            let key = if kind == "meta" { format!("'{key}'") } else { key.to_owned() };
            eval_async(&format!(
                r#"new Promise((ok, fail) => {{
                    const r = indexedDB.open("{name}");
                    r.onsuccess = () => {{
                        const tx = r.result.transaction("{store}", "readwrite");
                        tx.objectStore("{store}").put({value}, {key});
                        tx.oncomplete = () => {{ r.result.close(); ok(); }};
                        tx.onerror = () => fail(tx.error);
                    }};
                    r.onerror = () => fail(r.error);
                }})"#
            ))
            .await;
        }
        _ => {
            // localStorage holds text: bytes as base64, anything else as its text.
            let text = format!("(v => v instanceof Uint8Array ? btoa(String.fromCharCode(...v)) : String(v))({value})");
            let epoch = local_epoch(name);
            let full = if kind == "meta" { format!("{name}/meta") } else { format!("{name}/{epoch}/{kind}/{key}") };
            eval(&format!("localStorage.setItem('{full}', {text})"));
        }
    }
}

fn local_epoch(name: &str) -> String {
    let meta = js_sys::eval(&format!("localStorage.getItem('{name}/meta')")).unwrap().as_string().unwrap_or_default();
    meta.split(' ').next().filter(|e| !e.is_empty()).unwrap_or("0").to_owned()
}

/// Sets the stored head (IndexedDB: the `head` entry; localStorage: the index text) to a JS value.
async fn put_head(backend: Backend, name: &str, head_js: &str) {
    match backend {
        Backend::IndexedDb => put_raw(backend, name, "meta", "head", head_js, &[]).await,
        _ => {
            let epoch = local_epoch(name);
            eval(&format!("localStorage.setItem('{name}/meta', '{epoch} ' + String({head_js}))"));
        }
    }
}

async fn stored_log(backend: Backend, name: &str, seed: u64, n: u64) -> (Store, Log) {
    let store = open(backend, name).await;
    let (log, _) = generate_log(seed, n).unwrap();
    store.replace(Expected::Version(LogVersion::default()), &all_chunks(&log)).await.unwrap();
    (store, log)
}

#[wasm_bindgen_test]
async fn a_damaged_chunk_of_either_kind_is_named_with_its_range_and_the_events_before_it_load() {
    for backend in PERSISTENT {
        for (damage, value) in [("flipped bytes", "FLIP"), ("wrong type", "'not bytes'")] {
            let name = unique("chunk");
            let (store, log) = stored_log(backend, &name, 5, 6_000).await;
            let mut bytes = all_chunks(&log)[1].bytes.clone();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x10;
            let value = if value == "FLIP" { "BYTES" } else { value };
            put_raw(backend, &name, "c", "2001", value, &bytes).await;

            let loaded = store.read_log().await.unwrap();
            assert_eq!(loaded.log.len(), 2_000, "{backend} {damage}");
            assert_eq!(encode_jsonl(&loaded.log), encode_jsonl(&log).lines().take(2_000).map(|l| format!("{l}\n")).collect::<String>());
            let problem = loaded.problem.expect("the damage is reported");
            assert!(matches!(problem, StoreError::DamagedRecord { from: 2001, to: 4000, .. }), "{backend} {damage}: {problem:?}");
            assert!(problem.to_string().starts_with("stored events 2001 to 4000 are damaged"), "{problem}");
            if damage == "wrong type" {
                assert!(matches!(problem, StoreError::DamagedRecord { damage: RecordDamage::NotBytes { .. }, .. }), "{problem:?}");
            }
            let restored = store.restore().await.unwrap();
            assert_eq!(restored.live.seq(), 2_000, "{backend} {damage}");
            assert!(matches!(restored.problem, Some(StoreError::DamagedRecord { from: 2001, to: 4000, .. })));

            // The intact events replace the damaged log, and writing goes on.
            let v = store.replace(loaded.version, &all_chunks(&loaded.log)).await.unwrap();
            assert_eq!(v.head, 2_000);
            assert!(store.read_log().await.unwrap().problem.is_none(), "{backend} {damage}");
        }
    }
}

#[wasm_bindgen_test]
async fn a_damaged_snapshot_of_either_kind_is_skipped_and_reported() {
    for backend in PERSISTENT {
        for value in ["BYTES", "42"] {
            let name = unique("snapdmg");
            let (store, log) = stored_log(backend, &name, 3, 12_000).await;
            let epoch = store.version().await.unwrap().epoch;
            store.write_snapshot(epoch, &log.replay_prefix(10_000).unwrap(), log.names()).await.unwrap();
            let mut bad = rewind_domain::encode_snapshot(&log.replay_prefix(11_000).unwrap(), log.names());
            let mid = bad.len() / 2;
            bad[mid] ^= 0xff;
            put_raw(backend, &name, "s", "11000", value, &bad).await;
            let restored = store.restore().await.unwrap();
            assert_eq!((restored.snapshot_seq, restored.tail), (10_000, 2_000), "{backend} {value}");
            assert_eq!(restored.skipped_snapshots.len(), 1, "{:?}", restored.skipped_snapshots);
            assert!(restored.problem.is_none());
            assert_eq!(restored.live.listing(&restored.names), log.replay().unwrap().listing(log.names()));
        }
    }
}

#[wasm_bindgen_test]
async fn a_damaged_index_is_named_as_such_and_only_a_page_that_saw_it_can_replace_it() {
    for backend in PERSISTENT {
        let name = unique("index");
        let (store, log) = stored_log(backend, &name, 7, 3_000).await;
        let before = Copy::read(&store).await;
        put_head(backend, &name, "'three thousand'").await;

        let loaded = store.read_log().await.unwrap();
        assert_eq!(loaded.version, Expected::DamagedIndex, "{backend}");
        assert_eq!(loaded.log.len(), 3_000, "{backend}: the records that can be read are shown");
        let problem = loaded.problem.unwrap();
        assert!(matches!(problem, StoreError::DamagedIndex(_)), "{problem:?}");
        assert!(problem.to_string().starts_with("the log's index is damaged"), "{problem}");
        assert!(store.restore().await.is_ok(), "{backend}: restore still opens");

        // Writes built on the old index are refused; a replace by a page that saw the damage goes in.
        let mut stale = before;
        assert!(matches!(stale.top_up(&store, "x").await, Err(StoreError::DamagedIndex(_))), "{backend}");
        let v = store.replace(Expected::DamagedIndex, &all_chunks(&log)).await.unwrap();
        assert_eq!(v.head, 3_000);
        assert_eq!(store.replace(Expected::DamagedIndex, &[]).await, Err(StoreError::Replaced), "{backend}");
        assert!(store.read_log().await.unwrap().problem.is_none());
    }
}

#[wasm_bindgen_test]
async fn a_damaged_epoch_is_a_damaged_index_too() {
    let name = unique("epoch");
    let (store, log) = stored_log(Backend::IndexedDb, &name, 7, 2_500).await;
    put_raw(Backend::IndexedDb, &name, "meta", "epoch", "BYTES", &[1, 2, 3]).await;
    let loaded = store.read_log().await.unwrap();
    assert_eq!(loaded.version, Expected::DamagedIndex);
    assert!(matches!(&loaded.problem, Some(StoreError::DamagedIndex(d)) if d.field == "epoch"), "{:?}", loaded.problem);
    assert_eq!(encode_jsonl(&loaded.log), encode_jsonl(&log));
    store.clear(Expected::DamagedIndex).await.unwrap();
    assert_eq!(store.head().await.unwrap(), 0);
}

#[wasm_bindgen_test]
async fn a_head_past_the_records_says_what_is_missing_and_a_head_before_them_hides_what_follows() {
    for backend in PERSISTENT {
        let name = unique("head");
        let (writer, log) = stored_log(backend, &name, 11, 3_000).await;
        // The tab that wrote the log is gone when another program damages the index.
        drop(writer);
        let store = open(backend, &name).await;

        put_head(backend, &name, "3500").await;
        let loaded = store.read_log().await.unwrap();
        assert_eq!(loaded.log.len(), 3_000);
        assert_eq!(loaded.problem, Some(StoreError::Missing { from: 3_001, to: 3_500 }), "{backend}");
        assert_eq!(store.restore().await.unwrap().problem, Some(StoreError::Missing { from: 3_001, to: 3_500 }));

        // A head before the records: only events up to the head are the log, and appends go on after it.
        put_head(backend, &name, "1500").await;
        let mut copy = Copy::read(&store).await;
        assert_eq!(copy.log.len(), 1_500, "{backend}");
        assert_eq!(copy.live.listing(copy.log.names()), log.replay_prefix(1_500).unwrap().listing(log.names()));
        assert_eq!(store.restore().await.unwrap().live.seq(), 1_500, "{backend}");
        copy.top_up(&store, "zoe").await.unwrap();
        let again = Copy::read(&store).await;
        assert_eq!(again.log.len(), 1_501, "{backend}");
        assert_eq!(encode_jsonl(&again.log), encode_jsonl(&copy.log), "{backend}");

        // A batch that reaches over the old records (events 2001-3000 were never acknowledged under this
        // head): reading back gives exactly what was appended, never the old events.
        let (mut events, mut times) = (Vec::new(), Vec::new());
        let mut scratch = copy.live.clone();
        for i in 0..700u64 {
            let event = decide(&scratch, copy.log.names_mut(), &(), &Command::TopUp { user: "yan".into(), amount: 1 + i }).unwrap();
            scratch.apply(copy.log.names(), &event).unwrap();
            events.push(event);
            times.push(1_000 + i);
        }
        let chunks = encode_chunks(copy.log.names(), copy.log.len() + 1, &events, &times);
        copy.version = store.append(copy.version, &chunks).await.unwrap();
        for (event, ts) in events.iter().zip(&times) {
            copy.log.push(&mut copy.live, *ts, *event).unwrap();
        }
        let again = Copy::read(&store).await;
        assert_eq!(again.log.len(), 2_201, "{backend}");
        assert_eq!(encode_jsonl(&again.log), encode_jsonl(&copy.log), "{backend}: no stale event came back");
    }
}

#[wasm_bindgen_test]
async fn a_log_stored_by_the_first_release_opens_upcast_and_grows_in_the_new_encoding() {
    const V1_CHUNK: &str = include_str!("../../domain/tests/data/v1-chunk.hex");
    const V1_LOG: &str = include_str!("../../domain/tests/data/v1-log.jsonl");
    let bytes: Vec<u8> = (0..V1_CHUNK.trim().len() / 2)
        .map(|i| u8::from_str_radix(&V1_CHUNK.trim()[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    let (expected, _) = rewind_domain::ImportCheck::new(V1_LOG.as_bytes().to_vec()).finish().unwrap();
    for backend in PERSISTENT {
        let name = unique("v1");
        let store = open(backend, &name).await;
        put_raw(backend, &name, "c", "1", "BYTES", &bytes).await;
        put_head(backend, &name, "6").await;
        let mut copy = Copy::read(&store).await;
        assert_eq!(encode_jsonl(&copy.log), encode_jsonl(&expected), "{backend}");
        assert!(encode_jsonl(&copy.log).contains(r#""qty":2,"price":30,"total":60}"#), "{backend}: orders upcast");
        assert_eq!(store.restore().await.unwrap().live.seq(), 6);
        copy.top_up(&store, "alice").await.unwrap();
        assert_eq!(Copy::read(&store).await.log.len(), 7, "{backend}");
    }
}

// ---- Faults of the write itself ----

#[wasm_bindgen_test]
async fn an_injected_put_fault_acknowledges_nothing() {
    let store = open(Backend::IndexedDb, &unique("fault")).await;
    let mut copy = Copy::new();
    copy.top_up(&store, "alice").await.unwrap();

    eval(
        "window.__realPut = IDBObjectStore.prototype.put;
         IDBObjectStore.prototype.put = function () { throw new DOMException('injected', 'UnknownError'); };",
    );
    let failed = copy.top_up(&store, "bob").await;
    eval("IDBObjectStore.prototype.put = window.__realPut;");
    let error = failed.expect_err("the write fails");
    assert!(matches!(error, StoreError::Write(_)), "{error:?}");
    assert_eq!(copy.log.len(), 1, "nothing acknowledged");
    assert_eq!(store.head().await.unwrap(), 1);

    eval(
        "IDBObjectStore.prototype.put = function (...a) { const r = window.__realPut.apply(this, a); this.transaction.abort(); return r; };",
    );
    let aborted = copy.top_up(&store, "bob").await;
    eval("IDBObjectStore.prototype.put = window.__realPut;");
    assert!(aborted.is_err(), "an aborted transaction is an error");
    assert_eq!(store.head().await.unwrap(), 1);

    copy.top_up(&store, "bob").await.unwrap();
    assert_eq!(store.head().await.unwrap(), 2);
}

#[wasm_bindgen_test]
async fn replacing_the_log_is_all_or_nothing() {
    let (store, old) = stored_log(Backend::IndexedDb, &unique("replace"), 8, 2_500).await;
    let (new, _) = generate_log(9, 5_000).unwrap();
    let seen = store.version().await.unwrap();

    // The third put of the replacement throws: nothing of the new log may remain.
    eval(
        "window.__realPut = IDBObjectStore.prototype.put; window.__puts = 0;
         IDBObjectStore.prototype.put = function (...a) {
             if (++window.__puts === 3) throw new DOMException('injected', 'UnknownError');
             return window.__realPut.apply(this, a);
         };",
    );
    let failed = store.replace(Expected::Version(seen), &all_chunks(&new)).await;
    eval("IDBObjectStore.prototype.put = window.__realPut;");
    assert!(failed.is_err());
    assert_eq!(encode_jsonl(&Copy::read(&store).await.log), encode_jsonl(&old));
    assert_eq!(store.version().await.unwrap(), seen);
}

#[wasm_bindgen_test]
async fn local_storage_quota_exhaustion_is_an_error_that_keeps_what_was_stored() {
    let store = open(Backend::LocalStorage, &unique("quota")).await;
    let mut copy = Copy::new();
    copy.top_up(&store, "alice").await.unwrap();
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
    let result = store.append(copy.version, &encode_chunks(big.names(), 2, big.events(), big.timestamps())).await;
    eval("for (const k of window.__filler) localStorage.removeItem(k);");
    let error = result.expect_err("the quota is reached");
    assert_eq!(error, StoreError::QuotaExceeded { backend: Backend::LocalStorage });
    assert!(error.to_string().contains("is full"));
    assert_eq!(store.head().await.unwrap(), 1);
    let restored = store.restore().await.unwrap();
    assert_eq!(restored.live.listing(&restored.names), copy.live.listing(copy.log.names()));
    store.clear(Expected::Version(copy.version)).await.unwrap();
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
    assert!(Backend::LocalStorage.durability().contains("can lose the last few seconds"));

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
    let mut copy = Copy::new();
    copy.top_up(&memory, "alice").await.unwrap();
    assert_eq!(memory.restore().await.unwrap().live.seq(), 1);
    // The real backends are back for the other tests.
    assert_eq!(Store::open(&unique("after")).await.backend(), Backend::IndexedDb);
}



/// Opens a page's log as the page does: what may be a sync server is opened by `open_shared`.
async fn open_page(name: &str) -> PageStore {
    match Store::open_for_page(name).await {
        PageLog::Local(store) => PageStore::Ready(store),
        PageLog::MaybeSyncServer(sighting) => Store::open_shared(name, sighting).await,
    }
}

async fn open_shared(name: &str) -> Store {
    match open_page(name).await {
        PageStore::Ready(store) => store,
        PageStore::KeyNeeded(gate) => panic!("the server asks for a key: {}", gate.message),
    }
}

#[wasm_bindgen_test]
async fn only_a_missing_endpoint_keeps_the_log_in_the_browser_any_other_answer_is_a_sync_server_out_of_reach() {
    let server = FakeServer::start();
    let cases = [
        ("() => new Response('not found', { status: 404 })", SyncStatus::Local),
        ("() => new Response('<!DOCTYPE html><title>trunk</title>', { status: 200 })", SyncStatus::Local),
        ("() => json(200, { hello: 'a JSON answer that is no version' })", SyncStatus::Local),
        ("() => json(200, { epoch: 7, head: 0 })", SyncStatus::Connected),
        ("() => json(503, { message: 'Redis cannot be reached' })", SyncStatus::Offline(Unreachable::Redis)),
        ("() => { throw new TypeError('Failed to fetch'); }", SyncStatus::Offline(Unreachable::Server)),
        ("() => json(500, { message: 'a bug' })", SyncStatus::Offline(Unreachable::Server)),
        ("() => new Response('bad gateway', { status: 502 })", SyncStatus::Offline(Unreachable::Server)),
    ];
    for (answer, status) in cases {
        server.plan("/api/version", answer);
        let store = open_shared(&unique("find")).await;
        assert_eq!(store.sync_status(), status, "{answer}");
    }
    // A page that opens while the server is away restores from its cache, without waiting for the server.
    server.plan("/api/version", "() => { throw new TypeError('Failed to fetch'); }");
    let store = open_shared(&unique("away")).await;
    let calls = server.text("fake.calls.length");
    assert_eq!(store.restore().await.unwrap().live.seq(), 0);
    assert_eq!(store.read_log().await.unwrap().log.len(), 0);
    assert_eq!(server.text("fake.calls.length"), calls, "no request while the server is known to be away");
}

#[wasm_bindgen_test]
async fn a_server_that_wants_its_access_key_gets_it_before_anything_opens() {
    let server = FakeServer::start();
    server.plan("/api/version", "() => json(401, { message: 'this shop needs its access key', access_key: 'required' })");
    let PageStore::KeyNeeded(gate) = open_page(&unique("key")).await else { panic!("opened without the key") };
    assert_eq!(gate.message, "this shop needs its access key");

    server.plan("/api/session", "() => json(401, { message: 'that is not the key' })");
    let refused = gate.submit("wrong key&more").await;
    assert_eq!(refused, Err(StoreError::AccessKey { message: "that is not the key".into() }));
    let sent = server.text("(c => c.method + ' ' + c.type + ' ' + new TextDecoder().decode(c.body))(fake.calls[fake.calls.length - 1])");
    assert_eq!(sent, "POST application/x-www-form-urlencoded key=wrong%20key%26more");
    gate.submit("the key").await.unwrap();
    assert_eq!(open_shared(&unique("key")).await.sync_status(), SyncStatus::Connected);
}

#[wasm_bindgen_test]
async fn the_shared_log_is_read_page_by_page_up_to_the_head() {
    let server = FakeServer::start();
    let (log, _) = generate_log(11, 5_000).unwrap();
    let chunks: Vec<EncodedChunk> =
        (0..5).flat_map(|i| encode_chunks(log.names(), i * 1_000 + 1, &log.events()[i as usize * 1_000..][..1_000], &log.timestamps()[i as usize * 1_000..][..1_000])).collect();
    server.seed(&chunks);
    eval("window.__rewindFake.pageSize = 2000");
    let store = open_shared(&unique("pages")).await;

    let restored = store.restore().await.unwrap();
    assert_eq!((restored.snapshot_seq, restored.tail), (0, 5_000), "a new page restores from the server's pages");
    let loaded = store.read_log().await.unwrap();
    assert!(loaded.problem.is_none(), "{:?}", loaded.problem);
    assert_eq!(loaded.log.len(), 5_000);
    assert_eq!(loaded.version, Expected::Version(LogVersion { epoch: 7, head: 5_000 }));
    let asked = server.text("fake.calls.filter(c => c.path === '/api/events').map(c => c.query.after + '/' + c.query.limit).join(' ')");
    assert_eq!(asked, "0/100000 2000/100000 4000/100000 0/100000 2000/100000 4000/100000");

    // Catching up reads nothing more than the head, and the cache now holds the log.
    let tail = store.tail_after(LogVersion { epoch: 7, head: 5_000 }).await.unwrap();
    assert_eq!(tail.version.head, 5_000);
    assert_eq!(server.text("fake.calls.filter(c => c.path === '/api/events').length"), "7");
    assert_eq!(store.version().await.unwrap(), LogVersion { epoch: 7, head: 5_000 });
}

#[wasm_bindgen_test]
async fn an_append_says_its_type_and_key_and_a_lost_answer_is_unknown_until_the_same_request_is_answered() {
    let server = FakeServer::start();
    let store = open_shared(&unique("append")).await;
    let mut copy = Copy::new();
    copy.version = LogVersion { epoch: 7, head: 0 };
    let event = decide(&copy.live, copy.log.names_mut(), &(), &Command::TopUp { user: "alice".into(), amount: 5 }).unwrap();
    let chunks = encode_chunks(copy.log.names(), 1, &[event], &[1]);
    let key = CommandKey::random().unwrap();

    server.plan("/api/append", "'lose'");
    let lost = store.append_with_key(copy.version, &chunks, &key).await;
    assert!(matches!(lost, Err(StoreError::OutcomeUnknown { waited_ms: 0, .. })), "{lost:?}");
    assert!(!lost.unwrap_err().to_string().contains("nothing was stored"));
    assert_eq!(store.sync_status(), SyncStatus::Offline(Unreachable::Server));
    // The same request again: stored before, not again.
    assert_eq!(store.append_with_key(copy.version, &chunks, &key).await, Ok(Appended::StoredBefore));
    assert_eq!(server.text("fake.head()"), "1");
    assert_eq!(store.sync_status(), SyncStatus::Connected);
    let sent = server.text("fake.calls.filter(c => c.path === '/api/append').map(c => [c.type, c.query.key, c.query.after].join(' ')).join('; ')");
    let once = format!("application/octet-stream {} 0", key.as_str());
    assert_eq!(sent, format!("{once}; {once}"));

    // Another command decided on the same version: a conflict, nothing stored.
    let other = CommandKey::random().unwrap();
    assert_eq!(store.append_with_key(copy.version, &chunks, &other).await, Err(StoreError::Conflict { expected: 0, found: 1 }));
    copy.catch_up(&store).await.unwrap();
    assert_eq!(copy.log.len(), 1);

    // Redis stopped answering mid-append: unknown. Redis unreachable: nothing stored, and the status says why.
    let next = encode_chunks(copy.log.names(), 2, &[event], &[2]);
    server.plan("/api/append", "() => json(503, { message: 'Redis stopped answering', outcome: 'unknown' })");
    let unknown = store.append_with_key(copy.version, &next, &other).await;
    assert_eq!(unknown, Err(StoreError::OutcomeUnknown { detail: "Redis stopped answering".into(), waited_ms: 0 }));
    server.plan("/api/append", "() => json(503, { message: 'Redis cannot be reached' })");
    let offline = store.append_with_key(copy.version, &next, &other).await;
    assert_eq!(offline, Err(StoreError::Offline { detail: "Redis cannot be reached".into() }));
    assert_eq!(store.sync_status(), SyncStatus::Offline(Unreachable::Redis));
    assert!(offline.unwrap_err().to_string().contains("nothing was stored"));
    // While the server is away, a command is refused without being sent.
    server.plan("/api/version", "() => json(503, { message: 'Redis cannot be reached' })");
    let appends = server.text("fake.calls.filter(c => c.path === '/api/append').length");
    assert!(matches!(store.append_with_key(copy.version, &next, &other).await, Err(StoreError::Offline { .. })));
    assert_eq!(server.text("fake.calls.filter(c => c.path === '/api/append').length"), appends);
    // Back: stored.
    let stored = store.append_with_key(copy.version, &next, &other).await.unwrap();
    assert_eq!(stored, Appended::Stored(LogVersion { epoch: 7, head: 2 }));
}

#[wasm_bindgen_test]
fn command_keys_are_128_random_bits_and_backoff_grows_to_its_cap_with_jitter() {
    let (a, b) = (CommandKey::random().unwrap(), CommandKey::random().unwrap());
    assert_ne!(a, b);
    assert_eq!(a.as_str().len(), 32);
    assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()), "{a:?}");

    let mut backoff = Backoff::new(500, 10_000);
    let waits: Vec<u32> = (0..8).map(|_| backoff.next_ms()).collect();
    for (wait, step) in waits.iter().zip([500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]) {
        assert!((step / 2..=step).contains(wait), "{waits:?}");
    }
    backoff.reset();
    assert!(backoff.next_ms() <= 500);
}
