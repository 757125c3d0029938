//! Which storage holds the log: a leaf, named by the errors and by every backend.

/// Which storage holds the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    IndexedDb,
    LocalStorage,
    Memory,
}

impl Backend {
    /// The name the page shows (CONTRACT §3, `storage-backend`).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::IndexedDb => "indexeddb",
            Backend::LocalStorage => "localstorage",
            Backend::Memory => "memory",
        }
    }

    /// The storage's own name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Backend::IndexedDb => "IndexedDB",
            Backend::LocalStorage => "localStorage",
            Backend::Memory => "memory",
        }
    }

    /// What the backend promises about a stored event, for the page to say where it names the backend.
    pub fn durability(self) -> &'static str {
        match self {
            Backend::IndexedDb => "Each event is on disk before it is shown (strict IndexedDB transactions).",
            Backend::LocalStorage => {
                "IndexedDB is unavailable, so the log is in localStorage, which the browser writes to disk in \
                 batches: a crash of the browser or the computer can lose the last few seconds of events."
            }
            Backend::Memory => "The browser refuses site storage: the log lives in this page only and is lost on reload.",
        }
    }
}
