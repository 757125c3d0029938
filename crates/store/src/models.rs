//! The read models a user defined, kept in this browser: their definitions (small JSON, one per line) in
//! localStorage under `<store name>/models`. The folds are not stored: they are built again from the log.

use crate::error::StoreError;
use crate::js::{read_error, write_error};
use rewind_domain::{ModelDef, ModelDefError};

/// The model definitions of one store, in this browser.
pub struct ModelShelf {
    storage: web_sys::Storage,
    key: String,
}

impl ModelShelf {
    /// The shelf of the store `store_name`; `None` where localStorage is refused (models then live in the page
    /// only, and the page says so).
    pub fn open(store_name: &str) -> Option<ModelShelf> {
        let storage = web_sys::window()?.local_storage().ok()??;
        Some(ModelShelf { storage, key: format!("{store_name}/models") })
    }

    /// Every saved definition, in the order they were made; one that no longer reads is its error.
    pub fn load(&self) -> Result<Vec<Result<ModelDef, ModelDefError>>, StoreError> {
        let text = self.storage.get_item(&self.key).map_err(|e| read_error(&e))?.unwrap_or_default();
        Ok(text.lines().filter(|l| !l.trim().is_empty()).map(ModelDef::from_json).collect())
    }

    pub fn save(&self, defs: &[ModelDef]) -> Result<(), StoreError> {
        let text: Vec<String> = defs.iter().map(ModelDef::to_json).collect();
        self.storage.set_item(&self.key, &text.join("\n")).map_err(|e| write_error(&e))
    }
}
