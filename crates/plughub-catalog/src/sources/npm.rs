//! The npm registry client: package documents fetched concurrently with a bound, retried with backoff when
//! the failure may pass (network errors, 429, 5xx), and the search endpoint for discovery, which some
//! registries and mirrors do not offer.

use super::fetch::{describe_reqwest, http_client};
use super::packument;
use futures::stream::{self, StreamExt};
use plughub_domain::NpmRecord;
use std::time::Duration;

/// What the registry said of one package.
#[derive(Debug, Clone)]
pub enum PackumentOutcome {
    Found {
        record: Box<NpmRecord>,
        readme: Option<String>,
    },
    /// 404: not published (or not mirrored).
    Missing,
    /// Could not be had after the retries; the reason says why.
    Failed { reason: String, connect: bool },
}

#[derive(Debug, Clone)]
pub struct NpmClient {
    http: reqwest::Client,
    base: String,
    pub concurrency: usize,
    pub attempts: u32,
    pub backoff: Duration,
}

impl NpmClient {
    pub fn new(base: &str) -> NpmClient {
        NpmClient {
            http: http_client(),
            base: super::npm_config::with_trailing_slash(base),
            concurrency: 8,
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The document URL: a scoped name's slash is encoded, as npm itself does.
    pub fn packument_url(&self, name: &str) -> String {
        format!("{}{}", self.base, name.replace('/', "%2f"))
    }

    pub async fn packument(&self, name: &str) -> PackumentOutcome {
        let url = self.packument_url(name);
        let mut last = PackumentOutcome::Failed {
            reason: "no attempt".into(),
            connect: false,
        };
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
            match self
                .http
                .get(&url)
                .header("accept", "application/json")
                .send()
                .await
            {
                Err(e) => {
                    last = PackumentOutcome::Failed {
                        reason: describe_reqwest(&e),
                        connect: e.is_connect() || e.is_timeout(),
                    }
                }
                Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => {
                    return PackumentOutcome::Missing;
                }
                Ok(resp) if resp.status().is_success() => {
                    match resp.json::<serde_json::Value>().await {
                        Ok(doc) => {
                            let (record, readme) = packument::reduce(&doc);
                            return PackumentOutcome::Found {
                                record: Box::new(record),
                                readme,
                            };
                        }
                        Err(e) => {
                            last = PackumentOutcome::Failed {
                                reason: format!("unreadable document: {}", describe_reqwest(&e)),
                                connect: false,
                            }
                        }
                    }
                }
                Ok(resp) => {
                    let status = resp.status();
                    last = PackumentOutcome::Failed {
                        reason: format!("the registry answered {status}"),
                        connect: false,
                    };
                    if !(status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS)
                    {
                        break;
                    }
                }
            }
        }
        last
    }

    /// Fetches many documents with at most `concurrency` in flight; `progress` is called after each.
    pub async fn packuments(
        &self,
        names: Vec<String>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Vec<(String, PackumentOutcome)> {
        stream::iter(names)
            .map(|name| async move {
                let outcome = self.packument(&name).await;
                progress(&name);
                (name, outcome)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await
    }

    /// Package names from the registry's search endpoint for `text`, all pages. `Err` says why the
    /// endpoint could not be used (a 404 from a registry that does not offer search, say).
    pub async fn search(&self, text: &str) -> Result<Vec<String>, String> {
        const PAGE: usize = 250;
        const MAX_RESULTS: usize = 5_000;
        let mut names = Vec::new();
        let mut from = 0;
        loop {
            let url = format!("{}-/v1/search", self.base);
            let resp = self
                .http
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
            let body: serde_json::Value = resp.json().await.map_err(|e| describe_reqwest(&e))?;
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
}
