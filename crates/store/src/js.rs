//! The store's JavaScript glue: what a thrown value says, as the store's errors. A leaf: the backends, the
//! locks and the branch shelf all use it.

use crate::error::StoreError;
use crate::backend::Backend;
use wasm_bindgen::{JsCast, JsValue};

/// The name and message of a thrown JS value.
pub(crate) fn describe_js(e: &JsValue) -> (String, String) {
    if let Some(d) = e.dyn_ref::<web_sys::DomException>() {
        return (d.name(), d.message());
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return (String::from(err.name()), String::from(err.message()));
    }
    ("Error".into(), e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

pub(crate) fn read_error(e: &JsValue) -> StoreError {
    let (name, message) = describe_js(e);
    StoreError::Read(format!("{name}: {message}"))
}

pub(crate) fn write_error(e: &JsValue) -> StoreError {
    let (name, message) = describe_js(e);
    if name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED" {
        StoreError::QuotaExceeded { backend: Backend::LocalStorage }
    } else {
        StoreError::Write(format!("{name}: {message}"))
    }
}
