//! The publish-time look at every file of a package: secrets left in it (gitleaks-style rules: the
//! well-known token shapes of the big providers, private key blocks, and long random-looking values
//! assigned to names like `*_KEY`, `*_TOKEN`, `*_SECRET`), and files whose sha512 is on the platform
//! owners' blocklist. A finding names the file, the line and the rule, never the secret itself: the
//! reason is shown to the publisher and stored, and must not become a second copy of the leak.

use regex::Regex;
use serde::Serialize;
use sha2::{Digest, Sha512};
use std::path::Path;
use std::sync::LazyLock;

/// A secret found: where, and which rule; never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFinding {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub rule: &'static str,
}

/// A file of the package with its content's sha512 (hex), for the blocklist.
#[derive(Debug, Clone)]
pub struct FileHash {
    pub file: String,
    pub sha512: String,
}

struct Rule {
    id: &'static str,
    regex: Regex,
    /// The value must also look random (the generic assignment rule only).
    entropy: bool,
}

/// The rules, in order; one finding per line (the first rule that matches), so an Anthropic key is not
/// also reported as an OpenAI one.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |id, pattern: &str, entropy| Rule {
        id,
        regex: Regex::new(pattern).expect("the secret rules compile"),
        entropy,
    };
    vec![
        rule(
            "private-key",
            r"-----BEGIN[A-Z ]{0,30} PRIVATE KEY( BLOCK)?-----",
            false,
        ),
        rule(
            "aws-access-key",
            r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
            false,
        ),
        rule(
            "github-token",
            r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
            false,
        ),
        rule(
            "github-fine-grained-token",
            r"\bgithub_pat_[A-Za-z0-9_]{40,}",
            false,
        ),
        rule("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", false),
        rule("stripe-live-key", r"\b(sk|rk)_live_[A-Za-z0-9]{16,}", false),
        rule("anthropic-api-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}", false),
        rule(
            "openai-api-key",
            r"\bsk-(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
            false,
        ),
        rule("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b", false),
        rule("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}", false),
        rule(
            "generic-secret",
            r#"(?i)[a-z0-9_]*(key|token|secret|password|passwd)["']?\s*[:=]\s*["'`]([A-Za-z0-9+/_=.\-]{20,})["'`]"#,
            true,
        ),
    ]
});

/// Bits per character past which a value reads as random rather than as a word or a placeholder.
const MIN_ENTROPY: f64 = 3.5;

/// Files larger than this are not read for secrets (they are hashed all the same): minified bundles of
/// megabytes are the analyzer's, and a secret in one is still in its source map or sources.
const MAX_SCANNED_BYTES: u64 = 4 << 20;

/// Every secret in the files under `root`, skipping `node_modules` (a dependency's test fixtures are not
/// the publisher's secrets, and npm does not publish them anyway), and every file's hash.
pub fn scan(root: &Path) -> std::io::Result<(Vec<SecretFinding>, Vec<FileHash>)> {
    let mut findings = Vec::new();
    let mut hashes = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != "node_modules" {
                    stack.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path)?;
            hashes.push(FileHash {
                file: relative.clone(),
                sha512: hex::encode(Sha512::digest(&bytes)),
            });
            if bytes.len() as u64 <= MAX_SCANNED_BYTES && !bytes.contains(&0) {
                findings.extend(secrets_in(&relative, &String::from_utf8_lossy(&bytes)));
            }
        }
    }
    Ok((findings, hashes))
}

/// The secrets in one file's text.
pub fn secrets_in(file: &str, text: &str) -> Vec<SecretFinding> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for rule in RULES.iter() {
            let hit = rule.regex.captures_iter(line).any(|c| {
                !rule.entropy
                    || c.get(2)
                        .is_some_and(|v| looks_random(v.as_str()) && !placeholder(v.as_str()))
            });
            if hit {
                out.push(SecretFinding {
                    file: file.to_string(),
                    line: index + 1,
                    rule: rule.id,
                });
                break;
            }
        }
    }
    out
}

fn looks_random(value: &str) -> bool {
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_letter = value.bytes().any(|b| b.is_ascii_alphabetic());
    has_digit && has_letter && entropy(value) >= MIN_ENTROPY
}

/// Values that are obviously not secrets: examples and placeholders.
fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "example",
        "placeholder",
        "your_",
        "your-",
        "xxxx",
        "changeme",
        "dummy",
        "test",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Shannon entropy in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<&'static str> {
        secrets_in("f.js", text)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn each_provider_shape_is_found_and_named() {
        // Built from parts so that this file itself holds no whole secret for other scanners to flag.
        let cases = [
            (
                format!("const k = '{}{}';", "AKIA", "Z7QW3RTY5UIO9PLK"),
                "aws-access-key",
            ),
            (
                format!("x = \"ghp_{}\"", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
                "github-token",
            ),
            (
                format!(
                    "{}{}",
                    "github_pat_", "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH"
                ),
                "github-fine-grained-token",
            ),
            (
                format!("slack: {}-1234567890-abcdefghij", "xoxb"),
                "slack-token",
            ),
            (
                format!("{}{}", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"),
                "stripe-live-key",
            ),
            (
                format!("{}{}", "sk-ant-api03-", "Zx8y7W6v5U4t3S2r1Q0pOnMlKjIh"),
                "anthropic-api-key",
            ),
            (
                format!("{}{}", "sk-proj-", "Zx8y7W6v5U4t3S2r1Q0pOnMlKjIh"),
                "openai-api-key",
            ),
            (
                format!("{}{}", "npm_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
                "npm-token",
            ),
            (
                format!("{}{}", "AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
                "google-api-key",
            ),
            (
                format!("-----BEGIN RSA {}-----", "PRIVATE KEY"),
                "private-key",
            ),
            (format!("-----BEGIN {}-----", "PRIVATE KEY"), "private-key"),
            (
                "const API_TOKEN = \"q8Zr2LmX9vB4nT7kW1pY6sD3\";".to_string(),
                "generic-secret",
            ),
            (
                "apiKey: 'Q8zR2lMx9Vb4Nt7Kw1Py6Sd3Fg'".to_string(),
                "generic-secret",
            ),
        ];
        for (text, rule) in cases {
            assert_eq!(rules(&text), vec![rule], "{text}");
        }
    }

    #[test]
    fn ordinary_code_and_placeholders_are_not_secrets() {
        for text in [
            "const API_KEY = process.env.API_KEY;",
            "const token = runtime.getSetting('X_API_TOKEN');",
            "SECRET_KEY=\"your_secret_key_goes_here_123\"",
            "password: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "const TOKEN_URL = \"https://example.com/oauth/token\";",
            "// see https://docs.example.com/keys",
        ] {
            assert!(rules(text).is_empty(), "{text}: {:?}", rules(text));
        }
    }

    #[test]
    fn a_finding_names_file_and_line_never_the_value() {
        let secret = format!("{}{}", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc");
        let text = format!("line one\nconst s = '{secret}';\n");
        let found = secrets_in("dist/index.js", &text);
        assert_eq!(
            found,
            vec![SecretFinding {
                file: "dist/index.js".into(),
                line: 2,
                rule: "stripe-live-key"
            }]
        );
        assert!(!serde_json::to_string(&found).unwrap().contains(&secret));
    }
}
