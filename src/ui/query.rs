//! The query bar over the event log: a question in the domain's query language, its count, the matches one
//! by one on the timeline (`n` / `N`), and the matches as a file. The query is in the page's address, so a
//! link reopens it. Parsing and matching are the domain's; this reads the field and shows the answer.

use super::count;
use crate::ctx::Ctx;
use leptos::prelude::*;
use rewind_domain::{encode_jsonl_line, Field, Query, EVENT_TYPES};
use wasm_bindgen::JsCast;

/// The matches' file is handed to the browser in pieces of about this many bytes.
const EXPORT_PIECE_BYTES: usize = 4 << 20;

/// The address's parameter that holds the query.
const PARAM: &str = "q";

/// The query in the page's address, if any.
fn query_in_address() -> Option<String> {
    let href = window().location().href().ok()?;
    web_sys::Url::new(&href).ok()?.search_params().get(PARAM).filter(|q| !q.trim().is_empty())
}

/// Puts `query` in the page's address (without a new history entry), or takes it out.
fn put_in_address(query: &str) {
    let Ok(href) = window().location().href() else { return };
    let Ok(url) = web_sys::Url::new(&href) else { return };
    if query.is_empty() {
        url.search_params().delete(PARAM);
    } else {
        url.search_params().set(PARAM, query);
    }
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url.href()));
    }
}

/// Ways to finish the term being typed (the last one): the whole text with it completed.
fn completions(text: &str, users: &[String], items: &[String]) -> Vec<String> {
    // After the last whitespace character, whatever its length in bytes (a pasted no-break space is two).
    let start = text.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(i, c)| i + c.len_utf8());
    let (before, term) = text.split_at(start);
    let (sign, term) = term.strip_prefix('-').map_or(("", term), |t| ("-", t));
    let lower = term.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut offer = |candidate: String| {
        if candidate.to_ascii_lowercase().starts_with(&lower) && candidate.len() > term.len() && out.len() < 12 {
            out.push(format!("{before}{sign}{candidate}"));
        }
    };
    if let Some(rest) = lower.strip_prefix("user:") {
        users.iter().filter(|u| u.to_ascii_lowercase().starts_with(rest)).for_each(|u| offer(format!("user:{u}")));
    } else if let Some(rest) = lower.strip_prefix("item:") {
        items.iter().filter(|i| i.to_ascii_lowercase().starts_with(rest)).for_each(|i| offer(format!("item:{i}")));
    } else if lower.starts_with("type:") {
        EVENT_TYPES.iter().for_each(|t| offer(format!("type:{t}")));
    } else if !lower.is_empty() {
        ["type:", "user:", "item:", "after:", "before:"].iter().for_each(|k| offer((*k).to_owned()));
        Field::ALL.iter().for_each(|f| offer(format!("{}>=", f.name())));
    }
    out
}

#[component]
pub fn QueryBar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let text = RwSignal::new(query_in_address().unwrap_or_default());
    let error = RwSignal::new(None::<String>);

    let apply = move || {
        let typed = text.get_untracked();
        match Query::parse(&typed) {
            Ok(query) => {
                error.set(None);
                put_in_address(query.text());
                ctx.set_query(query);
            }
            // Nothing changes: the query asked before stays.
            Err(e) => error.set(Some(format!("This query does not parse: {e}"))),
        }
    };
    // A query from the address is asked once the log's history is at hand.
    let asked_from_address = StoredValue::new(false);
    Effect::new(move |_| {
        if ctx.history_ready.get() && !asked_from_address.get_value() {
            asked_from_address.set_value(true);
            if !text.get_untracked().is_empty() {
                apply();
            }
        }
    });
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        // Keys typed into a field are the field's; on the slider, a button or the page they move the timeline.
        let typing = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|el| {
            let text_input = el.dyn_ref::<web_sys::HtmlInputElement>().is_some_and(|input| {
                !matches!(input.type_().as_str(), "range" | "checkbox" | "radio" | "button" | "submit" | "reset" | "file" | "color")
            });
            text_input || matches!(el.tag_name().as_str(), "TEXTAREA" | "SELECT") || el.closest("[contenteditable]").ok().flatten().is_some()
        });
        if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        match ev.key().as_str() {
            "n" => ctx.step(true),
            "N" => ctx.step(false),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || on_key.remove());

    let matched = Memo::new(move |_| ctx.read(|p| (p.listed(), p.log().len())).unwrap_or((0, 0)));
    let suggestions = move || {
        let typed = text.get();
        let last = typed.rsplit(char::is_whitespace).next().unwrap_or("").trim_start_matches('-').to_ascii_lowercase();
        // Ids only when one is being typed: the log's names are read then, as they are now.
        let (users, items) = if last.starts_with("user:") || last.starts_with("item:") { ctx.known_ids() } else { Default::default() };
        completions(&typed, &users, &items)
    };
    let export = move |_| {
        // In pieces, as the log's export: a million matches never become one string.
        let Some((parts, events)) = ctx.read(|p| {
            let names = p.log().names();
            let (parts, mut piece, mut n) = (js_sys::Array::new(), String::new(), 0u64);
            for index in 0..p.listed() {
                if let Some(e) = p.listed_seq(index).and_then(|seq| p.log().get(seq)) {
                    encode_jsonl_line(&mut piece, names, e.seq, e.ts, &e.event);
                    n += 1;
                    if piece.len() >= EXPORT_PIECE_BYTES {
                        parts.push(&std::mem::take(&mut piece).into());
                    }
                }
            }
            parts.push(&piece.into());
            (parts, n)
        }) else {
            return;
        };
        if let Err(e) = super::io::download(&format!("rewind-{events}-matching-events.jsonl"), parts) {
            ctx.error.set(Some(format!("The matching events could not be downloaded: {e:?}")));
        }
    };
    view! {
        <div class="query-bar" role="search">
            <label class="query-label" for="query">"Query"</label>
            <input id="query" type="search" data-testid="query" name="query" list="query-suggestions" autocomplete="off"
                spellcheck="false" placeholder="type:OrderPlaced user:alice total>=5000 after:2026-11-01"
                aria-describedby="query-help-text" aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=move || text.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    // Emptied (the field's clear button, or every character deleted): every event again.
                    if text.with_untracked(String::is_empty) { apply() }
                }
                on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); apply() }/>
            <datalist id="query-suggestions">
                {move || suggestions().into_iter().map(|s| view! { <option value=s></option> }).collect_view()}
            </datalist>
            <button type="button" on:click=move |_| apply()>"Ask"</button>
            <details class="query-help">
                <summary aria-label="How to write a query">"?"</summary>
                <div id="query-help-text" class="popover">
                    <p>"Terms separated by spaces; an event is listed when every term holds. Press Enter to ask."</p>
                    <dl>
                        <dt><code>"type:OrderPlaced"</code></dt><dd>"events of a type (" <code>"type:A,B"</code> ": either)"</dd>
                        <dt><code>"user:alice"</code> ", " <code>"item:apple"</code></dt><dd>"events that name them"</dd>
                        <dt><code>"total>=5000"</code></dt><dd>"a field compared (" <code>"< <= = >= >"</code> "): seq, amount, price, qty, total, order; money in cents"</dd>
                        <dt><code>"after:2026-11-01"</code> ", " <code>"before:2026-12-01T18:30"</code></dt><dd>"a time window, local time (after: inclusive)"</dd>
                        <dt><code>"ali"</code></dt><dd>"events naming a user or item whose id contains it"</dd>
                        <dt><code>"-term"</code></dt><dd>"events for which the term does not hold"</dd>
                    </dl>
                    <p>"Keys: " <kbd>"n"</kbd> " / " <kbd>"N"</kbd> " move the timeline to the next / previous match."</p>
                </div>
            </details>
            <span class="query-count" data-testid="query-count" data-count=move || matched.get().0 aria-live="polite">
                {move || { let (n, all) = matched.get(); format!("{} of {} events match", count(n), count(all)) }}
            </span>
            <button type="button" class="quiet" data-testid="query-prev" title="Previous match before the timeline's value (N)" aria-label="Previous match"
                on:click=move |_| ctx.step(false)>"◀"</button>
            <button type="button" class="quiet" data-testid="query-next" title="Next match after the timeline's value (n)" aria-label="Next match"
                on:click=move |_| ctx.step(true)>"▶"</button>
            <button type="button" class="quiet" data-testid="query-export" title="Download the matching events as JSON Lines" aria-label="Export the matching events"
                on:click=export>"Export"</button>
            {move || error.get().map(|e| view! { <p class="error query-error" role="alert" data-testid="query-error">{e}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::completions;
    use wasm_bindgen_test::*;

    #[wasm_bindgen_test]
    fn the_last_term_is_completed_and_the_rest_kept() {
        let users = vec!["alice".to_owned(), "albert".to_owned(), "bob".to_owned()];
        assert_eq!(completions("type:OrderPlaced user:al", &users, &[]), ["type:OrderPlaced user:alice", "type:OrderPlaced user:albert"]);
        assert_eq!(completions("type:ord", &[], &[]), ["type:OrderPlaced"]);
        assert_eq!(completions("-ty", &[], &[]), ["-type:"]);
        assert!(completions("tot", &[], &[]).contains(&"total>=".to_owned()));
        assert!(completions("", &users, &[]).is_empty());
        assert_eq!(completions("type:OrderPlaced\u{a0}ty", &[], &[]), ["type:OrderPlaced\u{a0}type:"]);
    }
}
