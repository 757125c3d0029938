//! The sync server's access-key form (CONTRACT §9): shown instead of the shop while the server wants its key;
//! and what is shown instead when the shared log's part of the page could not be loaded.

use crate::ctx::{Access, Ctx};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

#[component]
pub fn AccessKeyForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let key = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = key.get_untracked();
        if typed.is_empty() {
            return problem.set(Some("enter the access key".into()));
        }
        sending.set(true);
        leptos::task::spawn_local(async move {
            let outcome = ctx.submit_key(typed).await;
            // On success the shop replaces this form; on a refusal it stays, with the server's words.
            let _ = sending.try_set(false);
            if let Err(message) = outcome {
                let _ = problem.try_set(Some(message));
            }
        });
    };
    view! {
        <main class="access">
            <form class="card" data-testid="access-key-form" on:submit=on_submit aria-labelledby="access-title">
                <h2 id="access-title">"This shop needs its access key"</h2>
                <p class="muted">
                    "The sync server that keeps this shop's log lets in only those who have its key. Enter it once: \
                     this browser then keeps a cookie that only the server can read."
                </p>
                {move || ctx.key_request().map(|m| view! { <p class="muted">"The server says: " {m}</p> })}
                <label>"Access key"
                    <input name="key" type="password" autocomplete="current-password" aria-required="true"
                        bind:value=key/>
                </label>
                {move || problem.get().map(|message| view! {
                    <p class="banner error" role="alert" data-testid="access-key-error">{message}</p>
                })}
                <button type="submit" disabled=move || sending.get()>
                    {move || if sending.get() { "Checking…" } else { "Open the shop" }}
                </button>
            </form>
        </main>
    }
}

/// Shown instead of the shop when a page on a sync server could not load the part of the page that reaches
/// it: why, and a way to try again.
#[component]
pub fn CannotOpen(why: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <main class="access">
            <div class="card" role="alert" data-testid="cannot-open">
                <h2>"The shop could not be opened"</h2>
                <p>{why}</p>
                <button type="button" on:click=move |_| {
                    ctx.access.set(Access::Opening);
                    leptos::task::spawn_local(ctx.load());
                }>"Try again"</button>
            </div>
        </main>
    }
}
