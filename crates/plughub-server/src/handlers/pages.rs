//! The web UI's catalogue page: server-rendered HTML, usable without JavaScript.

use super::plugins::ListParams;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};

pub async fn home() -> Redirect {
    Redirect::to("/plugins")
}

pub async fn plugins(State(state): State<AppState>, Query(params): Query<ListParams>) -> Response {
    let q = params.q.clone().unwrap_or_default();
    let request = match params.into_request() {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let results = match state.catalog.search(&request) {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let status = state.catalog.status().await.ok();
    let did_you_mean = match &results.did_you_mean {
        Some(better) => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("q", better)
                .finish();
            format!(
                "<p>Did you mean <a href=\"/plugins?{}\">{}</a>?</p>",
                escape(&query),
                escape(better)
            )
        }
        None => String::new(),
    };
    let mut rows = String::new();
    for hit in &results.hits {
        rows.push_str(&format!(
            "<tr><td><a href=\"/api/plugins/{name}\">{name}</a>{verified}</td><td>{version}</td><td>{compat}</td><td>{stars}</td><td>{desc}</td></tr>\n",
            name = escape(&hit.name),
            verified = if hit.verified { " ✓" } else { "" },
            version = escape(hit.latest_version.as_deref().unwrap_or("—")),
            compat = escape(&hit.compat_summary()),
            stars = hit.stars,
            desc = escape(hit.description.as_deref().unwrap_or("")),
        ));
    }
    let banner = match status {
        Some(s) if s.starter_only => format!(
            "<p class=\"note\">Showing the starter catalogue carried by plughub (built {}); no live sync has succeeded yet.</p>",
            escape(s.starter_generated_at.as_deref().unwrap_or("?"))
        ),
        _ => String::new(),
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>plughub · plugins</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
         .note{{background:#fff6d5;padding:.5rem}}</style></head><body>\
         <p style=\"float:right\"><a href=\"/login\">Sign in</a></p><h1>plughub</h1>{banner}<form action=\"/plugins\"><input name=\"q\" value=\"{q}\" placeholder=\"search plugins\" autofocus> \
         <button>Search</button></form>{did_you_mean}<p>{total} plugins</p>\
         <table><tr><th>Plugin</th><th>Version</th><th>Core</th><th>★</th><th>Description</th></tr>\n{rows}</table></body></html>",
        q = escape(&q),
        total = results.total,
    ))
    .into_response()
}

/// The sign-in page: the form posts to `/api/auth/login`, whose session cookie then signs in every page
/// and API call of this browser.
pub async fn login() -> Html<&'static str> {
    Html(LOGIN_PAGE)
}

const LOGIN_PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>plughub · sign in</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:24rem}label{display:block;margin:.6rem 0}
input{width:100%;padding:.3rem}#message{color:#a00}</style></head><body>
<h1>plughub</h1><form id="login"><label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Sign in</button></form><p id="message" role="alert"></p>
<script>
document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const answer = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }) });
  if (answer.ok) { location.href = '/plugins'; return; }
  const body = await answer.json().catch(() => ({}));
  document.getElementById('message').textContent = body.error?.message ?? `sign-in failed (HTTP ${answer.status})`;
});
</script></body></html>"#;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
