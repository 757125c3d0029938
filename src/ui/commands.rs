//! The three command forms. They only turn text into a [`Command`]; the domain decides.

use super::money;
use crate::ctx::Ctx;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rewind_domain::{validate_id, Command};

/// A whole number from a form field, or a message that says what to type.
fn whole(field: &str, text: &str, example: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("enter the {field}, for example {example}"));
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the {field} must be a whole number (digits only), like {example}; {t:?} is not"));
    }
    t.parse::<u64>().map_err(|_| format!("the {field} {t} is far too large"))
}

fn id(what: &str, text: &str) -> Result<String, String> {
    let t = text.trim();
    validate_id(t).map_err(|e| format!("the {what} id {t:?} {e}"))?;
    Ok(t.to_owned())
}

/// Hint under a field while typing: empty when the text is acceptable (or still empty).
fn id_hint(what: &'static str, text: RwSignal<String>) -> impl Fn() -> Option<String> + Send + Sync + Copy {
    move || {
        let t = text.get();
        (!t.trim().is_empty()).then(|| id(what, &t).err()).flatten()
    }
}

fn number_hint(field: &'static str, text: RwSignal<String>, cents: bool) -> impl Fn() -> Option<String> + Send + Sync + Copy {
    move || {
        let t = text.get();
        if t.trim().is_empty() {
            return None;
        }
        match whole(field, &t, "5") {
            Err(e) => Some(e),
            Ok(v) if cents => Some(format!("= {}", money(v))),
            Ok(_) => None,
        }
    }
}

fn send(ctx: Ctx, command: Result<Command, String>) {
    match command {
        Ok(command) => leptos::task::spawn_local(ctx.submit(command)),
        Err(message) => {
            ctx.notice.set(None);
            ctx.error.set(Some(message));
        }
    }
}

/// Suggestions for the id fields: the users and items that exist now.
#[component]
pub fn IdSuggestions() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let ids = Memo::new(move |_| ctx.known_ids());
    view! {
        <datalist id="user-ids">
            <For each=move || ids.get().0 key=|u| u.clone() let:user><option value=user></option></For>
        </datalist>
        <datalist id="item-ids">
            <For each=move || ids.get().1 key=|i| i.clone() let:item><option value=item></option></For>
        </datalist>
    }
}

#[component]
fn Hint(#[prop(into)] text: Signal<Option<String>>) -> impl IntoView {
    view! { <span class="hint" aria-live="polite">{move || text.get()}</span> }
}

/// Commands wait in the session's queue while other work runs, so a form is never disabled: a click is
/// never dropped. Only a damaged log refuses them, with a message that says what to do.
fn disabled(ctx: Ctx) -> impl Fn() -> bool + Send + Sync + Copy {
    move || ctx.damaged.get().is_some()
}

#[component]
pub fn TopUpForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (user, amount) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let command = (|| {
            Ok(Command::TopUp {
                user: id("user", &user.get_untracked())?,
                amount: whole("amount", &amount.get_untracked(), "500 (cents)")?,
            })
        })();
        send(ctx, command);
    };
    view! {
        <form class="card" data-testid="topup-form" on:submit=on_submit aria-labelledby="topup-title">
            <h2 id="topup-title">"Top up a balance"</h2>
            <IdSuggestions/>
            <label>"User"
                <input name="user" list="user-ids" autocomplete="off" placeholder="alice" aria-required="true" bind:value=user/>
                <Hint text=Signal::derive(id_hint("user", user))/>
            </label>
            <label>"Amount (cents)"
                <input name="amount" inputmode="numeric" autocomplete="off" placeholder="500" aria-required="true" bind:value=amount/>
                <Hint text=Signal::derive(number_hint("amount", amount, true))/>
            </label>
            <button type="submit" disabled=disabled(ctx)>"Top up"</button>
        </form>
    }
}

#[component]
pub fn AddItemForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (item, price, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let command = (|| {
            Ok(Command::AddItem {
                item: id("item", &item.get_untracked())?,
                price: whole("price", &price.get_untracked(), "30 (cents)")?,
                qty: whole("quantity", &qty.get_untracked(), "10")?,
            })
        })();
        send(ctx, command);
    };
    view! {
        <form class="card" data-testid="additem-form" on:submit=on_submit aria-labelledby="additem-title">
            <h2 id="additem-title">"Add to the warehouse"</h2>
            <label>"Item"
                <input name="item" list="item-ids" autocomplete="off" placeholder="apple" aria-required="true" bind:value=item/>
                <Hint text=Signal::derive(id_hint("item", item))/>
            </label>
            <div class="row">
                <label>"Unit price (cents)"
                    <input name="price" inputmode="numeric" autocomplete="off" placeholder="30" aria-required="true" bind:value=price/>
                    <Hint text=Signal::derive(number_hint("price", price, true))/>
                </label>
                <label>"Quantity"
                    <input name="qty" inputmode="numeric" autocomplete="off" placeholder="10" aria-required="true" bind:value=qty/>
                    <Hint text=Signal::derive(number_hint("quantity", qty, false))/>
                </label>
            </div>
            <button type="submit" disabled=disabled(ctx)>"Add item"</button>
        </form>
    }
}

#[component]
pub fn OrderForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (user, item, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let command = (|| {
            Ok(Command::Order {
                user: id("user", &user.get_untracked())?,
                item: id("item", &item.get_untracked())?,
                qty: whole("quantity", &qty.get_untracked(), "2")?,
            })
        })();
        send(ctx, command);
    };
    view! {
        <form class="card" data-testid="order-form" on:submit=on_submit aria-labelledby="order-title">
            <h2 id="order-title">"Place an order"</h2>
            <div class="row">
                <label>"User"
                    <input name="user" list="user-ids" autocomplete="off" placeholder="alice" aria-required="true" bind:value=user/>
                    <Hint text=Signal::derive(id_hint("user", user))/>
                </label>
                <label>"Item"
                    <input name="item" list="item-ids" autocomplete="off" placeholder="apple" aria-required="true" bind:value=item/>
                    <Hint text=Signal::derive(id_hint("item", item))/>
                </label>
            </div>
            <label>"Quantity"
                <input name="qty" inputmode="numeric" autocomplete="off" placeholder="2" aria-required="true" bind:value=qty/>
                <Hint text=Signal::derive(number_hint("quantity", qty, false))/>
            </label>
            <button type="submit" disabled=disabled(ctx)>"Order"</button>
        </form>
    }
}

/// A form whose fields become one correction command: refunds, withdrawals, write-offs and prices.
#[component]
pub fn CorrectionForms() -> impl IntoView {
    view! {
        <details class="card corrections" open>
            <summary><h2>"Corrections"</h2></summary>
            <p class="muted">"Nothing is ever edited: a mistake is put right by a new event."</p>
            <RefundForm/>
            <WithdrawForm/>
            <WriteOffForm/>
            <SetPriceForm/>
        </details>
    }
}

#[component]
fn RefundForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let order = RwSignal::new(String::new());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send(ctx, whole("order number", &order.get_untracked(), "12 (an order's #)").map(|order| Command::Refund { order }));
    };
    view! {
        <form data-testid="refund-form" on:submit=on_submit aria-labelledby="refund-title">
            <h3 id="refund-title">"Refund an order"</h3>
            <label>"Order # (its event number)"
                <input name="order" inputmode="numeric" autocomplete="off" placeholder="12" aria-required="true" bind:value=order/>
                <Hint text=Signal::derive(number_hint("order number", order, false))/>
            </label>
            <button type="submit" disabled=disabled(ctx)>"Refund"</button>
        </form>
    }
}

/// The number field of a correction: its form name, label, placeholder, and the words for messages.
#[derive(Clone, Copy)]
struct NumberField {
    name: &'static str,
    label: &'static str,
    example: &'static str,
    /// "amount", "quantity", "price": what hints and messages call it.
    what: &'static str,
    cents: bool,
}

/// A correction of one user or item by a whole number: withdraw, write off, set a price.
#[component]
fn CorrectionForm(
    /// The form's `data-testid` (CONTRACT §6).
    test_id: &'static str,
    title: &'static str,
    /// `user` or `item`: the id field's name, and what it names.
    entity: &'static str,
    number: NumberField,
    button: &'static str,
    /// The command the two fields make.
    command: fn(String, u64) -> Command,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (id_text, amount) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let example = if number.cents { format!("{} (cents)", number.example) } else { number.example.to_owned() };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let made = (|| {
            Ok(command(id(entity, &id_text.get_untracked())?, whole(number.what, &amount.get_untracked(), &example)?))
        })();
        send(ctx, made);
    };
    let (title_id, labelled_by, list) = (format!("{test_id}-title"), format!("{test_id}-title"), format!("{entity}-ids"));
    let id_label = if entity == "user" { "User" } else { "Item" };
    let id_example = if entity == "user" { "alice" } else { "apple" };
    view! {
        <form data-testid=test_id on:submit=on_submit aria-labelledby=labelled_by>
            <h3 id=title_id>{title}</h3>
            <div class="row">
                <label>{id_label}
                    <input name=entity list=list autocomplete="off" placeholder=id_example aria-required="true" bind:value=id_text/>
                    <Hint text=Signal::derive(id_hint(entity, id_text))/>
                </label>
                <label>{number.label}
                    <input name=number.name inputmode="numeric" autocomplete="off" placeholder=number.example aria-required="true" bind:value=amount/>
                    <Hint text=Signal::derive(number_hint(number.what, amount, number.cents))/>
                </label>
            </div>
            <button type="submit" disabled=disabled(ctx)>{button}</button>
        </form>
    }
}

#[component]
fn WithdrawForm() -> impl IntoView {
    let amount = NumberField { name: "amount", label: "Amount (cents)", example: "100", what: "amount", cents: true };
    view! {
        <CorrectionForm test_id="withdraw-form" title="Withdraw money" entity="user" number=amount button="Withdraw"
            command=|user, amount| Command::Withdraw { user, amount }/>
    }
}

#[component]
fn WriteOffForm() -> impl IntoView {
    let qty = NumberField { name: "qty", label: "Quantity", example: "2", what: "quantity", cents: false };
    view! {
        <CorrectionForm test_id="writeoff-form" title="Write stock off" entity="item" number=qty button="Write off"
            command=|item, qty| Command::WriteOff { item, qty }/>
    }
}

#[component]
fn SetPriceForm() -> impl IntoView {
    let price = NumberField { name: "price", label: "Unit price (cents)", example: "35", what: "price", cents: true };
    view! {
        <CorrectionForm test_id="setprice-form" title="Set a new price" entity="item" number=price button="Set price"
            command=|item, price| Command::SetPrice { item, price }/>
    }
}
