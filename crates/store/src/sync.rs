//! Live updates between tabs: after a commit a tab posts what happened on a BroadcastChannel; the others read
//! the new tail from the store (the message carries no events: the store stays the only source of truth).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// What another tab did to the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogChange {
    /// Events were appended: read the tail.
    Appended,
    /// The log was replaced or cleared: read it all again.
    Replaced,
    /// The outbox changed (a command kept, sent, refused or cancelled): read it again.
    Outbox,
}

pub struct TabSync {
    channel: web_sys::BroadcastChannel,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl TabSync {
    /// Joins the channel of the store `name`; `on_change` runs when another tab changed the log. `None`
    /// where BroadcastChannel is unavailable (then tabs see each other's events on reload only).
    pub fn join(name: &str, mut on_change: impl FnMut(LogChange) + 'static) -> Option<TabSync> {
        let channel = web_sys::BroadcastChannel::new(&format!("{name}/changes")).ok()?;
        let closure = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            on_change(match e.data().as_string().as_deref() {
                Some("replaced") => LogChange::Replaced,
                Some("outbox") => LogChange::Outbox,
                _ => LogChange::Appended,
            });
        });
        channel.set_onmessage(Some(closure.as_ref().unchecked_ref()));
        Some(TabSync { channel, _on_message: closure })
    }

    /// Tells the other tabs that the log changed.
    pub fn announce(&self, change: LogChange) {
        let text = match change {
            LogChange::Appended => "appended",
            LogChange::Replaced => "replaced",
            LogChange::Outbox => "outbox",
        };
        let _ = self.channel.post_message(&wasm_bindgen::JsValue::from_str(text));
    }
}

impl Drop for TabSync {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
