//! IndexedDB, the default backend. Three object stores: `chunks` (records keyed by their first sequence
//! number), `snapshots` (keyed by sequence number) and `meta` (`head`: the number of events stored). Keys are
//! f64: u64 would become a BigInt, which is not a valid key.
//!
//! Every write is one read-write transaction with `strict` durability, and nothing but IndexedDB requests
//! is awaited inside it (it would auto-commit). Dropping a transaction without `commit` aborts it.

use crate::error::StoreError;
use crate::local::describe_js;
use crate::policy::SNAPSHOTS_KEPT;
use crate::records::{checked_count, EncodedChunk, Meta};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionDurability, TransactionMode, TransactionOptions};
use indexed_db_futures::typed_array::{Uint8Array, Uint8ArraySlice};
use indexed_db_futures::KeyRange;
use wasm_bindgen::JsCast;

const CHUNKS: &str = "chunks";
const SNAPSHOTS: &str = "snapshots";
const META: &str = "meta";
const HEAD: &str = "head";
const EPOCH: &str = "epoch";

pub(crate) struct IdbRecords {
    db: Database,
}

fn describe(e: &IdbError) -> String {
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
        (_, Some((name, _))) if named_quota(&name) => StoreError::QuotaExceeded { backend: "IndexedDB" },
        (IdbError::DomException(d), _) if named_quota(&d.as_sys().name()) => {
            StoreError::QuotaExceeded { backend: "IndexedDB" }
        }
        (_, Some((name, message))) => StoreError::Write(format!("{name}: {message}")),
        _ => StoreError::Write(describe(&e)),
    }
}

fn key(seq: u64) -> f64 {
    // Exact: sequence numbers stay far below 2^53.
    seq as f64
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

    async fn read_meta(tx: &Transaction<'_>) -> Result<Result<Meta, StoreError>, IdbError> {
        let meta = tx.object_store(META)?;
        let head: Option<f64> = meta.get(HEAD).await?;
        let epoch: Option<f64> = meta.get(EPOCH).await?;
        Ok((|| {
            Ok(Meta {
                head: checked_count(head.unwrap_or(0.0), "head")?,
                epoch: checked_count(epoch.unwrap_or(0.0), "epoch")?,
            })
        })())
    }

    pub async fn meta(&self) -> Result<Meta, StoreError> {
        let tx = self.db.transaction(META).build().map_err(read_error)?;
        Self::read_meta(&tx).await.map_err(read_error)?
    }

    pub async fn append(&self, expected: Meta, new_head: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        let (tx, raw) = self.write_tx(&[CHUNKS, META])?;
        let stored = Self::read_meta(&tx).await.map_err(|e| write_error(e, &raw))??;
        // Dropping the transaction on these returns aborts it: nothing is written.
        if stored.epoch != expected.epoch {
            return Err(StoreError::Replaced);
        }
        if stored.head != expected.head {
            return Err(StoreError::Conflict { expected: expected.head, found: stored.head });
        }
        let sent = (|| -> Result<(), IdbError> {
            let store = tx.object_store(CHUNKS)?;
            for c in chunks {
                store.put(Uint8ArraySlice::new(&c.bytes)).with_key(key(c.first_seq)).build()?;
            }
            tx.object_store(META)?.put(key(new_head)).with_key(HEAD).build()?;
            Ok(())
        })();
        if let Err(e) = sent {
            return Err(write_error(e, &raw));
        }
        tx.commit().await.map_err(|e| write_error(e, &raw))
    }

    pub async fn replace(&self, head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let (tx, raw) = self.write_tx(&[CHUNKS, SNAPSHOTS, META])?;
        let stored = Self::read_meta(&tx).await.map_err(|e| write_error(e, &raw))?;
        // A damaged index is replaced too: the new log does not depend on it.
        let epoch = stored.map_or(0, |m| m.epoch).saturating_add(1).min(rewind_domain::MAX);
        let sent = (|| -> Result<(), IdbError> {
            let store = tx.object_store(CHUNKS)?;
            store.clear()?;
            tx.object_store(SNAPSHOTS)?.clear()?;
            for c in chunks {
                store.put(Uint8ArraySlice::new(&c.bytes)).with_key(key(c.first_seq)).build()?;
            }
            tx.object_store(META)?.put(key(head)).with_key(HEAD).build()?;
            tx.object_store(META)?.put(key(epoch)).with_key(EPOCH).build()?;
            Ok(())
        })();
        if let Err(e) = sent {
            return Err(write_error(e, &raw));
        }
        tx.commit().await.map_err(|e| write_error(e, &raw))?;
        Ok(epoch)
    }

    async fn read_all(&self, store: &str, from: u64) -> Result<Vec<(u64, Vec<u8>)>, IdbError> {
        let tx = self.db.transaction(store).build()?;
        let object_store = tx.object_store(store)?;
        let keys = object_store.get_all_keys::<f64>().with_query::<f64, _>(KeyRange::LowerBound(key(from), false)).await?;
        let values = object_store.get_all::<Uint8Array>().with_query::<f64, _>(KeyRange::LowerBound(key(from), false)).await?;
        let mut out = Vec::with_capacity(keys.len());
        for (k, v) in keys.zip(values) {
            out.push((k? as u64, Vec::<u8>::from(v?)));
        }
        Ok(out)
    }

    pub async fn chunks_from(&self, from: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.read_all(CHUNKS, from).await.map_err(read_error)
    }

    pub async fn snapshots_newest_first(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut all = self.read_all(SNAPSHOTS, 0).await.map_err(read_error)?;
        all.reverse();
        Ok(all)
    }

    pub async fn put_snapshot(&self, seq: u64, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let (tx, raw) = self.write_tx(&[SNAPSHOTS, META])?;
        let stored = Self::read_meta(&tx).await.map_err(|e| write_error(e, &raw))??;
        if stored.epoch != epoch || stored.head < seq {
            // The log changed under it: this snapshot belongs to no stored log. Dropping aborts the write.
            return Ok(());
        }
        let sent = async {
            let store = tx.object_store(SNAPSHOTS)?;
            let keys: Vec<f64> =
                store.get_all_keys::<f64>().await?.collect::<Result<Vec<_>, _>>()?;
            let mut kept = keys.len() + 1;
            for old in keys {
                if kept <= SNAPSHOTS_KEPT {
                    break;
                }
                store.delete(old).build()?;
                kept -= 1;
            }
            store.put(Uint8ArraySlice::new(bytes)).with_key(key(seq)).build()?;
            Ok::<(), IdbError>(())
        }
        .await;
        if let Err(e) = sent {
            return Err(write_error(e, &raw));
        }
        tx.commit().await.map_err(|e| write_error(e, &raw))
    }
}

/// For tests and diagnostics: the message of a thrown JS value.
#[allow(dead_code)]
pub(crate) fn js_message(e: &wasm_bindgen::JsValue) -> String {
    describe_js(e).1
}
