//! The clock, one for the store and the session: wall time for events' timestamps and logs' epochs, a
//! monotonic time for durations, and a wait that does not block. [`Clock`] is what a session is given (tests
//! give it a clock of their own); [`SystemClock`] is the platform's: the browser's in the page, the standard
//! library's natively, so that the session over the memory store runs in native tests too. Beside it, the
//! two other things the session needs of the place it runs in: running work in the background ([`spawn`])
//! and saying what went wrong where nobody is looking ([`warn`]).

use std::future::Future;
use std::pin::Pin;

/// A wait, as a [`Clock`] gives it.
pub type Wait = Pin<Box<dyn Future<Output = ()>>>;

pub trait Clock {
    /// Milliseconds since the Unix epoch (the wall clock: what an event's timestamp says).
    fn now_ms(&self) -> u64;
    /// Milliseconds from an arbitrary start that never goes back, for durations.
    fn monotonic_ms(&self) -> f64;
    /// Waits `ms` milliseconds without blocking the page (0: until what was queued has run).
    fn sleep(&self, ms: u32) -> Wait;
}

/// The platform's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }
    fn monotonic_ms(&self) -> f64 {
        monotonic_ms()
    }
    fn sleep(&self, ms: u32) -> Wait {
        Box::pin(sleep(ms))
    }
}

#[cfg(target_arch = "wasm32")]
mod platform {
    use js_sys::Promise;
    use wasm_bindgen_futures::JsFuture;

    pub fn now_ms() -> u64 {
        js_sys::Date::now().max(0.0) as u64
    }

    pub fn monotonic_ms() -> f64 {
        web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
    }

    pub async fn sleep(ms: u32) {
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let promise = Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    pub fn spawn(work: impl std::future::Future<Output = ()> + 'static) {
        wasm_bindgen_futures::spawn_local(work);
    }

    pub fn warn(message: &str) {
        web_sys::console::warn_1(&message.into());
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod platform {
    use futures::executor::{LocalPool, LocalSpawner};
    use futures::task::LocalSpawnExt;
    use std::cell::RefCell;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    /// This thread's executor: the pool and its spawner made together, so that starting background work
    /// never needs the pool itself (which `block_on` holds while it runs).
    struct Executor {
        pool: RefCell<LocalPool>,
        spawner: LocalSpawner,
    }

    thread_local! {
        static START: Instant = Instant::now();
        static EXECUTOR: Executor = {
            let pool = LocalPool::new();
            let spawner = pool.spawner();
            Executor { pool: RefCell::new(pool), spawner }
        };
    }

    pub fn now_ms() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn monotonic_ms() -> f64 {
        START.with(|start| start.elapsed().as_secs_f64() * 1_000.0)
    }

    pub async fn sleep(ms: u32) {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(ms)));
    }

    pub fn spawn(work: impl std::future::Future<Output = ()> + 'static) {
        // Run by `block_on` on this thread, with whatever it waits for.
        EXECUTOR.with(|e| {
            if let Err(error) = e.spawner.spawn_local(work) {
                eprintln!("Rewind: background work could not start: {error}");
            }
        });
    }

    pub fn warn(message: &str) {
        eprintln!("{message}");
    }

    /// Runs `work` to its end on this thread, and the background work it starts meanwhile (for tests and
    /// tools; not to be called from inside work it runs).
    pub fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
        EXECUTOR.with(|e| e.pool.borrow_mut().run_until(work))
    }

    /// Runs the background work started so far until none of it can go on.
    pub fn run_background() {
        EXECUTOR.with(|e| e.pool.borrow_mut().run_until_stalled());
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use platform::{block_on, run_background};
pub use platform::{monotonic_ms, now_ms, sleep, spawn, warn};
