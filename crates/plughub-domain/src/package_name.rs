//! npm's rules for a package name (those of `validate-npm-package-name` for new packages), each broken
//! rule said in words: the one check behind `dev init`, `dev validate` and what plughub's registry takes,
//! so an author is refused before anything is written by the same rule a publish would meet.

/// Node's built-in modules: npm refuses them as new package names.
const BUILTINS: &[&str] = &[
    "assert",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// Why `name` cannot be a new npm package's name, or `None` when it can.
pub fn npm_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a package name cannot be empty".into());
    }
    if name.len() > 214 {
        return Some(format!(
            "'{name}' is {} characters long; npm allows 214 at most",
            name.len()
        ));
    }
    if name.trim() != name {
        return Some(format!("'{name}' has spaces around it"));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "'{name}' has capital letters; npm names are lowercase (try '{}')",
            name.to_ascii_lowercase()
        ));
    }
    let (scope, bare) = match name.strip_prefix('@') {
        Some(rest) => match rest.split_once('/') {
            Some((scope, bare)) if !scope.is_empty() && !bare.is_empty() => (Some(scope), bare),
            _ => {
                return Some(format!("'{name}' starts with @ but is not @scope/name"));
            }
        },
        None => (None, name),
    };
    if bare.contains('/') {
        return Some(match scope {
            Some(_) => format!("'{name}' has more than one /"),
            None => format!("'{name}' has a /; only a scoped name (@scope/name) has one"),
        });
    }
    for part in scope.into_iter().chain([bare]) {
        if part.starts_with('.') || part.starts_with('_') {
            return Some(format!("'{name}': a name cannot start with '.' or '_'"));
        }
        if let Some(c) = part
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(*c)))
        {
            return Some(format!(
                "'{name}' has '{c}'; npm names use only lowercase letters, digits and - . _"
            ));
        }
    }
    if scope.is_none()
        && (BUILTINS.contains(&bare) || bare == "node_modules" || bare == "favicon.ico")
    {
        return Some(format!(
            "'{name}' is reserved (a Node.js module or npm's own); pick another name, e.g. plugin-{name}"
        ));
    }
    None
}

/// The name without its scope: `plugin-x` for `@acme/plugin-x`.
pub fn bare_name(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_npm_accepts_pass_and_others_say_why() {
        for ok in ["plugin-x", "@acme/plugin-x", "a.b_c-d", "plugin-2"] {
            assert_eq!(npm_name_problem(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("Plugin-X", "capital"),
            ("plugin x", "has ' '"),
            ("@acme", "@scope/name"),
            ("_x", "cannot start"),
            ("a/b", "only a scoped"),
            ("@a/b/c", "more than one"),
            ("http", "reserved"),
            ("plugin-é", "lowercase letters"),
            // npm refuses ~'!()* in new names (validate-npm-package-name).
            ("plugin~x", "has '~'"),
            ("", "empty"),
        ] {
            let problem = npm_name_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
        assert!(npm_name_problem(&"x".repeat(215)).unwrap().contains("214"));
    }
}
