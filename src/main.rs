use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! { <main><h1>"Rewind"</h1><p>"An event-sourced shop. Coming together."</p></main> }
}
