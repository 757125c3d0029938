use super::count;
use crate::ctx::Ctx;
use leptos::prelude::*;
use rewind_store::{Backend, SyncStatus, Unreachable};

/// The log's size, where it is kept, and how it was restored (CONTRACT §3).
#[component]
pub fn StatusBar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let backend = move || ctx.backend.get().map_or("opening…", Backend::as_str);
    let restore = move || ctx.restore.get();
    let sync_title = move || match ctx.sync.get() {
        SyncStatus::Local => "The log lives in this browser only".to_owned(),
        SyncStatus::Connected => "The log is the sync server's shared log; this browser keeps a copy".to_owned(),
        SyncStatus::Offline(why) => format!("{} Nothing can be added until it is back.", why.explain()),
    };
    view! {
        <div class="status" aria-label="Status">
            <span class="pill">
                <span data-testid="event-count">{move || ctx.head.get()}</span>
                " events"
            </span>
            <span class="pill" class:warn=move || ctx.backend.get().is_some_and(|b| b != Backend::IndexedDb)
                title=move || ctx.backend.get().map_or("Where the log is kept", Backend::durability)>
                "Storage: " <span data-testid="storage-backend">{backend}</span>
            </span>
            {move || ctx.shop_name.get().map(|shop| view! {
                <span class="pill" title="The shop this page shows: each shop has its own log on the sync server">
                    "Shop: " <span data-testid="shop-name">{shop}</span>
                </span>
            })}
            <span class="pill" class:warn=move || ctx.sync.get().is_offline() title=sync_title>
                "Sync: "
                <span data-testid="sync-status" title=sync_title data-reason=move || ctx.sync.get().reason().map(Unreachable::as_str)>
                    {move || ctx.sync.get().as_str()}
                </span>
            </span>
            <super::outbox::OutboxPills/>
            <span class="pill" data-testid="restore-info"
                data-snapshot-seq=move || restore().map(|r| r.snapshot_seq)
                data-tail=move || restore().map(|r| r.tail)
                data-ms=move || restore().map(|r| r.ms)
                title="How the live state was rebuilt when the page loaded">
                {move || match restore() {
                    None => "Restoring…".to_owned(),
                    Some(r) if r.snapshot_seq == 0 => format!("Replayed {} events in {} ms", count(r.tail), r.ms),
                    Some(r) => format!(
                        "Snapshot at {} + {} events in {} ms", count(r.snapshot_seq), count(r.tail), r.ms
                    ),
                }}
            </span>
            <Show when=move || { ctx.queued.get() > 0 }>
                <span class="pill saving" class:warn=move || ctx.checking.get() data-testid="saving" aria-live="polite"
                    data-checking=move || ctx.checking.get().to_string()>
                    {move || match (ctx.checking.get(), ctx.queued.get()) {
                        (true, 1) => "Checking whether the server stored it…".to_owned(),
                        (true, n) => format!("Checking whether the server stored it… ({} waiting)", n - 1),
                        (false, 1) => "Saving…".to_owned(),
                        (false, n) => format!("Saving… ({} waiting)", n - 1),
                    }}
                </span>
            </Show>
        </div>
    }
}

/// Errors (role=alert), notices, the memory-backend warning and progress of long work.
#[component]
pub fn Messages() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <div class="messages">
            {move || ctx.backend.get().filter(|b| *b != Backend::IndexedDb).map(|b| view! {
                <p class="banner warn" role="status" data-testid="durability">
                    {b.durability()} " Export to keep a copy of your events."
                </p>
            })}
            {move || ctx.sync.get().reason().map(|why| view! {
                <p class="banner warn" role="status" data-testid="offline" data-reason=why.as_str()>
                    {why.explain()}
                    {match why {
                        Unreachable::AccessKey => "",
                        _ => " Commands are kept in this browser's outbox and sent when it is back; nothing is \
                               counted until the server stores it, and this page catches up by itself then.",
                    }}
                </p>
            })}
            <DamagedLog/>
            {move || ctx.error.get().map(|message| view! {
                <div class="banner error" data-testid="error" role="alert">
                    <span>{message}</span>
                    <button class="link" aria-label="Dismiss the message" on:click=move |_| ctx.error.set(None)>"✕"</button>
                </div>
            })}
            {move || ctx.notice.get().map(|message| view! {
                <p class="banner notice" role="status">{message}</p>
            })}
            {move || ctx.progress.get().map(|p| view! { <ProgressBar name=p.label.clone() label=p.label fraction=p.fraction/> })}
        </div>
    }
}

/// Long work's progress: `label` shown, `name` for assistive technology, `fraction` done (0 to 1).
#[component]
pub fn ProgressBar(name: String, label: String, fraction: f64) -> impl IntoView {
    view! {
        <div class="progress" role="progressbar" aria-label=name
            aria-valuemin="0" aria-valuemax="100" aria-valuenow=(fraction * 100.0).round()>
            <span>{label}</span>
            <div class="bar"><div class="fill" style:width=format!("{:.1}%", fraction * 100.0)></div></div>
        </div>
    }
}

/// What to do first in an empty shop.
#[component]
pub fn EmptyState() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <Show when=move || ctx.head.get() == 0 && ctx.history_ready.get()>
            <div class="empty card">
                <h2>"Your shop has no history yet"</h2>
                <ol>
                    <li>"Add an item to the warehouse: for example " <b>"apple"</b> ", price 30 cents, quantity 10."</li>
                    <li>"Top up a user: " <b>"alice"</b> " with 500 cents."</li>
                    <li>"Place an order: alice buys 2 apples. Then drag the timeline back and watch it undo."</li>
                </ol>
                <p>"Or generate 10,000 events to explore a busy shop, or import a JSON Lines log."</p>
            </div>
        </Show>
    }
}

/// What to do when the stored log is damaged: the intact events are shown and can be exported; the log can be
/// cut back to them, replaced by an import, or cleared.
#[component]
fn DamagedLog() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        {move || ctx.damaged.get().map(|intact| view! {
            <div class="banner warn damaged" role="status" data-testid="damaged">
                <p>
                    <b>"The stored log is damaged."</b>
                    " The first " {count(intact)} " events are intact and shown; nothing can be added until the "
                    "log is whole again. Export them to keep a copy, then keep only them, import a file or clear the log."
                </p>
                <button type="button" data-testid="keep-intact"
                    on:click=move |_| leptos::task::spawn_local(ctx.keep_intact())>
                    {format!("Keep the {} intact events", count(intact))}
                </button>
            </div>
        })}
    }
}
