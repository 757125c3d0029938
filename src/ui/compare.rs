//! History you can question: what changed between two points (diff), which events made a value what it is
//! (blame). The domain computes both; these panels only show them, a window of rows at a time when long.

use super::{blame_rows, count, money, rows};
use crate::ctx::Ctx;
use leptos::prelude::*;
use crate::shop::{DiffLine, Differences};
use rewind_domain::{BlameLine, ChangeField, Entity};

/// Rows in view.
const VIEW_ROWS: usize = 16;

/// A value as people read it: money with two decimals, stock as a count.
pub fn value_in_words(field: ChangeField, v: u64) -> String {
    match field {
        ChangeField::Balance | ChangeField::Price => money(v),
        ChangeField::Stock => count(v),
    }
}

/// A scrolled viewport over a spacer of `len` rows' full height, holding `rows`; `scroll_top` follows its
/// scroll, and `spacer` is the element the rows go in.
fn list_viewport(
    label: &'static str,
    len: Signal<usize>,
    scroll_top: RwSignal<f64>,
    spacer: NodeRef<leptos::html::Div>,
    rows: impl IntoView,
) -> impl IntoView {
    let viewport: NodeRef<leptos::html::Div> = NodeRef::new();
    view! {
        <div class="rows-viewport" node_ref=viewport tabindex="0" role="region" aria-label=label
            style:max-height=rows::px(VIEW_ROWS)
            on:scroll=move |_| if let Some(el) = viewport.get_untracked() { scroll_top.set(el.scroll_top() as f64) }>
            <div class="rows-spacer" role="list" node_ref=spacer style:height=move || rows::px(len.get())>
                {rows}
            </div>
        </div>
    }
}

/// A list of `len` rows: all of them up to [`rows::ALL_ROWS_UP_TO`], else the ones in view. Rows are keyed by
/// `stamp` and their index, so `stamp` changes whenever the rows' content at an index does, and they are
/// rebuilt rather than reused.
fn row_list<V: IntoView + 'static>(
    label: &'static str,
    len: Signal<usize>,
    stamp: Signal<u64>,
    row: impl Fn(usize) -> V + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let scroll_top = RwSignal::new(0.0_f64);
    let rows = move || {
        let stamp = stamp.get();
        rows::window(len.get(), VIEW_ROWS, scroll_top.get()).map(|i| (stamp, i)).collect::<Vec<_>>()
    };
    let rows = view! {
        <For each=rows key=|k| *k let:((_, i))>
            <div class="row-slot" role="listitem" style:top=rows::px(i)>{row(i)}</div>
        </For>
    };
    list_viewport(label, len, scroll_top, NodeRef::new(), rows)
}

fn diff_row(line: &DiffLine) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (kind, field) = (line.kind.as_str(), line.field.as_str());
    let entity = line.entity;
    let id = ctx
        .read(|p| match entity {
            Entity::User(u) => p.names().user_name(u).to_owned(),
            Entity::Item(i) => p.names().item_name(i).to_owned(),
        })
        .unwrap_or_default();
    let id_attr = id.clone();
    let before = line.before.map(|b| value_in_words(line.field, b)).unwrap_or_else(|| "new".into());
    view! {
        <button type="button" class="diff-row" data-testid="diff-row" data-kind=kind data-id=id_attr
            data-field=field data-before=line.before data-after=line.after
            title="Show this one's history: its chart and every event that changed it"
            on:click=move |_| ctx.selected.set(Some(entity))>
            <span class=format!("tag {kind}")>{kind}</span>
            <span class="id">{id}</span>
            <span class="field">{field}</span>
            <span class="before">{before}</span>
            " → "
            <span class="after">{value_in_words(line.field, line.after)}</span>
        </button>
    }
}

/// A list of differences, or why there is none to show.
pub fn diff_list(label: &'static str, shown: Memo<Differences>) -> impl IntoView {
    let len = Signal::derive(move || shown.with(|d| d.lines.len()));
    let stamp = Signal::derive(move || shown.with(|d| d.stamp));
    let row = move |i: usize| shown.with_untracked(|d| d.lines.get(i).map(diff_row));
    view! {
        {move || shown.with(|d| d.problem.clone()).map(|why| view! { <p class="error" role="alert">{why}</p> })}
        {row_list(label, len, stamp, row)}
    }
}

/// How many values differ ("3"), or a question mark when the comparison has no answer.
pub fn differ_count(shown: Memo<Differences>) -> impl Fn() -> String + Copy {
    move || shown.with(|d| if d.problem.is_some() { "?".to_owned() } else { d.lines.len().to_string() })
}

/// The words after the count: " value differs" or " values differ".
pub fn differ_words(shown: Memo<Differences>) -> impl Fn() -> &'static str + Copy {
    move || if shown.with(|d| d.lines.len()) == 1 { " value differs" } else { " values differ" }
}

/// Compare two points of history: every value that differs, before and after.
#[component]
pub fn DiffPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let stamp = StoredValue::new(0u64);
    let lines = Memo::new(move |_| {
        // Work in the queue ends (or starts): a comparison that found the log busy is asked again.
        ctx.queued.track();
        let Some((from, to)) = ctx.diff_points.get() else { return Differences::default() };
        stamp.update_value(|s| *s += 1);
        Differences::new(stamp.get_value(), ctx.diff_between(from, to))
    });
    let point = move |pick: fn((u64, u64)) -> u64| move || ctx.diff_points.get().map(pick);
    let set = move |from_side: bool, text: String| {
        let head = ctx.head.get_untracked();
        let Ok(v) = text.trim().parse::<u64>() else {
            return ctx.fail(format!("a point of history is a number of events from 0 to {head}"));
        };
        let v = v.min(head);
        let (from, to) = ctx.diff_points.get_untracked().unwrap_or((0, head));
        let (from, to) = if from_side { (v, to) } else { (from, v) };
        // As typed: "before" is the state after `diff-from` events, whichever point is later (a backward
        // comparison is a question too), and a point typed digit by digit is never swapped with the other.
        ctx.diff_points.set(Some((from, to)));
    };
    view! {
        <section class="card diff" aria-labelledby="diff-title">
            <h2 id="diff-title">"Compare two points"</h2>
            <div class="diff-points">
                <label class="inline">"After event"
                    <input type="number" min="0" max=move || ctx.head.get() data-testid="diff-from" name="diff-from"
                        prop:value=move || point(|p| p.0)().map(|v| v.to_string()).unwrap_or_default()
                        placeholder="0"
                        on:change=move |ev| set(true, event_target_value(&ev))/>
                </label>
                <label class="inline">"and after event"
                    <input type="number" min="0" max=move || ctx.head.get() data-testid="diff-to" name="diff-to"
                        prop:value=move || point(|p| p.1)().map(|v| v.to_string()).unwrap_or_default()
                        placeholder=move || ctx.head.get().to_string()
                        on:change=move |ev| set(false, event_target_value(&ev))/>
                </label>
                <span class="pill" aria-live="polite">
                    <span data-testid="diff-count">{differ_count(lines)}</span>
                    {differ_words(lines)}
                </span>
            </div>
            <Show when=move || ctx.diff_points.get().is_none()>
                <p class="muted">"Type two points, or click a row in the event log and shift-click another: every balance, price and stock that differs between them is listed here."</p>
            </Show>
            {diff_list("Values that differ", lines)}
        </section>
    }
}

/// Every event that changed the selected user's or item's values, up to the timeline's value, newest first.
#[component]
pub fn BlamePanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // (stamp, entity, generation): the stamp changes only with the entity or the log. Up to any point, the same
    // entity in the same log has the same lines, oldest first, so a move of the timeline only adds or drops
    // rows at the top and the others stay.
    let shown = StoredValue::new((0u64, None::<Entity>, 0u64));
    let lines = Memo::new(move |_| {
        let generation = ctx.generation.get();
        ctx.head.track();
        let upto = ctx.cursor.get();
        let Some(entity) = ctx.selected.get() else { return (0, None, Vec::new()) };
        shown.update_value(|(stamp, e, g)| {
            if (*e, *g) != (Some(entity), generation) {
                *stamp += 1;
                (*e, *g) = (Some(entity), generation);
            }
        });
        let (name, lines) = ctx.blame(entity, upto).unwrap_or_default();
        (shown.with_value(|s| s.0), Some(name), lines)
    });
    let len = Signal::derive(move || lines.with(|(_, _, l)| l.len()));
    // The rows in view (all of them up to 500), numbered from the oldest line, built in JavaScript.
    let scroll_top = RwSignal::new(0.0_f64);
    let list: NodeRef<leptos::html::Div> = NodeRef::new();
    let built = StoredValue::new_local(None::<blame_rows::Built>);
    Effect::new(move |_| {
        let top = scroll_top.get();
        let Some(el) = list.get() else { return };
        lines.with(|(stamp, _, l)| {
            let shown = rows::window(l.len(), VIEW_ROWS, top);
            let range = (l.len() - shown.end, l.len() - shown.start);
            let now = ctx.read(|p| blame_rows::sync(&el, built.get_value(), *stamp, range, l, |line| blame_text(p, line)));
            built.set_value(now);
        });
    });
    view! {
        <section class="card blame" aria-labelledby="blame-title">
            <h2 id="blame-title">{move || match lines.with(|(_, n, _)| n.clone()) {
                Some(name) => format!("What made {name} what it is"),
                None => "What made it so".to_owned(),
            }}</h2>
            <Show when=move || ctx.selected.get().is_none()>
                <p class="muted">"Click a user or an item in the tables: every event that changed it is listed here, newest first."</p>
            </Show>
            <Show when=move || ctx.selected.get().is_some() && len.get() == 0>
                <p class="muted">"No event up to the timeline's value changed it."</p>
            </Show>
            <div title="Click an event to move the timeline there" on:click=move |ev| {
                if let Some(seq) = super::history::seq_at(&ev, "data-seq") { ctx.show_at(seq) }
            }>
                {list_viewport("Events that changed it, newest first", len, scroll_top, list, ())}
            </div>
        </section>
    }
}

/// What a row of blame says: "#seq field before → after what".
fn blame_text(p: &crate::shop::Page, line: &BlameLine) -> String {
    let before = line.before.map(|b| value_in_words(line.field, b)).unwrap_or_else(|| "new".into());
    let what = p.log().get(line.seq).map(|e| super::event_in_words(p.names(), &e.event)).unwrap_or_default();
    format!("#{}  {}  {before} → {}  {what}", line.seq, line.field.as_str(), value_in_words(line.field, line.after))
}
