//! What plughub's npm client reads of the npm configuration beyond the default registry: the registries of
//! scopes (`@acme:registry=URL`) and the credentials of registries (`//host[:port]/path/:_authToken=…`,
//! `//host/path/:_auth=…`), from the files npm itself reads (the user's `NPM_CONFIG_USERCONFIG` or
//! `~/.npmrc`, then the project's `./.npmrc`, which wins) and the `npm_config_*` environment. `npm config
//! get` never prints a token, so the files are read. Values expand `${VAR}` as npm does.
//!
//! A credential belongs to the URL prefix it is written for and is sent only to URLs under that prefix
//! (same host, same port, same path prefix): never to another registry, never to the host a redirect
//! points at (reqwest drops the Authorization header on a redirect to another host or port).

use crate::config::with_trailing_slash;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a request to a registry proves who asks.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `_authToken`: `Authorization: Bearer <token>`.
    Bearer(String),
    /// `_auth` (base64 of `user:password`): `Authorization: Basic <_auth>`.
    Basic(String),
}

impl std::fmt::Debug for Credential {
    // A token never reaches a log through a Debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(…)"),
            Credential::Basic(_) => f.write_str("Basic(…)"),
        }
    }
}

impl Credential {
    pub fn header_value(&self) -> String {
        match self {
            Credential::Bearer(t) => format!("Bearer {t}"),
            Credential::Basic(b) => format!("Basic {b}"),
        }
    }
}

/// The registries and credentials of an npm configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NpmConfig {
    /// The default registry, with a trailing slash.
    pub registry: String,
    /// `@scope` → its registry (trailing slash).
    pub scopes: BTreeMap<String, String>,
    /// npm's "nerf dart" prefix (`//host:port/path/`) → the credential for URLs under it.
    pub credentials: BTreeMap<String, Credential>,
    /// The operator's other settings pnpm must keep (certificate authorities, TLS strictness, proxies,
    /// client certificates, `//host/:username` and `:_password`), copied as they are into the `.npmrc`
    /// pnpm reads.
    pub kept: KeptSettings,
}

/// Settings of the npm configuration passed on to pnpm as they are (later lines of the same key win,
/// `ca[]` lines add up). Debug never prints their values (a `_password`, a key file's path).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeptSettings(pub Vec<(String, String)>);

impl std::fmt::Debug for KeptSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=…")))
            .finish()
    }
}

/// Top-level npm settings pnpm understands that an operator sets for their network.
const KEPT_KEYS: &[&str] = &[
    "ca",
    "ca[]",
    "cafile",
    "cert",
    "key",
    "certfile",
    "keyfile",
    "strict-ssl",
    "proxy",
    "https-proxy",
    "noproxy",
    "no-proxy",
    "local-address",
];

/// Per-registry settings (`//host/:name`) kept besides the credentials plughub reads itself.
const KEPT_REGISTRY_KEYS: &[&str] = &[
    "username",
    "_password",
    "certfile",
    "keyfile",
    "cert",
    "key",
    "ca",
];

impl NpmConfig {
    /// Only a default registry: no scopes, no credentials (what the server's public pass-through uses).
    pub fn plain(registry: &str) -> NpmConfig {
        NpmConfig {
            registry: with_trailing_slash(registry),
            ..Default::default()
        }
    }

    /// `registry` as the default, with the scopes and credentials of the npm configuration files and
    /// environment of this process.
    pub fn with_files(registry: &str) -> NpmConfig {
        let mut config = NpmConfig::plain(registry);
        let texts = match PINNED_FILES.get() {
            Some(texts) => texts.clone(),
            None => read_config_files(),
        };
        for text in texts {
            config.read_npmrc(&text, &|v| std::env::var(v).ok());
        }
        // npm_config_* variables are the last word, as in npm (`npm_config_@acme:registry=…`).
        for (key, value) in std::env::vars() {
            let lower = key.to_ascii_lowercase();
            if let Some(rest) = lower.strip_prefix("npm_config_")
                && (rest.starts_with('@') || rest.starts_with("//"))
            {
                let key = &key["npm_config_".len()..];
                config.set(key, &value);
            } else if let Some(rest) = lower.strip_prefix("npm_config_") {
                // `npm_config_strict_ssl=false` and the like: pnpm runs with a cleared environment, so
                // the operator's network settings reach it through its configuration file.
                let key = rest.replace('_', "-");
                if KEPT_KEYS.contains(&key.as_str()) {
                    config.set(&key, &value);
                }
            }
        }
        config
    }

    /// Reads one `.npmrc` text into this configuration (later lines and files win).
    pub fn read_npmrc(&mut self, text: &str, env: &dyn Fn(&str) -> Option<String>) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            self.set(key.trim(), &expand(value, env));
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        let kept = KEPT_KEYS.contains(&key)
            || key.starts_with("//")
                && key
                    .rsplit_once(':')
                    .is_some_and(|(prefix, k)| prefix.len() > 2 && KEPT_REGISTRY_KEYS.contains(&k));
        if kept {
            if key != "ca[]" {
                self.kept.0.retain(|(k, _)| k != key);
            }
            self.kept.0.push((key.to_string(), value.to_string()));
            return;
        }
        if let Some(scope) = key.strip_suffix(":registry")
            && scope.starts_with('@')
        {
            self.scopes
                .insert(scope.to_ascii_lowercase(), with_trailing_slash(value));
        } else if let Some(prefix) = key.strip_suffix(":_authToken")
            && let Some(prefix) = nerf(prefix)
        {
            self.credentials
                .insert(prefix, Credential::Bearer(value.to_string()));
        } else if let Some(prefix) = key.strip_suffix(":_auth")
            && let Some(prefix) = nerf(prefix)
        {
            self.credentials
                .insert(prefix, Credential::Basic(value.to_string()));
        }
    }

    /// The registry a package's document and tarballs come from: its scope's, else the default.
    pub fn registry_for(&self, name: &str) -> &str {
        name.split_once('/')
            .filter(|(scope, _)| scope.starts_with('@'))
            .and_then(|(scope, _)| self.scopes.get(&scope.to_ascii_lowercase()))
            .unwrap_or(&self.registry)
    }

    /// The credential for `url`: the one of the longest prefix it lies under, if any. Like npm's nerf
    /// darts, a prefix names no scheme; but a credential goes over plain http only when a registry of
    /// this configuration under that prefix is itself an http URL (the operator chose http there): a
    /// token meant for `https://host/` is never sent to `http://host/`.
    pub fn credential_for(&self, url: &str) -> Option<&Credential> {
        let parsed = url::Url::parse(url).ok()?;
        let target = nerf_of_url(url)?;
        let (prefix, credential) = self
            .credentials
            .iter()
            .filter(|(prefix, _)| target.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())?;
        match parsed.scheme() {
            "https" => Some(credential),
            "http" if self.http_registry_under(prefix) => Some(credential),
            _ => None,
        }
    }

    /// Whether a configured registry (the default or a scope's) is an `http:` URL lying under `prefix`.
    fn http_registry_under(&self, prefix: &str) -> bool {
        std::iter::once(&self.registry)
            .chain(self.scopes.values())
            .filter(|r| r.starts_with("http:"))
            .filter_map(|r| nerf_of_url(r))
            .any(|n| n.starts_with(prefix) || with_trailing_slash(&n) == prefix)
    }

    /// This configuration as an `.npmrc` (for pnpm, so that it asks the same registries with the same
    /// credentials).
    pub fn to_npmrc(&self) -> String {
        let mut out = format!("registry={}\n", self.registry);
        for (scope, url) in &self.scopes {
            out.push_str(&format!("{scope}:registry={url}\n"));
        }
        for (prefix, credential) in &self.credentials {
            match credential {
                Credential::Bearer(t) => out.push_str(&format!("{prefix}:_authToken={t}\n")),
                Credential::Basic(b) => out.push_str(&format!("{prefix}:_auth={b}\n")),
            }
        }
        for (key, value) in &self.kept.0 {
            out.push_str(&format!("{key}={value}\n"));
        }
        out
    }

    /// What to tell someone a registry refused: which line to add, and where.
    pub fn refusal_advice(&self, url: &str) -> String {
        let prefix = nerf_of_url(url)
            .map(|n| registry_prefix(&n, &self.registry, &self.scopes))
            .unwrap_or_else(|| "//host/path/".into());
        let has = self.credential_for(url).is_some();
        if has {
            format!(
                "the token configured for {prefix} was refused: check it (`{prefix}:_authToken=…` in ~/.npmrc, NPM_CONFIG_USERCONFIG or the project's .npmrc)"
            )
        } else {
            format!(
                "no token is configured for it; if it needs one, add `{prefix}:_authToken=<token>` (or `${{NPM_TOKEN}}`) to ~/.npmrc, the file NPM_CONFIG_USERCONFIG names, or the project's .npmrc"
            )
        }
    }
}

/// The registry (of the default and the scopes) whose prefix `target` lies under, else `target`'s own
/// folder.
fn registry_prefix(target: &str, default: &str, scopes: &BTreeMap<String, String>) -> String {
    std::iter::once(default)
        .chain(scopes.values().map(String::as_str))
        .filter_map(nerf_of_url)
        .filter(|p| target.starts_with(p.as_str()))
        .max_by_key(String::len)
        .unwrap_or_else(|| match target.rfind('/') {
            Some(i) => target[..=i].to_string(),
            None => target.to_string(),
        })
}

/// `${VAR}` replaced by the variable's value (empty when unset), as npm does.
fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + end];
        out.push_str(&env(name).unwrap_or_default());
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// A configured prefix, normalised: `//Host:443/path` → `//host:443/path/`; None without a host
/// (`//:_authToken`, which would otherwise be a prefix of every URL).
fn nerf(prefix: &str) -> Option<String> {
    if !prefix.starts_with("//") {
        return None;
    }
    nerf_of_url(&format!("http:{prefix}"))
        .filter(|n| n.len() > 2 && !n.starts_with("///"))
        .map(|n| with_trailing_slash(&n))
}

/// `https://host:8443/a/b` → `//host:8443/a/b` (the port only when not the scheme's default, as npm).
fn nerf_of_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("//{host}{port}{}", parsed.path()))
}

/// The configuration files' texts as read when `pin` was called, when it was.
static PINNED_FILES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Reads the configuration files now and uses what they said from then on (see
/// `crate::pin_configuration`).
pub(crate) fn pin() {
    let _ = PINNED_FILES.set(read_config_files());
}

fn read_config_files() -> Vec<String> {
    config_files()
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .collect()
}

/// The files npm reads, lowest precedence first: the user's configuration, then the project's.
fn config_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let user = ["NPM_CONFIG_USERCONFIG", "npm_config_userconfig"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|s| !s.is_empty()))
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".npmrc")));
    files.extend(user);
    files.push(PathBuf::from(".npmrc"));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> NpmConfig {
        let mut c = NpmConfig::plain("http://127.0.0.1:4873");
        c.read_npmrc(text, &|v| (v == "NPM_TOKEN").then(|| "from-env".into()));
        c
    }

    #[test]
    fn scopes_route_their_names_only() {
        let c = config("@Private:registry=http://127.0.0.1:9/p\n");
        assert_eq!(c.registry_for("@private/x"), "http://127.0.0.1:9/p/");
        assert_eq!(c.registry_for("@other/x"), "http://127.0.0.1:4873/");
        assert_eq!(c.registry_for("private"), "http://127.0.0.1:4873/");
    }

    #[test]
    fn tokens_go_only_under_their_prefix() {
        let c = config(
            "@p:registry=http://127.0.0.1:9/p/\n//127.0.0.1:9/p/:_authToken=${NPM_TOKEN}\n//127.0.0.1:4873/:_auth=dTpw\n; comment\n",
        );
        assert_eq!(
            c.credential_for("http://127.0.0.1:9/p/@private%2fx"),
            Some(&Credential::Bearer("from-env".into()))
        );
        assert_eq!(
            c.credential_for("http://127.0.0.1:9/p/x/-/x-1.0.0.tgz")
                .map(Credential::header_value),
            Some("Bearer from-env".into())
        );
        // Another port, another path, another host: nothing.
        assert_eq!(c.credential_for("http://127.0.0.1:10/p/x"), None);
        assert_eq!(c.credential_for("http://127.0.0.1:9/q/x"), None);
        assert_eq!(c.credential_for("http://127.0.0.2:9/p/x"), None);
        assert_eq!(c.credential_for("http://127.0.0.1:9/pp/x"), None);
        assert_eq!(
            c.credential_for("http://127.0.0.1:4873/x"),
            Some(&Credential::Basic("dTpw".into()))
        );
        assert!(format!("{c:?}").contains("Bearer(…)") && !format!("{c:?}").contains("from-env"));
        let rc = c.to_npmrc();
        assert!(
            rc.contains("//127.0.0.1:9/p/:_authToken=from-env") && rc.starts_with("registry="),
            "{rc}"
        );
    }

    #[test]
    fn a_token_for_an_https_registry_never_goes_over_http() {
        let mut c = NpmConfig::plain("https://reg.test/");
        c.read_npmrc("//reg.test/:_authToken=t\n", &|_| None);
        assert!(c.credential_for("https://reg.test/x").is_some());
        assert_eq!(c.credential_for("http://reg.test/x"), None);
        // Configured from an http registry: the operator chose http there.
        let mut c = NpmConfig::plain("http://reg.test/");
        c.read_npmrc("//reg.test/:_authToken=t\n", &|_| None);
        assert!(c.credential_for("http://reg.test/x").is_some());
        assert_eq!(c.credential_for("ftp://reg.test/x"), None);
    }

    #[test]
    fn a_credential_without_a_host_is_dropped() {
        let c = config("//:_authToken=t\n//:_auth=dTpw\n");
        assert!(c.credentials.is_empty(), "{c:?}");
        assert_eq!(c.credential_for("http://127.0.0.1:4873/x"), None);
    }

    #[test]
    fn the_operator_s_network_settings_reach_pnpm() {
        let c = config(
            "cafile=/etc/ca.pem\nstrict-ssl=false\nproxy=http://proxy:3128\nhttps-proxy=http://proxy:3128\nca[]=A\nca[]=B\ncertfile=/c\nkeyfile=/k\n//127.0.0.1:4873/:username=u\n//127.0.0.1:4873/:_password=c2VjcmV0\nunknown=1\n",
        );
        let rc = c.to_npmrc();
        for line in [
            "cafile=/etc/ca.pem",
            "strict-ssl=false",
            "proxy=http://proxy:3128",
            "https-proxy=http://proxy:3128",
            "ca[]=A",
            "ca[]=B",
            "certfile=/c",
            "keyfile=/k",
            "//127.0.0.1:4873/:username=u",
            "//127.0.0.1:4873/:_password=c2VjcmV0",
        ] {
            assert!(rc.lines().any(|l| l == line), "{line} missing from {rc}");
        }
        assert!(!rc.contains("unknown"), "{rc}");
        assert!(!format!("{c:?}").contains("c2VjcmV0"), "{c:?}");
    }

    #[test]
    fn advice_names_the_line_to_add() {
        let c = config("@private:registry=http://127.0.0.1:9/p/\n");
        let advice = c.refusal_advice("http://127.0.0.1:9/p/@private%2fx");
        assert!(
            advice.contains("`//127.0.0.1:9/p/:_authToken=<token>`"),
            "{advice}"
        );
    }
}
