//! The page's split points. The build (`cargo xtask page`) cuts each function below, with whatever only it
//! reaches, into a WebAssembly module of its own, fetched the first time the function is called; the module
//! the page starts with keeps only what shows the shop (issue 26). `fallible`: a module that cannot be fetched
//! is an error to show, not a panic, and the next call fetches it again.
//!
//! The one file where unsafe code is allowed (`cargo xtask test lint` checks that it is the only one): the glue
//! each split point generates, an import, an export and a loader.

use leptos::wasm_split::SplitLoaderError;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;

/// How long a page waits for the shared log's module before it says it could not be loaded.
const SHARED_LOG_WAIT_MS: u32 = 20_000;

/// Why a module is not there.
#[derive(Debug)]
pub enum ModuleMissing {
    /// It could not be fetched or started.
    Failed(SplitLoaderError),
    /// It did not arrive in time.
    TooSlow { waited_ms: u32 },
}

impl std::fmt::Display for ModuleMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleMissing::Failed(e) => write!(f, "{e}"),
            ModuleMissing::TooSlow { waited_ms } => write!(f, "it did not arrive within {} s", waited_ms / 1000),
        }
    }
}

/// The parts of the page that showing the shop does not need: the forms, the timeline, the history tools
/// (`src/ui/later.rs`).
pub async fn later_parts() -> Result<crate::ui::LaterParts, SplitLoaderError> {
    glue::later_parts().await
}

/// What a page on a sync server needs before it opens the log: the shared log's client, its outbox and the
/// server's JSON (`src/shared_log.rs`). A page on the browser's own log never fetches it.
pub async fn shared_log() -> Result<crate::shared_log::SharedLogParts, ModuleMissing> {
    match within(SHARED_LOG_WAIT_MS, glue::shared_log()).await {
        Some(loaded) => loaded.map_err(ModuleMissing::Failed),
        None => Err(ModuleMissing::TooSlow { waited_ms: SHARED_LOG_WAIT_MS }),
    }
}

/// `future`'s output, or `None` once `ms` passed first (a fetch that stalls must not keep the page waiting).
async fn within<T>(ms: u32, future: impl Future<Output = T>) -> Option<T> {
    let mut future = pin!(future);
    let mut timer = pin!(rewind_store::clock::sleep(ms));
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(value) => Poll::Ready(Some(value)),
        Poll::Pending if timer.as_mut().poll(cx).is_ready() => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    })
    .await
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
