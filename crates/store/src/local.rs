//! localStorage: the fallback when IndexedDB cannot be opened. Its ~5 MB quota is real, so a write that does
//! not fit is an error and leaves what was stored as it was. It makes no durability promise: Chromium writes
//! it to disk in batches, seconds later, so a crash can lose the last seconds (the page says so).
//!
//! Keys: `<name>/meta` holds "<epoch> <head>"; records live under `<name>/<epoch>/c/<first_seq>` and
//! snapshots under `<name>/<epoch>/s/<seq>`, base64-encoded (localStorage holds strings). A replace writes a
//! new epoch's records and then switches `meta` in one `setItem`, so a reload sees the old log or the new one.
//!
//! Many tabs: localStorage has no transactions, and each renderer process works on its own copy that hears of
//! other processes' writes later, so a lock alone still loses updates. Every write therefore takes the Web
//! Lock `<name>/write`, then waits until this tab's copy has caught up with the newest version any tab has
//! announced, then checks and writes, and then announces its own version by holding the shared Web Lock
//! `<name>/version/<epoch>/<head>` (the lock manager is one for all tabs, so announcements are seen at once).
//! Reads wait for the same catch-up. `gloo-storage` is not used: it panics where localStorage is unavailable.

use crate::clock;
use crate::error::{IndexDamage, RecordDamage, StoreError};
use crate::locks::{self, HeldLock};
use crate::policy::SNAPSHOTS_KEPT;
use crate::js::{describe_js, read_error, write_error};
use crate::types::{EncodedChunk, RawRecord};
use crate::rule::{admit, Admitted, LogVersion, StoredIndex, Write};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::cell::RefCell;

/// How long a tab waits for its copy of localStorage to show another tab's announced write.
const CATCH_UP_MS: f64 = 3_000.0;

pub(crate) struct LocalRecords {
    storage: web_sys::Storage,
    name: String,
    /// The version this tab wrote last, announced to the others for as long as it is held, and its name.
    announced: RefCell<Option<(HeldLock, String)>>,
}


/// "<epoch> <head>", the form of the index and of the announcement locks' names.
fn parse_version(text: &str) -> Option<LogVersion> {
    let mut parts = text.split(' ').map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(epoch)), Some(Ok(head)), None) if head <= rewind_domain::MAX && epoch <= rewind_domain::MAX => {
            Some(LogVersion { epoch, head })
        }
        _ => None,
    }
}

impl LocalRecords {
    /// Fails when reading `window.localStorage` throws (site data blocked) or a probe write fails.
    pub fn open(name: &str) -> Result<Self, String> {
        let window = web_sys::window().ok_or("no window")?;
        let storage = match window.local_storage() {
            Ok(Some(s)) => s,
            Ok(None) => return Err("the browser offers no localStorage".into()),
            Err(e) => return Err(describe_js(&e).1),
        };
        let probe = format!("{name}/probe");
        storage.set_item(&probe, "1").map_err(|e| describe_js(&e).1)?;
        let _ = storage.remove_item(&probe);
        Ok(Self { storage, name: name.to_owned(), announced: RefCell::new(None) })
    }

    fn meta_key(&self) -> String {
        format!("{}/meta", self.name)
    }

    fn announce_prefix(&self) -> String {
        format!("{}/version/", self.name)
    }

    /// The index as this tab's copy of localStorage holds it now.
    fn read_index(&self) -> Result<StoredIndex, StoreError> {
        let raw = self.storage.get_item(&self.meta_key()).map_err(|e| read_error(&e))?;
        let Some(raw) = raw else { return Ok(Ok(LogVersion::default())) };
        Ok(parse_version(&raw).ok_or_else(|| IndexDamage { field: "index", found: format!("{raw:?}") }))
    }

    /// The newest version another live tab has announced. This tab's own writes are in its own copy
    /// already; waiting for them would only stall a tab whose index was damaged after it wrote.
    async fn announced_version(&self) -> Result<Option<LogVersion>, StoreError> {
        let prefix = self.announce_prefix();
        let own = self.announced.borrow().as_ref().map(|(_, name)| name.clone());
        let names = locks::held_names().await?;
        Ok(names
            .iter()
            .filter(|n| Some(*n) != own.as_ref())
            .filter_map(|n| n.strip_prefix(&prefix).and_then(parse_version))
            .max())
    }

    /// The index once this tab's copy shows every write another tab has announced. A write that cannot see
    /// the newest version is refused ([`StoreError::NotCaughtUp`]); a read goes on with the copy it has
    /// after the wait, which is still a true prefix of the log (a damaged index can leave an announcement
    /// that no copy will ever reach).
    async fn caught_up_index(&self, for_write: bool) -> Result<StoredIndex, StoreError> {
        let announced = self.announced_version().await?;
        let started = clock::monotonic_ms();
        loop {
            let index = self.read_index()?;
            // Behind another tab's announced write, or seeing damage that another tab may have repaired.
            let behind = match (&index, announced) {
                (Ok(have), Some(newest)) => *have < newest,
                (Err(_), Some(_)) => true,
                (_, None) => false,
            };
            match behind {
                true => {
                    let waited = clock::monotonic_ms() - started;
                    if waited > CATCH_UP_MS {
                        if !for_write {
                            web_sys::console::warn_1(&"Rewind: localStorage did not catch up with another tab".into());
                            return Ok(index);
                        }
                        return Err(StoreError::NotCaughtUp { waited_ms: waited.max(0.0) as u64 });
                    }
                    clock::sleep(4).await;
                }
                false => return Ok(index),
            }
        }
    }

    pub async fn index(&self) -> Result<StoredIndex, StoreError> {
        self.caught_up_index(false).await
    }

    /// Holds the announcement of `version` (and lets go of this tab's previous one).
    async fn announce(&self, version: LogVersion) -> Result<(), StoreError> {
        let name = format!("{}{} {}", self.announce_prefix(), version.epoch, version.head);
        let held = locks::acquire(&name, true).await?;
        self.announced.replace(held.map(|lock| (lock, name)));
        Ok(())
    }

    pub async fn write(&self, write: &Write<'_>) -> Result<Option<LogVersion>, StoreError> {
        let _turn = locks::acquire(&format!("{}/write", self.name), false).await?;
        let stored = self.caught_up_index(true).await?;
        let Admitted::Store(version) = admit(&stored, write)? else { return Ok(None) };
        match write {
            Write::Append { chunks, expected } => {
                // Records or snapshots past the head were never acknowledged (a damaged head, a write cut
                // off before it moved the index): they must not stand in for the events stored now.
                for kind in ['c', 's'] {
                    for (_, key) in self.keys(version.epoch, kind)?.into_iter().filter(|(seq, _)| *seq > expected.head) {
                        let _ = self.storage.remove_item(&key);
                    }
                }
                self.put_chunks(version.epoch, chunks)?;
                if let Err(e) = self.set_index(version) {
                    self.remove_chunks(version.epoch, chunks);
                    return Err(e);
                }
            }
            Write::Replace { chunks, .. } => {
                // Leftovers of a replace that was cut off before it switched the index.
                self.remove_epoch(version.epoch)?;
                self.put_chunks(version.epoch, chunks)?;
                if let Err(e) = self.set_index(version) {
                    self.remove_chunks(version.epoch, chunks);
                    return Err(e);
                }
                // From here on the write is stored: announce it first, and what fails after that is only
                // left-over clutter, not a failed write.
                self.announce_stored(version).await;
                match self.epochs() {
                    Ok(epochs) => {
                        for epoch in epochs.into_iter().filter(|e| *e != version.epoch) {
                            if let Err(e) = self.remove_epoch(epoch) {
                                web_sys::console::warn_1(&format!("Rewind: an old log was not removed: {e}").into());
                            }
                        }
                    }
                    Err(e) => web_sys::console::warn_1(&format!("Rewind: old logs were not removed: {e}").into()),
                }
                return Ok(Some(version));
            }
            Write::Snapshot { seq, bytes, .. } => {
                self.storage
                    .set_item(&self.key(version.epoch, 's', *seq), &STANDARD.encode(bytes))
                    .map_err(|e| write_error(&e))?;
                let keys = self.keys(version.epoch, 's')?;
                for (_, key) in keys.iter().take(keys.len().saturating_sub(SNAPSHOTS_KEPT)) {
                    let _ = self.storage.remove_item(key);
                }
                return Ok(Some(version));
            }
        }
        self.announce_stored(version).await;
        Ok(Some(version))
    }

    /// Announces a version that is stored, before the write lock is let go: the next writer waits until it
    /// sees it. The write is stored whatever happens here, so a failure is a warning, not an error.
    async fn announce_stored(&self, version: LogVersion) {
        if let Err(e) = self.announce(version).await {
            web_sys::console::warn_1(&format!("Rewind: other tabs were not told of the latest write: {e}").into());
        }
    }

    fn set_index(&self, version: LogVersion) -> Result<(), StoreError> {
        self.storage
            .set_item(&self.meta_key(), &format!("{} {}", version.epoch, version.head))
            .map_err(|e| write_error(&e))
    }

    fn key(&self, epoch: u64, kind: char, seq: u64) -> String {
        format!("{}/{epoch}/{kind}/{seq}", self.name)
    }

    /// Writes `chunks` under `epoch`; on failure removes what it wrote.
    fn put_chunks(&self, epoch: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        for (i, c) in chunks.iter().enumerate() {
            if let Err(e) = self.storage.set_item(&self.key(epoch, 'c', c.first_seq), &STANDARD.encode(&c.bytes)) {
                self.remove_chunks(epoch, chunks.get(..=i).unwrap_or(chunks));
                return Err(write_error(&e));
            }
        }
        Ok(())
    }

    fn remove_chunks(&self, epoch: u64, chunks: &[EncodedChunk]) {
        for c in chunks {
            let _ = self.storage.remove_item(&self.key(epoch, 'c', c.first_seq));
        }
    }

    /// Every stored key of this store, parsed as (epoch, kind, seq).
    fn all_keys(&self) -> Result<Vec<(u64, char, u64, String)>, StoreError> {
        let prefix = format!("{}/", self.name);
        let n = self.storage.length().map_err(|e| read_error(&e))?;
        let mut keys = Vec::new();
        for i in 0..n {
            let Some(key) = self.storage.key(i).map_err(|e| read_error(&e))? else { continue };
            let Some(rest) = key.strip_prefix(&prefix) else { continue };
            let mut parts = rest.split('/');
            if let (Some(Ok(epoch)), Some(kind), Some(Ok(seq)), None) = (
                parts.next().map(str::parse::<u64>),
                parts.next().and_then(|k| (k.len() == 1).then(|| k.chars().next()).flatten()),
                parts.next().map(str::parse::<u64>),
                parts.next(),
            ) {
                keys.push((epoch, kind, seq, key));
            }
        }
        Ok(keys)
    }

    fn epochs(&self) -> Result<Vec<u64>, StoreError> {
        let mut epochs: Vec<u64> = self.all_keys()?.into_iter().map(|(e, ..)| e).collect();
        epochs.sort_unstable();
        epochs.dedup();
        Ok(epochs)
    }

    /// Keys of `kind` under `epoch`, as (seq, key), in seq order.
    fn keys(&self, epoch: u64, kind: char) -> Result<Vec<(u64, String)>, StoreError> {
        let mut keys: Vec<(u64, String)> = self
            .all_keys()?
            .into_iter()
            .filter(|(e, k, ..)| *e == epoch && *k == kind)
            .map(|(_, _, seq, key)| (seq, key))
            .collect();
        keys.sort_unstable();
        Ok(keys)
    }

    fn remove_epoch(&self, epoch: u64) -> Result<(), StoreError> {
        for kind in ['c', 's'] {
            for (_, key) in self.keys(epoch, kind)? {
                let _ = self.storage.remove_item(&key);
            }
        }
        Ok(())
    }

    /// The epoch whose records to read: the index's, or with a damaged index the newest one stored.
    async fn epoch_to_read(&self) -> Result<u64, StoreError> {
        match self.caught_up_index(false).await? {
            Ok(version) => Ok(version.epoch),
            Err(_) => Ok(self.epochs()?.last().copied().unwrap_or(0)),
        }
    }

    fn read(&self, seq: u64, key: &str) -> Result<RawRecord, StoreError> {
        let text = self.storage.get_item(key).map_err(|e| read_error(&e))?.unwrap_or_default();
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|_| RecordDamage::NotBytes { found: "text that is not base64".into() });
        Ok(RawRecord { key: seq, bytes })
    }

    pub async fn chunks_from(&self, from: u64) -> Result<Vec<RawRecord>, StoreError> {
        let epoch = self.epoch_to_read().await?;
        self.keys(epoch, 'c')?.into_iter().filter(|(s, _)| *s >= from).map(|(seq, key)| self.read(seq, &key)).collect()
    }

    pub async fn snapshots_newest_first(&self) -> Result<Vec<RawRecord>, StoreError> {
        let epoch = self.epoch_to_read().await?;
        self.keys(epoch, 's')?.into_iter().rev().map(|(seq, key)| self.read(seq, &key)).collect()
    }
}
