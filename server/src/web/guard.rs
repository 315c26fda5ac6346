//! What keeps other web sites out of the admin page: a loopback listener alone does not, since
//! any page the browser shows may post a form to 127.0.0.1. Every page request must name a
//! loopback host (no DNS rebinding), and a request that changes something (POST) must come from
//! the page itself: an `Origin` header, when the browser sends one, is this host's.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The host of a `Host` header or an origin's authority, without the port.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a request is refused, if it is.
fn refusal(method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !is_loopback_host(host_name(host)) {
        return Some("the admin page answers to localhost, 127.0.0.1 or [::1] only");
    }
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Some("a form from another site may not change this server");
    }
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => None,
        Some(origin) if origin.strip_prefix("http://").is_some_and(|a| a.eq_ignore_ascii_case(host)) => None,
        Some(_) => Some("a form from another origin may not change this server"),
    }
}

pub(super) async fn same_origin(request: Request, next: Next) -> Response {
    match refusal(request.method(), request.headers()) {
        None => next.run(request).await,
        Some(why) => {
            (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_loopback_hosts_and_same_origin_posts_pass() {
        assert_eq!(refusal(&Method::GET, &headers(&[("host", "127.0.0.1:8090")])), None);
        assert_eq!(refusal(&Method::GET, &headers(&[("host", "localhost")])), None);
        assert_eq!(refusal(&Method::GET, &headers(&[("host", "[::1]:8090")])), None);
        assert!(refusal(&Method::GET, &headers(&[("host", "evil.example:8090")])).is_some());
        assert!(refusal(&Method::GET, &headers(&[])).is_some());
        let same = headers(&[("host", "127.0.0.1:8090"), ("origin", "http://127.0.0.1:8090")]);
        assert_eq!(refusal(&Method::POST, &same), None);
        assert_eq!(refusal(&Method::POST, &headers(&[("host", "127.0.0.1:8090")])), None);
        let foreign = headers(&[("host", "127.0.0.1:8090"), ("origin", "https://evil.example")]);
        assert!(refusal(&Method::POST, &foreign).is_some());
        let cross = headers(&[("host", "127.0.0.1:8090"), ("sec-fetch-site", "cross-site")]);
        assert!(refusal(&Method::POST, &cross).is_some());
        assert_eq!(refusal(&Method::GET, &cross), None);
    }
}
