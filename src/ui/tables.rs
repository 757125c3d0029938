//! The state shown at the timeline's cursor: users, items, totals, and what the event at the cursor changed.

use super::paint::{RowKind, RowValues, RowsAtPlaces};
use super::{count, money, money_total, rows};
use crate::ctx::Ctx;
use leptos::prelude::*;
use crate::shop::{Page, Sort, SortKey};
use rewind_domain::{ChangeField, Entity, EntityKind, ItemId, UserId};
use std::hash::Hash;

/// Rows in view.
const VIEW_ROWS: usize = 16;

/// A table's rows as listed (filtered and sorted), the ones in view, and the spacers around them.
struct TableWindow<K: Send + Sync + 'static> {
    listed: Memo<Vec<K>>,
    range: Memo<std::ops::Range<usize>>,
    scroll_top: RwSignal<f64>,
    viewport: NodeRef<leptos::html::Div>,
}

impl<K: Send + Sync + Clone + PartialEq + 'static> Clone for TableWindow<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Send + Sync + Clone + PartialEq + 'static> Copy for TableWindow<K> {}

impl<K: Copy + Send + Sync + PartialEq + 'static> TableWindow<K> {
    fn new(list: impl Fn() -> Vec<K> + Send + Sync + 'static) -> Self {
        let listed = Memo::new(move |_| list());
        let scroll_top = RwSignal::new(0.0_f64);
        let range = Memo::new(move |_| rows::window(listed.with(Vec::len), VIEW_ROWS, scroll_top.get()));
        TableWindow { listed, range, scroll_top, viewport: NodeRef::new() }
    }

    /// The rows in view, keyed by the ids' generation too: in another log an index may name another entity.
    fn rows(self, ctx: Ctx) -> Vec<(u64, K)> {
        let generation = ctx.ids_generation.get();
        let range = self.range.get();
        self.listed.with(|l| l.get(range).unwrap_or_default().iter().map(|k| (generation, *k)).collect())
    }

    fn pad_top(self) -> String {
        rows::px(self.range.get().start)
    }

    fn pad_bottom(self) -> String {
        let (len, end) = (self.listed.with(Vec::len), self.range.get().end);
        rows::px(len.saturating_sub(end))
    }

    fn on_scroll(self) {
        if let Some(el) = self.viewport.get_untracked() {
            self.scroll_top.set(el.scroll_top() as f64);
        }
    }

    /// Back to the first row (after the filter or the order changed).
    fn to_top(self) {
        self.scroll_top.set(0.0);
        if let Some(el) = self.viewport.get_untracked() {
            el.set_scroll_top(0);
        }
    }

    /// The row after (or before) `current` in the listed order, scrolled into view.
    fn step(self, current: Option<K>, forward: bool) -> Option<K> {
        let (index, next) = self.listed.with_untracked(|l| {
            let at = current.and_then(|c| l.iter().position(|k| *k == c));
            let index = match (at, forward) {
                (None, _) => 0,
                (Some(i), true) => (i + 1).min(l.len().saturating_sub(1)),
                (Some(i), false) => i.saturating_sub(1),
            };
            (index, l.get(index).copied())
        });
        if let Some(el) = self.viewport.get_untracked() {
            if let Some(top) = rows::scroll_to_show(index, el.scroll_top() as f64, el.client_height() as f64) {
                el.set_scroll_top(top as i32);
                self.on_scroll();
            }
        }
        next
    }
}

/// The header of a sortable column: a button that cycles largest first, smallest first, id order.
fn sort_header(label: &'static str, column: SortKey, sort: RwSignal<Sort>, on_sort: impl Fn() + Copy + 'static) -> impl IntoView {
    view! {
        <th scope="col" class="num" aria-sort=move || sort.get().aria(column)>
            <button type="button" class="sort" title=format!("Sort by {}: largest first, smallest first, id order", label.to_lowercase())
                on:click=move |_| { sort.update(|s| *s = s.next(column)); on_sort() }>
                {label}
                {move || match sort.get().aria(column) { "descending" => " ↓", "ascending" => " ↑", _ => "" }}
            </button>
        </th>
    }
}

/// Arrow keys move the selection through a table's rows.
fn arrow_keys<K: Copy + Send + Sync + PartialEq + 'static>(
    ev: &leptos::ev::KeyboardEvent,
    window: TableWindow<K>,
    current: Option<K>,
    select: impl Fn(K),
) {
    let forward = match ev.key().as_str() {
        "ArrowDown" => true,
        "ArrowUp" => false,
        _ => return,
    };
    ev.prevent_default();
    if let Some(next) = window.step(current, forward) {
        select(next);
    }
}

/// What sets the users' table and the items' table apart: their entities, their rows' values and columns,
/// and their words. Everything else (the window of rows, sorting, the filter, keyboard, selection, painting)
/// is one [`state_table`].
trait TableKind: 'static {
    type Key: Copy + Eq + Hash + Send + Sync + 'static;
    /// How its rows are drawn.
    const ROWS: RowKind;
    /// The section's classes, its heading's id and text, the count's `data-testid`, the rows' label.
    const CLASS: &'static str;
    const TITLE_ID: &'static str;
    const TITLE: &'static str;
    const COUNT_TESTID: &'static str;
    const LABEL: &'static str;
    /// The id column's header.
    const COLUMN: &'static str;
    /// What an empty table says, with no filter and with one.
    const EMPTY: &'static str;
    const NO_MATCH: &'static str;

    fn listed(ctx: Ctx, sort: Sort) -> Vec<Self::Key>;
    fn total(page: &Page) -> usize;
    fn name(page: &Page, key: Self::Key) -> String;
    fn values(page: &Page, key: Self::Key) -> RowValues;
    fn entity(key: Self::Key) -> Entity;
    fn key_of(entity: Entity) -> Option<Self::Key>;
    /// The value columns' headers.
    fn headers(sort: RwSignal<Sort>, to_top: impl Fn() + Copy + 'static) -> impl IntoView;
}

struct Users;

impl TableKind for Users {
    type Key = UserId;
    const ROWS: RowKind = RowKind::User;
    const CLASS: &'static str = "card table-card";
    const TITLE_ID: &'static str = "users-title";
    const TITLE: &'static str = "Users ";
    const COUNT_TESTID: &'static str = "user-count";
    const LABEL: &'static str = "Users: arrow keys move the selection";
    const COLUMN: &'static str = "User";
    const EMPTY: &'static str = "No users yet: top one up.";
    const NO_MATCH: &'static str = "No user id contains that.";

    fn listed(ctx: Ctx, sort: Sort) -> Vec<UserId> {
        ctx.users_listed(sort)
    }
    fn total(page: &Page) -> usize {
        page.state().users().count()
    }
    fn name(page: &Page, user: UserId) -> String {
        page.names().user_name(user).to_owned()
    }
    fn values(page: &Page, user: UserId) -> RowValues {
        let name = page.names().user_name(user);
        RowValues { first: page.state().balance(user).map_or(0, |m| m.0), second: 0, changed: page.changed_user(name) }
    }
    fn entity(user: UserId) -> Entity {
        Entity::User(user)
    }
    fn key_of(entity: Entity) -> Option<UserId> {
        match entity {
            Entity::User(u) => Some(u),
            Entity::Item(_) => None,
        }
    }
    fn headers(sort: RwSignal<Sort>, to_top: impl Fn() + Copy + 'static) -> impl IntoView {
        sort_header("Balance", SortKey::Balance, sort, to_top)
    }
}

struct Items;

impl TableKind for Items {
    type Key = ItemId;
    const ROWS: RowKind = RowKind::Item;
    const CLASS: &'static str = "card table-card items-table";
    const TITLE_ID: &'static str = "items-title";
    const TITLE: &'static str = "Items ";
    const COUNT_TESTID: &'static str = "item-count";
    const LABEL: &'static str = "Items: arrow keys move the selection";
    const COLUMN: &'static str = "Item";
    const EMPTY: &'static str = "No items yet: add some to the warehouse.";
    const NO_MATCH: &'static str = "No item id contains that.";

    fn listed(ctx: Ctx, sort: Sort) -> Vec<ItemId> {
        ctx.items_listed(sort)
    }
    fn total(page: &Page) -> usize {
        page.state().items().count()
    }
    fn name(page: &Page, item: ItemId) -> String {
        page.names().item_name(item).to_owned()
    }
    fn values(page: &Page, item: ItemId) -> RowValues {
        let name = page.names().item_name(item);
        let state = page.state();
        RowValues {
            first: state.price(item).map_or(0, |p| p.0),
            second: state.stock(item).map_or(0, |q| q.0),
            changed: page.changed_item(name),
        }
    }
    fn entity(item: ItemId) -> Entity {
        Entity::Item(item)
    }
    fn key_of(entity: Entity) -> Option<ItemId> {
        match entity {
            Entity::Item(i) => Some(i),
            Entity::User(_) => None,
        }
    }
    fn headers(sort: RwSignal<Sort>, to_top: impl Fn() + Copy + 'static) -> impl IntoView {
        (sort_header("Unit price", SortKey::Price, sort, to_top), sort_header("Stock", SortKey::Stock, sort, to_top))
    }
}

#[component]
pub fn UsersTable() -> impl IntoView {
    state_table::<Users>()
}

#[component]
pub fn ItemsTable() -> impl IntoView {
    state_table::<Items>()
}

/// A table of the state at the cursor: its rows in view (all of them up to 500), sortable, filtered by the
/// shared filter, with its count; arrow keys move the selection, and a click selects a row.
fn state_table<T: TableKind>() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let sort = RwSignal::new(Sort::default());
    let window = TableWindow::new(move || {
        ctx.entity_filter.track();
        T::listed(ctx, sort.get())
    });
    Effect::new(move |_| {
        ctx.entity_filter.track();
        window.to_top();
    });
    let body = NodeRef::<leptos::html::Tbody>::new();
    let placed = StoredValue::new_local(None::<RowsAtPlaces<(u64, T::Key)>>);
    Effect::new(move |_| {
        let Some(el) = body.get() else { return };
        let keys = window.rows(ctx);
        // Untracked: a new selection only moves the mark (below), it does not read every row again.
        let selected = ctx.selected.get_untracked().and_then(T::key_of);
        let selected = keys.first().zip(selected).map(|((generation, _), s)| (*generation, s));
        // The page busy: what is shown stays until the read that follows it.
        ctx.read(|page| {
            let listed: Vec<_> = keys.iter().map(|&(g, k)| ((g, k), T::values(page, k))).collect();
            placed.update_value(|rows| {
                rows.get_or_insert_with(|| RowsAtPlaces::new(&el, T::ROWS)).show(&listed, selected, |(_, k)| T::name(page, k));
            });
        });
    });
    Effect::new(move |_| {
        let selected = ctx.selected.get().and_then(T::key_of);
        let generation = ctx.ids_generation.get_untracked();
        placed.with_value(|rows| {
            if let Some(rows) = rows {
                rows.select(selected.map(|s| (generation, s)));
            }
        });
    });
    let select_clicked = move |ev: leptos::ev::MouseEvent| {
        let clicked = placed.with_value(|rows| rows.as_ref().and_then(|r| r.entity_at(&ev)));
        // A row still showing the last log (the page busy with the next one) names no entity of this one.
        if let Some((_, key)) = clicked.filter(|(g, _)| *g == ctx.ids_generation.get_untracked()) {
            ctx.selected.set(Some(T::entity(key)));
        }
    };
    let selected = move || ctx.selected.get_untracked().and_then(T::key_of);
    let total = move || ctx.read(T::total).unwrap_or(0);
    view! {
        <section class=T::CLASS aria-labelledby=T::TITLE_ID>
            <h2 id=T::TITLE_ID>{T::TITLE} <small><span data-testid=T::COUNT_TESTID>{total}</span>
                {move || { let shown = window.listed.with(Vec::len);
                    (shown != total()).then(|| format!(" · {} match", count(shown as u64))) }}</small></h2>
            <div class="scroll" node_ref=window.viewport tabindex="0" aria-label=T::LABEL
                on:scroll=move |_| window.on_scroll()
                on:keydown=move |ev| arrow_keys(&ev, window, selected(), |k| ctx.selected.set(Some(T::entity(k))))>
                <table>
                    <thead><tr><th scope="col">{T::COLUMN}</th>{T::headers(sort, move || window.to_top())}</tr></thead>
                    <tbody aria-hidden="true"><tr class="pad" style:height=move || window.pad_top()></tr></tbody>
                    // Filled by RowsAtPlaces, never by the view: row i shows the i-th entity listed in view.
                    <tbody node_ref=body on:click=select_clicked></tbody>
                    <tbody aria-hidden="true"><tr class="pad" style:height=move || window.pad_bottom()></tr></tbody>
                </table>
                <Show when=move || window.listed.with(Vec::is_empty)>
                    <p class="muted">{move || if ctx.entity_filter.with(String::is_empty) { T::EMPTY } else { T::NO_MATCH }}</p>
                </Show>
            </div>
        </section>
    }
}

/// One search field for both tables: ids that contain its text.
#[component]
pub fn EntityFilter() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <label class="inline entity-filter">"Find a user or item"
            <input type="search" data-testid="entity-filter" name="entity-filter" placeholder="id contains…" autocomplete="off"
                prop:value=move || ctx.entity_filter.get()
                on:input=move |ev| ctx.entity_filter.set(event_target_value(&ev))/>
        </label>
    }
}

/// Money held, units in stock and revenue, at the cursor.
#[component]
pub fn Totals() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let totals = Memo::new(move |_| {
        ctx.read(|s| (s.state().money_held(), s.state().units_in_stock(), s.read_models().revenue, s.read_models().orders))
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
        ctx.read(|s| {
            let k = s.state().seq();
            s.log().get(k).map(|e| {
                let what = super::event_in_words(s.log().names(), &e.event);
                let (date, time) = super::local_time(e.ts);
                (k, e.event.type_name(), what, format!("{date} {time}"))
            })
        })
        .flatten()
    });
    let changes = move || ctx.read(|s| s.changes().to_vec()).unwrap_or_default();
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
