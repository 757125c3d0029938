//! The state shown at the timeline's cursor: users, items, totals, and what the event at the cursor changed.

use super::{count, money};
use crate::ctx::Ctx;
use leptos::prelude::*;
use rewind_domain::{ChangeField, EntityKind, ItemId, UserId};

#[component]
pub fn UsersTable() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rows = move || {
        ctx.version.track();
        ctx.write(|s| s.users_shown()).unwrap_or_default()
    };
    view! {
        <section class="card table-card" aria-labelledby="users-title">
            <h2 id="users-title">"Users " <small>{move || { ctx.version.track(); count(ctx.read(|s| s.view.users().count() as u64).unwrap_or(0)) }}</small></h2>
            <div class="scroll">
                <table>
                    <thead><tr><th scope="col">"User"</th><th scope="col" class="num">"Balance"</th></tr></thead>
                    <tbody>
                        <For each=rows key=|u| *u let:user>
                            <UserRow user/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn UserRow(user: UserId) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = ctx.read(|s| s.names().user_name(user).to_owned()).unwrap_or_default();
    let balance = Memo::new(move |_| {
        ctx.version.track();
        ctx.read(|s| s.view.balance(user).map(|m| m.0)).flatten().unwrap_or(0)
    });
    let key = name.clone();
    let attr_name = name.clone();
    let changed = Memo::new(move |_| {
        ctx.version.track();
        ctx.read(|s| s.changed_user(&key)).unwrap_or(false)
    });
    view! {
        <tr data-testid="user-row" data-user=attr_name data-balance=move || balance.get() class:changed=move || changed.get()
            class:selected=move || ctx.selected.get() == Some(rewind_domain::Entity::User(user))
            title="Click to chart this user's balance over time"
            on:click=move |_| ctx.selected.set(Some(rewind_domain::Entity::User(user)))>
            <th scope="row">{name}</th>
            <td class="num">{move || money(balance.get())}</td>
        </tr>
    }
}

#[component]
pub fn ItemsTable() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rows = move || {
        ctx.version.track();
        ctx.write(|s| s.items_shown()).unwrap_or_default()
    };
    view! {
        <section class="card table-card" aria-labelledby="items-title">
            <h2 id="items-title">"Items " <small>{move || { ctx.version.track(); count(ctx.read(|s| s.view.items().count() as u64).unwrap_or(0)) }}</small></h2>
            <div class="scroll">
                <table>
                    <thead><tr><th scope="col">"Item"</th><th scope="col" class="num">"Unit price"</th><th scope="col" class="num">"Stock"</th></tr></thead>
                    <tbody>
                        <For each=rows key=|i| *i let:item>
                            <ItemRow item/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn ItemRow(item: ItemId) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = ctx.read(|s| s.names().item_name(item).to_owned()).unwrap_or_default();
    let values = Memo::new(move |_| {
        ctx.version.track();
        ctx.read(|s| (s.view.price(item).map_or(0, |p| p.0), s.view.stock(item).map_or(0, |q| q.0)))
            .unwrap_or_default()
    });
    let key = name.clone();
    let attr_name = name.clone();
    let changed = Memo::new(move |_| {
        ctx.version.track();
        ctx.read(|s| s.changed_item(&key)).unwrap_or(false)
    });
    view! {
        <tr data-testid="item-row" data-item=attr_name data-price=move || values.get().0
            data-stock=move || values.get().1 class:changed=move || changed.get()
            class:selected=move || ctx.selected.get() == Some(rewind_domain::Entity::Item(item))
            title="Click to chart this item's stock over time"
            on:click=move |_| ctx.selected.set(Some(rewind_domain::Entity::Item(item)))>
            <th scope="row">{name}</th>
            <td class="num">{move || money(values.get().0)}</td>
            <td class="num">{move || count(values.get().1)}</td>
        </tr>
    }
}

/// Money held, units in stock and revenue, at the cursor.
#[component]
pub fn Totals() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let totals = Memo::new(move |_| {
        ctx.version.track();
        ctx.read(|s| (s.view.money_held(), s.view.units_in_stock(), s.view_models.revenue, s.view_models.orders))
            .unwrap_or_default()
    });
    let big_money = |v: u128| format!("{}.{:02}", v / 100, v % 100);
    view! {
        <section class="totals" aria-label="Totals at the cursor">
            <div class="stat"><span class="label">"Money held by users"</span><span class="value" data-testid="total-money">{move || big_money(totals.get().0)}</span></div>
            <div class="stat"><span class="label">"Units in stock"</span><span class="value" data-testid="total-stock">{move || totals.get().1.to_string()}</span></div>
            <div class="stat"><span class="label">"Revenue from orders"</span><span class="value" data-testid="total-revenue">{move || big_money(totals.get().2)}</span></div>
            <div class="stat"><span class="label">"Orders"</span><span class="value">{move || count(totals.get().3)}</span></div>
        </section>
    }
}

/// What the event at the cursor changed, before and after, in a shop owner's words.
#[component]
pub fn Changes() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let event = Memo::new(move |_| {
        ctx.version.track();
        ctx.read(|s| {
            let k = s.view.seq();
            s.log.get(k).map(|e| {
                let names = s.log.names();
                let what = match e.event {
                    rewind_domain::Event::ToppedUp { user, amount } => {
                        format!("{} topped up {}", names.user_name(user), money(amount.0))
                    }
                    rewind_domain::Event::ItemAdded { item, price, qty } => {
                        format!("{} × {} added at {}", count(qty.0), names.item_name(item), money(price.0))
                    }
                    rewind_domain::Event::OrderPlaced { user, item, qty, total } => format!(
                        "{} ordered {} × {} for {}",
                        names.user_name(user),
                        count(qty.0),
                        names.item_name(item),
                        money(total.0)
                    ),
                };
                let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(e.ts as f64));
                (k, e.event.type_name(), what, String::from(when.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)))
            })
        })
        .flatten()
    });
    let changes = move || {
        ctx.version.track();
        ctx.read(|s| s.changes.clone()).unwrap_or_default()
    };
    let show = |field: ChangeField, v: u64| match field {
        ChangeField::Stock => count(v),
        _ => money(v),
    };
    view! {
        <section class="card changes" aria-labelledby="changes-title">
            <h2 id="changes-title">"Event at the cursor"</h2>
            {move || match event.get() {
                None => view! { <p class="muted">"No event: this is the empty shop before event 1."</p> }.into_any(),
                Some((k, kind, what, when)) => view! {
                    <p class="event-line"><span class="seq">"#"{k}</span> <span class=format!("type {kind}")>{kind}</span> " " {what} <span class="muted">" · "{when}</span></p>
                }.into_any(),
            }}
            <ul>
                {move || changes().into_iter().map(|c| {
                    let label = match (c.kind, c.field) {
                        (EntityKind::User, _) => c.id.clone(),
                        (EntityKind::Item, f) => format!("{} {}", c.id, f.as_str()),
                    };
                    let text = match c.before {
                        Some(b) => format!("{label}: {} → {}", show(c.field, b), show(c.field, c.after)),
                        None => format!("{label}: new, {}", show(c.field, c.after)),
                    };
                    view! {
                        <li data-testid="change" data-kind=c.kind.as_str() data-id=c.id.clone()
                            data-field=c.field.as_str() data-before=c.before data-after=c.after>{text}</li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
