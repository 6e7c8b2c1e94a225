//! `plughub dev publish`'s client of a plughub registry: the packed tarball PUT to
//! `{server}/api/registry/packages/{name}`, and the server's answer read into what the author does next.

use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// A package name as one URL path segment, as npm writes it: `@acme%2Fplugin-x` (the `/` of a scope
/// encoded, the `@` kept); an unscoped name as it is.
pub fn package_segment(name: &str) -> String {
    name.replacen('/', "%2F", 1)
}

/// What the registry did with the upload.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Answer {
    /// 201: published under the tag.
    Published { body: Value },
    /// 202: kept for a moderator, with the checks' reasons.
    Quarantined { body: Value, reasons: Vec<String> },
    /// Anything else: the server's code and message, and what to do.
    Refused {
        status: u16,
        code: String,
        message: String,
        what_to_do: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no server to publish to: give --server URL (or set PLUGHUB_SERVER)")]
    NoServer,
    #[error(
        "no token to publish with: give --token (a publish token, php_…, from `POST /api/me/publish-tokens` or the publisher's page; or set PLUGHUB_TOKEN)"
    )]
    NoToken,
    #[error("cannot reach {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
}

/// What to do after the refusal `code` (the server's message says what happened).
pub fn what_to_do(status: u16, code: &str, name: &str) -> String {
    let namespace = plughub_domain::names::namespace_of(name);
    match code {
        "namespace_not_held" => format!(
            "claim the publisher of {namespace} on the server (your publisher's page), or publish under a scope you hold"
        ),
        "namespace_on_npm" => format!(
            "{namespace} is taken on npm: prove it is yours (a platform owner records the decision after your proof), or choose another name"
        ),
        "namespace_reserved" => format!(
            "{namespace} is reserved for the official elizaOS registry: publish under your own scope (@you/{})",
            plughub_domain::package_name::bare_name(name)
        ),
        "wrong_namespace" => format!(
            "this publish token is for another namespace: make one for {namespace}"
        ),
        "version_exists" => {
            "versions are immutable: bump \"version\" in package.json (npm version patch), build, publish again".into()
        }
        "too_large" => "make the package smaller: leave out what it does not need at run time (\"files\")".into(),
        "invalid_package" => "fix what the message says, then `plughub dev validate`".into(),
        _ if status == 401 => {
            "the token is missing, expired or revoked: make a new publish token and give it with --token".into()
        }
        _ if status == 403 => "ask the namespace's holder or a platform owner for access".into(),
        _ => "see the message; `plughub dev validate` checks the package before publishing".into(),
    }
}

/// PUTs the tarball for `name` to the server, with the token as a bearer; under `tag` when given, else
/// no tag is sent and the server moves `latest` only forward.
pub async fn upload(
    server: &str,
    token: &str,
    name: &str,
    tag: Option<&str>,
    tarball: Vec<u8>,
) -> Result<Answer, PublishError> {
    let url = format!(
        "{}/api/registry/packages/{}",
        server.trim_end_matches('/'),
        package_segment(name)
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|source| PublishError::Unreachable {
            url: url.clone(),
            source,
        })?;
    let mut request = client.put(&url);
    if let Some(tag) = tag {
        request = request.query(&[("tag", tag)]);
    }
    let response = request
        .bearer_auth(token)
        .header("Content-Type", "application/octet-stream")
        .body(tarball)
        .send()
        .await
        .map_err(|source| PublishError::Unreachable {
            url: url.clone(),
            source,
        })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(match status {
        201 => Answer::Published { body },
        202 => {
            let reasons = body["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let mut line = format!(
                        "{}: {}",
                        r["check"].as_str().unwrap_or("check"),
                        r["message"].as_str().unwrap_or_default()
                    );
                    if let Some(file) = r["file"].as_str() {
                        line.push_str(&format!(" ({file})"));
                    }
                    line
                })
                .collect();
            Answer::Quarantined { body, reasons }
        }
        _ => {
            let code = body["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string();
            let message = match body["error"]["message"].as_str() {
                Some(m) => m.to_string(),
                None => format!("the server answered {status}: {body}"),
            };
            Answer::Refused {
                status,
                what_to_do: what_to_do(status, &code, name),
                code,
                message,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_names_travel_in_one_segment() {
        assert_eq!(package_segment("@acme/plugin-x"), "@acme%2Fplugin-x");
        assert_eq!(package_segment("plugin-x"), "plugin-x");
    }

    #[test]
    fn each_refusal_says_what_to_do() {
        assert!(
            what_to_do(403, "namespace_not_held", "@acme/x")
                .contains("claim the publisher of @acme")
        );
        assert!(what_to_do(403, "namespace_on_npm", "@acme/x").contains("prove it is yours"));
        assert!(
            what_to_do(403, "namespace_reserved", "@elizaos/plugin-x").contains("@you/plugin-x")
        );
        assert!(what_to_do(409, "version_exists", "x").contains("bump"));
        assert!(what_to_do(401, "unauthorized", "x").contains("new publish token"));
    }
}
