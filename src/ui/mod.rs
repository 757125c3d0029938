mod commands;
mod history;
mod io;
mod status;
mod tables;
mod timeline;

use crate::ctx::Ctx;
use leptos::prelude::*;

/// The whole page: status on top, commands on the left, the timeline and the state on the right.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);
    leptos::task::spawn_local(ctx.load());
    let on_hidden = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if document().visibility_state() == web_sys::VisibilityState::Hidden {
            ctx.snapshot_if_due(true);
        }
    });
    on_cleanup(move || on_hidden.remove());
    view! {
        <header class="top">
            <div class="brand">
                <h1>"Rewind"</h1>
                <p class="tagline">"An event-sourced shop: the log is the truth, the state is a fold over it."</p>
            </div>
            <status::StatusBar/>
        </header>
        <status::Messages/>
        <main class="layout">
            <aside class="side">
                <commands::TopUpForm/>
                <commands::AddItemForm/>
                <commands::OrderForm/>
                <io::GenerateForm/>
                <io::ImportExport/>
            </aside>
            <section class="main">
                <timeline::Timeline/>
                <status::EmptyState/>
                <div class="pair">
                    <tables::Changes/>
                    <history::EntityChart/>
                </div>
                <tables::Totals/>
                <div class="tables">
                    <tables::UsersTable/>
                    <tables::ItemsTable/>
                </div>
                <history::ReadModelsPanel/>
                <history::EventLog/>
            </section>
        </main>
    }
}

/// A money amount in minor units, shown as currency with two decimals.
pub fn money(cents: u64) -> String {
    rewind_domain::Money(cents).to_string()
}

/// Digits with thin spaces between thousands, for counts people read.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}
