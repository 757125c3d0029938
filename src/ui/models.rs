//! Read models the user defines in the page: a form (group by, measure, field, an optional query), each model
//! built over the whole log with progress, then kept up to date and read at the cursor, with what changed
//! since the previous position. Definitions are kept in this browser and travel as small JSON files.

use super::rows::{self, ROW_H};
use super::{count, io};
use crate::ctx::{Ctx, STORE_NAME};
use leptos::prelude::*;
use crate::models::{ModelAt, ModelRow};
use rewind_domain::{Field, GroupBy, ModelDef, MEASURED_FIELDS};
use rewind_store::ModelShelf;
use std::fmt::Write as _;
use wasm_bindgen::JsCast;

/// Events folded between two looks at the page while a model is built.
const FOLD_STEP: u64 = 200_000;
/// Rows of a model in view.
const VIEW_ROWS: usize = 10;
/// Groups in a model's chart.
const TOP: usize = 10;
/// How long the timeline must rest before the chart follows it, in ms.
const CHART_REST_MS: u64 = 120;

/// The models' definitions, kept in the page and in this browser.
#[derive(Clone, Copy)]
struct Defs {
    list: RwSignal<Vec<ModelDef>>,
    /// Bumped when a fold step changed any model.
    folded: RwSignal<u64>,
    /// Events folded and to fold while models are being built.
    building: RwSignal<Option<(u64, u64)>>,
    problem: RwSignal<Option<String>>,
}

impl Defs {
    fn load() -> Defs {
        let defs = Defs {
            list: RwSignal::new(Vec::new()),
            folded: RwSignal::new(0),
            building: RwSignal::new(None),
            problem: RwSignal::new(None),
        };
        match ModelShelf::open(STORE_NAME).map(|s| s.load()) {
            None => defs.problem.set(Some("This browser refuses localStorage: models are kept until the page closes.".into())),
            Some(Err(e)) => defs.problem.set(Some(format!("The saved models cannot be read ({e}); new ones are kept until the page closes."))),
            Some(Ok(saved)) => {
                let (good, bad): (Vec<_>, Vec<_>) = saved.into_iter().partition(Result::is_ok);
                defs.list.set(good.into_iter().flatten().collect());
                if let Some(Err(e)) = bad.into_iter().next() {
                    defs.problem.set(Some(format!("A saved model was left out: {e}")));
                }
            }
        }
        defs
    }

    /// Adds or removes a model, keeping the list in this browser. Nothing changes if it cannot be kept.
    fn change(&self, f: impl FnOnce(&mut Vec<ModelDef>)) -> Result<(), String> {
        let mut list = self.list.get_untracked();
        f(&mut list);
        if let Some(shelf) = ModelShelf::open(STORE_NAME) {
            shelf.save(&list).map_err(|e| format!("The models could not be kept in this browser: {e}"))?;
        }
        self.list.set(list);
        Ok(())
    }
}

#[component]
pub fn ModelsPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let defs = Defs::load();
    let form_error = RwSignal::new(None::<String>);
    let running = StoredValue::new(false);
    // Builds what is behind (a new model, a new log, a branch) in steps, showing progress; appends are folded
    // as they arrive (in the view), so this is quick then.
    let drive = move || {
        if running.get_value() {
            return;
        }
        running.set_value(true);
        leptos::task::spawn_local(async move {
            loop {
                let list = defs.list.get_untracked();
                let Some((done, total)) = ctx.fold_models(&list, FOLD_STEP) else { break };
                defs.folded.update(|v| *v += 1);
                if done >= total {
                    defs.building.set(None);
                    break;
                }
                defs.building.set(Some((done, total)));
                crate::session::yield_to_browser().await;
            }
            running.set_value(false);
        });
    };
    // Runs again when the definitions change, the history arrives, or (through `fold_models`) the log changes.
    Effect::new(move |_| {
        defs.list.track();
        ctx.history_ready.track();
        if let Some(progress) = ctx.fold_models(&defs.list.get_untracked(), 0) {
            // The views are now in line with the definitions (one may have been removed): cards read again.
            defs.folded.update(|v| *v += 1);
            if progress.0 < progress.1 {
                drive();
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else { return };
        let value = |name: &str| {
            form.elements()
                .named_item(name)
                .and_then(|el| el.dyn_into::<web_sys::HtmlInputElement>().map(|i| i.value()).or_else(|el| el.dyn_into::<web_sys::HtmlSelectElement>().map(|s| s.value())).ok())
                .unwrap_or_default()
        };
        let def = ModelDef::new(&value("name"), &value("group"), &value("measure"), Some(&value("field")), &value("query"));
        let outcome = def.map_err(|e| format!("This model cannot be made: {e}")).and_then(|def| defs.change(|list| list.push(def)));
        match outcome {
            Ok(()) => {
                form_error.set(None);
                form.reset();
            }
            Err(e) => form_error.set(Some(e)),
        }
    };
    let on_import = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        input.set_value("");
        // Checked before it is read: a large file picked by mistake never enters the page's memory.
        if file.size() > rewind_domain::MAX_MODEL_FILE as f64 {
            form_error.set(Some(format!(
                "This file is not a model definition: it has {} bytes, one has at most {}",
                file.size(),
                rewind_domain::MAX_MODEL_FILE
            )));
            return;
        }
        leptos::task::spawn_local(async move {
            let outcome = match io::read_file(file).await {
                Err(e) => Err(e),
                Ok(bytes) if bytes.len() > rewind_domain::MAX_MODEL_FILE => {
                    Err(format!("This file is not a model definition: it has {} bytes, one has at most {}", bytes.len(), rewind_domain::MAX_MODEL_FILE))
                }
                Ok(bytes) => String::from_utf8(bytes)
                    .map_err(|_| "This file is not a model definition: it is not text".to_owned())
                    .and_then(|text| ModelDef::from_json(&text).map_err(|e| format!("This file cannot be imported: {e}"))),
            };
            match outcome.and_then(|def| defs.change(|list| list.push(def))) {
                Ok(()) => form_error.set(None),
                Err(e) => form_error.set(Some(e)),
            }
        });
    };

    view! {
        <section class="card user-models" aria-labelledby="user-models-title">
            <h2 id="user-models-title">"Your read models"</h2>
            <p class="muted">"A new question, answered for the whole history by folding the log again. It follows the timeline."</p>
            <form class="model-form" data-testid="model-new" on:submit=on_submit aria-describedby="user-models-title">
                <label>"Group by"
                    <select name="group">
                        {GroupBy::ALL.map(|g| view! { <option value=g.name()>{g.name()}</option> })}
                    </select>
                </label>
                <label>"Measure"
                    <select name="measure">
                        <option value="count">"count"</option>
                        <option value="sum" selected>"sum"</option>
                        <option value="min">"min"</option>
                        <option value="max">"max"</option>
                    </select>
                </label>
                <label>"of"
                    <select name="field" aria-label="Field measured (not used by count)">
                        {MEASURED_FIELDS.map(|f| view! { <option value=f.name() selected=f.name() == "total">{f.name()}</option> })}
                    </select>
                </label>
                <label class="grow">"Only events matching"
                    <input name="query" placeholder="type:OrderPlaced (optional)" autocomplete="off" spellcheck="false"/>
                </label>
                <label>"Name"
                    <input name="name" placeholder="(optional)" autocomplete="off" maxlength="60"/>
                </label>
                <button type="submit">"Build model"</button>
                <label class="file-button">"Import a model…"
                    <input type="file" data-testid="model-import" accept=".json,application/json" on:change=on_import/>
                </label>
            </form>
            {move || form_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || defs.problem.get().map(|e| view! { <p class="banner warn" role="status">{e}</p> })}
            {move || defs.building.get().map(|(done, total)| view! {
                <super::status::ProgressBar name="Building read models".to_owned()
                    label=format!("Building read models: {} of {} events", count(done), count(total))
                    fraction=done as f64 / total.max(1) as f64/>
            })}
            <Show when=move || defs.list.with(Vec::is_empty)>
                <p class="muted">"No model yet: choose what to group by and what to measure, then Build model. For example, group by user, sum of total, only events matching type:OrderPlaced."</p>
            </Show>
            <For each=move || defs.list.get().into_iter().enumerate() key=|(i, d)| (*i, d.to_json()) let:((index, def))>
                <ModelCard index def defs/>
            </For>
        </section>
    }
}

/// A value of row `i` of the model at the cursor (the default when there is no such row any more).
fn row<T: Default>(at: Memo<ModelAt>, i: usize, f: impl Fn(&ModelRow) -> T) -> T {
    at.with(|a| a.rows.get(i).map(f).unwrap_or_default())
}

#[component]
fn ModelCard(index: usize, def: ModelDef, defs: Defs) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let scroll_top = RwSignal::new(0.0_f64);
    let at = Memo::new(move |_| {
        defs.folded.track();
        let scroll = scroll_top.get();
        ctx.model_at(index, move |groups| rows::window(groups, VIEW_ROWS, scroll)).unwrap_or_default()
    });
    // The chart reads every group: it follows the timeline once it rests, so that moves stay within a frame.
    let rested = RwSignal::new(0u64);
    let pending = StoredValue::new_local(None::<leptos::prelude::TimeoutHandle>);
    Effect::new(move |_| {
        let cursor = ctx.cursor.get();
        defs.folded.track();
        if let Some(handle) = pending.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(move || rested.set(cursor), std::time::Duration::from_millis(CHART_REST_MS));
        pending.set_value(handle.ok());
    });
    let top = Memo::new(move |_| {
        rested.track();
        defs.folded.track();
        // Another log at the same cursor (a branch, or back to the real log) is another chart.
        ctx.read(|p| p.log().len());
        ctx.model_top(index, TOP)
    });
    let error = Memo::new(move |_| {
        defs.folded.track();
        ctx.model_error(index)
    });
    let title = def.name.clone();
    let json = def.to_json();
    let file_name = format!("rewind-model-{}.json", def.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>());
    let export = move |_| {
        let parts = js_sys::Array::of1(&json.clone().into());
        if let Err(e) = io::download(&file_name, parts) {
            ctx.error.set(Some(format!("The model could not be downloaded: {e:?}")));
        }
    };
    let remove = move |_| {
        if let Err(e) = defs.change(|list| {
            if index < list.len() {
                list.remove(index);
            }
        }) {
            ctx.error.set(Some(e));
        }
    };
    // The rows above and below those that exist, as empty space (past 500 groups only the rows in view exist).
    let spacer = move |above: bool| {
        at.with(|a| {
            let first = rows::window(a.groups, VIEW_ROWS, scroll_top.get()).start;
            let n = if above { first } else { a.groups.saturating_sub(first + a.rows.len()) };
            format!("{}px", n as f64 * ROW_H)
        })
    };
    let heading = format!("{}{}", def.measure.name(), def.measure.field().map(|f| format!(" of {}", f.name())).unwrap_or_default());
    let group = def.group.name();
    // Money is shown as money; counts and quantities as counts. data-value is always the integer.
    let is_money = matches!(def.measure.field(), Some(Field::Amount | Field::Price | Field::Total));
    let shown = move |v: u64| if is_money { super::money(v) } else { count(v) };
    view! {
        <article class="model-card" aria-label=title.clone()>
            <header class="model-head">
                <h3>{title.clone()}</h3>
                <span class="muted">{move || {
                    let groups = at.with(|a| a.groups);
                    format!("{} groups at event {} · changes since event {} marked", count(groups as u64), count(ctx.cursor.get()),
                        count(ctx.read(|p| p.previous_seq()).unwrap_or(0)))
                }}</span>
                <button type="button" class="quiet" data-testid="model-export" on:click=export
                    aria-label=format!("Export the model {title}")>"Export"</button>
                <button type="button" class="quiet danger" on:click=remove aria-label=format!("Remove the model {title}")>"Remove"</button>
            </header>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{format!("This model stopped: {e}")}</p> })}
            <div class="model-body">
                <div class="model-rows" role="region" aria-label=format!("{} by {}", heading, group) tabindex="0"
                    style:max-height=rows::px(VIEW_ROWS)
                    on:scroll=move |ev| {
                        if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                            scroll_top.set(f64::from(el.scroll_top()));
                        }
                    }>
                    <table>
                        <thead><tr><th scope="col">{group}</th><th scope="col" class="num">{heading.clone()}</th><th scope="col" class="num">"change"</th></tr></thead>
                        <tbody>
                            <tr aria-hidden="true" style:height=move || spacer(true)></tr>
                            // Rows stay put by position as the timeline moves: only their text changes.
                            <For each=move || 0..at.with(|a| a.rows.len()) key=|i| *i let:i>
                                <tr data-testid="model-row" data-group=move || row(at, i, |r| r.group.clone()) data-value=move || row(at, i, |r| r.value)
                                    class:changed=move || row(at, i, |r| r.before != Some(r.value))>
                                    <td>{move || row(at, i, |r| r.group.clone())}</td>
                                    <td class="num">{move || row(at, i, |r| shown(r.value))}</td>
                                    <td class="num">{move || row(at, i, |r| match r.before {
                                        None => "new".to_owned(),
                                        Some(b) if b == r.value => String::new(),
                                        Some(b) if r.value > b => format!("+{}", shown(r.value - b)),
                                        Some(b) => format!("−{}", shown(b - r.value)),
                                    })}</td>
                                </tr>
                            </For>
                            <tr aria-hidden="true" style:height=move || spacer(false)></tr>
                        </tbody>
                    </table>
                    <Show when=move || at.with(|a| a.groups == 0)>
                        <p class="muted">"No group at this point of history: move the timeline later, or check the model's query."</p>
                    </Show>
                </div>
                <svg class="model-chart" data-testid="model-chart" viewBox="0 0 300 120" role="img"
                    aria-label=format!("The {TOP} largest groups at the cursor")>
                    <path class="bars" d=move || top.with(|top| {
                        let max = top.first().map_or(1, |(_, v)| *v).max(1) as f64;
                        let mut bars = String::new();
                        for (i, (_, v)) in top.iter().enumerate() {
                            let w = *v as f64 / max * 185.0;
                            let _ = write!(bars, "M110 {}h{w:.1}v9h-{w:.1}z", i * 12);
                        }
                        bars
                    })></path>
                    <For each=move || 0..top.with(Vec::len) key=|i| *i let:i>
                        <text x="105" y=i * 12 + 8 text-anchor="end">{move || top.with(|t| t.get(i).map(|(l, _)| l.clone()).unwrap_or_default())}</text>
                    </For>
                </svg>
            </div>
        </article>
    }
}
