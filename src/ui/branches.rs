//! What-if branches: start one at the timeline's value, give it commands of its own, compare it with the real
//! log, go back. The real log never sees a branch's events.

use super::compare::{diff_list, differ_count, differ_words};
use crate::shop::Differences;
use crate::ctx::Ctx;
use leptos::prelude::*;

#[component]
pub fn BranchPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    ctx.load_branches();
    let on_branch = move || ctx.branch_name.get().is_some();
    let stamp = StoredValue::new(0u64);
    let compare = Memo::new(move |_| {
        ctx.main_version.track();
        ctx.head.track();
        ctx.branch_name.track();
        if ctx.branch_name.get_untracked().is_none() {
            return Differences::default();
        }
        stamp.update_value(|s| *s += 1);
        Differences::new(stamp.get_value(), ctx.branch_compare())
    });
    view! {
        <section class="card branches" class:on-branch=on_branch aria-labelledby="branch-title">
            <div class="branch-head">
                <h2 id="branch-title">"What if… "
                    <span class="pill branch-name" data-testid="branch-name">
                        {move || ctx.branch_name.get().unwrap_or_else(|| "main".into())}
                    </span>
                </h2>
                <button type="button" data-testid="branch" disabled=move || on_branch() || !ctx.history_ready.get()
                    title="A branch has the real log's events up to the timeline's value, then events of its own"
                    on:click=move |_| ctx.start_branch()>
                    {move || format!("Branch after event {}", ctx.cursor.get())}
                </button>
                <Show when=on_branch>
                    <button type="button" data-testid="to-main" on:click=move |_| ctx.to_main()>"Back to main"</button>
                    <button type="button" class="danger" data-testid="delete-branch" on:click=move |_| ctx.delete_branch()>
                        "Delete this branch"
                    </button>
                </Show>
            </div>
            <Show when=move || ctx.branches.with(|b| b.as_ref().is_ok_and(Vec::is_empty))>
                <p class="muted">"No branch yet. Move the timeline to a point and branch there to try other commands on it; the real log stays as it is."</p>
            </Show>
            {move || ctx.branches.with(|b| b.as_ref().err().cloned()).map(|why| view! {
                <p class="error" role="alert">{why}</p>
            })}
            <ul class="branch-list" aria-label="Saved branches">
                <For each=move || ctx.branches.get().unwrap_or_default() key=|n| n.clone() let:name>
                    <li>
                        <button type="button" class="link" data-testid="branch-item" data-name=name.clone()
                            class:current={
                                let name = name.clone();
                                move || ctx.branch_name.get().as_deref() == Some(name.as_str())
                            }
                            on:click={
                                let name = name.clone();
                                move |_| ctx.open_branch(&name)
                            }>
                            {name.clone()}
                        </button>
                    </li>
                </For>
            </ul>
            <Show when=on_branch>
                <div data-testid="branch-compare" class="branch-compare">
                    <h3>"Against the real log's latest state "
                        <small class="muted">{move || format!("{}{}", differ_count(compare)(), differ_words(compare)())}</small>
                    </h3>
                    <p class="muted small">"Before: the real log now. After: this branch now. Ids created on the real log after the branch started are not in the branch, so they are not compared."</p>
                    {diff_list("Values where the branch differs from the real log", compare)}
                </div>
            </Show>
        </section>
    }
}
