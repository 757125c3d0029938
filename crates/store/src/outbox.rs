//! The outbox of a page on a shared log: the commands made in this browser that the sync server has not
//! answered yet, in the order they were made, each with the key that makes it exactly once, and those it
//! refused after they waited (the conflict inbox). Kept apart from the log (which holds only what the server
//! stored), so a reload, a closed tab or a restarted browser loses none of them.
//!
//! In IndexedDB (the database `<store name>-outbox`, one object store of entries keyed by an increasing
//! number, each a line of JSON), else localStorage (`<store name>/outbox/<number>`), else memory, as the log
//! itself. Every change of an entry is one strict transaction that reads it and writes it, so two tabs never
//! both cancel and send one command.

use crate::backend::Backend;
use crate::error::StoreError;
use crate::js::{read_error, write_error};
use crate::shared::CommandKey;
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
use rewind_domain::Command;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;

const ENTRIES: &str = "entries";
/// The key under which the last place given is kept (entries start at 1): places are never given twice, so
/// a place names one command for good, even after it left the outbox.
const LAST_PLACE: f64 = 0.0;

/// One command of the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its place: entries are sent in this order.
    pub id: u64,
    pub key: CommandKey,
    pub command: Command,
    /// When it was made (ms since the epoch).
    pub made_at: u64,
    pub state: EntryState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Not sent yet: it can still be cancelled.
    Waiting,
    /// Sent at least once: the server may have stored it, so it is only ever sent again (same key), never
    /// cancelled. `request`: the place of the first command of the request it went in, so that it goes again
    /// with the same commands (`None`: kept before requests were recorded).
    Sent { request: Option<u64> },
    /// Refused by the server after it waited, in the page's words, at `at` (ms since the epoch).
    Refused { message: String, at: u64 },
}

/// An entry as stored: one line of JSON.
#[derive(Serialize, Deserialize)]
struct Stored {
    key: String,
    command: Command,
    made_at: u64,
    #[serde(default)]
    sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<u64>,
    #[serde(default)]
    refused: Option<(String, u64)>,
}

impl Stored {
    fn of(entry: &OutboxEntry) -> Stored {
        let (sent, request, refused) = match &entry.state {
            EntryState::Waiting => (false, None, None),
            EntryState::Sent { request } => (true, *request, None),
            EntryState::Refused { message, at } => (true, None, Some((message.clone(), *at))),
        };
        Stored { key: entry.key.as_str().to_owned(), command: entry.command.clone(), made_at: entry.made_at, sent, request, refused }
    }

    fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Write(format!("the command could not be written as JSON: {e}")))
    }
}

/// An entry read back: the entry, or why the stored value is none.
fn entry(id: u64, text: &str) -> Result<OutboxEntry, String> {
    let stored: Stored = serde_json::from_str(text).map_err(|e| format!("entry {id} of the outbox is damaged: {e}"))?;
    let key = CommandKey::parse(&stored.key).ok_or_else(|| format!("entry {id} of the outbox has no valid key"))?;
    let state = match (stored.refused, stored.sent) {
        (Some((message, at)), _) => EntryState::Refused { message, at },
        (None, true) => EntryState::Sent { request: stored.request },
        (None, false) => EntryState::Waiting,
    };
    Ok(OutboxEntry { id, key, command: stored.command, made_at: stored.made_at, state })
}

/// What is in the outbox: its entries in order, and why any stored value could not be read (such a value is
/// left where it is, never sent and never dropped unseen).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxList {
    pub entries: Vec<OutboxEntry>,
    pub damaged: Vec<String>,
}

/// What a change of one entry found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    Done,
    /// The entry is no longer there (sent and stored by another tab, cancelled, or dropped).
    Gone,
    /// The entry was sent already: it can no longer be cancelled.
    AlreadySent,
}

pub struct Outbox {
    place: Place,
    /// The last place given in memory (the other backends keep theirs with the entries).
    last_in_memory: std::cell::Cell<u64>,
    /// The Web Lock that lets one tab at a time send.
    lock_name: String,
}

/// This tab's turn to send the outbox, until dropped.
pub struct SendingTurn {
    _lock: Option<crate::locks::HeldLock>,
}

enum Place {
    Idb(Database),
    Local { storage: web_sys::Storage, prefix: String },
    Memory(RefCell<BTreeMap<u64, String>>),
}

fn idb_read(e: IdbError) -> StoreError {
    StoreError::Read(format!("the outbox could not be read: {}", crate::idb::describe(&e)))
}

fn idb_write(e: IdbError) -> StoreError {
    let text = crate::idb::describe(&e);
    if text.starts_with("QuotaExceededError") {
        StoreError::QuotaExceeded { backend: Backend::IndexedDb }
    } else {
        StoreError::Write(format!("the outbox could not be written: {text}"))
    }
}

/// What a change does to the entry it read.
enum Edit {
    /// Sent in the request whose first command is at this place.
    Mark(u64),
    Cancel,
    Refuse(String, u64),
    /// Dropped: stored by the server.
    Stored,
    /// Dropped by the user from the conflict inbox: only a refused entry.
    Discard,
}

/// The change `edit` makes to the stored `text` of the entry expected to carry `key`: what to store instead
/// (`None`: delete), and what it found. An entry of another key is another command (never this one): `Gone`.
fn edited(id: u64, key: &CommandKey, text: &str, edit: &Edit) -> Result<(Option<String>, Changed), StoreError> {
    let mut found = match entry(id, text) {
        Ok(found) if found.key == *key => found,
        Ok(_) => return Ok((Some(text.to_owned()), Changed::Gone)),
        Err(why) => return Err(StoreError::Read(why)),
    };
    let unchanged = Some(text.to_owned());
    match (edit, &found.state) {
        (Edit::Cancel, EntryState::Waiting) => Ok((None, Changed::Done)),
        (Edit::Cancel, _) => Ok((unchanged, Changed::AlreadySent)),
        (Edit::Mark(request), EntryState::Waiting) => {
            found.state = EntryState::Sent { request: Some(*request) };
            Ok((Some(Stored::of(&found).to_json()?), Changed::Done))
        }
        (Edit::Mark(_), _) => Ok((unchanged, Changed::Done)),
        (Edit::Refuse(message, at), _) => {
            found.state = EntryState::Refused { message: message.clone(), at: *at };
            Ok((Some(Stored::of(&found).to_json()?), Changed::Done))
        }
        (Edit::Stored, _) | (Edit::Discard, EntryState::Refused { .. }) => Ok((None, Changed::Done)),
        (Edit::Discard, _) => Ok((unchanged, Changed::Gone)),
    }
}

impl Outbox {
    /// The outbox of the store `name`: IndexedDB if it opens, else localStorage, else memory.
    pub async fn open(name: &str) -> Outbox {
        let opened = Database::open(&format!("{name}-outbox"))
            .with_version(1u32)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    db.create_object_store(ENTRIES).build()?;
                }
                Ok(())
            })
            .await;
        match opened {
            Ok(db) => return Outbox { place: Place::Idb(db), last_in_memory: Default::default(), lock_name: format!("{name}-outbox") },
            Err(OpenDbError::Base(e)) => crate::clock::warn(&format!("the outbox is not in IndexedDB: {}", crate::idb::describe(&e))),
            Err(e) => crate::clock::warn(&format!("the outbox is not in IndexedDB: {e}")),
        }
        let db_name = format!("{name}-outbox");
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            return Outbox { place: Place::Local { storage, prefix: format!("{name}/outbox/") }, last_in_memory: Default::default(), lock_name: db_name };
        }
        Outbox::in_memory()
    }

    /// An outbox in this page only.
    pub fn in_memory() -> Outbox {
        Outbox { place: Place::Memory(RefCell::new(BTreeMap::new())), last_in_memory: Default::default(), lock_name: String::new() }
    }

    /// Waits until this tab is the one that sends (a Web Lock: one tab of the browser profile at a time, and
    /// a closed tab lets go of it), and holds that turn until the value is dropped. An outbox in memory is
    /// this page's alone.
    pub async fn sending_turn(&self) -> Result<SendingTurn, StoreError> {
        if let Place::Memory(_) = self.place {
            return Ok(SendingTurn { _lock: None });
        }
        Ok(SendingTurn { _lock: crate::locks::acquire(&self.lock_name, false).await? })
    }

    pub fn backend(&self) -> Backend {
        match self.place {
            Place::Idb(_) => Backend::IndexedDb,
            Place::Local { .. } => Backend::LocalStorage,
            Place::Memory(_) => Backend::Memory,
        }
    }

    /// Every entry, in order.
    pub async fn list(&self) -> Result<OutboxList, StoreError> {
        let raw = self.raw().await?;
        let mut list = OutboxList::default();
        for (id, text) in raw {
            match entry(id, &text) {
                Ok(e) => list.entries.push(e),
                Err(why) => list.damaged.push(why),
            }
        }
        Ok(list)
    }

    async fn raw(&self) -> Result<Vec<(u64, String)>, StoreError> {
        match &self.place {
            Place::Idb(db) => {
                let tx = db.transaction(ENTRIES).build().map_err(idb_read)?;
                let store = tx.object_store(ENTRIES).map_err(idb_read)?;
                let keys = store.get_all_keys::<f64>().await.map_err(idb_read)?;
                let values = store.get_all::<JsValue>().await.map_err(idb_read)?;
                let mut out = Vec::new();
                for (k, v) in keys.zip(values) {
                    let (Ok(k), Ok(v)) = (k, v) else { continue };
                    if k >= 1.0 {
                        out.push((k as u64, v.as_string().unwrap_or_default()));
                    }
                }
                Ok(out)
            }
            Place::Local { storage, prefix } => {
                let len = storage.length().map_err(|e| read_error(&e))?;
                let mut out = Vec::new();
                for i in 0..len {
                    let Some(key) = storage.key(i).map_err(|e| read_error(&e))? else { continue };
                    let Some(id) = key.strip_prefix(prefix.as_str()).and_then(|n| n.parse::<u64>().ok()) else { continue };
                    let text = storage.get_item(&key).map_err(|e| read_error(&e))?.unwrap_or_default();
                    out.push((id, text));
                }
                out.sort_by_key(|(id, _)| *id);
                Ok(out)
            }
            Place::Memory(map) => Ok(map.borrow().iter().map(|(id, text)| (*id, text.clone())).collect()),
        }
    }

    /// Keeps `command` under `key`, after every entry there is; returns its place. Once this returns, the
    /// command survives a reload.
    pub async fn add(&self, key: &CommandKey, command: &Command, made_at: u64) -> Result<u64, StoreError> {
        let text = Stored { key: key.as_str().to_owned(), command: command.clone(), made_at, sent: false, request: None, refused: None }.to_json()?;
        match &self.place {
            Place::Idb(db) => {
                let tx = db
                    .transaction(ENTRIES)
                    .with_mode(TransactionMode::Readwrite)
                    .with_options(TransactionOptions::new().with_durability(TransactionDurability::Strict))
                    .build()
                    .map_err(idb_write)?;
                let store = tx.object_store(ENTRIES).map_err(idb_write)?;
                let last = store.get::<JsValue, _, _>(LAST_PLACE).primitive().map_err(idb_write)?.await.map_err(idb_write)?;
                let keys = store.get_all_keys::<f64>().await.map_err(idb_write)?;
                let highest = keys.filter_map(Result::ok).fold(0.0f64, f64::max);
                let last = last.and_then(|v| v.as_f64()).unwrap_or(0.0).max(highest);
                let id = last as u64 + 1;
                store.put(JsValue::from_str(&text)).with_key(id as f64).build().map_err(idb_write)?;
                store.put(JsValue::from_f64(id as f64)).with_key(LAST_PLACE).build().map_err(idb_write)?;
                tx.commit().await.map_err(idb_write)?;
                Ok(id)
            }
            Place::Local { storage, prefix } => {
                let _write = self.local_write_lock().await?;
                let counter = format!("{prefix}last");
                let last = storage.get_item(&counter).map_err(|e| read_error(&e))?.and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                let id = last.max(self.raw().await?.last().map_or(0, |(id, _)| *id)) + 1;
                storage.set_item(&self.local_key(id), &text).map_err(|e| write_error(&e))?;
                storage.set_item(&counter, &id.to_string()).map_err(|e| write_error(&e))?;
                Ok(id)
            }
            Place::Memory(map) => {
                let id = self.last_in_memory.get() + 1;
                self.last_in_memory.set(id);
                map.borrow_mut().insert(id, text);
                Ok(id)
            }
        }
    }

    fn local_key(&self, id: u64) -> String {
        match &self.place {
            Place::Local { prefix, .. } => format!("{prefix}{id}"),
            _ => String::new(),
        }
    }

    /// Drops entry `id` (of `key`) if it was never sent.
    pub async fn cancel(&self, id: u64, key: &CommandKey) -> Result<Changed, StoreError> {
        self.edit(id, key, Edit::Cancel).await
    }

    /// Moves entry `id` (of `key`) to the conflict inbox with the server's refusal.
    pub async fn refuse(&self, id: u64, key: &CommandKey, message: &str, at: u64) -> Result<Changed, StoreError> {
        self.edit(id, key, Edit::Refuse(message.to_owned(), at)).await
    }

    /// Drops entry `id` (of `key`) if it is a refusal in the conflict inbox (the user dropped it).
    pub async fn discard(&self, id: u64, key: &CommandKey) -> Result<Changed, StoreError> {
        self.edit(id, key, Edit::Discard).await
    }

    /// Drops entry `id` (of `key`): the server stored it, or refused the caller, who was told.
    pub async fn remove(&self, id: u64, key: &CommandKey) -> Result<Changed, StoreError> {
        self.edit(id, key, Edit::Stored).await
    }

    /// Notes that `entries` (place and key) are about to be sent, all in one write, in the request whose first
    /// command is at place `request`; returns what each one found (`Gone`: cancelled, or sent by another tab,
    /// meanwhile: not to be sent).
    pub async fn mark_sent_all(&self, entries: &[(u64, &CommandKey)], request: u64) -> Result<Vec<Changed>, StoreError> {
        self.edit_all(entries, &Edit::Mark(request), TransactionDurability::Strict).await
    }

    /// Drops `entries`, all stored by the server, in one write. Relaxed: should it be lost in a crash, the
    /// entries are sent again and answered "stored before", never stored twice.
    pub async fn remove_all_stored(&self, entries: &[(u64, &CommandKey)]) -> Result<(), StoreError> {
        self.edit_all(entries, &Edit::Stored, TransactionDurability::Relaxed).await.map(|_| ())
    }

    /// The lock around a change of the localStorage outbox: another tab's change waits for it (the sending
    /// turn is another lock: a tab that sends changes entries while it holds that one).
    async fn local_write_lock(&self) -> Result<Option<crate::locks::HeldLock>, StoreError> {
        crate::locks::acquire(&format!("{}-write", self.lock_name), false).await
    }

    async fn edit(&self, id: u64, key: &CommandKey, edit: Edit) -> Result<Changed, StoreError> {
        let changed = self.edit_all(&[(id, key)], &edit, TransactionDurability::Strict).await?;
        Ok(changed.first().copied().unwrap_or(Changed::Gone))
    }

    /// One write that reads entries `ids` and changes each as `edit` says.
    async fn edit_all(&self, entries: &[(u64, &CommandKey)], edit: &Edit, durability: TransactionDurability) -> Result<Vec<Changed>, StoreError> {
        let mut out = Vec::with_capacity(entries.len());
        match &self.place {
            Place::Idb(db) => {
                let tx = db
                    .transaction(ENTRIES)
                    .with_mode(TransactionMode::Readwrite)
                    .with_options(TransactionOptions::new().with_durability(durability))
                    .build()
                    .map_err(idb_write)?;
                let store = tx.object_store(ENTRIES).map_err(idb_write)?;
                // Every read asked at once, then answered in order: one round trip for the whole batch.
                let mut asked = Vec::with_capacity(entries.len());
                for (id, _) in entries {
                    asked.push(store.get::<JsValue, _, _>(*id as f64).primitive().map_err(idb_write)?);
                }
                let mut changes = 0;
                for ((id, key), found) in entries.iter().zip(asked) {
                    let found = found.await.map_err(idb_write)?;
                    let Some(text) = found.and_then(|v| v.as_string()) else {
                        out.push(Changed::Gone);
                        continue;
                    };
                    let (keep, changed) = edited(*id, key, &text, edit)?;
                    out.push(changed);
                    match keep {
                        Some(new) if new == text => {}
                        Some(new) => {
                            store.put(JsValue::from_str(&new)).with_key(*id as f64).build().map_err(idb_write)?;
                            changes += 1;
                        }
                        None => {
                            store.delete(*id as f64).build().map_err(idb_write)?;
                            changes += 1;
                        }
                    }
                }
                if changes > 0 {
                    tx.commit().await.map_err(idb_write)?;
                }
            }
            Place::Local { storage, .. } => {
                let _write = self.local_write_lock().await?;
                for (id, key) in entries {
                    let place = self.local_key(*id);
                    let Some(text) = storage.get_item(&place).map_err(|e| read_error(&e))? else {
                        out.push(Changed::Gone);
                        continue;
                    };
                    let (keep, changed) = edited(*id, key, &text, edit)?;
                    out.push(changed);
                    match keep {
                        Some(new) if new == text => {}
                        Some(new) => storage.set_item(&place, &new).map_err(|e| write_error(&e))?,
                        None => storage.remove_item(&place).map_err(|e| write_error(&e))?,
                    }
                }
            }
            Place::Memory(map) => {
                let mut map = map.borrow_mut();
                for (id, key) in entries {
                    let Some(text) = map.get(id).cloned() else {
                        out.push(Changed::Gone);
                        continue;
                    };
                    let (keep, changed) = edited(*id, key, &text, edit)?;
                    out.push(changed);
                    match keep {
                        Some(new) => map.insert(*id, new),
                        None => map.remove(id),
                    };
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(state: EntryState) -> OutboxEntry {
        OutboxEntry {
            id: 7,
            key: CommandKey::parse("key-000000000007").unwrap_or_else(|| unreachable!()),
            command: Command::TopUp { user: "ann".into(), amount: 5 },
            made_at: 1_000,
            state,
        }
    }

    #[test]
    fn an_entry_read_back_is_the_entry_written_with_the_request_it_went_in() {
        for state in [
            EntryState::Waiting,
            EntryState::Sent { request: Some(3) },
            EntryState::Refused { message: "out of stock".into(), at: 9 },
        ] {
            let written = kept(state);
            let text = Stored::of(&written).to_json();
            assert_eq!(text.as_deref().map(|t| entry(7, t)), Ok(Ok(written.clone())), "{written:?}");
        }
    }

    #[test]
    fn an_entry_sent_before_requests_were_recorded_reads_as_sent_in_no_known_request() {
        let old = r#"{"key":"key-000000000007","command":{"kind":"TopUp","user":"ann","amount":5},"made_at":1000,"sent":true}"#;
        assert_eq!(entry(7, old), Ok(kept(EntryState::Sent { request: None })));
    }

    #[test]
    fn marking_a_waiting_entry_records_its_request_and_a_sent_one_keeps_its_own() {
        let key = kept(EntryState::Waiting).key;
        let text = |state| Stored::of(&kept(state)).to_json().unwrap_or_default();
        let (marked, found) = edited(7, &key, &text(EntryState::Waiting), &Edit::Mark(5)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found, Changed::Done);
        assert_eq!(marked.as_deref().map(|t| entry(7, t)), Some(Ok(kept(EntryState::Sent { request: Some(5) }))));
        let (again, _) = edited(7, &key, &text(EntryState::Sent { request: Some(2) }), &Edit::Mark(5)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.as_deref().map(|t| entry(7, t)), Some(Ok(kept(EntryState::Sent { request: Some(2) }))));
    }
}
