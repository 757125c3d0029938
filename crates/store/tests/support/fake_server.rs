//! A sync server played inside the page, for the store's browser tests and the app's session tests (both
//! include this file): `window.fetch` answers `/api/…` from a log kept in JavaScript (docs/shared-log.md's
//! endpoints; one event per append; commands decided with the domain, by Rust, on the log it holds), and
//! records every request. `plan(path, action)` answers the next request
//! to `path` otherwise: with a function of the request, or `'lose'` (handled as usual, then the answer is lost,
//! as when the connection drops after the server stored it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // a test helper stops at the first surprise

use rewind_domain::{decode_frames, push_frame, Command, Log, State};
use rewind_store::{encode_chunks, EncodedChunk};
use wasm_bindgen::prelude::*;

const FAKE_SERVER: &str = include_str!("fake_server.js");

fn run(js: &str) {
    js_sys::eval(js).expect("the fake server's script runs");
}

/// The fake sync server, in place until dropped.
pub struct FakeServer;

impl FakeServer {
    pub fn start() -> FakeServer {
        run(FAKE_SERVER);
        let decide = Closure::<dyn Fn(js_sys::Uint8Array, String) -> JsValue>::new(decide_on);
        let fake = js_sys::eval("window.__rewindFake").unwrap();
        js_sys::Reflect::set(&fake, &"decide".into(), decide.as_ref()).unwrap();
        // Lives as long as the page: the fake may be asked after this server is dropped (a late request).
        decide.forget();
        FakeServer
    }

    /// Stores `chunks` as the server's log.
    pub fn seed(&self, chunks: &[EncodedChunk]) {
        let fake = js_sys::eval("window.__rewindFake").unwrap();
        let add: js_sys::Function = js_sys::Reflect::get(&fake, &"add".into()).unwrap().into();
        for c in chunks {
            let mut frame = Vec::new();
            rewind_domain::push_frame(&mut frame, &c.bytes);
            let (first, last) = (c.first_seq as f64, (c.first_seq + c.count - 1) as f64);
            add.call3(&fake, &first.into(), &last.into(), &js_sys::Uint8Array::from(&frame[..]).into()).unwrap();
        }
    }

    /// Answers the next request to `path` with the JavaScript `action` (see fake_server.js).
    pub fn plan(&self, path: &str, action: &str) {
        run(&format!("(() => {{ const json = window.__rewindFake.json; window.__rewindFake.plan('{path}', {action}); }})()"));
    }

    /// Stores `command` under `key` as if another page had sent it (the server's own answer is dropped).
    pub fn command_from_elsewhere(&self, key: &str, command: &Command) {
        let body = serde_json::json!({ "key": key, "command": command }).to_string();
        let fake = js_sys::eval("window.__rewindFake").unwrap();
        let answer: js_sys::Function = js_sys::Reflect::get(&fake, &"answer".into()).unwrap().into();
        let call = js_sys::Object::new();
        js_sys::Reflect::set(&call, &"path".into(), &"/api/command".into()).unwrap();
        js_sys::Reflect::set(&call, &"query".into(), &js_sys::Object::new()).unwrap();
        js_sys::Reflect::set(&call, &"body".into(), &js_sys::Uint8Array::from(body.as_bytes()).into()).unwrap();
        answer.call1(&fake, &call).unwrap();
    }

    /// A JavaScript expression over the fake (`fake`), as text.
    pub fn text(&self, expr: &str) -> String {
        js_sys::eval(&format!("(fake => String({expr}))(window.__rewindFake)")).unwrap().as_string().unwrap()
    }
}

/// `POST /api/command` of the fake: the log read from its frames, the command decided on it with the
/// domain; the frame of its event, or the refusal's words.
fn decide_on(frames: js_sys::Uint8Array, command: String) -> JsValue {
    let (mut log, mut live) = (Log::new(), State::new());
    let bytes = frames.to_vec();
    for chunk in decode_frames(&bytes).unwrap() {
        log.extend_from_chunk(&mut live, chunk).unwrap();
    }
    let command: Command = serde_json::from_str(&command).unwrap();
    match log.decide(&live, &command) {
        Ok(event) => {
            let ts = log.timestamps().last().copied().unwrap_or(0) + 1;
            let chunks = encode_chunks(log.names(), log.len() + 1, &[event], &[ts]);
            let mut frame = Vec::new();
            for chunk in &chunks {
                push_frame(&mut frame, &chunk.bytes);
            }
            js_sys::Uint8Array::from(&frame[..]).into()
        }
        Err(rejection) => JsValue::from_str(&rejection.to_string()),
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        run("window.__rewindFake && window.__rewindFake.stop()");
    }
}
