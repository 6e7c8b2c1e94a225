//! `plughub dev validate`: what would stop the plugin from being published, installed or run, each said
//! with its fix. The package is packed as `npm publish` would (so what is checked is what is uploaded),
//! analysed as an install analyses it, and loaded with placeholder settings in plughub's engine.

use crate::pack::{PackError, Packed, pack};
use plughub_analyzer::{Finding, Report, inferred_permissions};
use plughub_domain::CoreMajor;
use plughub_domain::config_schema::{ConfigSchema, ParamType};
use plughub_domain::core_range::{CoreRange, classify};
use plughub_domain::package_name::npm_name_problem;
use plughub_domain::permissions::Permissions;
use plughub_engine::{LoadedPlugin, LocalRuntime, PluginSpec, SandboxPolicy, Settings, WorkerSpec};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How bad a problem is: an error stops `dev publish` (and makes `dev validate` exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub level: Level,
    /// Which check: package, name, version, keywords, settings, core, images, entry, permissions,
    /// load, analysis, size.
    pub check: &'static str,
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// The components the plugin really has after its `init`, as plughub's engine found them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Components {
    pub actions: Vec<String>,
    pub providers: Vec<String>,
    pub evaluators: Vec<String>,
    pub services: Vec<String>,
    pub models: Vec<String>,
    pub routes: Vec<String>,
}

impl Components {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
            && self.providers.is_empty()
            && self.evaluators.is_empty()
            && self.services.is_empty()
            && self.models.is_empty()
            && self.routes.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionsCheck {
    /// What package.json's `plughub.permissions` declares (`None`: nothing declared).
    pub declared: Option<Permissions>,
    /// What the analysis finds the code reaching for.
    pub inferred: Permissions,
}

#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub score: u32,
    pub level: &'static str,
}

/// The packed package, as it will be uploaded.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    pub files: Vec<crate::pack::PackedFile>,
    pub size: u64,
    pub unpacked_size: u64,
    pub integrity: String,
    pub shasum: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub name: Option<String>,
    pub version: Option<String>,
    pub dir: PathBuf,
    /// Whether the plugin was loaded in the OS sandbox (`None`: not loaded).
    pub sandboxed: Option<bool>,
    pub components: Option<Components>,
    pub permissions: Option<PermissionsCheck>,
    pub risk: Option<Risk>,
    pub findings: Vec<Finding>,
    pub packed: Option<PackSummary>,
    pub dependencies: usize,
    pub problems: Vec<Problem>,
    pub ok: bool,
}

/// How to load the plugin in the engine.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub node: PathBuf,
    /// A private folder for the worker's host script and sockets.
    pub run_dir: PathBuf,
    pub sandbox: Option<SandboxPolicy>,
    pub timeout: Duration,
}

/// The result, and the packed tarball (for `dev publish`) when packing worked.
pub struct Outcome {
    pub validation: Validation,
    pub packed: Option<Packed>,
}

/// Above this unpacked size a warning says what makes the package big.
const BIG_PACKAGE: u64 = 5 << 20;

/// Checks the package in `dir`; `work` is a folder of the caller's for the tarball and its unpacked copy.
pub async fn validate(dir: &Path, work: &Path, load: Option<&LoadOptions>) -> Outcome {
    let mut v = Validation {
        name: None,
        version: None,
        dir: dir.to_path_buf(),
        sandboxed: None,
        components: None,
        permissions: None,
        risk: None,
        findings: Vec::new(),
        packed: None,
        dependencies: 0,
        problems: Vec::new(),
        ok: false,
    };
    let manifest = match std::fs::read_to_string(dir.join("package.json")) {
        Err(e) => {
            v.problems.push(error(
                "package",
                format!("no package.json in {} ({e})", dir.display()),
                "run it in the plugin's folder (or give --dir), or make a plugin with `plughub dev init NAME`",
            ));
            return finish(v, None);
        }
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(value) if value.is_object() => value,
            Ok(_) | Err(_) => {
                v.problems.push(error(
                    "package",
                    "package.json is not a JSON object".into(),
                    "fix its syntax (`node -e \"require('./package.json')\"` shows where)",
                ));
                return finish(v, None);
            }
        },
    };
    v.name = manifest["name"].as_str().map(str::to_string);
    v.version = manifest["version"].as_str().map(str::to_string);
    v.dependencies = manifest["dependencies"]
        .as_object()
        .map_or(0, serde_json::Map::len);
    check_manifest(dir, &manifest, &mut v.problems);

    let packed = match pack(dir, work) {
        Ok(packed) => Some(packed),
        Err(e) => {
            let fix = match &e {
                PackError::NoNpm(_) => "install Node.js 20 or later with npm",
                _ => "fix what npm says, then run `npm pack --dry-run` to see what would be packed",
            };
            v.problems.push(error("package", e.to_string(), fix));
            None
        }
    };
    let mut report = None;
    if let Some(packed) = &packed {
        check_packed(dir, &manifest, packed, &mut v.problems);
        v.packed = Some(PackSummary {
            files: packed.files.clone(),
            size: packed.size,
            unpacked_size: packed.unpacked_size,
            integrity: packed.integrity.clone(),
            shasum: packed.shasum.clone(),
        });
        let unpacked = work.join("unpacked");
        let _ = std::fs::remove_dir_all(&unpacked);
        match plughub_install::extract_tarball(
            &packed.bytes,
            &unpacked,
            &plughub_install::ExtractLimits::default(),
        ) {
            Err(e) => v.problems.push(error(
                "package",
                format!("the packed tarball does not unpack as an install unpacks it: {e}"),
                "keep the package within the limits (fewer, smaller files)",
            )),
            Ok(()) => {
                let analysed = tokio::task::spawn_blocking(move || {
                    plughub_analyzer::analyze_package(&unpacked)
                })
                .await;
                match analysed {
                    Ok(Ok(r)) => report = Some(r),
                    Ok(Err(e)) => v.problems.push(error(
                        "analysis",
                        format!("the analysis could not read the package: {e}"),
                        "check that package.json and the built files are readable JavaScript",
                    )),
                    Err(e) => v.problems.push(error(
                        "analysis",
                        format!("the analysis stopped: {e}"),
                        "report this to plughub's maintainers with the package",
                    )),
                }
            }
        }
    }
    if let Some(report) = &report {
        check_analysis(&manifest, report, &mut v);
    }
    if let Some(load) = load
        && entry_file(dir, &manifest).is_some_and(|f| f.is_file())
    {
        load_plugin(dir, &manifest, load, &mut v).await;
    }
    finish(v, packed)
}

fn finish(mut v: Validation, packed: Option<Packed>) -> Outcome {
    v.ok = !v.problems.iter().any(|p| p.level == Level::Error);
    Outcome {
        validation: v,
        packed,
    }
}

fn error(check: &'static str, message: String, fix: &str) -> Problem {
    Problem {
        level: Level::Error,
        check,
        message,
        fix: fix.to_string(),
    }
}

fn warning(check: &'static str, message: String, fix: &str) -> Problem {
    Problem {
        level: Level::Warning,
        check,
        message,
        fix: fix.to_string(),
    }
}

/// The file `import` of the package reaches: exports["."] (import, default, or a string), else module,
/// else main.
fn entry_of(manifest: &Value) -> Option<String> {
    let dot = match &manifest["exports"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => {
            let root = map.get(".").unwrap_or(&manifest["exports"]);
            match root {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => {
                    o.get("import")
                        .or_else(|| o.get("default"))
                        .and_then(|v| match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Object(inner) => inner
                                .get("default")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                            _ => None,
                        })
                }
                _ => None,
            }
        }
        _ => None,
    };
    dot.or_else(|| manifest["module"].as_str().map(str::to_string))
        .or_else(|| manifest["main"].as_str().map(str::to_string))
}

fn entry_file(dir: &Path, manifest: &Value) -> Option<PathBuf> {
    entry_of(manifest).map(|e| dir.join(e.trim_start_matches("./")))
}

fn normalise(path: &str) -> String {
    path.trim_start_matches("./").to_string()
}

fn check_manifest(dir: &Path, m: &Value, problems: &mut Vec<Problem>) {
    match m["name"].as_str() {
        None => problems.push(error(
            "name",
            "package.json has no name".into(),
            "add \"name\": \"plugin-x\" (or \"@your-scope/plugin-x\")",
        )),
        Some(name) => {
            if let Some(problem) = npm_name_problem(name) {
                problems.push(error("name", problem, "rename the package in package.json"));
            } else if !plughub_domain::names::is_plugin_package(name) {
                problems.push(warning(
                    "name",
                    format!("'{name}' does not follow elizaOS's naming (plugin-x or x-plugin)"),
                    "name it plugin-x: agents and the catalogue recognise plugins by it",
                ));
            }
        }
    }
    match m["version"].as_str() {
        None => problems.push(error(
            "version",
            "package.json has no version".into(),
            "add \"version\": \"0.1.0\"",
        )),
        Some(version) if nodejs_semver::Version::parse(version).is_err() => problems.push(error(
            "version",
            format!("version '{version}' is not semver"),
            "use MAJOR.MINOR.PATCH, e.g. \"0.1.0\"",
        )),
        Some(_) => {}
    }
    if m["description"]
        .as_str()
        .is_none_or(|d| d.trim().is_empty())
    {
        problems.push(warning(
            "package",
            "package.json has no description".into(),
            "add a one-line \"description\": the catalogue and search show it",
        ));
    }
    let keywords: Vec<&str> = m["keywords"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !keywords
        .iter()
        .any(|k| matches!(*k, "elizaos" | "elizaos-plugins" | "elizaos-plugin"))
    {
        problems.push(warning(
            "keywords",
            "keywords do not say it is an elizaOS plugin".into(),
            "add \"keywords\": [\"elizaos\", \"elizaos-plugins\", \"plugin\"]: registries and the catalogue find plugins by them",
        ));
    }
    if m["type"].as_str() != Some("module") {
        problems.push(warning(
            "package",
            "package.json does not say \"type\": \"module\"".into(),
            "add \"type\": \"module\" (plugins are ES modules)",
        ));
    }
    check_settings(m, problems);
    check_core(m, problems);
    for image in ["images/icon.png", "images/banner.png"] {
        let path = dir.join(image);
        match std::fs::read(&path) {
            Err(_) => problems.push(error(
                "images",
                format!("{image} is missing"),
                "add it (a PNG: the icon square, e.g. 256×256; the banner e.g. 1280×640); `plughub dev init` makes placeholders",
            )),
            Ok(bytes) if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") => problems.push(error(
                "images",
                format!("{image} is not a PNG"),
                "save it as PNG",
            )),
            Ok(_) => {}
        }
    }
    match entry_of(m) {
        None => problems.push(error(
            "entry",
            "package.json names no entry (exports, module or main)".into(),
            "add \"main\": \"dist/index.js\" and \"exports\": {\".\": {\"import\": \"./dist/index.js\"}}",
        )),
        Some(entry) => {
            let mut named: Vec<String> = vec![normalise(&entry)];
            for key in ["main", "module", "types"] {
                if let Some(file) = m[key].as_str() {
                    named.push(normalise(file));
                }
            }
            named.sort();
            named.dedup();
            for file in named {
                if !dir.join(normalise(&file)).is_file() {
                    problems.push(error(
                        "entry",
                        format!("package.json points at {file}, which does not exist"),
                        "run `npm run build` (or fix the path in package.json)",
                    ));
                }
            }
        }
    }
    check_harness(dir, m, problems);
    if !dir.join("README.md").is_file() {
        problems.push(warning(
            "package",
            "no README.md".into(),
            "add a README.md: the plugin's page shows it",
        ));
    }
}

/// plughub.dev.json, when there is one: JSON, with settings the plugin declares.
fn check_harness(dir: &Path, m: &Value, problems: &mut Vec<Problem>) {
    let Ok(text) = std::fs::read_to_string(dir.join("plughub.dev.json")) else {
        return;
    };
    let harness = match serde_json::from_str::<Value>(&text) {
        Ok(h) if h.is_object() => h,
        _ => {
            problems.push(error(
                "harness",
                "plughub.dev.json is not a JSON object".into(),
                "fix its syntax: {\"settings\": {}, \"http\": [], \"models\": {}}",
            ));
            return;
        }
    };
    let declared = &m["agentConfig"]["pluginParameters"];
    for key in harness["settings"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if declared.get(key).is_none() {
            problems.push(warning(
                "harness",
                format!("plughub.dev.json sets {key}, which agentConfig.pluginParameters does not declare"),
                "declare the setting in package.json (organisations can only set declared settings), or remove it",
            ));
        }
    }
}

fn check_settings(m: &Value, problems: &mut Vec<Problem>) {
    let agent_config = &m["agentConfig"];
    if agent_config.is_null() {
        problems.push(warning(
            "settings",
            "package.json has no agentConfig".into(),
            "add \"agentConfig\": {\"pluginType\": \"elizaos:plugin:1.0.0\", \"pluginParameters\": {}} declaring its settings",
        ));
        return;
    }
    let Some(params) = agent_config.get("pluginParameters") else {
        return;
    };
    let Some(params) = params.as_object() else {
        problems.push(error(
            "settings",
            "agentConfig.pluginParameters is not an object".into(),
            "make it {\"NAME\": {\"type\": \"string\", \"description\": \"…\", \"required\": true}}",
        ));
        return;
    };
    for (name, decl) in params {
        let Some(decl) = decl.as_object() else {
            problems.push(error(
                "settings",
                format!("setting {name} is not an object"),
                "declare it as {\"type\": \"string\", \"description\": \"…\", \"required\": false}",
            ));
            continue;
        };
        match decl.get("type").and_then(Value::as_str) {
            Some("string" | "number" | "boolean" | "array" | "object" | "json") => {}
            other => problems.push(error(
                "settings",
                format!(
                    "setting {name} has type {}",
                    other.map_or("nothing".to_string(), |t| format!("'{t}'"))
                ),
                "give \"type\": one of string, number, boolean, array, object",
            )),
        }
        if decl
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(|d| d.trim().is_empty())
        {
            problems.push(warning(
                "settings",
                format!("setting {name} has no description"),
                "add \"description\": organisations read it when they configure the plugin",
            ));
        }
        for flag in ["required", "sensitive"] {
            if let Some(value) = decl.get(flag)
                && !value.is_boolean()
            {
                problems.push(error(
                    "settings",
                    format!("setting {name}: \"{flag}\" is {value}, not true or false"),
                    "write true or false, without quotes",
                ));
            }
        }
        if decl.get("sensitive").is_none() && plughub_domain::config_schema::looks_sensitive(name) {
            problems.push(warning(
                "settings",
                format!("setting {name} looks like a secret but is not marked sensitive"),
                "add \"sensitive\": true so that it is sealed at rest and never shown back",
            ));
        }
    }
    for note in ConfigSchema::from_declarations(Some(agent_config), None).notes {
        problems.push(warning(
            "settings",
            note,
            "declare the setting as documented in the guide",
        ));
    }
}

fn check_core(m: &Value, problems: &mut Vec<Problem>) {
    let peer = m["peerDependencies"]["@elizaos/core"].as_str();
    let dependency = m["dependencies"]["@elizaos/core"].as_str();
    if dependency.is_some() {
        problems.push(warning(
            "core",
            "@elizaos/core is a dependency: the plugin would bring its own copy of core".into(),
            "move it to peerDependencies (\"^1.0.0\") and devDependencies (an exact version)",
        ));
    }
    let Some(range) = peer.or(dependency) else {
        problems.push(error(
            "core",
            "@elizaos/core is not a peer dependency: nothing says which elizaOS the plugin works with".into(),
            "add \"peerDependencies\": {\"@elizaos/core\": \"^1.0.0\"}",
        ));
        return;
    };
    match classify(range) {
        CoreRange::Dirty(why) => problems.push(error(
            "core",
            format!("@elizaos/core {why}"),
            "give a semver range of the majors it works with, e.g. \"^1.0.0\"",
        )),
        CoreRange::Clean(majors)
            if !majors
                .iter()
                .any(|m| matches!(m, CoreMajor::V1 | CoreMajor::V2)) =>
        {
            problems.push(error(
                "core",
                format!(
                    "@elizaos/core '{range}' admits no elizaOS plughub runs plugins of (1.x, 2.x)"
                ),
                "build against @elizaos/core 1.x and declare \"^1.0.0\"",
            ))
        }
        CoreRange::Clean(_) => {}
    }
}

fn check_packed(dir: &Path, m: &Value, packed: &Packed, problems: &mut Vec<Problem>) {
    let has = |file: &str| packed.files.iter().any(|f| f.path == normalise(file));
    let mut wanted: Vec<String> = vec!["images/icon.png".into(), "images/banner.png".into()];
    wanted.extend(entry_of(m));
    for file in wanted {
        // A file that is not there at all has its own error already.
        if dir.join(normalise(&file)).is_file() && !has(&file) {
            problems.push(error(
                "package",
                format!("{file} would not be published (npm pack leaves it out)"),
                "add its folder to \"files\" in package.json (\"dist\", \"images\") and check .npmignore",
            ));
        }
    }
    if packed.unpacked_size > BIG_PACKAGE {
        let mut biggest = packed.files.clone();
        biggest.sort_by_key(|f| std::cmp::Reverse(f.size));
        let top: Vec<String> = biggest
            .iter()
            .take(3)
            .map(|f| format!("{} ({} kB)", f.path, f.size / 1024))
            .collect();
        problems.push(warning(
            "size",
            format!(
                "the package unpacks to {:.1} MB; biggest: {}",
                packed.unpacked_size as f64 / 1048576.0,
                top.join(", ")
            ),
            "leave out what the plugin does not need at run time (\"files\" in package.json)",
        ));
    }
    if packed
        .files
        .iter()
        .any(|f| f.path.starts_with("src/") && f.path.ends_with(".ts"))
    {
        problems.push(warning(
            "package",
            "the TypeScript sources would be published as well as dist/".into(),
            "set \"files\": [\"dist\", \"images\", \"README.md\"]",
        ));
    }
}

fn check_analysis(m: &Value, report: &Report, v: &mut Validation) {
    v.risk = Some(Risk {
        score: report.score,
        level: report.level.as_str(),
    });
    v.findings = report.findings.clone();
    if report.level == plughub_domain::RiskLevel::High {
        v.problems.push(warning(
            "analysis",
            format!("the risk score is {} (high)", report.score),
            "look at the findings: a registry may hold a high-risk version for a moderator",
        ));
    }
    let inferred = inferred_permissions(&report.uses);
    let declared = match m.pointer("/plughub/permissions") {
        None => None,
        Some(value) => match Permissions::parse(value) {
            Ok(p) => Some(p),
            Err(e) => {
                v.problems.push(error(
                    "permissions",
                    format!("plughub.permissions cannot be read: {e}"),
                    "write it as {\"network.external\": [\"api.example.com\"], \"secrets.access\": [\"X_API_KEY\"], \"storage.read\": true}",
                ));
                v.permissions = Some(PermissionsCheck {
                    declared: None,
                    inferred,
                });
                return;
            }
        },
    };
    let given = declared.clone().unwrap_or_default();
    let missing = inferred.beyond(&given);
    if declared.is_none() && !inferred.is_empty() {
        v.problems.push(warning(
            "permissions",
            "package.json declares no plughub.permissions; organisations see only what the analysis guesses".into(),
            &format!(
                "add \"plughub\": {{\"permissions\": {}}}",
                serde_json::to_string(&inferred).unwrap_or_default()
            ),
        ));
    }
    if let Some(domains) = &missing.network {
        if domains.is_empty() {
            v.problems.push(error(
                "permissions",
                "the code reaches the network, but plughub.permissions declares no domain".into(),
                "add \"network.external\": [\"the.domain.it.calls\"] to plughub.permissions",
            ));
        }
        for domain in domains {
            v.problems.push(error(
                "permissions",
                format!("the code calls {domain}, which plughub.permissions does not declare"),
                &format!("add \"{domain}\" to \"network.external\" in plughub.permissions"),
            ));
        }
    }
    for secret in &missing.secrets {
        v.problems.push(error(
            "permissions",
            format!(
                "the code reads the secret {secret}, which plughub.permissions does not declare"
            ),
            &format!("add \"{secret}\" to \"secrets.access\" in plughub.permissions"),
        ));
    }
    for (flag, asked) in [
        ("storage.read", missing.storage_read),
        ("storage.write", missing.storage_write),
        ("events.publish", missing.events_publish),
        ("knowledge.query", missing.knowledge_query),
    ] {
        if asked {
            v.problems.push(error(
                "permissions",
                format!("the code needs {flag}, which plughub.permissions does not declare"),
                &format!("add \"{flag}\": true to plughub.permissions"),
            ));
        }
    }
    // Secret settings it declares are asked for at install either way; saying so keeps the grant readable.
    let schema = ConfigSchema::from_declarations(m.get("agentConfig"), None);
    for param in schema.params.iter().filter(|p| p.sensitive) {
        if declared
            .as_ref()
            .is_some_and(|d| !d.secrets.contains(&param.name))
        {
            v.problems.push(warning(
                "permissions",
                format!("the secret setting {} is not in secrets.access", param.name),
                &format!(
                    "add \"{}\" to \"secrets.access\" in plughub.permissions",
                    param.name
                ),
            ));
        }
    }
    v.permissions = Some(PermissionsCheck { declared, inferred });
}

/// Settings to load with: plughub.dev.json's, else each declared default, else a placeholder of the
/// setting's type, so that an `init` that checks its settings are there finds them.
pub fn placeholder_settings(dir: &Path, manifest: &Value) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    let schema = ConfigSchema::from_declarations(manifest.get("agentConfig"), None);
    for param in &schema.params {
        let value = param.default.clone().unwrap_or_else(|| match param.kind {
            ParamType::Number => json!(1),
            ParamType::Boolean => json!(false),
            ParamType::Array => json!([]),
            ParamType::Json => json!({}),
            ParamType::String => json!(format!("placeholder-{}", param.name.to_lowercase())),
        });
        values.insert(param.name.clone(), value);
    }
    let dev = std::fs::read_to_string(dir.join("plughub.dev.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    if let Some(settings) = dev.as_ref().and_then(|d| d["settings"].as_object()) {
        for (key, value) in settings {
            values.insert(key.clone(), value.clone());
        }
    }
    values
}

async fn load_plugin(dir: &Path, manifest: &Value, load: &LoadOptions, v: &mut Validation) {
    let spec = PluginSpec {
        worker: WorkerSpec {
            node: load.node.clone(),
            package_dir: dir.to_path_buf(),
            run_dir: load.run_dir.clone(),
            env: vec![("NODE_ENV".into(), "production".into())],
            start_timeout: load.timeout,
            memory_mb: Some(512),
            sandbox: load.sandbox.clone(),
            egress: None,
            egress_hooks: None,
            caps: Default::default(),
            pool: None,
            urgency: plughub_engine::Urgency::Now,
        },
        settings: Settings {
            values: placeholder_settings(dir, manifest),
            agent_id: "00000000-0000-0000-0000-00000000da7a".into(),
            character: json!({ "name": "validate" }),
        },
        init_timeout: load.timeout,
    };
    v.sandboxed = Some(load.sandbox.is_some());
    match LoadedPlugin::load(&spec, Arc::new(LocalRuntime::default())).await {
        Err(e) => v.problems.push(error(
            "load",
            format!("the plugin does not load and init in plughub's engine: {e}"),
            "run `npm run build`; check that src/index.ts exports the plugin as default, and that init needs no network (none is given here) nor settings beyond plughub.dev.json's",
        )),
        Ok(plugin) => {
            let m = plugin.manifest();
            let names = |list: &[plughub_protocol::Component]| -> Vec<String> {
                list.iter().map(|c| c.name.clone()).collect()
            };
            let components = Components {
                actions: names(&m.actions),
                providers: names(&m.providers),
                evaluators: names(&m.evaluators),
                services: m.services.iter().map(|s| s.service_type.clone()).collect(),
                models: m.models.clone(),
                routes: m.routes.clone(),
            };
            if components.is_empty() {
                v.problems.push(warning(
                    "load",
                    "the plugin has no action, provider, evaluator, service, model or route".into(),
                    "add its components to the plugin object (actions: [...], providers: [...])",
                ));
            }
            v.components = Some(components);
            plugin.worker().kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_settings_take_the_harness_then_defaults_then_a_value_of_the_type() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plughub.dev.json"),
            r#"{"settings": {"X_API_KEY": "from-harness"}}"#,
        )
        .unwrap();
        let manifest = json!({"agentConfig": {"pluginParameters": {
            "X_API_KEY": {"type": "string", "required": true, "sensitive": true},
            "X_UNITS": {"type": "string", "default": "metric"},
            "X_LIMIT": {"type": "number"},
            "X_LOUD": {"type": "boolean"},
        }}});
        let values = placeholder_settings(dir.path(), &manifest);
        assert_eq!(values["X_API_KEY"], "from-harness");
        assert_eq!(values["X_UNITS"], "metric");
        assert_eq!(values["X_LIMIT"], 1);
        assert_eq!(values["X_LOUD"], false);
    }

    #[test]
    fn the_entry_is_what_import_reaches() {
        assert_eq!(
            entry_of(
                &json!({"exports": {".": {"types": "./d.ts", "import": "./dist/index.js"}}, "main": "x.js"})
            ),
            Some("./dist/index.js".into())
        );
        assert_eq!(
            entry_of(&json!({"exports": "./e.js"})),
            Some("./e.js".into())
        );
        assert_eq!(
            entry_of(&json!({"main": "dist/index.js"})),
            Some("dist/index.js".into())
        );
        assert_eq!(entry_of(&json!({})), None);
    }
}
