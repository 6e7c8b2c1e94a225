//! `plughub dev init`: a new plugin package from a template carried by the binary, in the package shape
//! every plughub example follows (TypeScript in src/, tsup to dist/index.js, TestSuite tests, a
//! plughub.dev.json harness file, declared permissions, images).

use plughub_domain::package_name::{bare_name, npm_name_problem};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The versions a new package pins (exact, so that a build today is the build in a year). Looked up
/// with `npm view` when the templates were written; tsup 8 because 9 wants Node 22 and TypeScript 5
/// because tsup's declaration build needs a TypeScript with a compiler API (7 has none).
pub const TSUP_VERSION: &str = "8.5.0";
pub const TYPESCRIPT_VERSION: &str = "5.9.3";
pub const CORE_VERSION: &str = "1.7.2";
/// The `@elizaos/core` peer range a new plugin declares: the 1.x line plughub runs.
pub const CORE_RANGE: &str = "^1.0.0";

/// The kinds of template.
pub const TEMPLATES: &[&str] = &[
    "action",
    "provider",
    "evaluator",
    "model",
    "service",
    "full",
];

/// Files every template has: (path in the package, content).
const COMMON: &[(&str, &str)] = &[
    (
        "package.json",
        include_str!("../templates/common/package.json"),
    ),
    (
        "tsconfig.json",
        include_str!("../templates/common/tsconfig.json"),
    ),
    (
        "tsup.config.ts",
        include_str!("../templates/common/tsup.config.ts"),
    ),
    ("README.md", include_str!("../templates/common/README.md")),
    (".gitignore", include_str!("../templates/common/gitignore")),
];

const IMAGES: &[(&str, &[u8])] = &[
    (
        "images/icon.png",
        include_bytes!("../templates/common/images/icon.png"),
    ),
    (
        "images/banner.png",
        include_bytes!("../templates/common/images/banner.png"),
    ),
];

macro_rules! kind {
    ($kind:literal) => {
        (
            include_str!(concat!("../templates/", $kind, "/template.json")),
            [
                (
                    "src/index.ts",
                    include_str!(concat!("../templates/", $kind, "/src/index.ts")),
                ),
                (
                    "src/tests.ts",
                    include_str!(concat!("../templates/", $kind, "/src/tests.ts")),
                ),
                (
                    "plughub.dev.json",
                    include_str!(concat!("../templates/", $kind, "/plughub.dev.json")),
                ),
            ],
        )
    };
}

type Kind = (&'static str, [(&'static str, &'static str); 3]);

fn kind(name: &str) -> Option<Kind> {
    Some(match name {
        "action" => kind!("action"),
        "provider" => kind!("provider"),
        "evaluator" => kind!("evaluator"),
        "model" => kind!("model"),
        "service" => kind!("service"),
        "full" => kind!("full"),
        _ => return None,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot name the package so: {0}")]
    BadName(String),
    #[error(
        "unknown template '{0}': choose one of action, provider, evaluator, model, service, full"
    )]
    UnknownTemplate(String),
    #[error(
        "{} is not empty: choose another --dir, or another name, or empty it",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `init` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub name: String,
    pub template: String,
    pub dir: PathBuf,
    pub files: Vec<String>,
    pub next_steps: Vec<String>,
}

/// The words a template's placeholders take for a package name.
struct Words {
    name: String,
    bare: String,
    ident: String,
    prefix: String,
    service_type: String,
}

impl Words {
    fn of(name: &str) -> Words {
        let bare = bare_name(name).to_string();
        // "plugin-weather-now" → stem "weather-now": what settings and components are named after.
        let stem = bare
            .strip_prefix("plugin-")
            .or_else(|| bare.strip_suffix("-plugin"))
            .filter(|s| !s.is_empty())
            .unwrap_or(&bare);
        let parts: Vec<&str> = stem
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect();
        let mut ident = String::new();
        for (i, part) in parts.iter().enumerate() {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                if i == 0 {
                    ident.push(first.to_ascii_lowercase());
                } else {
                    ident.push(first.to_ascii_uppercase());
                }
                ident.push_str(chars.as_str());
            }
        }
        if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
            ident.insert_str(0, "my");
        }
        ident.push_str("Plugin");
        let mut prefix = parts.join("_").to_ascii_uppercase();
        if prefix.is_empty() || prefix.starts_with(|c: char| c.is_ascii_digit()) {
            prefix.insert_str(0, "PLUGIN_");
        }
        Words {
            name: name.to_string(),
            service_type: format!("{}-counter", parts.join("-")),
            bare,
            ident,
            prefix,
        }
    }

    /// The placeholders first without the package-json-only ones; elizaOS's own `{{user1}}`/`{{agent}}`
    /// in examples are left as they are.
    fn fill(&self, text: &str, extra: &[(&str, &str)]) -> String {
        let mut out = text
            .replace("{{name}}", &self.name)
            .replace("{{bare}}", &self.bare)
            .replace("{{ident}}", &self.ident)
            .replace("{{PREFIX}}", &self.prefix)
            .replace("{{service_type}}", &self.service_type);
        for (key, value) in extra {
            out = out.replace(&format!("{{{{{key}}}}}"), value);
        }
        out
    }
}

/// Where `init` writes the package `name` under `parent`: its bare name as the folder.
pub fn target_dir(parent: &Path, name: &str) -> PathBuf {
    parent.join(bare_name(name))
}

/// Writes the package `name` from `template` into `parent/<bare name>`; refuses a bad name, an unknown
/// template and a folder that is not empty (nothing is written then).
pub fn init(parent: &Path, name: &str, template: &str) -> Result<Created, InitError> {
    if let Some(problem) = npm_name_problem(name) {
        return Err(InitError::BadName(problem));
    }
    let (fragment, files) =
        kind(template).ok_or_else(|| InitError::UnknownTemplate(template.to_string()))?;
    let dir = target_dir(parent, name);
    if let Ok(mut entries) = std::fs::read_dir(&dir)
        && entries.next().is_some()
    {
        return Err(InitError::NotEmpty(dir));
    }
    let words = Words::of(name);
    let fragment: Value = serde_json::from_str(&words.fill(fragment, &[]))
        .expect("a template's template.json is JSON");
    let text = |key: &str| fragment[key].as_str().unwrap_or_default().to_string();
    let description = text("description");
    let settings_text = settings_text(&fragment["pluginParameters"]);
    let keywords = fragment["keywords"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let parameters = indented(&fragment["pluginParameters"], 4);
    let permissions = indented(&fragment["permissions"], 4);
    let components = text("components");
    let permissions_text = text("permissions_text");
    let extra: Vec<(&str, &str)> = vec![
        ("description", &description),
        ("template", template),
        ("keywords", &keywords),
        ("pluginParameters", &parameters),
        ("permissions", &permissions),
        ("components", &components),
        ("settings", &settings_text),
        ("permissions_text", &permissions_text),
        ("core_range", CORE_RANGE),
        ("core_version", CORE_VERSION),
        ("tsup_version", TSUP_VERSION),
        ("typescript_version", TYPESCRIPT_VERSION),
    ];
    let mut written = Vec::new();
    let write = |rel: &str, bytes: &[u8], written: &mut Vec<String>| -> Result<(), InitError> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InitError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| InitError::Io { path, source })?;
        written.push(rel.to_string());
        Ok(())
    };
    // In TypeScript the description sits in a single-quoted string literal.
    let escaped = description.replace('\\', "\\\\").replace('\'', "\\'");
    let mut extra_ts = extra.clone();
    extra_ts[0] = ("description", &escaped);
    for (rel, content) in COMMON.iter().chain(files.iter()) {
        let content = if rel.ends_with(".ts") {
            words.fill(content, &extra_ts)
        } else {
            words.fill(content, &extra)
        };
        write(rel, content.as_bytes(), &mut written)?;
    }
    for (rel, bytes) in IMAGES {
        write(rel, bytes, &mut written)?;
    }
    let shown = dir.display().to_string();
    Ok(Created {
        name: name.to_string(),
        template: template.to_string(),
        next_steps: vec![
            format!("cd {shown}"),
            "npm install".into(),
            "npm run build".into(),
            "plughub dev validate".into(),
            "plughub dev test".into(),
        ],
        dir,
        files: written,
    })
}

/// A JSON value pretty-printed to sit `indent` spaces deep in package.json.
fn indented(value: &Value, indent: usize) -> String {
    let pretty = serde_json::to_string_pretty(value).expect("JSON prints");
    pretty.replace('\n', &format!("\n{}", " ".repeat(indent)))
}

fn settings_text(parameters: &Value) -> String {
    let Some(map) = parameters.as_object().filter(|m| !m.is_empty()) else {
        return "None.".into();
    };
    map.iter()
        .map(|(key, spec)| {
            let mut line = format!(
                "- `{key}`: {}",
                spec["description"].as_str().unwrap_or_default()
            );
            if spec["required"] == Value::Bool(true) {
                line.push_str(" (required)");
            }
            if spec["sensitive"] == Value::Bool(true) {
                line.push_str(" (a secret: sealed at rest, shown to the plugin only when granted)");
            }
            if let Some(default) = spec.get("default") {
                line.push_str(&format!(" (default {default})"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_come_from_the_bare_name() {
        let w = Words::of("@acme/plugin-weather-now");
        assert_eq!(w.bare, "plugin-weather-now");
        assert_eq!(w.ident, "weatherNowPlugin");
        assert_eq!(w.prefix, "WEATHER_NOW");
        let w = Words::of("plugin-2fa");
        assert_eq!(w.ident, "my2faPlugin");
        assert_eq!(w.prefix, "PLUGIN_2FA");
    }

    #[test]
    fn every_template_makes_a_package_json_that_parses() {
        for template in TEMPLATES {
            let dir = tempfile::tempdir().unwrap();
            let made = init(dir.path(), "@acme/plugin-thing", template).unwrap();
            let text = std::fs::read_to_string(made.dir.join("package.json")).unwrap();
            let json: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{template}: {e}\n{text}"));
            assert_eq!(json["name"], "@acme/plugin-thing");
            let dev = std::fs::read_to_string(made.dir.join("plughub.dev.json")).unwrap();
            serde_json::from_str::<Value>(&dev).unwrap();
            let index = std::fs::read_to_string(made.dir.join("src/index.ts")).unwrap();
            assert!(
                index.contains("thingPlugin") && !index.contains("{{PREFIX}}"),
                "{template}"
            );
        }
    }
}
