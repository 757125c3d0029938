//! The parts of the page that showing the shop does not need (the forms and the timeline, the history tools
//! and the entity's chart, branches, corrections, the generator, import and export, the conflict inbox of a
//! shared log) live in a WebAssembly module of their own, which the page fetches once the shop is on screen.
//! The build cuts it off at its split point in `src/split.rs` (`cargo xtask page`): whatever only these parts
//! reach goes with them, so the module the page starts with is that much smaller (issue 26).

use super::{branches, commands, compare, history, io, models, outbox, timeline};
use leptos::prelude::*;

/// A part's view, made by a function of the later module once it is loaded.
pub type MakeView = fn() -> AnyView;

/// The parts the later module makes, each where the page puts it.
#[derive(Clone, Copy)]
pub struct LaterParts {
    pub commands: MakeView,
    pub timeline: MakeView,
    pub conflicts: MakeView,
    pub chart: MakeView,
    pub branches: MakeView,
    pub compare: MakeView,
    pub history: MakeView,
}

pub(crate) fn later_parts() -> LaterParts {
    LaterParts {
        commands: || {
            view! {
                <commands::TopUpForm/><commands::AddItemForm/><commands::OrderForm/><commands::CorrectionForms/>
                <io::GenerateForm/><io::ImportExport/>
            }
            .into_any()
        },
        timeline: || view! { <timeline::Timeline/> }.into_any(),
        conflicts: || view! { <outbox::ConflictInbox/> }.into_any(),
        chart: || view! { <history::EntityChart/> }.into_any(),
        branches: || view! { <branches::BranchPanel/> }.into_any(),
        compare: || view! { <div class="pair"><compare::DiffPanel/><compare::BlamePanel/></div> }.into_any(),
        history: || {
            view! { <history::ReadModelsPanel/><models::ModelsPanel/><outbox::PendingList/><history::EventLog/> }.into_any()
        },
    }
}

/// The later module as the page has it: asked once, and again when the user says so after a failure.
#[derive(Clone, Copy)]
pub struct LaterModule(LocalResource<Result<LaterParts, String>>);

/// Asks for the later module, once, for the `Later` places among `children`.
#[component]
pub fn WithLaterModule(children: Children) -> impl IntoView {
    let module = LocalResource::new(|| async { crate::split::later_parts().await.map_err(|e| e.to_string()) });
    provide_context(LaterModule(module));
    children()
}

/// Where one of the later parts goes: a placeholder while its module is on its way (none for a `quiet` part,
/// one that is empty most of the time), the part once it is loaded, and if it cannot be, a message with a way
/// to try again (the shop's state stays on screen either way).
#[component]
pub fn Later(part: fn(&LaterParts) -> MakeView, #[prop(optional)] quiet: bool) -> impl IntoView {
    let LaterModule(module) = expect_context::<LaterModule>();
    move || match module.get() {
        None if quiet => ().into_any(),
        None => view! { <p class="later-loading muted" aria-busy="true">"Loading…"</p> }.into_any(),
        Some(Ok(parts)) => part(&parts)(),
        Some(Err(why)) => view! {
            <p class="error" role="alert">
                {format!("This part of the page could not be loaded ({why}). ")}
                <button type="button" on:click=move |_| module.refetch()>"Try again"</button>
            </p>
        }
        .into_any(),
    }
}
