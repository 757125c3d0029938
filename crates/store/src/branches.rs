//! What-if branches kept in this browser: each one's base (how many events of the real log it starts from),
//! the epoch of the real log it was made on, and its own events as frames of chunks. In localStorage, under
//! `<store name>/branch/<branch name>`, as "`<base> <epoch> <base64 frames>`": a branch is small (its own
//! events only), and the real log's storage never sees it.

use crate::error::StoreError;
use crate::js::{read_error, write_error};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// One saved branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedBranch {
    pub name: String,
    /// Events of the real log the branch starts from.
    pub base: u64,
    /// The epoch of the real log it was made on: after an import or a clear, its base is another log.
    pub epoch: u64,
    /// Its own events (after `base`), as frames of chunks.
    pub frames: Vec<u8>,
}

/// The branches of one store, in this browser.
pub struct BranchShelf {
    storage: web_sys::Storage,
    prefix: String,
}

impl BranchShelf {
    /// The shelf of the store `store_name`; `None` where localStorage is refused (branches then live in the
    /// page only).
    pub fn open(store_name: &str) -> Option<BranchShelf> {
        let storage = web_sys::window()?.local_storage().ok()??;
        Some(BranchShelf { storage, prefix: format!("{store_name}/branch/") })
    }

    /// Every saved branch's name, in order. An error when localStorage cannot be read: never an empty list
    /// that looks like "no branches".
    pub fn names(&self) -> Result<Vec<String>, StoreError> {
        let len = self.storage.length().map_err(|e| read_error(&e))?;
        let mut names = Vec::new();
        for i in 0..len {
            let key = self.storage.key(i).map_err(|e| read_error(&e))?;
            if let Some(name) = key.as_deref().and_then(|k| k.strip_prefix(&self.prefix)) {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The saved branch `name`: `None` if there is none (any more), a damaged entry as [`BranchDamaged`].
    pub fn load(&self, name: &str) -> Result<Option<Result<SavedBranch, BranchDamaged>>, StoreError> {
        let value = self.storage.get_item(&format!("{}{name}", self.prefix)).map_err(|e| read_error(&e))?;
        Ok(value.map(|value| parse(name, &value)))
    }

    pub fn save(&self, branch: &SavedBranch) -> Result<(), StoreError> {
        let value = format!("{} {} {}", branch.base, branch.epoch, STANDARD.encode(&branch.frames));
        self.storage.set_item(&format!("{}{}", self.prefix, branch.name), &value).map_err(|e| write_error(&e))
    }

    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.storage.remove_item(&format!("{}{name}", self.prefix)).map_err(|e| write_error(&e))
    }
}

/// A saved branch whose stored text is not one this page wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchDamaged {
    pub name: String,
}

impl std::fmt::Display for BranchDamaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the saved branch {} is damaged: it can only be deleted", self.name)
    }
}

fn parse(name: &str, value: &str) -> Result<SavedBranch, BranchDamaged> {
    let damaged = || BranchDamaged { name: name.to_owned() };
    let mut parts = value.splitn(3, ' ');
    let base = parts.next().and_then(|p| p.parse().ok()).ok_or_else(damaged)?;
    let epoch = parts.next().and_then(|p| p.parse().ok()).ok_or_else(damaged)?;
    let frames = STANDARD.decode(parts.next().unwrap_or_default()).map_err(|_| damaged())?;
    Ok(SavedBranch { name: name.to_owned(), base, epoch, frames })
}
