//! The state shown at the timeline's cursor: users, items, totals, and what the event at the cursor changed.

use super::{count, money, money_total};
use crate::ctx::Ctx;
use leptos::prelude::*;
use crate::shop::Page;
use rewind_domain::{ChangeField, Entity, EntityKind, ItemId, UserId};
use std::collections::HashMap;
use std::hash::Hash;

/// The rows of a table, refreshed in one pass when the view moves. A far jump of the timeline changes most
/// of a thousand rows at once, so each row is written directly (only where its values changed) instead of
/// through a reactive effect per cell: that keeps a move to a few microseconds per changed row.
struct Rows<K: 'static, V: 'static> {
    map: StoredValue<HashMap<K, (NodeRef<leptos::html::Tr>, V)>, LocalStorage>,
}

impl<K: 'static, V: 'static> Clone for Rows<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: 'static, V: 'static> Copy for Rows<K, V> {}

impl<K, V> Rows<K, V>
where
    K: Copy + Eq + Hash + Send + Sync + 'static,
    V: Copy + PartialEq + 'static,
{
    fn new() -> Self {
        Self { map: StoredValue::new_local(HashMap::new()) }
    }

    /// Adds a row being created, rendered with `initial`; it leaves with the row.
    fn register(self, key: K, row: NodeRef<leptos::html::Tr>, initial: V) {
        self.map.update_value(|m| {
            m.insert(key, (row, initial));
        });
        on_cleanup(move || {
            self.map.try_update_value(|m| m.remove(&key));
        });
    }

    /// Keeps every row showing `value_of` its key; the rows whose value changed are painted in one batch.
    fn follow(
        self,
        ctx: Ctx,
        value_of: impl Fn(&Page, K) -> V + 'static,
        paint: fn(&[(web_sys::HtmlElement, V)]),
    ) {
        Effect::new(move |_| {
            ctx.version.track();
            let keys: Vec<K> = self.map.with_value(|m| m.keys().copied().collect());
            let fresh = ctx.read(|s| keys.iter().map(|k| (*k, value_of(s, *k))).collect::<Vec<_>>());
            let mut batch = Vec::new();
            self.map.update_value(|m| {
                for (key, value) in fresh.unwrap_or_default() {
                    let Some((row, shown)) = m.get_mut(&key) else { continue };
                    if *shown != value {
                        if let Some(el) = row.get_untracked() {
                            batch.push((el.into(), value));
                            *shown = value;
                        }
                    }
                }
            });
            paint(&batch);
        });
    }
}

/// A user's row: balance, and whether the event at the cursor changed it.
type UserCell = (u64, bool);
/// An item's row: price, stock, and whether the event at the cursor changed it.
type ItemCell = (u64, u64, bool);

fn user_cell(s: &Page, user: UserId) -> UserCell {
    let name = s.names().user_name(user);
    (s.view.balance(user).map_or(0, |m| m.0), s.changed_user(name))
}

fn item_cell(s: &Page, item: ItemId) -> ItemCell {
    let name = s.names().item_name(item);
    (s.view.price(item).map_or(0, |p| p.0), s.view.stock(item).map_or(0, |q| q.0), s.changed_item(name))
}

fn paint_user(rows: &[(web_sys::HtmlElement, UserCell)]) {
    let rows: Vec<_> = rows.iter().map(|(el, (b, c))| (el.clone(), *b, *c)).collect();
    super::paint::paint_users(&rows);
}

fn paint_item(rows: &[(web_sys::HtmlElement, ItemCell)]) {
    let rows: Vec<_> = rows.iter().map(|(el, (p, s, c))| (el.clone(), *p, *s, *c)).collect();
    super::paint::paint_items(&rows);
}

#[component]
pub fn UsersTable() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rows = Rows::<UserId, UserCell>::new();
    rows.follow(ctx, user_cell, paint_user);
    // Keyed by the log's generation too: in another log an index may name another user.
    let shown = move || {
        ctx.version.track();
        let generation = ctx.generation.get();
        ctx.users_shown().into_iter().map(|u| (generation, u)).collect::<Vec<_>>()
    };
    view! {
        <section class="card table-card" aria-labelledby="users-title">
            <h2 id="users-title">"Users " <small>{move || { ctx.version.track(); count(ctx.read(|s| s.view.users().count() as u64).unwrap_or(0)) }}</small></h2>
            <div class="scroll">
                <table>
                    <thead><tr><th scope="col">"User"</th><th scope="col" class="num">"Balance"</th></tr></thead>
                    <tbody>
                        <For each=shown key=|k| *k let:((_, user))>
                            <UserRow user rows/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn UserRow(user: UserId, rows: Rows<UserId, UserCell>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (name, initial) =
        ctx.read(|s| (s.names().user_name(user).to_owned(), user_cell(s, user))).unwrap_or_default();
    let row = NodeRef::new();
    rows.register(user, row, initial);
    let attr_name = name.clone();
    view! {
        <tr node_ref=row data-testid="user-row" data-user=attr_name data-balance=initial.0 class:changed=initial.1
            class:selected=move || ctx.selected.get() == Some(Entity::User(user))
            title="Click to chart this user's balance over time"
            on:click=move |_| ctx.selected.set(Some(Entity::User(user)))>
            <th scope="row">{name}</th>
            <td class="num">{money(initial.0)}</td>
        </tr>
    }
}

#[component]
pub fn ItemsTable() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rows = Rows::<ItemId, ItemCell>::new();
    rows.follow(ctx, item_cell, paint_item);
    let shown = move || {
        ctx.version.track();
        let generation = ctx.generation.get();
        ctx.items_shown().into_iter().map(|i| (generation, i)).collect::<Vec<_>>()
    };
    view! {
        <section class="card table-card" aria-labelledby="items-title">
            <h2 id="items-title">"Items " <small>{move || { ctx.version.track(); count(ctx.read(|s| s.view.items().count() as u64).unwrap_or(0)) }}</small></h2>
            <div class="scroll">
                <table>
                    <thead><tr><th scope="col">"Item"</th><th scope="col" class="num">"Unit price"</th><th scope="col" class="num">"Stock"</th></tr></thead>
                    <tbody>
                        <For each=shown key=|k| *k let:((_, item))>
                            <ItemRow item rows/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn ItemRow(item: ItemId, rows: Rows<ItemId, ItemCell>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (name, initial) =
        ctx.read(|s| (s.names().item_name(item).to_owned(), item_cell(s, item))).unwrap_or_default();
    let row = NodeRef::new();
    rows.register(item, row, initial);
    let attr_name = name.clone();
    view! {
        <tr node_ref=row data-testid="item-row" data-item=attr_name data-price=initial.0
            data-stock=initial.1 class:changed=initial.2
            class:selected=move || ctx.selected.get() == Some(Entity::Item(item))
            title="Click to chart this item's stock over time"
            on:click=move |_| ctx.selected.set(Some(Entity::Item(item)))>
            <th scope="row">{name}</th>
            <td class="num">{money(initial.0)}</td>
            <td class="num">{count(initial.1)}</td>
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
    view! {
        <section class="totals" aria-label="Totals at the cursor">
            <div class="stat"><span class="label">"Money held by users"</span><span class="value" data-testid="total-money">{move || money_total(totals.get().0)}</span></div>
            <div class="stat"><span class="label">"Units in stock"</span><span class="value" data-testid="total-stock">{move || totals.get().1.to_string()}</span></div>
            <div class="stat"><span class="label">"Revenue from orders"</span><span class="value" data-testid="total-revenue">{move || money_total(totals.get().2)}</span></div>
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
                let what = super::event_in_words(s.log.names(), &e.event);
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
