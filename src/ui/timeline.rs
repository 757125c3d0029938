//! The timeline: a slider over the log, step and jump buttons, and play at a chosen speed. The slider is a
//! native range input, so arrow keys, Page Up/Down, Home and End work as people expect.

use super::count;
use crate::ctx::Ctx;
use leptos::prelude::*;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(50);

#[component]
pub fn Timeline() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let speed = RwSignal::new(100.0_f64);
    let playing = RwSignal::new(false);
    let timer = StoredValue::new_local(None::<leptos::prelude::IntervalHandle>);
    let carry = StoredValue::new(0.0_f64);

    let stop = move || {
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        playing.set(false);
    };
    let play = move || {
        stop();
        if ctx.cursor.get_untracked() >= ctx.head.get_untracked() {
            ctx.show_at(0);
        }
        carry.set_value(0.0);
        let handle = set_interval_with_handle(
            move || {
                let step = speed.get_untracked() * TICK.as_secs_f64() + carry.get_value();
                let whole = step.floor();
                carry.set_value(step - whole);
                let next = (ctx.cursor.get_untracked() + whole as u64).min(ctx.head.get_untracked());
                ctx.show_at(next);
                if next >= ctx.head.get_untracked() {
                    if let Some(h) = timer.try_update_value(Option::take).flatten() {
                        h.clear();
                    }
                    playing.set(false);
                }
            },
            TICK,
        );
        if let Ok(handle) = handle {
            timer.set_value(Some(handle));
            playing.set(true);
        }
    };
    on_cleanup(stop);

    let live = move || ctx.cursor.get() == ctx.head.get();
    let no_history = move || !ctx.history_ready.get();
    view! {
        <section class="card timeline" class:history=move || !live() aria-labelledby="timeline-title">
            <div class="timeline-head">
                <h2 id="timeline-title">"Timeline"</h2>
                <span class="mode" class:history=move || !live() data-testid="view-mode" aria-live="polite">
                    {move || if live() { "live" } else { "history" }}
                </span>
                <span class="position">
                    {move || if live() {
                        format!("Showing the live state after all {} events", count(ctx.head.get()))
                    } else {
                        format!("Showing history: after event {} of {}", count(ctx.cursor.get()), count(ctx.head.get()))
                    }}
                </span>
                <button type="button" class="restore-here" data-testid="restore-here"
                    title="Append the events that bring every balance, price and stock back to this point"
                    disabled=move || live() || no_history() || ctx.damaged.get().is_some()
                    on:click=move |_| { stop(); leptos::task::spawn_local(ctx.restore_here()) }>
                    "Restore the shop to this point"
                </button>
            </div>
            <super::history::DensityStrip/>
            <input type="range" data-testid="timeline" class="slider"
                aria-label="Events applied in the state shown"
                min="0" step="1"
                max=move || ctx.head.get()
                value=move || ctx.cursor.get()
                prop:value=move || ctx.cursor.get().to_string()
                aria-valuetext=move || format!("after event {} of {}", ctx.cursor.get(), ctx.head.get())
                disabled=no_history
                on:input=move |ev| {
                    stop();
                    if let Ok(k) = event_target_value(&ev).parse::<u64>() {
                        ctx.show_at(k);
                    }
                }
                on:keydown=move |ev| {
                    // With the event log filtered, the arrows step through the matching events.
                    let filtered = ctx.read(|s| s.matches().is_some()).unwrap_or(false);
                    let key = ev.key();
                    if filtered && (key == "ArrowLeft" || key == "ArrowRight") {
                        ev.prevent_default();
                        stop();
                        ctx.step(key == "ArrowRight");
                    }
                }/>
            <div class="controls">
                <button type="button" aria-label="Jump to the start" title="Start (Home)" disabled=no_history
                    on:click=move |_| { stop(); ctx.show_at(0) }>"|◀"</button>
                <button type="button" aria-label="Step back one event" title="Step back (←)" disabled=no_history
                    on:click=move |_| { stop(); ctx.step(false) }>"◀"</button>
                <button type="button" class="play" disabled=no_history
                    aria-label=move || if playing.get() { "Pause" } else { "Play" }
                    on:click=move |_| if playing.get_untracked() { stop() } else { play() }>
                    {move || if playing.get() { "❚❚ Pause" } else { "▶ Play" }}
                </button>
                <button type="button" aria-label="Step forward one event" title="Step forward (→)" disabled=no_history
                    on:click=move |_| { stop(); ctx.step(true) }>"▶"</button>
                <button type="button" aria-label="Jump to the live state" title="Live (End)" disabled=no_history
                    on:click=move |_| { stop(); ctx.go_live() }>"Live ▶|"</button>
                <label class="speed">"Speed"
                    <select on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<f64>() { speed.set(v) }
                    }>
                        <option value="10">"10 events/s"</option>
                        <option value="100" selected>"100 events/s"</option>
                        <option value="1000">"1,000 events/s"</option>
                        <option value="10000">"10,000 events/s"</option>
                        <option value="100000">"100,000 events/s"</option>
                    </select>
                </label>
            </div>
        </section>
    }
}
