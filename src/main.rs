//! Rewind's entry point: mounts the page. Everything else is in the library (`src/lib.rs`).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(rewind::App);
}
