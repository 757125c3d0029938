//! Rewind, the app: Leptos, client-side rendered, built by trunk. The UI holds no business rules: it turns
//! form fields into commands, and shows what the session (the log, the store and one queue of work) answers.

mod app_files;
pub mod branch;
pub mod ctx;
pub mod models;
pub mod opening;
pub mod queue;
pub mod session;
pub mod shared_log;
pub mod shop;
mod split;
mod ui;
pub mod zone;

pub use ui::App;

/// The WebAssembly memory's size in bytes, for benchmarks (`window.wasmBindings.wasm_memory_bytes()`).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory().dyn_into::<js_sys::WebAssembly::Memory>().map_or(0.0, |m| {
        m.buffer().dyn_into::<js_sys::ArrayBuffer>().map_or(0.0, |b| f64::from(b.byte_length()))
    })
}
