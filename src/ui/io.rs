//! Import, export, generate and clear.

use crate::ctx::Ctx;
use crate::session::Population;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rewind_domain::encode_jsonl_pieces;
use wasm_bindgen::JsCast;

/// Events per piece of the exported file: the text is handed to the browser in pieces, never as one string.
const EXPORT_PIECE: usize = 20_000;

/// A whole number from `min` to `max` typed in a generate field, or a message that says what to type.
fn whole_in(field: &str, text: &str, min: u64, max: u64) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("enter {field}: a whole number from {} to {}", super::count(min), super::count(max))),
    }
}

#[component]
pub fn GenerateForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let defaults = Population::default();
    let n = RwSignal::new("1000".to_owned());
    let users = RwSignal::new(defaults.users.to_string());
    let items = RwSignal::new(defaults.items.to_string());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let asked = (|| {
            let count = whole_in("how many events to generate", &n.get_untracked(), 1, 10_000_000)?;
            let users = whole_in("how many users", &users.get_untracked(), 1, 1_000_000)? as u32;
            let items = whole_in("how many items", &items.get_untracked(), 1, 100_000)? as u32;
            Ok::<_, String>((count, Population { users, items }))
        })();
        match asked {
            Ok((count, people)) => leptos::task::spawn_local(ctx.generate(count, people)),
            Err(message) => ctx.fail(message),
        }
    };
    view! {
        <form class="card" data-testid="generate-form" on:submit=on_submit aria-labelledby="generate-title">
            <h2 id="generate-title">"Generate events"</h2>
            <p class="muted">"Random but valid: top-ups, restocks and orders that fit balance and stock."</p>
            <div class="row">
                <label>"How many"
                    <input name="count" inputmode="numeric" autocomplete="off" bind:value=n/>
                </label>
                <label>"Users"
                    <input name="users" inputmode="numeric" autocomplete="off" bind:value=users
                        title="How many customers the events are spread over"/>
                </label>
                <label>"Items"
                    <input name="items" inputmode="numeric" autocomplete="off" bind:value=items
                        title="How many goods the events are spread over"/>
                </label>
                <button type="submit" disabled=move || ctx.damaged.get().is_some()>"Generate"</button>
            </div>
        </form>
    }
}

/// Saves `parts` (JavaScript strings) as a file: the browser joins them, outside WebAssembly memory.
pub(super) fn download(file_name: &str, parts: js_sys::Array) -> Result<(), wasm_bindgen::JsValue> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/x-ndjson");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let anchor: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    set_timeout(move || { let _ = web_sys::Url::revoke_object_url(&url); }, std::time::Duration::from_secs(60));
    Ok(())
}

pub(super) async fn read_file(file: web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("the file could not be read: {e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[component]
pub fn ImportExport() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        // Let the same file be chosen again later.
        input.set_value("");
        let name = file.name();
        leptos::task::spawn_local(async move {
            ctx.progress.set(Some(crate::session::Progress { label: format!("Reading {name}"), fraction: 0.0 }));
            match read_file(file).await {
                Ok(bytes) => ctx.import(bytes, name).await,
                Err(e) => {
                    ctx.progress.set(None);
                    ctx.error.set(Some(e));
                }
            }
        });
    };
    let on_export = move |_| {
        // Each piece goes to JavaScript as soon as it is made: the page's memory holds one piece, not the file.
        let parts = ctx.read(|s| {
            let parts = js_sys::Array::new();
            for piece in encode_jsonl_pieces(s.log(), EXPORT_PIECE) {
                parts.push(&wasm_bindgen::JsValue::from_str(&piece));
            }
            parts
        });
        let n = ctx.head.get_untracked();
        if let Some(parts) = parts {
            if let Err(e) = download(&format!("rewind-{n}-events.jsonl"), parts) {
                ctx.error.set(Some(format!("the export could not be saved: {e:?}")));
            }
        }
    };
    view! {
        <section class="card" aria-labelledby="io-title">
            <h2 id="io-title">"Import and export"</h2>
            <p class="muted">"JSON Lines, one event per line. An import is checked completely before it replaces the log."</p>
            <label class="file">"Import a .jsonl file"
                <input type="file" data-testid="import-file" accept=".jsonl,.ndjson,.json,.txt,application/x-ndjson"
                    on:change=on_file/>
            </label>
            <div class="row">
                <button type="button" data-testid="export" on:click=on_export
                    disabled=move || !ctx.history_ready.get()>"Export the log"</button>
                <button type="button" class="danger" on:click=move |_| leptos::task::spawn_local(ctx.clear())
                    disabled=move || ctx.head.get() == 0 && ctx.damaged.get().is_none()>"Clear the log"</button>
            </div>
        </section>
    }
}
