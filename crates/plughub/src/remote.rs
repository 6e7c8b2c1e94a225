//! Talking to a plughub server over its API (`--server URL --token TOKEN`): the same commands as on a
//! local store, with the server's one error shape turned into a message that says what went wrong.

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub struct Remote {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// A path segment of a plugin name: `@acme/plugin-x` → `@acme%2Fplugin-x`.
pub fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Remote {
    pub fn new(server: &str, token: Option<String>) -> Result<Remote> {
        let base = server.trim().trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|e| {
            anyhow!("--server {server}: not a URL ({e}); write it as http://host:port")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("--server {server}: use an http:// or https:// URL");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("plughub/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Remote {
            base,
            token: token.filter(|t| !t.trim().is_empty()),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and reads the JSON answer as `T`; an error answer becomes the error.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(self.refused(status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("the server's answer to {path} is not what plughub expects"))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None).await
    }

    /// Sends a request asking for server-sent events and hands each (event, data) to `on_event` as it
    /// comes, until the server ends the stream or `on_event` answers false.
    pub async fn events(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        mut on_event: impl FnMut(&str, Value) -> bool,
    ) -> Result<()> {
        let mut request = self
            .request(method, path)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.unwrap_or_default();
            return Err(self.refused(status, &bytes));
        }
        // Bytes until a whole event is in: a character may be split across chunks.
        let mut buffer: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            buffer.extend_from_slice(&chunk);
            while let Some((end, gap)) = event_end(&buffer) {
                let block: Vec<u8> = buffer.drain(..end + gap).collect();
                let Some((name, value)) = parse_event(&String::from_utf8_lossy(&block[..end]))
                else {
                    continue; // a keep-alive
                };
                if !on_event(&name, value) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn unreachable(&self, e: reqwest::Error) -> anyhow::Error {
        anyhow!(
            "cannot reach the plughub server at {}: {e}. Is `plughub serve` running there?",
            self.base
        )
    }

    /// The server's error answer as a message (its code and status after it).
    fn refused(&self, status: StatusCode, body: &[u8]) -> anyhow::Error {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().map(|v| &v["error"]);
        match error.and_then(|e| Some((e["code"].as_str()?, e["message"].as_str()?))) {
            Some(("token_unknown" | "unauthenticated", message)) if self.token.is_none() => {
                anyhow!(
                    "{message}: give a token with --token or PLUGHUB_TOKEN (make one with `plughub admin create-token`)"
                )
            }
            Some((code, message)) => anyhow!("{message} ({code}, HTTP {})", status.as_u16()),
            None => anyhow!(
                "the server answered HTTP {} ({})",
                status.as_u16(),
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        }
    }
}

/// Where the first event in `buffer` ends (a blank line, with `\n` or `\r\n` line ends) and how long
/// the blank line is.
fn event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// An event's name (`message` unless it says) and its data (lines joined with `\n`, read as JSON when
/// they are); `None` for a block without data (a comment, a keep-alive).
fn parse_event(block: &str) -> Option<(String, Value)> {
    let mut name = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(n) = line.strip_prefix("event:") {
            name = n.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    if data.is_empty() {
        return None;
    }
    let data = data.join("\n");
    let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
    Some((name, value))
}

/// The error answer of an event stream, as a message.
pub fn error_event(data: &Value) -> anyhow::Error {
    anyhow!(
        "{} ({})",
        data["error"]["message"]
            .as_str()
            .unwrap_or("the run failed"),
        data["error"]["code"].as_str().unwrap_or("error")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_on_blank_lines_of_either_kind() {
        let stream = b"event: callback\r\ndata: {\"text\":\"h\xc3\xa9\"}\r\n\r\n: keep-alive\n\nevent: result\ndata: one\ndata: two\n\n";
        let mut buffer = stream.to_vec();
        let mut seen = Vec::new();
        while let Some((end, gap)) = event_end(&buffer) {
            let block: Vec<u8> = buffer.drain(..end + gap).collect();
            if let Some(event) = parse_event(&String::from_utf8_lossy(&block[..end])) {
                seen.push(event);
            }
        }
        assert!(buffer.is_empty());
        assert_eq!(
            seen,
            vec![
                ("callback".to_string(), serde_json::json!({ "text": "hé" })),
                ("result".to_string(), Value::String("one\ntwo".into())),
            ]
        );
    }

    #[test]
    fn plugin_names_are_one_path_segment() {
        assert_eq!(segment("@acme/plugin-x"), "@acme%2Fplugin-x");
        assert_eq!(segment("a b?c"), "a%20b%3Fc");
    }
}
