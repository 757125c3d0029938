//! The outbox on a shared log, shown apart from the log: how many commands wait (status bar), each waiting
//! command with what was asked and since when (cancel one never sent), and the conflict inbox (commands the
//! server refused after they waited: change and send again, or drop). Nothing here is counted in the log.

use super::{count, local_time, money};
use crate::ctx::Ctx;
use leptos::prelude::*;
use rewind_domain::Command;
use rewind_store::{EntryState, OutboxEntry, SyncStatus};

/// A command in a shop owner's words.
pub fn command_in_words(command: &Command) -> String {
    match command {
        Command::TopUp { user, amount } => format!("top up {user} with {}", money(*amount)),
        Command::AddItem { item, price, qty } => format!("add {} × {item} at {}", count(*qty), money(*price)),
        Command::Order { user, item, qty } => format!("{user} orders {} × {item}", count(*qty)),
        Command::Refund { order } => format!("refund order #{order}"),
        Command::Withdraw { user, amount } => format!("{user} withdraws {}", money(*amount)),
        Command::WriteOff { item, qty } => format!("write off {} × {item}", count(*qty)),
        Command::SetPrice { item, price } => format!("{item} to cost {}", money(*price)),
    }
}

/// What a date and time look like to the user: "YYYY-MM-DD HH:MM:SS", local.
fn when(ms: u64) -> String {
    let (day, time) = local_time(ms);
    format!("{day} {time}")
}

/// The fields of a command the user may change before sending it again: (name, label, value).
fn fields(command: &Command) -> Vec<(&'static str, &'static str, String)> {
    match command {
        Command::TopUp { user, amount } | Command::Withdraw { user, amount } => {
            vec![("user", "User", user.clone()), ("amount", "Amount (cents)", amount.to_string())]
        }
        Command::AddItem { item, price, qty } => vec![
            ("item", "Item", item.clone()),
            ("price", "Price (cents)", price.to_string()),
            ("qty", "Quantity", qty.to_string()),
        ],
        Command::Order { user, item, qty } => {
            vec![("user", "User", user.clone()), ("item", "Item", item.clone()), ("qty", "Quantity", qty.to_string())]
        }
        Command::Refund { order } => vec![("order", "Order #", order.to_string())],
        Command::WriteOff { item, qty } => vec![("item", "Item", item.clone()), ("qty", "Quantity", qty.to_string())],
        Command::SetPrice { item, price } => vec![("item", "Item", item.clone()), ("price", "Price (cents)", price.to_string())],
    }
}

/// `command` with its fields as the user changed them (in the order of [`fields`]), or what to fix.
fn changed(command: &Command, values: &[String]) -> Result<Command, String> {
    let text = |i: usize| values.get(i).map(|v| v.trim().to_owned()).unwrap_or_default();
    let number = |i: usize, label: &str| {
        let t = text(i);
        t.parse::<u64>().map_err(|_| format!("the {label} must be a whole number, like 5; {t:?} is not"))
    };
    Ok(match command {
        Command::TopUp { .. } => Command::TopUp { user: text(0), amount: number(1, "amount")? },
        Command::Withdraw { .. } => Command::Withdraw { user: text(0), amount: number(1, "amount")? },
        Command::AddItem { .. } => Command::AddItem { item: text(0), price: number(1, "price")?, qty: number(2, "quantity")? },
        Command::Order { .. } => Command::Order { user: text(0), item: text(1), qty: number(2, "quantity")? },
        Command::Refund { .. } => Command::Refund { order: number(0, "order number")? },
        Command::WriteOff { .. } => Command::WriteOff { item: text(0), qty: number(1, "quantity")? },
        Command::SetPrice { .. } => Command::SetPrice { item: text(0), price: number(1, "price")? },
    })
}

/// How many commands wait, and how many were refused after waiting (a link to the inbox), in the status bar.
#[component]
pub fn OutboxPills() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let waiting = move || ctx.outbox.with(|o| o.waiting().count());
    let refused = move || ctx.outbox.with(|o| o.refused().count());
    let title = move || match ctx.outbox.with(|o| o.stalled.clone()) {
        Some(stall) => format!("Not sent yet: {}. Next try at {}.", stall.reason, local_time(stall.retry_at).1),
        None => "Commands made here that the sync server has not stored yet; they are not counted in the log".to_owned(),
    };
    view! {
        <Show when=move || ctx.sync.get() != SyncStatus::Local>
            <span class="pill" class:warn=move || { waiting() > 0 } title=title>
                "Pending: " <span data-testid="pending-count">{waiting}</span>
            </span>
        </Show>
        <Show when=move || { refused() > 0 }>
            <a class="pill warn" href="#conflict-inbox" data-testid="conflict-count">
                {move || format!("{} refused after waiting", refused())}
            </a>
        </Show>
    }
}

/// Commands waiting in the outbox, oldest first, apart from the log.
#[component]
pub fn PendingList() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let waiting = move || ctx.outbox.with(|o| o.waiting().cloned().collect::<Vec<_>>());
    let stall = move || ctx.outbox.with(|o| o.stalled.clone());
    view! {
        <Show when=move || ctx.outbox.with(|o| o.waiting().next().is_some() || !o.damaged.is_empty() || o.problem.is_some())>
            <section class="card pending" aria-labelledby="pending-title">
                <h2 id="pending-title">"Waiting for the sync server " <small>"(not in the log yet)"</small></h2>
                {move || stall().map(|s| view! {
                    <p class="hint" role="status" data-testid="pending-stall">
                        {format!("Not sent yet: {}. Next try at {}.", s.reason, local_time(s.retry_at).1)}
                    </p>
                })}
                {move || ctx.outbox.with(|o| o.problem.clone()).map(|p| view! { <p class="banner error">{p}</p> })}
                {move || ctx.outbox.with(|o| o.damaged.clone()).into_iter().map(|d| view! { <p class="banner warn">{d}</p> }).collect_view()}
                <ol class="pending-rows">
                    <For each=waiting key=|e: &OutboxEntry| (e.id, e.state == EntryState::Waiting) let:entry>
                        <PendingRow entry/>
                    </For>
                </ol>
            </section>
        </Show>
    }
}

#[component]
fn PendingRow(entry: OutboxEntry) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = entry.id;
    let key = entry.key.clone();
    let words = command_in_words(&entry.command);
    let label = format!("Cancel: {words}");
    view! {
        <li data-testid="pending-row" data-kind=entry.command.kind() data-id=id>
            <span class="what">{words}</span>
            <span class="since">{format!(" · since {}", when(entry.made_at))}</span>
            {match entry.state {
                EntryState::Waiting => view! {
                    <button type="button" class="link" data-testid="pending-cancel" aria-label=label
                        on:click=move |_| leptos::task::spawn_local(ctx.cancel_pending(id, key.clone()))>"Cancel"</button>
                }.into_any(),
                _ => view! { <span class="hint" title="Sent at least once: the server decides it once, so it can no longer be cancelled">" · being sent"</span> }.into_any(),
            }}
        </li>
    }
}

/// Commands the server refused after they waited: visible from every view, each to change and send again
/// or to drop. Nothing is dropped without the user.
#[component]
pub fn ConflictInbox() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let refused = move || ctx.outbox.with(|o| o.refused().cloned().collect::<Vec<_>>());
    view! {
        <Show when=move || ctx.outbox.with(|o| o.refused().next().is_some())>
            <section class="card conflicts" id="conflict-inbox" aria-labelledby="conflict-title" role="region">
                <h2 id="conflict-title">"Refused after waiting"</h2>
                <p class="hint">"These commands waited in this browser while the sync server was away; meanwhile the \
                    shop changed and its rules refused them. Change one and send it again, or drop it."</p>
                <For each=refused key=|e: &OutboxEntry| e.id let:entry>
                    <ConflictRow entry/>
                </For>
            </section>
        </Show>
    }
}

#[component]
fn ConflictRow(entry: OutboxEntry) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = entry.id;
    let key = entry.key.clone();
    let discard_key = entry.key.clone();
    let (message, at) = match &entry.state {
        EntryState::Refused { message, at } => (message.clone(), *at),
        _ => (String::new(), 0),
    };
    let fields = fields(&entry.command);
    let values: Vec<RwSignal<String>> = fields.iter().map(|(_, _, v)| RwSignal::new(v.clone())).collect();
    let command = entry.command.clone();
    let inputs = fields
        .into_iter()
        .zip(values.iter().copied())
        .map(|((name, label, _), value)| {
            let input_id = format!("conflict-{id}-{name}");
            view! {
                <label for=input_id.clone()>{label}</label>
                <input id=input_id data-field=name prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            }
        })
        .collect_view();
    let retry = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed: Vec<String> = values.iter().map(|v| v.get_untracked()).collect();
        match changed(&command, &typed) {
            Ok(command) => leptos::task::spawn_local(ctx.retry_refused(id, key.clone(), command)),
            Err(message) => ctx.fail(message),
        }
    };
    view! {
        <form class="conflict-row" data-testid="conflict-row" data-kind=entry.command.kind() data-id=id on:submit=retry>
            <p>
                <b>{command_in_words(&entry.command)}</b>
                {format!(" (made {}) was refused at {}: ", when(entry.made_at), when(at))}
                <span class="refusal" data-testid="conflict-refusal">{message}</span>
            </p>
            <div class="fields">{inputs}</div>
            <button type="submit" data-testid="conflict-retry">"Send again"</button>
            <button type="button" class="link" data-testid="conflict-discard"
                on:click=move |_| leptos::task::spawn_local(ctx.discard_refused(id, discard_key.clone()))>"Drop it"</button>
        </form>
    }
}
