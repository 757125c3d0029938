//! IndexedDB, the default backend. Three object stores: `chunks` (records keyed by their first sequence
//! number), `snapshots` (keyed by sequence number) and `meta` (`head`: the number of events stored; `epoch`).
//! Keys are f64: u64 would become a BigInt, which is not a valid key.
//!
//! Every write is one read-write transaction with `strict` durability that reads the index, asks the shared
//! rule, and writes; nothing but IndexedDB requests is awaited inside it (it would auto-commit). Dropping a
//! transaction without `commit` aborts it. Values are read as plain JS values, so a record of the wrong type
//! is reported as damaged instead of failing the whole read.

use crate::error::{IndexDamage, RecordDamage, StoreError};
use crate::policy::SNAPSHOTS_KEPT;
use crate::backend::Backend;
use crate::types::RawRecord;
use crate::rule::{admit, index_count, Admitted, LogVersion, StoredIndex, Write};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionDurability, TransactionMode, TransactionOptions};
use indexed_db_futures::typed_array::Uint8ArraySlice;
use indexed_db_futures::KeyRange;
use wasm_bindgen::{JsCast, JsValue};

const CHUNKS: &str = "chunks";
const SNAPSHOTS: &str = "snapshots";
const META: &str = "meta";
const HEAD: &str = "head";
const EPOCH: &str = "epoch";

pub(crate) struct IdbRecords {
    db: Database,
}

/// An IndexedDB error in words (its DOM exception's name and message): the log's and the outbox's.
pub(crate) fn describe(e: &IdbError) -> String {
    match e {
        IdbError::DomException(d) => {
            let d = d.as_sys();
            format!("{}: {}", d.name(), d.message())
        }
        other => other.to_string(),
    }
}

fn read_error(e: IdbError) -> StoreError {
    StoreError::Read(describe(&e))
}

/// A failed write: Chromium aborts the transaction when the quota is reached, with the reason on the
/// transaction itself.
fn write_error(e: IdbError, raw_tx: &web_sys::IdbTransaction) -> StoreError {
    let reason = raw_tx.error().map(|d| (d.name(), d.message()));
    let named_quota = |name: &str| name == "QuotaExceededError";
    match (&e, reason) {
        (_, Some((name, _))) if named_quota(&name) => StoreError::QuotaExceeded { backend: Backend::IndexedDb },
        (IdbError::DomException(d), _) if named_quota(&d.as_sys().name()) => {
            StoreError::QuotaExceeded { backend: Backend::IndexedDb }
        }
        (_, Some((name, message))) => StoreError::Write(format!("{name}: {message}")),
        _ => StoreError::Write(describe(&e)),
    }
}

fn key(seq: u64) -> f64 {
    // Exact: sequence numbers stay far below 2^53.
    seq as f64
}

/// What a stored value is, in words, for a value that should have been something else.
fn what_is(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        let shown: String = s.chars().take(40).collect();
        return format!("the text {shown:?}");
    }
    if let Some(n) = value.as_f64() {
        return format!("the number {n}");
    }
    if value.is_undefined() || value.is_null() {
        return "nothing".into();
    }
    format!("a value of type {}", value.js_typeof().as_string().unwrap_or_default())
}

/// A stored head or epoch: absent reads as 0 (a new store); anything but a whole number up to MAX is damage.
fn index_field(value: &JsValue, field: &'static str) -> Result<u64, IndexDamage> {
    if value.is_undefined() {
        return Ok(0);
    }
    match value.as_f64() {
        Some(n) => index_count(n, field),
        None => Err(IndexDamage { field, found: what_is(value) }),
    }
}

fn record_bytes(value: JsValue) -> Result<Vec<u8>, RecordDamage> {
    match value.dyn_into::<js_sys::Uint8Array>() {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(other) => Err(RecordDamage::NotBytes { found: what_is(&other) }),
    }
}

impl IdbRecords {
    pub async fn open(name: &str) -> Result<Self, String> {
        let opened = Database::open(name)
            .with_version(1u32)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    db.create_object_store(CHUNKS).build()?;
                    db.create_object_store(SNAPSHOTS).build()?;
                    db.create_object_store(META).build()?;
                }
                Ok(())
            })
            .await;
        match opened {
            Ok(db) => Ok(Self { db }),
            Err(OpenDbError::Base(e)) => Err(describe(&e)),
            Err(e) => Err(e.to_string()),
        }
    }

    fn write_tx(&self, stores: &[&str]) -> Result<(Transaction<'_>, web_sys::IdbTransaction), StoreError> {
        let tx = self
            .db
            .transaction(stores)
            .with_mode(TransactionMode::Readwrite)
            .with_options(TransactionOptions::new().with_durability(TransactionDurability::Strict))
            .build()
            .map_err(|e| StoreError::Write(describe(&e)))?;
        let raw: web_sys::IdbTransaction = tx.as_sys().clone().unchecked_into();
        Ok((tx, raw))
    }

    async fn read_index(tx: &Transaction<'_>) -> Result<StoredIndex, IdbError> {
        Self::request_index(tx)?.await
    }

    /// Sends the reads of the index (both at once) and returns their answer to await: requests sent after
    /// this one in the same transaction run after it.
    fn request_index(tx: &Transaction<'_>) -> Result<impl std::future::Future<Output = Result<StoredIndex, IdbError>>, IdbError> {
        let meta = tx.object_store(META)?;
        let head = meta.get::<JsValue, _, _>(HEAD).primitive()?;
        let epoch = meta.get::<JsValue, _, _>(EPOCH).primitive()?;
        Ok(async move {
            let head = head.await?.unwrap_or(JsValue::UNDEFINED);
            let epoch = epoch.await?.unwrap_or(JsValue::UNDEFINED);
            Ok((|| Ok(LogVersion { head: index_field(&head, HEAD)?, epoch: index_field(&epoch, EPOCH)? }))())
        })
    }

    pub async fn index(&self) -> Result<StoredIndex, StoreError> {
        let tx = self.db.transaction(META).build().map_err(read_error)?;
        Self::read_index(&tx).await.map_err(read_error)
    }

    pub async fn write(&self, write: &Write<'_>) -> Result<Option<LogVersion>, StoreError> {
        let stores: &[&str] = match write {
            Write::Append { .. } | Write::Replace { .. } => &[CHUNKS, SNAPSHOTS, META],
            Write::Snapshot { .. } => &[SNAPSHOTS, META],
        };
        let (tx, raw) = self.write_tx(stores)?;
        // An append is written on the version it expects, in the same round trip as the reading of the index
        // that checks it: if the index says otherwise, the transaction is dropped, which aborts it, writes
        // and all. Other writes read first.
        let expected = match write {
            Write::Append { expected, .. } => match admit(&Ok(*expected), write)? {
                Admitted::Store(version) => Some(version),
                Admitted::Drop => None,
            },
            _ => None,
        };
        let index = Self::request_index(&tx).map_err(|e| write_error(e, &raw))?;
        // The version written, and the reading of the index still to check it against (an append's).
        let (version, unchecked) = match expected {
            Some(version) => (version, Some(index)),
            None => {
                let stored = index.await.map_err(|e| write_error(e, &raw))?;
                // Dropping the transaction on an early return aborts it: nothing is written.
                let Admitted::Store(version) = admit(&stored, write)? else { return Ok(None) };
                (version, None)
            }
        };
        let sent = async {
            match write {
                Write::Append { chunks, .. } | Write::Replace { chunks, .. } => {
                    // A write stands on the records up to the head it names (an append) or on nothing (a
                    // replace). Records or snapshots past that were never acknowledged (a damaged head, an
                    // interrupted write, the old log): they must not stand in for the events stored now.
                    let drop_from = match write {
                        Write::Append { expected, .. } => expected.head + 1,
                        _ => 0,
                    };
                    let dropped = KeyRange::LowerBound(key(drop_from), false);
                    let store = tx.object_store(CHUNKS)?;
                    store.delete::<f64, _>(dropped.clone()).build()?;
                    tx.object_store(SNAPSHOTS)?.delete::<f64, _>(dropped).build()?;
                    for c in *chunks {
                        store.put(Uint8ArraySlice::new(&c.bytes)).with_key(key(c.first_seq)).build()?;
                    }
                    let meta = tx.object_store(META)?;
                    meta.put(key(version.head)).with_key(HEAD).build()?;
                    if matches!(write, Write::Replace { .. }) {
                        meta.put(key(version.epoch)).with_key(EPOCH).build()?;
                    }
                }
                Write::Snapshot { seq, bytes, .. } => {
                    let store = tx.object_store(SNAPSHOTS)?;
                    let mut keys: Vec<f64> = store.get_all_keys::<f64>().await?.collect::<Result<Vec<_>, _>>()?;
                    // One at the same seq is overwritten, not kept beside it.
                    keys.retain(|k| *k != key(*seq));
                    let surplus = (keys.len() + 1).saturating_sub(SNAPSHOTS_KEPT);
                    for old in keys.into_iter().take(surplus) {
                        store.delete(old).build()?;
                    }
                    store.put(Uint8ArraySlice::new(bytes)).with_key(key(*seq)).build()?;
                }
            }
            Ok::<(), IdbError>(())
        }
        .await;
        if let Err(e) = sent {
            return Err(write_error(e, &raw));
        }
        if let Some(index) = unchecked {
            let stored = index.await.map_err(|e| write_error(e, &raw))?;
            if admit(&stored, write)? != Admitted::Store(version) {
                // Not written: dropping the transaction aborts it.
                return Ok(None);
            }
        }
        tx.commit().await.map_err(|e| write_error(e, &raw))?;
        Ok(Some(version))
    }

    async fn read_all(&self, store: &str, from: u64) -> Result<Vec<RawRecord>, IdbError> {
        let tx = self.db.transaction(store).build()?;
        let object_store = tx.object_store(store)?;
        let keys = object_store.get_all_keys::<f64>().with_query::<f64, _>(KeyRange::LowerBound(key(from), false)).await?;
        let values = object_store.get_all::<JsValue>().with_query::<f64, _>(KeyRange::LowerBound(key(from), false)).await?;
        let mut out = Vec::with_capacity(keys.len());
        for (k, v) in keys.zip(values) {
            // Keys are written by this store only; one that is no sequence number names no record of ours.
            let Some(key) = k.ok().and_then(|k| index_count(k, "key").ok()) else { continue };
            out.push(RawRecord { key, bytes: record_bytes(v?) });
        }
        Ok(out)
    }

    pub async fn chunks_from(&self, from: u64) -> Result<Vec<RawRecord>, StoreError> {
        self.read_all(CHUNKS, from).await.map_err(read_error)
    }

    pub async fn snapshots_newest_first(&self) -> Result<Vec<RawRecord>, StoreError> {
        let mut all = self.read_all(SNAPSHOTS, 0).await.map_err(read_error)?;
        all.reverse();
        Ok(all)
    }
}
