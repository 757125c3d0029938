//! Opening offline: a page of a shared log asks the browser to keep the app's own files (`sw.js`, the service
//! worker, beside `index.html`), so that a till that reloads while the network or the sync server is down still
//! opens its shop from its cached log and outbox. The browser-only app registers nothing: it is served by
//! whatever static server the user runs, and caching it would only hide that server's absence.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Registers the service worker. Best effort: where the browser has none (an insecure origin, a private
/// window that refuses it) the page works as before, online only, and says so in the console.
pub fn keep_app_files() {
    let Some(window) = web_sys::window() else { return };
    let container = Reflect::get(&window.navigator(), &JsValue::from_str("serviceWorker")).unwrap_or(JsValue::UNDEFINED);
    if container.is_undefined() || container.is_null() {
        web_sys::console::warn_1(&"Rewind: this browser keeps no app files (no service worker): it opens the shop online only".into());
        return;
    }
    let register = Reflect::get(&container, &JsValue::from_str("register")).ok().and_then(|f| f.dyn_into::<Function>().ok());
    let Some(register) = register else { return };
    match register.call1(&container, &JsValue::from_str("/sw.js")).map(|p| p.dyn_into::<Promise>()) {
        Ok(Ok(registered)) => wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = wasm_bindgen_futures::JsFuture::from(registered).await {
                web_sys::console::warn_2(&"Rewind: the app's files could not be kept for offline use:".into(), &e);
            }
        }),
        _ => web_sys::console::warn_1(&"Rewind: the app's files could not be kept for offline use".into()),
    }
}
