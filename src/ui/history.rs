//! History views: the event log at any length, one entity's life as a chart, the event-density strip and
//! the read models at the cursor. Every series and fold comes from the domain; these only draw.

use super::rows::{self, ScaledList};
use super::{count, money, money_total};
use crate::ctx::Ctx;
use leptos::prelude::*;
use std::fmt::Write as _;
use rewind_domain::{Entity, LogFilter};

/// Rows in view.
const VIEW_ROWS: u64 = 14;
/// The event log may list a million rows: its scroll position is scaled to the row index.
const LOG_ROWS: ScaledList = ScaledList { view_rows: VIEW_ROWS };

fn describe(ctx: Ctx, seq: u64) -> Option<(u64, &'static str, String)> {
    ctx.read(|s| {
        let e = s.log().get(seq)?;
        Some((e.ts, e.event.type_name(), super::event_in_words(s.log().names(), &e.event)))
    })
    .flatten()
}

fn time_of(ts: u64) -> String {
    super::local_time(ts).1
}

#[component]
pub fn EventLog() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport: NodeRef<leptos::html::Div> = NodeRef::new();
    // Each reader below depends on what it reads through the page (`Ctx::read`): no signal named here.
    let listed = Memo::new(move |_| ctx.read(|s| s.listed()).unwrap_or(0));
    let first = Memo::new(move |_| LOG_ROWS.first_row(scroll_top.get(), listed.get()));
    // The events in view, by row: a row stays put as the timeline jumps or the log scrolls, and only its
    // content changes (a far jump changes every row in view).
    let seqs = Memo::new(move |_| {
        let (first, listed) = (first.get(), listed.get());
        ctx.read(|s| (first..(first + VIEW_ROWS).min(listed)).filter_map(|i| s.listed_seq(i)).collect::<Vec<_>>())
            .unwrap_or_default()
    });
    // The scroll position this page set itself: its scroll event must not move the rows again (they are
    // already right, and a second render a frame later would make scrubbing stutter).
    let own_scroll = StoredValue::new(None::<i32>);
    let scroll_to = move |first: u64| {
        let top = LOG_ROWS.scroll_for(first, listed.get_untracked());
        // The rows follow at once; the scrollbar in the next frame, so that scrubbing never forces a layout.
        scroll_top.set(top);
        request_animation_frame(move || {
            if let Some(el) = viewport.get_untracked() {
                el.set_scroll_top(top.round() as i32);
                own_scroll.set_value(Some(el.scroll_top()));
            }
        });
    };
    // Keep the cursor's row in view while scrubbing.
    Effect::new(move |_| {
        let cursor = ctx.cursor.get();
        let Some(index) = ctx.read(|s| s.listed_index(cursor.max(1))) else { return };
        let top = first.get_untracked();
        if index < top || index >= top + VIEW_ROWS {
            scroll_to(index.saturating_sub(VIEW_ROWS / 2));
        }
    });
    let kind = RwSignal::new(String::new());
    let id = RwSignal::new(String::new());
    // A new log resets the filter fields.
    Effect::new(move |_| {
        let active = ctx.read(|s| s.filter().is_active()).unwrap_or(false);
        if !active {
            kind.set(String::new());
            id.set(String::new());
        }
    });
    let apply_filter = move || {
        let (k, text) = (kind.get_untracked(), id.get_untracked().trim().to_owned());
        let filter = ctx
            .read(|s| {
                let names = s.log().names();
                let (user, item) = (names.user(&text), names.item(&text));
                LogFilter {
                    kind: (!k.is_empty()).then_some(k),
                    user,
                    item,
                    unknown_id: !text.is_empty() && user.is_none() && item.is_none(),
                }
            })
            .unwrap_or_default();
        ctx.set_filter(filter);
        scroll_to(0);
    };
    view! {
        <section class="card log" aria-labelledby="log-title">
            <div class="log-head">
                <h2 id="log-title">"Event log " <small>{move || {
                    let (n, all) = (listed.get(), ctx.head.get());
                    if n == all { format!("{} events", count(all)) } else { format!("{} of {} events", count(n), count(all)) }
                }}</small></h2>
                <label class="inline">"Type"
                    <select aria-label="Show events of type" prop:value=move || kind.get()
                        on:change=move |ev| { kind.set(event_target_value(&ev)); apply_filter() }>
                        <option value="">"All"</option>
                        {rewind_domain::EVENT_TYPES.map(|t| view! { <option value=t>{t}</option> })}
                    </select>
                </label>
                <label class="inline">"User or item"
                    <input name="filter-id" placeholder="alice or apple" autocomplete="off" bind:value=id
                        on:change=move |_| apply_filter()
                        on:keydown=move |ev| if ev.key() == "Enter" { apply_filter() }/>
                </label>
            </div>
            <super::query::QueryBar/>
            <Show when=move || listed.get() == 0>
                <p class="muted">{move || if ctx.head.get() == 0 {
                    "No events yet."
                } else if ctx.read(|p| p.query().is_empty()).unwrap_or(true) {
                    "No event matches the filter."
                } else {
                    "No event matches the query: change it, or empty it to see every event."
                }}</p>
            </Show>
            <div class="log-viewport" node_ref=viewport tabindex="0" role="region" aria-label="Events, in order"
                style:height=rows::px(VIEW_ROWS as usize)
                on:scroll=move |_| if let Some(el) = viewport.get_untracked() {
                    let at = el.scroll_top();
                    let own = own_scroll.try_update_value(Option::take).flatten();
                    if own.is_none_or(|own| (own - at).abs() > 1) {
                        scroll_top.set(at as f64);
                    }
                }>
                <div class="log-window" role="list" on:click=move |ev| on_log_click(ctx, ev) on:keydown=move |ev| on_log_key(ctx, ev)>
                    <For each=move || 0..seqs.with(Vec::len) key=|row| *row let:row>
                        <LogRow row seqs/>
                    </For>
                </div>
                <div class="log-spacer" style:height=move || {
                    format!("{}px", LOG_ROWS.spacer_height(listed.get()))
                }></div>
            </div>
        </section>
    }
}

/// Row `row` of the event log's rows in view: the event at that place, whichever that is now.
#[component]
fn LogRow(row: usize, seqs: Memo<Vec<u64>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let seq = Memo::new(move |_| seqs.with(|s| s.get(row).copied().unwrap_or(0)));
    // Another log (an import, a branch) may say something else at the same seq: reading the log follows it.
    let event = Memo::new(move |_| {
        describe(ctx, seq.get()).unwrap_or((0, "", String::new()))
    });
    let kind = Memo::new(move |_| event.with(|e| e.1));
    let is_order = Memo::new(move |_| kind.get() == "OrderPlaced");
    view! {
        <div class="log-row" role="listitem" data-testid="log-row" data-seq=move || seq.get() tabindex="-1"
            class:at-cursor=move || ctx.cursor.get() == seq.get()
            title="Click to move the timeline here; shift-click to compare this point with the timeline's">
            <span class="seq">{move || seq.get()}</span>
            <span class="time">{move || time_of(event.with(|e| e.0))}</span>
            <span class=move || format!("type {}", kind.get())>{move || kind.get()}</span>
            <span class="what">{move || event.with(|e| e.2.clone())}</span>
            {move || is_order.get().then(|| view! {
                <button type="button" class="link refund" data-refund=move || seq.get()
                    aria-label=move || format!("Refund order #{}", seq.get())
                    title="Give the total back to the user and the items back to stock">"Refund"</button>
            })}
        </div>
    }
}

/// The seq in `attr` of the element an event came from, or of its nearest ancestor that has one.
pub(super) fn seq_at(ev: &leptos::ev::Event, attr: &str) -> Option<u64> {
    let target: web_sys::Element = wasm_bindgen::JsCast::dyn_into(ev.target()?).ok()?;
    let el = target.closest(&format!("[{attr}]")).ok()??;
    el.get_attribute(attr)?.parse().ok()
}

/// Clicks and keys of the event log's rows, handled once for the list: a far jump of the timeline replaces
/// every row in view, and rows without handlers of their own leave nothing to attach and collect.
fn on_log_click(ctx: Ctx, ev: leptos::ev::MouseEvent) {
    if let Some(order) = seq_at(&ev, "data-refund") {
        // The button is for the refund, not for moving the timeline to its row.
        leptos::task::spawn_local(ctx.submit(rewind_domain::Command::Refund { order }));
    } else if let Some(seq) = seq_at(&ev, "data-seq") {
        if ev.shift_key() { ctx.compare_with_cursor(seq) } else { ctx.show_at(seq) }
    }
}

fn on_log_key(ctx: Ctx, ev: leptos::ev::KeyboardEvent) {
    if ev.key() == "Enter" && seq_at(&ev, "data-refund").is_none() {
        if let Some(seq) = seq_at(&ev, "data-seq") {
            ctx.show_at(seq);
        }
    }
}

/// SVG width units of the charts and the strip.
const W: f64 = 600.0;

/// Where the events of each type happen along the log, aligned with the slider.
#[component]
pub fn DensityStrip() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let buckets = Memo::new(move |_| ctx.read(|s| s.outline().density(s.log(), 200)).unwrap_or_default());
    // One path per kind of event rather than a rect per bucket: a new log redraws three attributes, not six hundred.
    let paths = Memo::new(move |_| {
        let b = buckets.get();
        let max = b.iter().map(|c| c[0] + c[1] + c[2]).max().unwrap_or(0).max(1) as f64;
        let w = W / b.len().max(1) as f64;
        let mut d = [String::new(), String::new(), String::new()];
        for (i, c) in b.iter().enumerate() {
            let mut y = 24.0;
            for (t, path) in d.iter_mut().enumerate() {
                let h = c[t] as f64 / max * 24.0;
                y -= h;
                if h > 0.0 {
                    let _ = write!(path, "M{:.2} {:.2}h{:.2}v{:.2}h-{:.2}z", i as f64 * w, y, w + 0.2, h, w + 0.2);
                }
            }
        }
        d
    });
    let path = move |t: usize| move || paths.with(|d| d.get(t).cloned().unwrap_or_default());
    // Where the event log's matches are, as marks along the top edge (none when every event is listed).
    let marks = Memo::new(move |_| {
        let buckets = 200usize;
        let hit = ctx
            .read(|s| {
                let len = s.log().len().max(1);
                // Whether any match falls in each bucket: a search per bucket, not a look at every match.
                s.matches().as_ref().map(|m| {
                    (0..buckets as u64)
                        .map(|b| {
                            let (from, to) = (b * len / buckets as u64 + 1, (b + 1) * len / buckets as u64);
                            m.get(m.partition_point(|s| *s < from)).is_some_and(|s| *s <= to)
                        })
                        .collect::<Vec<bool>>()
                })
            })
            .flatten()
            .unwrap_or_default();
        let w = W / buckets as f64;
        let mut d = String::new();
        for (i, _) in hit.iter().enumerate().filter(|(_, h)| **h) {
            let _ = write!(d, "M{:.1} 0h{:.1}v5h-{:.1}z", i as f64 * w, w, w);
        }
        d
    });
    view! {
        <svg class="density" viewBox=format!("0 0 {W} 24") preserveAspectRatio="none" role="img"
            aria-label="Event density along the log: money in and out, the warehouse, orders and refunds">
            <path class="d-topup" d=path(0)></path>
            <path class="d-add" d=path(1)></path>
            <path class="d-order" d=path(2)></path>
            <path class="d-match" d=move || marks.get()></path>
        </svg>
        <div class="legend" aria-hidden="true">
            <span class="key d-topup"></span>"Money (top-ups, withdrawals)" <span class="key d-add"></span>"Warehouse"
            <span class="key d-order"></span>"Orders and refunds"
        </div>
    }
}

/// One user's balance, or one item's stock, over the whole log, with the cursor on it. Click to move there.
#[component]
pub fn EntityChart() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let series = Memo::new(move |_| {
        let entity = ctx.selected.get()?;
        let series = ctx.entity_series(entity)?;
        ctx.read(|s| {
            let name = match entity {
                Entity::User(u) => format!("{}'s balance", s.log().names().user_name(u)),
                Entity::Item(i) => format!("{} in stock", s.log().names().item_name(i)),
            };
            let kind = if matches!(entity, Entity::User(_)) { "user" } else { "item" };
            (name, kind, series.downsample(300), series.len)
        })
    });
    let chart = move || {
        series.get().map(|(name, kind, buckets, len)| {
            let max = buckets.iter().map(|b| b.max).max().unwrap_or(0).max(1) as f64;
            let len_f = len.max(1) as f64;
            let mut path = String::new();
            for b in &buckets {
                let x0 = (b.from_seq - 1) as f64 / len_f * W;
                let x1 = b.to_seq as f64 / len_f * W;
                let (y_max, y_min) = (100.0 - b.max as f64 / max * 96.0, 100.0 - b.min as f64 / max * 96.0);
                path.push_str(&format!("M{x0:.1},{y_max:.1}H{x1:.1}V{y_min:.1}H{x0:.1}Z"));
            }
            let is_user = kind == "user";
            let peak = if is_user { money(max as u64) } else { count(max as u64) };
            let cursor_x = move || ctx.cursor.get() as f64 / len_f * W;
            let on_click = move |ev: leptos::ev::MouseEvent| {
                let Some(target) = ev.current_target() else { return };
                let el: web_sys::Element = wasm_bindgen::JsCast::unchecked_into(target);
                let rect = el.get_bounding_client_rect();
                let fraction = ((ev.client_x() as f64 - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
                ctx.show_at((fraction * len_f).round() as u64);
            };
            view! {
                <figure class="chart" data-testid="entity-chart" data-entity=name.clone() data-kind=kind>
                    <figcaption>{name.clone()} <span class="muted">" · peak " {peak} " · click to move the timeline"</span></figcaption>
                    <svg viewBox=format!("0 0 {W} 100") preserveAspectRatio="none" role="img"
                        aria-label=format!("{name} over the whole log") on:click=on_click>
                        <path class="series" d=path></path>
                        <line class="chart-cursor" data-testid="chart-cursor" data-seq=move || ctx.cursor.get()
                            x1=cursor_x y1="0" x2=cursor_x y2="100"></line>
                    </svg>
                </figure>
            }
        })
    };
    view! {
        <section class="card chart-card" aria-labelledby="chart-title">
            <h2 id="chart-title">"One entity over time"</h2>
            {move || match chart() {
                Some(v) => v.into_any(),
                None => view! { <p class="muted">"Click a user or an item in the tables to see its life as a chart."</p> }.into_any(),
            }}
        </section>
    }
}

/// Read models (CQRS projections) at the cursor: revenue over time, and who spends and what sells.
#[component]
pub fn ReadModelsPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let revenue = Memo::new(move |_| ctx.read(|s| (s.outline().revenue_over_time(s.log(), 150), s.head())).unwrap_or_default());
    let tops = Memo::new(move |_| {
        ctx.read(|s| {
            let n = s.log().names();
            let spenders: Vec<(String, u64, u128, u64)> = s
                .read_models()
                .top_spenders(5)
                .into_iter()
                .map(|(u, o, sp)| (n.user_name(u).to_owned(), o, sp, s.read_models().refunds_of(u)))
                .collect();
            let sellers: Vec<(String, u128)> =
                s.read_models().top_sellers(5).into_iter().map(|(i, u)| (n.item_name(i).to_owned(), u)).collect();
            (spenders, sellers)
        })
        .unwrap_or_default()
    });
    let revenue_path = move || {
        let (points, _) = revenue.get();
        let max = points.last().copied().unwrap_or(0).max(1) as f64;
        let n = points.len().max(1) as f64;
        let mut d = String::from("M0,40");
        for (i, r) in points.iter().enumerate() {
            d.push_str(&format!("L{:.1},{:.1}", (i + 1) as f64 / n * W, 40.0 - *r as f64 / max * 38.0));
        }
        d
    };
    let cursor_x = move || {
        let head = revenue.get().1.max(1) as f64;
        ctx.cursor.get() as f64 / head * W
    };
    view! {
        <section class="card models" aria-labelledby="models-title">
            <h2 id="models-title">"Read models at the cursor"</h2>
            <div class="models-grid">
                <div>
                    <h3>"Revenue over time"</h3>
                    <svg class="revenue" viewBox=format!("0 0 {W} 40") preserveAspectRatio="none" role="img"
                        aria-label="Revenue from orders, net of refunds, over the whole log">
                        <path class="series-line" d=revenue_path></path>
                        <line class="chart-cursor" x1=cursor_x y1="0" x2=cursor_x y2="40"></line>
                    </svg>
                </div>
                <div>
                    <h3>"Top spenders"</h3>
                    <table class="compact">
                        <thead><tr><th scope="col">"User"</th><th scope="col" class="num">"Orders"</th><th scope="col" class="num">"Refunds"</th><th scope="col" class="num">"Spent"</th></tr></thead>
                        <tbody>
                            {move || tops.get().0.into_iter().map(|(u, o, sp, r)| { let key = u.clone(); view! {
                                <tr data-testid="spender-row" data-user=key data-orders=o data-refunds=r data-spend=sp.to_string()>
                                    <th scope="row">{u}</th><td class="num">{count(o)}</td><td class="num">{count(r)}</td><td class="num">{money_total(sp)}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                </div>
                <div>
                    <h3>"Units sold"</h3>
                    <table class="compact">
                        <thead><tr><th scope="col">"Item"</th><th scope="col" class="num">"Units"</th></tr></thead>
                        <tbody>
                            {move || tops.get().1.into_iter().map(|(i, units)| { let key = i.clone(); view! {
                                <tr data-testid="seller-row" data-item=key data-units=units.to_string()>
                                    <th scope="row">{i}</th><td class="num">{units.to_string()}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                </div>
            </div>
        </section>
    }
}
