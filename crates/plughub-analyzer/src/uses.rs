//! What a package's code reaches for, as evidence for the permissions it needs when it declares none:
//! the network (modules and `fetch`), the hosts of the URLs it is written against, the runtime methods it
//! calls and the settings it reads. It is evidence, not a proof: what the code builds at run time is not
//! seen, and the sandbox enforces the grant whatever was inferred.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Modules that open network connections.
const NETWORK_MODULES: [&str; 12] = [
    "http",
    "https",
    "http2",
    "net",
    "tls",
    "dgram",
    "undici",
    "axios",
    "node-fetch",
    "got",
    "ws",
    "cross-fetch",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uses {
    /// A network module or `fetch` is used.
    pub network: bool,
    /// Hosts of absolute URLs the code calls or keeps as endpoints (`fetch("https://api…")`,
    /// `const BASE_URL = "https://…"`, `{ baseURL: "https://…" }`).
    pub hosts: BTreeSet<String>,
    /// Methods called on something named like the runtime (`runtime.getMemories`, `this.runtime.emitEvent`).
    pub runtime_calls: BTreeSet<String>,
    /// Names read with `runtime.getSetting("NAME")`.
    pub settings: BTreeSet<String>,
}

impl Uses {
    pub fn merge(&mut self, other: Uses) {
        self.network |= other.network;
        self.hosts.extend(other.hosts);
        self.runtime_calls.extend(other.runtime_calls);
        self.settings.extend(other.settings);
    }

    pub(crate) fn module(&mut self, name: &str) {
        let bare = name.strip_prefix("node:").unwrap_or(name);
        let root = bare.split('/').next().unwrap_or(bare);
        if NETWORK_MODULES.contains(&bare) || NETWORK_MODULES.contains(&root) {
            self.network = true;
        }
    }

    /// Records the host of `text` when it is an absolute web URL of a named host.
    pub(crate) fn endpoint(&mut self, text: &str) {
        if let Some(host) = url_host(text) {
            self.hosts.insert(host);
        }
    }
}

/// The host of an absolute `http(s)://` or `ws(s)://` URL, lowercased; `None` for anything else, for
/// addresses, and for hosts that are never an endpoint (localhost, the example domains).
pub fn url_host(text: &str) -> Option<String> {
    let rest = ["https://", "http://", "wss://", "ws://"]
        .iter()
        .find_map(|scheme| text.strip_prefix(scheme))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if host_port.starts_with('[') {
        return None;
    } else {
        host_port.split(':').next()?
    }
    .trim_end_matches('.')
    .to_ascii_lowercase();
    let named = host.contains('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host
            .split('.')
            .all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    // Names that are never an endpoint: the example domains, and hosts whose URLs name XML and schema
    // namespaces (identifiers, not addresses anyone fetches).
    let placeholder = host == "localhost"
        || [
            "example.com",
            "example.org",
            "example.net",
            "www.w3.org",
            "json-schema.org",
            "schemas.xmlsoap.org",
            "schemas.openxmlformats.org",
            "schemas.microsoft.com",
            "purl.org",
            "ns.adobe.com",
        ]
        .iter()
        .any(|e| host == *e || host.ends_with(&format!(".{e}")));
    (named && !placeholder).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://API.openai.com/v1/chat").as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(
            url_host("wss://user:pw@stream.binance.com:9443/ws").as_deref(),
            Some("stream.binance.com")
        );
        assert_eq!(url_host("http://127.0.0.1:8080/"), None);
        assert_eq!(url_host("https://api.example.com/x"), None);
        assert_eq!(url_host("see https://docs.x.io"), None);
        assert_eq!(url_host("http://localhost:3000"), None);
        assert_eq!(url_host("http://www.w3.org/2000/svg"), None);
    }

    #[test]
    fn modules() {
        let mut uses = Uses::default();
        uses.module("node:path");
        assert!(!uses.network);
        uses.module("axios/dist/node/axios.cjs");
        assert!(uses.network);
    }
}

#[cfg(test)]
mod source_tests {
    use crate::uses_of_source;

    #[test]
    fn a_plugin_source_shows_its_reach() {
        let source = r#"
            import axios from "axios";
            const BASE_URL = "https://api.weather.io/v2";
            const client = { baseURL: "https://geo.weather.io" };
            export const action = {
              handler: async (runtime, message) => {
                const key = runtime.getSetting("WEATHER_API_KEY");
                const root = getSetting(runtime, "WEATHER_ROOT", "https://root.weather.io/v1");
                const cached = await runtime.getCache("last");
                await this.runtime.createMemory({ content: {} }, "messages");
                await fetch("https://alerts.weather.io/feed?x=1");
                console.log("see https://docs.weather.io for help");
                const base = runtime.getSetting("WEATHER_BASE") ?? "https://fallback.weather.io";
                return axios.get(`${BASE_URL}/now`);
              },
            };
        "#;
        let uses = uses_of_source("index.mjs", source);
        assert!(uses.network);
        assert_eq!(
            uses.hosts.iter().map(String::as_str).collect::<Vec<_>>(),
            [
                "alerts.weather.io",
                "api.weather.io",
                "fallback.weather.io",
                "geo.weather.io",
                "root.weather.io"
            ]
        );
        assert_eq!(
            uses.runtime_calls
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["createMemory", "getCache", "getSetting"]
        );
        assert_eq!(
            uses.settings.iter().map(String::as_str).collect::<Vec<_>>(),
            ["WEATHER_API_KEY", "WEATHER_BASE"]
        );
    }

    #[test]
    fn code_without_reach_shows_none() {
        let uses = uses_of_source(
            "a.js",
            "const path = require('path'); module.exports = path.join('a', 'b');",
        );
        assert_eq!(uses, crate::Uses::default());
    }
}
