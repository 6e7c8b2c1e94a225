//! Package documents, search and tarballs from one npm registry.

use crate::http::{describe_reqwest, http_client};
use crate::npmrc::NpmConfig;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What the registry said of one package document.
#[derive(Debug, Clone)]
pub enum DocumentOutcome {
    Found(Box<Value>),
    /// 404: not published (or not mirrored).
    Missing,
    /// Could not be had after the retries; `connect` when the registry itself could not be reached,
    /// `refused` when it answered a refusal that asking again will not change (a 4xx other than 404 and
    /// 429: a name it will not serve, say).
    Failed {
        reason: String,
        connect: bool,
        refused: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum NpmError {
    // A URL's user name and password never reach a message.
    #[error("{}: {reason}", crate::without_userinfo(url))]
    Request { url: String, reason: String },
    #[error(
        "{}: the download is larger than the {limit} bytes allowed",
        crate::without_userinfo(url)
    )]
    TooLarge { url: String, limit: u64 },
    #[error("{}: not found", crate::without_userinfo(url))]
    NotFound { url: String },
}

#[derive(Debug, Clone)]
pub struct NpmClient {
    http: reqwest::Client,
    config: Arc<NpmConfig>,
    pub concurrency: usize,
    pub attempts: u32,
    pub backoff: Duration,
}

impl NpmClient {
    /// A client of one registry, with no scopes and no credentials.
    pub fn new(base: &str) -> NpmClient {
        NpmClient::with_config(NpmConfig::plain(base))
    }

    /// A client of an npm configuration: scoped names go to their scope's registry, and each request
    /// carries the credential configured for its URL's prefix, if any.
    pub fn with_config(config: NpmConfig) -> NpmClient {
        NpmClient {
            http: http_client(),
            config: Arc::new(config),
            concurrency: 8,
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }

    /// The default registry.
    pub fn base(&self) -> &str {
        &self.config.registry
    }

    pub fn config(&self) -> &NpmConfig {
        &self.config
    }

    /// The document URL: on the name's registry, a scoped name's slash encoded, as npm itself does.
    pub fn document_url(&self, name: &str) -> String {
        format!(
            "{}{}",
            self.config.registry_for(name),
            name.replace('/', "%2f")
        )
    }

    /// A GET of `url` with the credential configured for it (and for no other URL).
    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(url);
        match self.config.credential_for(url) {
            Some(credential) => request.header("authorization", credential.header_value()),
            None => request,
        }
    }

    /// Why a registry's answer `status` to `url` is a refusal, with what to configure for a 401/403.
    fn refusal(&self, url: &str, status: reqwest::StatusCode) -> String {
        if matches!(status.as_u16(), 401 | 403) {
            format!(
                "the registry refused ({status}): {}",
                self.config.refusal_advice(url)
            )
        } else {
            format!("the registry answered {status}")
        }
    }

    /// One package document, retried with backoff on network errors, 429 and 5xx.
    pub async fn document(&self, name: &str) -> DocumentOutcome {
        self.document_within(name, None).await
    }

    /// The same, refusing a document larger than `limit` bytes (announced or received), without retry:
    /// for a server passing documents through to anyone who asks.
    pub async fn document_within(&self, name: &str, limit: Option<u64>) -> DocumentOutcome {
        let url = self.document_url(name);
        let mut last = DocumentOutcome::Failed {
            reason: "no attempt".into(),
            connect: false,
            refused: false,
        };
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
            let response = self
                .get(&url)
                .header("accept", "application/json")
                .send()
                .await;
            match response {
                Err(e) => {
                    last = DocumentOutcome::Failed {
                        reason: describe_reqwest(&e),
                        connect: e.is_connect() || e.is_timeout(),
                        refused: false,
                    }
                }
                Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => {
                    return DocumentOutcome::Missing;
                }
                Ok(resp) if resp.status().is_success() && limit.is_some() => {
                    let limit = limit.unwrap_or(u64::MAX);
                    match read_within(resp, limit).await {
                        Ok(Some(body)) => match serde_json::from_slice::<Value>(&body) {
                            Ok(doc) => return DocumentOutcome::Found(Box::new(doc)),
                            Err(e) => {
                                last = DocumentOutcome::Failed {
                                    reason: format!("unreadable document: {e}"),
                                    connect: false,
                                    refused: false,
                                }
                            }
                        },
                        Ok(None) => {
                            return DocumentOutcome::Failed {
                                reason: format!(
                                    "the document is larger than the {} MB allowed",
                                    limit >> 20
                                ),
                                connect: false,
                                refused: true,
                            };
                        }
                        Err(e) => {
                            last = DocumentOutcome::Failed {
                                reason: format!("download interrupted: {}", describe_reqwest(&e)),
                                connect: false,
                                refused: false,
                            }
                        }
                    }
                }
                Ok(resp) if resp.status().is_success() => match resp.json::<Value>().await {
                    Ok(doc) => return DocumentOutcome::Found(Box::new(doc)),
                    Err(e) => {
                        let reason = format!("unreadable document: {}", describe_reqwest(&e));
                        last = DocumentOutcome::Failed {
                            reason,
                            connect: false,
                            refused: false,
                        };
                    }
                },
                Ok(resp) => {
                    let status = resp.status();
                    let retried = status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    last = DocumentOutcome::Failed {
                        reason: self.refusal(&url, status),
                        connect: false,
                        refused: !retried,
                    };
                    if !retried {
                        break;
                    }
                }
            }
        }
        last
    }

    /// Many documents with at most `concurrency` in flight; `progress` is called after each.
    pub async fn documents(
        &self,
        names: Vec<String>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Vec<(String, DocumentOutcome)> {
        stream::iter(names)
            .map(|name| async move {
                let outcome = self.document(&name).await;
                progress(&name);
                (name, outcome)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await
    }

    /// Package names from the search endpoint for `text`, all pages. `Err` says why the endpoint could not
    /// be used (a 404 from a registry that does not offer search, say).
    pub async fn search(&self, text: &str) -> Result<Vec<String>, String> {
        const PAGE: usize = 250;
        const MAX_RESULTS: usize = 5_000;
        let mut names = Vec::new();
        let mut from = 0;
        loop {
            let url = format!("{}-/v1/search", self.base());
            let resp = self
                .get(&url)
                .query(&[
                    ("text", text),
                    ("size", &PAGE.to_string()),
                    ("from", &from.to_string()),
                ])
                .send()
                .await
                .map_err(|e| describe_reqwest(&e))?;
            if !resp.status().is_success() {
                return Err(format!("the search endpoint answered {}", resp.status()));
            }
            let body: Value = resp.json().await.map_err(|e| describe_reqwest(&e))?;
            let objects = body
                .get("objects")
                .and_then(|o| o.as_array())
                .cloned()
                .unwrap_or_default();
            let got = objects.len();
            names.extend(objects.iter().filter_map(|o| {
                o.pointer("/package/name")
                    .and_then(|n| n.as_str())
                    .map(str::to_string)
            }));
            from += got;
            let total = body.get("total").and_then(|t| t.as_u64()).unwrap_or(0) as usize;
            if got < PAGE || from >= total || from >= MAX_RESULTS {
                return Ok(names);
            }
        }
    }

    /// Downloads a tarball, refusing more than `limit` bytes (announced or received).
    pub async fn tarball(&self, url: &str, limit: u64) -> Result<Vec<u8>, NpmError> {
        let fail = |reason: String| NpmError::Request {
            url: url.to_string(),
            reason,
        };
        let mut last = None;
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
            let mut resp = match self.get(url).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = Some(fail(describe_reqwest(&e)));
                    continue;
                }
            };
            let status = resp.status();
            if !status.is_success() {
                last = Some(fail(self.refusal(url, status)));
                if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    continue;
                }
                break;
            }
            if resp.content_length().is_some_and(|n| n > limit) {
                return Err(NpmError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            let mut body = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        body.extend_from_slice(&chunk);
                        if body.len() as u64 > limit {
                            return Err(NpmError::TooLarge {
                                url: url.to_string(),
                                limit,
                            });
                        }
                    }
                    Ok(None) => return Ok(body),
                    Err(e) => {
                        last = Some(fail(format!(
                            "download interrupted: {}",
                            describe_reqwest(&e)
                        )));
                        break;
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| fail("no attempt".into())))
    }

    /// Starts a download of `url` to be passed on as it comes (no retry: the caller answers at once),
    /// refusing a body announced larger than `limit`; `TarballStream::chunk` refuses one that grows past it.
    pub async fn tarball_stream(&self, url: &str, limit: u64) -> Result<TarballStream, NpmError> {
        let fail = |reason: String| NpmError::Request {
            url: url.to_string(),
            reason,
        };
        let resp = self
            .get(url)
            .send()
            .await
            .map_err(|e| fail(describe_reqwest(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(NpmError::NotFound {
                url: url.to_string(),
            });
        }
        if !status.is_success() {
            return Err(fail(self.refusal(url, status)));
        }
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(NpmError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        Ok(TarballStream {
            length: resp.content_length(),
            url: url.to_string(),
            resp,
            limit,
            seen: 0,
        })
    }
}

/// A response's body, `None` when it is (announced or turns out) larger than `limit` bytes.
async fn read_within(
    mut resp: reqwest::Response,
    limit: u64,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Ok(None);
        }
    }
    Ok(Some(body))
}

/// A tarball being downloaded, chunk by chunk, within a size limit.
pub struct TarballStream {
    pub length: Option<u64>,
    url: String,
    resp: reqwest::Response,
    limit: u64,
    seen: u64,
}

impl TarballStream {
    /// The next chunk, `None` at the end; an error when the body grows past the limit or breaks off.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, NpmError> {
        match self.resp.chunk().await {
            Ok(Some(chunk)) => {
                self.seen += chunk.len() as u64;
                if self.seen > self.limit {
                    return Err(NpmError::TooLarge {
                        url: self.url.clone(),
                        limit: self.limit,
                    });
                }
                Ok(Some(chunk))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(NpmError::Request {
                url: self.url.clone(),
                reason: format!("download interrupted: {}", describe_reqwest(&e)),
            }),
        }
    }
}
