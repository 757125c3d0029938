//! localStorage: the fallback when IndexedDB cannot be opened. Its ~5 MB quota is real, so a write that does
//! not fit is an error and leaves what was stored as it was.
//!
//! Keys: `<name>/meta` holds "<generation> <head>"; records live under `<name>/<generation>/c/<first_seq>`
//! and snapshots under `<name>/<generation>/s/<seq>`, base64-encoded (localStorage holds strings). A replace
//! writes a new generation and then switches `meta` in one `setItem`, so a reload sees the old log or the
//! new one, never a mix. `gloo-storage` is not used: it panics where localStorage is unavailable.

use crate::error::StoreError;
use crate::policy::SNAPSHOTS_KEPT;
use crate::records::{EncodedChunk, Meta};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use wasm_bindgen::{JsCast, JsValue};

pub(crate) struct LocalRecords {
    storage: web_sys::Storage,
    name: String,
}

/// The name and message of a thrown JS value.
pub(crate) fn describe_js(e: &JsValue) -> (String, String) {
    if let Some(d) = e.dyn_ref::<web_sys::DomException>() {
        return (d.name(), d.message());
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return (String::from(err.name()), String::from(err.message()));
    }
    ("Error".into(), e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

fn write_error(e: &JsValue) -> StoreError {
    let (name, message) = describe_js(e);
    if name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED" {
        StoreError::QuotaExceeded { backend: "localStorage" }
    } else {
        StoreError::Write(format!("{name}: {message}"))
    }
}

fn read_error(e: &JsValue) -> StoreError {
    let (name, message) = describe_js(e);
    StoreError::Read(format!("{name}: {message}"))
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
        Ok(Self { storage, name: name.to_owned() })
    }

    /// (generation, head). The generation is the epoch: it changes with every replace.
    fn read_meta(&self) -> Result<(u64, u64), StoreError> {
        let raw = self.storage.get_item(&format!("{}/meta", self.name)).map_err(|e| read_error(&e))?;
        let Some(raw) = raw else { return Ok((0, 0)) };
        let mut parts = raw.split(' ').map(str::parse::<u64>);
        match (parts.next(), parts.next()) {
            (Some(Ok(generation)), Some(Ok(head))) if generation < u64::MAX && head <= rewind_domain::MAX => {
                Ok((generation, head))
            }
            _ => Err(StoreError::Damaged { from: 1, to: 1, reason: format!("the log's index reads {raw:?}") }),
        }
    }

    pub fn meta(&self) -> Result<Meta, StoreError> {
        let (epoch, head) = self.read_meta()?;
        Ok(Meta { head, epoch })
    }

    fn set_meta(&self, generation: u64, head: u64) -> Result<(), StoreError> {
        self.storage
            .set_item(&format!("{}/meta", self.name), &format!("{generation} {head}"))
            .map_err(|e| write_error(&e))
    }

    fn key(&self, generation: u64, kind: char, seq: u64) -> String {
        format!("{}/{generation}/{kind}/{seq}", self.name)
    }

    /// Writes `chunks` under `generation`; on failure removes what it wrote.
    fn put_chunks(&self, generation: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        for (i, c) in chunks.iter().enumerate() {
            if let Err(e) = self.storage.set_item(&self.key(generation, 'c', c.first_seq), &STANDARD.encode(&c.bytes)) {
                for done in chunks.iter().take(i + 1) {
                    let _ = self.storage.remove_item(&self.key(generation, 'c', done.first_seq));
                }
                return Err(write_error(&e));
            }
        }
        Ok(())
    }

    pub fn append(&self, expected: Meta, new_head: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        let (generation, head) = self.read_meta()?;
        if generation != expected.epoch {
            return Err(StoreError::Replaced);
        }
        if head != expected.head {
            return Err(StoreError::Conflict { expected: expected.head, found: head });
        }
        self.put_chunks(generation, chunks)?;
        if let Err(e) = self.set_meta(generation, new_head) {
            for c in chunks {
                let _ = self.storage.remove_item(&self.key(generation, 'c', c.first_seq));
            }
            return Err(e);
        }
        Ok(())
    }

    pub fn replace(&self, head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let (generation, _) = self.read_meta()?;
        // read_meta keeps generations below u64::MAX.
        let next = generation.saturating_add(1);
        // Leftovers of a replace that was cut off before it switched `meta`.
        self.remove_generation(next)?;
        self.put_chunks(next, chunks)?;
        self.set_meta(next, head)?;
        self.remove_generation(generation)?;
        Ok(next)
    }

    /// Keys of this store's `kind` under `generation`, as (seq, key), in seq order.
    fn keys(&self, generation: u64, kind: char) -> Result<Vec<(u64, String)>, StoreError> {
        let prefix = format!("{}/{generation}/{kind}/", self.name);
        let n = self.storage.length().map_err(|e| read_error(&e))?;
        let mut keys = Vec::new();
        for i in 0..n {
            let Some(key) = self.storage.key(i).map_err(|e| read_error(&e))? else { continue };
            if let Some(seq) = key.strip_prefix(&prefix).and_then(|s| s.parse::<u64>().ok()) {
                keys.push((seq, key));
            }
        }
        keys.sort_unstable();
        Ok(keys)
    }

    fn remove_generation(&self, generation: u64) -> Result<(), StoreError> {
        for kind in ['c', 's'] {
            for (_, key) in self.keys(generation, kind)? {
                let _ = self.storage.remove_item(&key);
            }
        }
        Ok(())
    }

    fn read(&self, key: &str, seq: u64) -> Result<Vec<u8>, StoreError> {
        let text = self.storage.get_item(key).map_err(|e| read_error(&e))?.unwrap_or_default();
        STANDARD.decode(text.as_bytes()).map_err(|e| StoreError::Damaged {
            from: seq,
            to: seq,
            reason: format!("the stored text is not base64: {e}"),
        })
    }

    pub fn chunks_from(&self, from: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let (generation, head) = self.read_meta()?;
        let mut out = Vec::new();
        // Records past the head were left by a write cut off before it moved the head: never acknowledged.
        for (seq, key) in self.keys(generation, 'c')?.into_iter().filter(|(s, _)| *s >= from && *s <= head) {
            // Undecodable text goes to the domain decoder as empty bytes, which reports it with its range.
            out.push((seq, self.read(&key, seq).unwrap_or_default()));
        }
        Ok(out)
    }

    pub fn snapshots_newest_first(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let (generation, _) = self.read_meta()?;
        let mut out = Vec::new();
        for (seq, key) in self.keys(generation, 's')?.into_iter().rev() {
            out.push((seq, self.read(&key, seq).unwrap_or_default()));
        }
        Ok(out)
    }

    pub fn put_snapshot(&self, seq: u64, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let (generation, head) = self.read_meta()?;
        if generation != epoch || head < seq {
            return Ok(());
        }
        self.storage
            .set_item(&self.key(generation, 's', seq), &STANDARD.encode(bytes))
            .map_err(|e| write_error(&e))?;
        let keys = self.keys(generation, 's')?;
        for (_, key) in keys.iter().take(keys.len().saturating_sub(SNAPSHOTS_KEPT)) {
            let _ = self.storage.remove_item(key);
        }
        Ok(())
    }
}
