//! Web Locks (`navigator.locks`) for the localStorage backend. The lock manager lives in the browser process,
//! so every tab sees the same locks at once, unlike localStorage, of which Chromium gives each renderer
//! process its own copy and tells it of other processes' writes later. Bound here by hand: web-sys has the
//! API only behind `--cfg=web_sys_unstable_apis`, which would change the flags of the whole build.

use crate::error::StoreError;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    type LockManager;

    #[wasm_bindgen(method, catch, js_name = request)]
    fn request_with_options(this: &LockManager, name: &str, options: &Object, callback: &Function) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn query(this: &LockManager) -> Result<Promise, JsValue>;
}

fn lock_manager() -> Option<LockManager> {
    let navigator = web_sys::window()?.navigator();
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then(|| locks.unchecked_into())
}

fn lock_error(e: &JsValue) -> StoreError {
    let (name, message) = crate::js::describe_js(e);
    StoreError::Write(format!("the write lock could not be taken: {name}: {message}"))
}

/// A Web Lock this page holds until the value is dropped.
pub(crate) struct HeldLock {
    release: Function,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::NULL);
    }
}

/// Waits for the lock `name` and holds it. `None` where the browser has no Web Locks (then the caller goes
/// on without: a single tab is still consistent).
pub(crate) async fn acquire(name: &str, shared: bool) -> Result<Option<HeldLock>, StoreError> {
    let Some(locks) = lock_manager() else { return Ok(None) };
    let mut release = None;
    let held = Promise::new(&mut |resolve, _| release = Some(resolve));
    let mut granted_with = None;
    let granted = Promise::new(&mut |resolve, reject| granted_with = Some((resolve, reject)));
    let (Some(release), Some((on_granted, on_refused))) = (release, granted_with) else {
        return Err(StoreError::Write("the write lock could not be set up".into()));
    };
    // The lock is held until the promise the callback returns settles: `held`, settled by `release`.
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let _ = on_granted.call0(&JsValue::NULL);
        held.into()
    });
    let options = Object::new();
    let mode = if shared { "shared" } else { "exclusive" };
    Reflect::set(&options, &JsValue::from_str("mode"), &JsValue::from_str(mode)).map_err(|e| lock_error(&e))?;
    let request = locks.request_with_options(name, &options, callback.unchecked_ref()).map_err(|e| lock_error(&e))?;
    // A request that fails before the lock is granted settles `granted` with its error.
    let catch: Function = Reflect::get(&request, &JsValue::from_str("catch"))
        .map_err(|e| lock_error(&e))?
        .unchecked_into();
    let _ = catch.call1(&request, &on_refused);
    JsFuture::from(granted).await.map_err(|e| lock_error(&e))?;
    Ok(Some(HeldLock { release }))
}

/// The names of the locks held now, by any tab of this origin.
pub(crate) async fn held_names() -> Result<Vec<String>, StoreError> {
    let Some(locks) = lock_manager() else { return Ok(Vec::new()) };
    let read = |e: JsValue| StoreError::Read(format!("the tabs' locks could not be listed: {}", crate::js::describe_js(&e).1));
    let snapshot = JsFuture::from(locks.query().map_err(read)?).await.map_err(read)?;
    let held = Reflect::get(&snapshot, &JsValue::from_str("held")).map_err(read)?;
    let Ok(held) = held.dyn_into::<Array>() else { return Ok(Vec::new()) };
    Ok(held
        .iter()
        .filter_map(|info| Reflect::get(&info, &JsValue::from_str("name")).ok()?.as_string())
        .collect())
}
