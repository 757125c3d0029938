mod access;
mod blame_rows;
mod branches;
mod commands;
pub(crate) mod compare;
mod history;
mod io;
mod later;
mod models;
mod outbox;
mod paint;
mod query;
mod rows;
mod status;
mod tables;
mod timeline;

use crate::ctx::{Access, Ctx};
pub(crate) use later::{later_parts, LaterParts};
use leptos::prelude::*;

/// The whole page: status on top, commands on the left, the timeline and the state on the right. Nothing of
/// the shop before it is known where its log lives, and only the access-key form while the sync server wants
/// its key.
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
    let open = move || ctx.access.get() == Access::Open;
    view! {
        <header class="top">
            <div class="brand">
                <h1>"Rewind"</h1>
                <p class="tagline">"An event-sourced shop: the log is the truth, the state is a fold over it."</p>
            </div>
            <Show when=open><status::StatusBar/></Show>
        </header>
        <Show when=open fallback=move || match ctx.access.get() {
            Access::KeyNeeded => view! { <access::AccessKeyForm/> }.into_any(),
            Access::CannotOpen(why) => view! { <access::CannotOpen why/> }.into_any(),
            _ => view! { <p class="opening" role="status">"Opening the shop…"</p> }.into_any(),
        }>
            // The later parts' module is asked for once the shop is open, not while it opens.
            <later::WithLaterModule>
                <status::Messages/>
                // Every list's row height, from the one place that owns it (rows.rs), for the stylesheet.
                <main class="layout" style=("--row-h", rows::px(1))>
                    <aside class="side">
                        <later::Later part=|p| p.commands/>
                    </aside>
                    <section class="main">
                        <later::Later part=|p| p.conflicts quiet=true/>
                        <later::Later part=|p| p.timeline/>
                        <later::Later part=|p| p.branches/>
                        <status::EmptyState/>
                        <div class="pair">
                            <tables::Changes/>
                            <later::Later part=|p| p.chart/>
                        </div>
                        <tables::Totals/>
                        <tables::EntityFilter/>
                        <div class="tables">
                            <tables::UsersTable/>
                            <tables::ItemsTable/>
                        </div>
                        <later::Later part=|p| p.compare/>
                        <later::Later part=|p| p.history/>
                    </section>
                </main>
            </later::WithLaterModule>
        </Show>
    }
}

/// A money amount in minor units, shown as currency with two decimals.
pub fn money(cents: u64) -> String {
    rewind_domain::Money(cents).to_string()
}

/// A sum of money that may pass MAX (totals over many balances or orders), shown like [`money`].
pub fn money_total(cents: u128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// An event in a shop owner's words, for the event line and the event log.
pub fn event_in_words(names: &rewind_domain::Names, event: &rewind_domain::Event) -> String {
    use rewind_domain::Event;
    match *event {
        Event::ToppedUp { user, amount } => format!("{} topped up {}", names.user_name(user), money(amount.0)),
        Event::ItemAdded { item, price, qty } => {
            format!("{} × {} added at {}", count(qty.0), names.item_name(item), money(price.0))
        }
        Event::OrderPlaced { user, item, qty, price, total } => format!(
            "{} ordered {} × {} at {} for {}",
            names.user_name(user),
            count(qty.0),
            names.item_name(item),
            money(price.0),
            money(total.0)
        ),
        Event::Refunded { order, user, item, qty, total } => format!(
            "order #{order} refunded: {} got {} back, {} × {} returned to stock",
            names.user_name(user),
            money(total.0),
            count(qty.0),
            names.item_name(item)
        ),
        Event::Withdrawn { user, amount } => format!("{} withdrew {}", names.user_name(user), money(amount.0)),
        Event::WrittenOff { item, qty } => format!("{} × {} written off", count(qty.0), names.item_name(item)),
        Event::PriceSet { item, price } => format!("{} now costs {}", names.item_name(item), money(price.0)),
    }
}

/// A timestamp (ms since the epoch) as local "YYYY-MM-DD" and "HH:MM:SS".
pub fn local_time(ts: u64) -> (String, String) {
    use rewind_domain::LocalTime as _;
    let local = ts as i64 + crate::zone::HostZone.offset_ms(ts as i64);
    let (day, secs) = (local.div_euclid(rewind_domain::DAY_MS), local.rem_euclid(rewind_domain::DAY_MS) / 1000);
    (rewind_domain::day_label(day), format!("{:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60))
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
