//! How many, and for how long: the copy's own accept loop, so that connections are bounded. A connection
//! past [`MAX_CONNECTIONS`] is closed at once (it leaves nothing behind); one that does not finish sending
//! its request's head within [`HEADER_TIMEOUT`] is closed too, so idle or half-sent connections cannot
//! pile up; each request is further bounded in time and size by the router's layers.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Open connections one copy keeps at most (pages, their feeds, and whatever else connects).
pub const MAX_CONNECTIONS: usize = 8_192;
/// How long a client may take to send a request's head, and to send the next one on a kept-alive
/// connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a request's head may take in memory.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Open connections and feed sockets a copy can keep with the file descriptors it may open: the soft limit
/// is raised to the hard one first, and some are kept for Redis and the app's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub connections: usize,
    pub feeds: usize,
}

impl Limits {
    pub fn of_this_process() -> Limits {
        let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1_024);
        Limits::for_files(files)
    }

    fn for_files(files: u64) -> Limits {
        let budget = usize::try_from(files.saturating_sub(256)).unwrap_or(usize::MAX);
        Limits { connections: MAX_CONNECTIONS.min(budget / 3 * 2), feeds: crate::http::MAX_FEEDS.min(budget / 3) }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, with at most `connections` open at once.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), std::io::Error> {
    let connections = Arc::new(Semaphore::new(connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).max_buf_size(MAX_HEAD_BYTES).keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it was accepted: the next one may do.
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().into_service::<Incoming>());
        let http = Arc::clone(&http);
        tokio::spawn(async move {
            // A connection's errors (a client gone, a head too slow or too big) end that connection only.
            let _ = http.serve_connection(TokioIo::new(stream), service).with_upgrades().await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_fit_the_file_descriptors_there_are() {
        assert_eq!(Limits::for_files(20_000), Limits { connections: MAX_CONNECTIONS, feeds: crate::http::MAX_FEEDS });
        let small = Limits::for_files(1_024);
        assert!(small.connections + small.feeds <= 1_024 - 256);
    }
}
