//! A sync server played inside the page, for the store's browser tests and the app's session tests (both
//! include this file): `window.fetch` answers `/api/…` from a log kept in JavaScript (docs/shared-log.md's
//! endpoints; one event per append), and records every request. `plan(path, action)` answers the next request
//! to `path` otherwise: with a function of the request, or `'lose'` (handled as usual, then the answer is lost,
//! as when the connection drops after the server stored it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // a test helper stops at the first surprise

use rewind_store::EncodedChunk;

const FAKE_SERVER: &str = include_str!("fake_server.js");

fn run(js: &str) {
    js_sys::eval(js).expect("the fake server's script runs");
}

/// The fake sync server, in place until dropped.
pub struct FakeServer;

impl FakeServer {
    pub fn start() -> FakeServer {
        run(FAKE_SERVER);
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

    /// A JavaScript expression over the fake (`fake`), as text.
    pub fn text(&self, expr: &str) -> String {
        js_sys::eval(&format!("(fake => String({expr}))(window.__rewindFake)")).unwrap().as_string().unwrap()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        run("window.__rewindFake && window.__rewindFake.stop()");
    }
}
