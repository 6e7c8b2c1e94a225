//! Reading a source from a file or an HTTP(S) URL, with errors that name the source and what went wrong.

use crate::{CatalogError, Result};
pub use plughub_npm::{describe_reqwest, http_client};

pub fn is_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// Reads a whole file or URL. A body shorter than its announced length is an error, not a short read.
pub async fn read_location(
    client: &reqwest::Client,
    source_name: &str,
    location: &str,
) -> Result<Vec<u8>> {
    let fail = |reason: String| CatalogError::Fetch {
        source_name: source_name.to_string(),
        location: location.to_string(),
        reason,
    };
    if !is_url(location) {
        return tokio::fs::read(location)
            .await
            .map_err(|e| fail(e.to_string()));
    }
    let response = client
        .get(location)
        .send()
        .await
        .map_err(|e| fail(describe_reqwest(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("the server answered {status}")));
    }
    let expected = response.content_length();
    let body = response
        .bytes()
        .await
        .map_err(|e| fail(format!("download interrupted: {}", describe_reqwest(&e))))?;
    if let Some(expected) = expected
        && body.len() as u64 != expected
    {
        return Err(fail(format!(
            "truncated download: {} of {expected} bytes",
            body.len()
        )));
    }
    Ok(body.to_vec())
}
