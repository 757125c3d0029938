//! Live updates between tabs: after a commit a tab posts the new head on a BroadcastChannel; the others read
//! the new tail from the store (the message carries no events: the store stays the only source of truth).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

pub struct TabSync {
    channel: web_sys::BroadcastChannel,
    _on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

impl TabSync {
    /// Joins the channel of the store `name`. `on_change` runs when another tab stored events or replaced
    /// the log. Returns `None` where BroadcastChannel is unavailable (then tabs sync on reload only).
    pub fn join(name: &str, on_change: impl FnMut() + 'static) -> Option<TabSync> {
        let channel = web_sys::BroadcastChannel::new(&format!("{name}/changes")).ok()?;
        let mut on_change = on_change;
        let closure = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_e: web_sys::MessageEvent| on_change());
        channel.set_onmessage(Some(closure.as_ref().unchecked_ref()));
        Some(TabSync { channel, _on_message: Some(closure) })
    }

    /// Tells the other tabs that the log changed.
    pub fn announce(&self, head: u64) {
        let _ = self.channel.post_message(&wasm_bindgen::JsValue::from_f64(head as f64));
    }
}

impl Drop for TabSync {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
