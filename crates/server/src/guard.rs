//! Who may ask: every request passes here before any handler sees it. The `Host` must be a name the server
//! answers to (a page of another name that resolves to this address is a DNS-rebinding attack); a request
//! that changes anything, and every WebSocket upgrade, must come from the server's own origin or one it was
//! told to allow (any page on the web can send a no-cors POST, and browsers do not preflight it); with an
//! access key, every `/api` request must carry it. docs/shared-log.md ("Security") says the same for users.

use crate::refusal::ApiError;
use axum::extract::{Request, State};
use axum::http::header::{COOKIE, HOST, ORIGIN, UPGRADE};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use rewind_protocol::endpoint;
use subtle::ConstantTimeEq;

/// The cookie the sign-in form sets, and the header other clients may send instead.
pub use rewind_protocol::{header::KEY as KEY_HEADER, KEY_COOKIE};

/// A shared secret that every `/api` request must carry.
#[derive(Clone)]
pub struct AccessKey(String);

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessKey(…)")
    }
}

impl PartialEq for AccessKey {
    fn eq(&self, other: &Self) -> bool {
        self.matches(&other.0)
    }
}

impl Eq for AccessKey {}

/// Why the access key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccessKeyError {
    #[error("cannot read the access key file {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error(
        "the access key in {path} must be 16 to 256 characters of A-Z, a-z, 0-9, _, -, ., ~ and + on one line \
         (for example: openssl rand -hex 32 > {path})"
    )]
    Unfit { path: PathBuf },
}

impl AccessKey {
    /// The key in `path`: its first line, without surrounding white space.
    pub fn read(path: &Path) -> Result<Self, AccessKeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| AccessKeyError::Unreadable { path: path.to_owned(), source })?;
        Self::parse(text.lines().next().unwrap_or_default().trim())
            .ok_or_else(|| AccessKeyError::Unfit { path: path.to_owned() })
    }

    /// A key of characters that need no quoting in a cookie, a header or a form.
    pub fn parse(text: &str) -> Option<Self> {
        let fits = (16..=256).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~' | b'+'));
        fits.then(|| Self(text.to_owned()))
    }

    /// Whether `given` is the key, compared in constant time (only its length can be learnt from timing).
    pub fn matches(&self, given: &str) -> bool {
        self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }

    /// The cookie that carries the key from now on: never readable by scripts, never sent by other sites.
    pub fn cookie(&self) -> String {
        format!("{KEY_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000", self.0)
    }
}

/// Who may ask what of this copy.
#[derive(Clone, Debug)]
pub struct Access {
    key: Option<AccessKey>,
    /// Origins allowed besides the server's own, as `scheme://host[:port]`.
    origins: Vec<String>,
    /// The `Host` values the server answers to; `None`: any (listening beyond loopback, behind the key).
    hosts: Option<Vec<String>>,
}

/// The origins and names the server was told of on its command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessOptions {
    pub key: Option<AccessKey>,
    pub allow_origins: Vec<String>,
    pub allow_hosts: Vec<String>,
}

impl AccessOptions {
    /// An allowed name or origin that is not this machine's: a proxy in front of a loopback address makes
    /// the shop as public as its name, so the key is needed as for a public address.
    pub fn names_beyond_loopback(&self) -> Option<&str> {
        let origins = self.allow_origins.iter().map(|o| o.split_once("://").map_or(o.as_str(), |(_, rest)| rest));
        origins.chain(self.allow_hosts.iter().map(String::as_str)).find(|name| !is_loopback_name(name))
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('/').to_ascii_lowercase();
    let host = if name.starts_with('[') {
        name.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        name.split(':').next().unwrap_or_default().to_owned()
    };
    host == "localhost" || host == "[::1]" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl Access {
    /// The rules for a copy bound to `addr`. On a loopback address it answers to the loopback names with the
    /// port it listens on; on any other it answers to every name (who can reach it must have the key).
    pub fn new(options: &AccessOptions, addr: SocketAddr) -> Self {
        let lower = |items: &[String]| -> Vec<String> {
            items.iter().map(|s| s.trim_end_matches('/').to_ascii_lowercase()).collect()
        };
        let hosts = addr.ip().is_loopback().then(|| {
            let port = addr.port();
            let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
            if port == 80 {
                hosts.extend(["127.0.0.1", "localhost", "[::1]"].map(String::from));
            }
            hosts.extend(lower(&options.allow_hosts));
            hosts
        });
        Self { key: options.key.clone(), origins: lower(&options.allow_origins), hosts }
    }

    pub fn key(&self) -> Option<&AccessKey> {
        self.key.as_ref()
    }

    /// Whether the request may go on; the refusal to answer with otherwise.
    pub fn check(&self, method: &Method, path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
        let host = headers.get(HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
        let Some(host) = host else {
            return Err(ApiError::bad_request("the request names no Host: send it as HTTP/1.1 with a Host header"));
        };
        if let Some(hosts) = &self.hosts {
            if !hosts.contains(&host) {
                return Err(ApiError::forbidden(format!(
                    "this server answers to {}, not to {host:?}: open it by one of those names (or start it with --allow-host {host})",
                    hosts.join(", ")
                )));
            }
        }
        let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let upgrade = headers.get(UPGRADE).is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"websocket"));
        if changes || upgrade {
            self.check_origin(&host, headers)?;
        }
        let api = rewind_protocol::api_of_path(path);
        // The metrics tell of every shop: they are guarded as the API is.
        let metrics = path == "/metrics";
        if api.is_some() || metrics {
            self.check_site(headers)?;
        }
        if metrics || api.is_some_and(|(_, endpoint)| endpoint != endpoint::SESSION) {
            self.check_key(headers)?;
        }
        Ok(())
    }

    /// A browser says where a request comes from (`Sec-Fetch-Site`): the API answers only the shop's own
    /// pages (and allowed origins), even for reads, so that no other site can make a browser load the log
    /// again and again (an `<img>` of `/api/events`, a no-cors fetch).
    fn check_site(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let site = headers.get("sec-fetch-site").map(|s| s.as_bytes());
        if !matches!(site, Some(b"cross-site" | b"same-site")) {
            return Ok(());
        }
        let origin = headers.get(ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_ascii_lowercase);
        match origin {
            Some(origin) if self.origins.contains(&origin) => Ok(()),
            _ => Err(ApiError::forbidden("the shop's API answers its own pages only: open the shop itself")),
        }
    }

    fn check_origin(&self, host: &str, headers: &HeaderMap) -> Result<(), ApiError> {
        let refuse = |origin: &str| {
            ApiError::forbidden(format!(
                "requests from {origin} may not change this shop: only its own pages (http://{host}) may{}",
                if self.origins.is_empty() { String::new() } else { format!(", and {}", self.origins.join(", ")) }
            ))
        };
        match headers.get(ORIGIN).map(|o| o.to_str().map(str::to_ascii_lowercase)) {
            Some(Ok(origin)) => {
                let own = origin == format!("http://{host}") || origin == format!("https://{host}");
                if own || self.origins.contains(&origin) {
                    Ok(())
                } else {
                    Err(refuse(&origin))
                }
            }
            Some(Err(_)) => Err(refuse("an unreadable origin")),
            // No Origin: not a browser's request (a browser names the origin of every POST and WebSocket),
            // unless it says it comes from another site.
            None => match headers.get("sec-fetch-site").map(|s| s.as_bytes()) {
                Some(b"cross-site" | b"same-site") => Err(refuse("another site")),
                _ => Ok(()),
            },
        }
    }

    fn check_key(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(key) = &self.key else { return Ok(()) };
        let from_header = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
        let from_cookie = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find_map(|(name, value)| (name == KEY_COOKIE).then_some(value));
        match from_header.or(from_cookie) {
            None => Err(ApiError::needs_key("required", "this shop needs its access key: sign in with it on the shop's page")),
            Some(given) if key.matches(given) => Ok(()),
            Some(_) => Err(ApiError::needs_key("wrong", "that is not this shop's access key")),
        }
    }
}

/// The middleware: every request is checked before it reaches a handler or the app's files.
pub async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    match access.check(request.method(), request.uri().path(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn local(key: Option<&str>) -> Access {
        let options = AccessOptions {
            key: key.and_then(AccessKey::parse),
            allow_origins: vec!["http://shop.example/".into()],
            allow_hosts: vec![],
        };
        Access::new(&options, "127.0.0.1:8080".parse().unwrap())
    }

    #[test]
    fn only_the_servers_own_names_and_origins_may_write() {
        let access = local(None);
        let post = |pairs: &[(&'static str, &str)]| access.check(&Method::POST, "/api/append", &headers(pairs)).map_err(|e| e.status().as_u16());
        assert_eq!(post(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]), Ok(()));
        assert_eq!(post(&[("host", "localhost:8080"), ("origin", "http://localhost:8080")]), Ok(()));
        assert_eq!(post(&[("host", "127.0.0.1:8080"), ("origin", "http://shop.example")]), Ok(()));
        assert_eq!(post(&[("host", "127.0.0.1:8080")]), Ok(()), "a client that is not a browser");
        assert_eq!(post(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")]), Err(403));
        assert_eq!(post(&[("host", "127.0.0.1:8080"), ("origin", "null")]), Err(403));
        assert_eq!(post(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]), Err(403));
        assert_eq!(post(&[("host", "evil.example:8080"), ("origin", "http://evil.example:8080")]), Err(403));
        assert_eq!(post(&[]), Err(400));
        let upgrade = headers(&[("host", "127.0.0.1:8080"), ("upgrade", "websocket"), ("origin", "http://evil.example")]);
        assert!(access.check(&Method::GET, "/api/feed", &upgrade).is_err());
        let read = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")]);
        assert!(access.check(&Method::GET, "/api/version", &read).is_ok(), "a read is not readable cross-origin anyway");
    }

    #[test]
    fn with_a_key_every_api_request_carries_it() {
        let key = "0123456789abcdef0123";
        let access = local(Some(key));
        let get = |pairs: &[(&'static str, &str)], path: &str| {
            access.check(&Method::GET, path, &headers(pairs)).map_err(|e| e.status().as_u16())
        };
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(get(&[host], "/api/version"), Err(401));
        assert_eq!(get(&[host, ("x-rewind-key", "0123456789abcdef0124")], "/api/version"), Err(401));
        assert_eq!(get(&[host, ("x-rewind-key", key)], "/api/version"), Ok(()));
        assert_eq!(get(&[host, ("cookie", &format!("a=b; rewind_key={key}"))], "/api/events"), Ok(()));
        assert_eq!(get(&[host], "/index.html"), Ok(()), "the app itself is public: it shows the sign-in form");
        assert_eq!(get(&[host], "/api/session"), Ok(()));
    }

    #[test]
    fn reads_from_other_sites_are_refused_too() {
        let access = local(None);
        let read = |pairs: &[(&'static str, &str)]| access.check(&Method::GET, "/api/events", &headers(pairs)).map_err(|e| e.status().as_u16());
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(read(&[host, ("sec-fetch-site", "cross-site")]), Err(403));
        assert_eq!(read(&[host, ("sec-fetch-site", "same-site")]), Err(403));
        assert_eq!(read(&[host, ("sec-fetch-site", "same-origin")]), Ok(()));
        assert_eq!(read(&[host, ("sec-fetch-site", "cross-site"), ("origin", "http://shop.example")]), Ok(()));
        assert_eq!(read(&[host]), Ok(()));
    }

    #[test]
    fn a_name_beyond_loopback_needs_the_key_as_a_public_address_does() {
        let named = |origins: &[&str], hosts: &[&str]| {
            AccessOptions {
                key: None,
                allow_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
                allow_hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
            }
            .names_beyond_loopback()
            .map(str::to_owned)
        };
        assert_eq!(named(&["http://localhost:3000", "http://127.0.0.1:5173"], &["[::1]:8080"]), None);
        assert_eq!(named(&["https://shop.example"], &[]), Some("shop.example".into()));
        assert_eq!(named(&[], &["shop.example:8080"]), Some("shop.example:8080".into()));
    }

    #[test]
    fn keys_are_long_and_cookie_safe() {
        assert!(AccessKey::parse("short").is_none());
        assert!(AccessKey::parse("0123456789abcdef;x").is_none());
        assert!(AccessKey::parse("0123456789abcdef0123").is_some_and(|k| k.matches("0123456789abcdef0123")));
    }
}
