//! The state shown at the timeline's cursor: users, items, totals, and what the event at the cursor changed.

use super::{count, money};
use crate::ctx::Ctx;
use leptos::prelude::*;
use crate::shop::Shop;
use rewind_domain::{ChangeField, Entity, EntityKind, ItemId, UserId};
use std::collections::HashMap;
use std::hash::Hash;

/// Per-row signals, refreshed in one pass when the view moves. Each row subscribes to its own cell only, so
/// a move notifies just the rows whose values changed; one shared signal read by every row would make each
/// move cost a subscription change per row, and Leptos keeps subscribers in lists that shift on removal.
struct Cells<K: 'static, V: 'static> {
    map: StoredValue<HashMap<K, RwSignal<V>>>,
}

impl<K: 'static, V: 'static> Clone for Cells<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: 'static, V: 'static> Copy for Cells<K, V> {}

impl<K, V> Cells<K, V>
where
    K: Copy + Eq + Hash + Send + Sync + 'static,
    V: Clone + PartialEq + Send + Sync + 'static,
{
    fn new() -> Self {
        Self { map: StoredValue::new(HashMap::new()) }
    }

    /// The cell of a row being created; it is dropped with the row.
    fn register(self, key: K, initial: V) -> RwSignal<V> {
        let cell = RwSignal::new(initial);
        self.map.update_value(|m| {
            m.insert(key, cell);
        });
        on_cleanup(move || {
            self.map.try_update_value(|m| m.remove(&key));
        });
        cell
    }

    /// Keeps every cell equal to `value_of` its key, notifying only the cells that change.
    fn follow(self, ctx: Ctx, value_of: impl Fn(&Shop, K) -> V + 'static) {
        Effect::new(move |_| {
            ctx.version.track();
            let cells: Vec<(K, RwSignal<V>)> =
                self.map.with_value(|m| m.iter().map(|(k, c)| (*k, *c)).collect());
            let fresh = ctx.read(|s| cells.iter().map(|(k, c)| (*c, value_of(s, *k))).collect::<Vec<_>>());
            for (cell, value) in fresh.unwrap_or_default() {
                if cell.with_untracked(|v| *v != value) {
                    cell.set(value);
                }
            }
        });
    }
}

/// A user's row: balance, and whether the event at the cursor changed it.
type UserCell = (u64, bool);
/// An item's row: price, stock, and whether the event at the cursor changed it.
type ItemCell = (u64, u64, bool);

fn user_cell(s: &Shop, user: UserId) -> UserCell {
    let name = s.names().user_name(user);
    (s.view.balance(user).map_or(0, |m| m.0), s.changed_user(name))
}

fn item_cell(s: &Shop, item: ItemId) -> ItemCell {
    let name = s.names().item_name(item);
    (s.view.price(item).map_or(0, |p| p.0), s.view.stock(item).map_or(0, |q| q.0), s.changed_item(name))
}

#[component]
pub fn UsersTable() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let cells = Cells::<UserId, UserCell>::new();
    cells.follow(ctx, user_cell);
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
                            <UserRow user cells/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn UserRow(user: UserId, cells: Cells<UserId, UserCell>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (name, initial) =
        ctx.read(|s| (s.names().user_name(user).to_owned(), user_cell(s, user))).unwrap_or_default();
    let cell = cells.register(user, initial);
    let attr_name = name.clone();
    view! {
        <tr data-testid="user-row" data-user=attr_name data-balance=move || cell.get().0 class:changed=move || cell.get().1
            class:selected=move || ctx.selected.get() == Some(Entity::User(user))
            title="Click to chart this user's balance over time"
            on:click=move |_| ctx.selected.set(Some(Entity::User(user)))>
            <th scope="row">{name}</th>
            <td class="num">{move || money(cell.get().0)}</td>
        </tr>
    }
}

#[component]
pub fn ItemsTable() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let cells = Cells::<ItemId, ItemCell>::new();
    cells.follow(ctx, item_cell);
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
                            <ItemRow item cells/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn ItemRow(item: ItemId, cells: Cells<ItemId, ItemCell>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (name, initial) =
        ctx.read(|s| (s.names().item_name(item).to_owned(), item_cell(s, item))).unwrap_or_default();
    let cell = cells.register(item, initial);
    let attr_name = name.clone();
    view! {
        <tr data-testid="item-row" data-item=attr_name data-price=move || cell.get().0
            data-stock=move || cell.get().1 class:changed=move || cell.get().2
            class:selected=move || ctx.selected.get() == Some(Entity::Item(item))
            title="Click to chart this item's stock over time"
            on:click=move |_| ctx.selected.set(Some(Entity::Item(item)))>
            <th scope="row">{name}</th>
            <td class="num">{move || money(cell.get().0)}</td>
            <td class="num">{move || count(cell.get().1)}</td>
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
                let (date, time) = super::local_time(e.ts);
                (k, e.event.type_name(), what, format!("{date} {time}"))
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
