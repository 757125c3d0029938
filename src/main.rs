//! Rewind, the app: Leptos, client-side rendered, built by trunk. The UI holds no business rules: it turns
//! form fields into commands, and shows what the domain and the store answer.

mod ctx;
mod shop;
mod ui;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(ui::App);
}
