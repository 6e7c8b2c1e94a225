//! Each HTTP request's id: the caller's `X-Request-Id` when it is a sensible one (a proxy's), else a
//! new one. Every log line of the request carries it (the span's field, in `--log-format json`), and
//! the answer gives it back, so a user's report can be matched with the server's log.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

const HEADER: &str = "x-request-id";

pub async fn trace(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "answered"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// Short, and of characters that cannot forge log lines or headers.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_callers_id_is_kept_only_when_it_is_plain() {
        assert!(super::acceptable("0193f0c2-7b1e-7c3a-9d2f-1a2b3c4d5e6f"));
        assert!(super::acceptable("lb.req_42"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("a b"));
        assert!(!super::acceptable("x\n{\"forged\":1}"));
        assert!(!super::acceptable(&"a".repeat(129)));
    }
}
