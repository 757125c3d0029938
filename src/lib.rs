//! Rewind, the app: Leptos, client-side rendered, built by trunk. The UI holds no business rules: it turns
//! form fields into commands, and shows what the session (the log, the store and one queue of work) answers.

pub mod ctx;
pub mod queue;
pub mod session;
pub mod shop;
mod ui;

pub use ui::App;
