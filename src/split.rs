//! The page's split points. The build (`cargo xtask page`) cuts each function below, with whatever only it
//! reaches, into a WebAssembly module of its own, fetched the first time the function is called; the module
//! the page starts with keeps only what shows the shop (issue 26). `fallible`: a module that cannot be fetched
//! is an error to show, not a panic, and the next call fetches it again.
//!
//! The one file where unsafe code is allowed (`cargo xtask test lint` checks that it is the only one): the glue
//! each split point generates, an import, an export and a loader.

use leptos::wasm_split::SplitLoaderError;

/// The parts of the page that showing the shop does not need: the forms, the timeline, the history tools
/// (`src/ui/later.rs`).
pub async fn later_parts() -> Result<crate::ui::LaterParts, SplitLoaderError> {
    glue::later_parts().await
}

/// What a page on a sync server needs before it opens the log: the shared log's client, its outbox and the
/// server's JSON (`src/shared_log.rs`). A page on the browser's own log never fetches it.
pub async fn shared_log() -> Result<crate::shared_log::SharedLogParts, SplitLoaderError> {
    glue::shared_log().await
}

#[allow(unsafe_code)]
mod glue {
    use leptos::wasm_split::{wasm_split, SplitLoaderError};

    #[wasm_split(later_parts, wasm_split_path = ::leptos::wasm_split, fallible)]
    pub fn later_parts() -> Result<crate::ui::LaterParts, SplitLoaderError> {
        Ok(crate::ui::later_parts())
    }

    #[wasm_split(shared_log, wasm_split_path = ::leptos::wasm_split, fallible)]
    pub fn shared_log() -> Result<crate::shared_log::SharedLogParts, SplitLoaderError> {
        Ok(crate::shared_log::parts())
    }
}
