//! The npm registry of the user's npm configuration, so that mirrors and private registries just work.
//! Order: the `NPM_CONFIG_REGISTRY` environment variable, then `npm config get registry` (which reads every
//! `.npmrc` npm itself reads), then `registry=` in `./.npmrc` and `~/.npmrc` when npm is not installed.

use std::path::PathBuf;
use std::process::Command;

/// No npm registry could be found in the environment or the npm configuration.
#[derive(Debug, thiserror::Error)]
#[error(
    "no npm registry is configured: set NPM_CONFIG_REGISTRY or `npm config set registry <url>`"
)]
pub struct NoNpmRegistry;

/// The registry as read when `pin` was called, when it was.
static PINNED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Reads the registry now and answers with it from then on (see `crate::pin_configuration`).
pub(crate) fn pin() {
    let _ = PINNED.set(find().ok());
}

pub fn npm_registry_url() -> Result<String, NoNpmRegistry> {
    match PINNED.get() {
        Some(pinned) => pinned.clone().ok_or(NoNpmRegistry),
        None => find(),
    }
}

fn find() -> Result<String, NoNpmRegistry> {
    for var in ["NPM_CONFIG_REGISTRY", "npm_config_registry"] {
        if let Ok(url) = std::env::var(var)
            && !url.trim().is_empty()
        {
            return Ok(with_trailing_slash(url.trim()));
        }
    }
    if let Ok(out) = Command::new("npm")
        .args(["config", "get", "registry"])
        .output()
        && out.status.success()
    {
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if url.starts_with("http") {
            return Ok(with_trailing_slash(&url));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let files = [
        Some(PathBuf::from(".npmrc")),
        home.map(|h| h.join(".npmrc")),
    ];
    for file in files.into_iter().flatten() {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Some(url) = registry_from_npmrc(&text)
        {
            return Ok(with_trailing_slash(&url));
        }
    }
    Err(NoNpmRegistry)
}

fn registry_from_npmrc(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "registry").then(|| value.trim().to_string())
    })
}

pub fn with_trailing_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npmrc_registry_lines_are_found_among_others() {
        let rc = "fund=false\n@my:registry=http://127.0.0.1:1/scoped\nregistry = http://127.0.0.1:4873 \n";
        assert_eq!(
            registry_from_npmrc(rc).as_deref(),
            Some("http://127.0.0.1:4873")
        );
        assert_eq!(registry_from_npmrc("fund=false\n"), None);
        assert_eq!(
            with_trailing_slash("http://127.0.0.1:4873"),
            "http://127.0.0.1:4873/"
        );
    }
}

/// `url` without its user name and password (`https://user:pass@host/` → `https://host/`): for error
/// messages, and for a client that must send no credential of the operator's. Not a URL: as it is.
pub fn without_userinfo(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod userinfo_tests {
    #[test]
    fn userinfo_is_stripped() {
        assert_eq!(
            super::without_userinfo("https://u:secret@reg.test/npm/"),
            "https://reg.test/npm/"
        );
        assert_eq!(
            super::without_userinfo("http://reg.test/"),
            "http://reg.test/"
        );
    }
}
