//! The sync server's access-key form (CONTRACT §9): shown instead of the shop while the server wants its key.

use crate::ctx::Ctx;
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
