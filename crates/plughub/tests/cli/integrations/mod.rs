//! Ten elizaOS plugins from the npm registry of this machine's npm configuration, end to end through the
//! binary: each installs, inits in the sandbox, shows its true manifest, and one component runs with
//! plughub's offline model (`@plughub/plugin-local-model`) behind `useModel` and its network calls
//! answered by stubs on loopback that the egress mapping (`--egress-map`) sends its granted domains to.
//! Nothing leaves loopback but the installs from the npm registry: every other domain a plugin reaches
//! for is refused by the address policy. Skipped, with the reason, when npm cannot reach a registry.
//!
//! The tests share one package store and one pnpm under the target folder, so `@elizaos/core`'s tree is
//! fetched once for all of them (and kept between runs).

mod agent;
mod chains;
mod models;
mod services;

use crate::common::*;
use plughub_sdk::test::stub::{Answerer, Stub};
use std::path::{Path, PathBuf};

const ORG: &str = "live";
const AGENT: &str = "eliza";

/// One plugin's world: a data directory of its own (sharing the package store), organisation `live`
/// with agent `eliza` and the offline model active, and the stubs the egress mapping leads to.
pub struct Live {
    dir: tempfile::TempDir,
    /// `--egress-map` and `--egress-map-ca` for every command that runs the plugin.
    mapping: Vec<String>,
    /// The stub every domain the plugin is granted leads to.
    stub: Option<Stub>,
    started: Instant,
    name: &'static str,
}

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("integrations")
}

impl Live {
    /// A new world for `package`, with the offline model installed and active for the agent.
    pub async fn new(package: &'static str) -> Live {
        static TOOLS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let shared = shared();
        std::fs::create_dir_all(shared.join("pnpm-store")).unwrap();
        {
            // pnpm is installed once, from the npm configuration's registry, before the tests share it.
            let _one = TOOLS.lock().await;
            plughub_install::DependencyInstaller::locate(
                &shared.join("tools"),
                shared.join("pnpm-store"),
                &npm_registry(),
            )
            .await
            .expect("pnpm for the integration tests");
        }
        // In the system's temporary folder, not under the target folder: the workers' sockets go in the
        // data directory, and a Unix socket's path has at most 107 bytes (a clone in a deep folder made
        // them too long). On another file system than the shared store, pnpm copies instead of linking.
        let dir = tempfile::tempdir().unwrap();
        let packages = dir.path().join("packages");
        std::fs::create_dir_all(&packages).unwrap();
        for shared_dir in ["tools", "pnpm-store"] {
            std::os::unix::fs::symlink(shared.join(shared_dir), packages.join(shared_dir)).unwrap();
        }
        let live = Live {
            dir,
            mapping: Vec::new(),
            stub: None,
            started: Instant::now(),
            name: package,
        };
        live.ok(&["admin", "create-org", ORG]);
        live.ok(&["agent", "create", AGENT, "--org", ORG]);
        live.ok(&[
            "install",
            "@plughub/plugin-local-model",
            "--org",
            ORG,
            "--grant",
        ]);
        live.ok(&[
            "activate",
            "@plughub/plugin-local-model",
            "--org",
            ORG,
            "--agent",
            AGENT,
        ]);
        live
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The binary on this world's data directory, the registry of the npm configuration, the mapping.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
        cmd.arg("--data-dir").arg(self.dir());
        cmd.args(&self.mapping);
        cmd.env_remove("NPM_CONFIG_REGISTRY")
            .env_remove("PLUGHUB_DATABASE_URL")
            .env_remove("PLUGHUB_EGRESS_MAP")
            .env_remove("PLUGHUB_EGRESS_MAP_CA")
            .env(
                "PLUGHUB_REGISTRY_URL",
                closed_port_url("generated-registry.json"),
            );
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run(self.cmd().args(args))
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}: {args:?}: {}{}",
            self.name,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Installs the plugin from the npm registry (core v1) with `settings`, grants what it asks for,
    /// and activates it for the agent. Of the network it is granted `stubbed` (answered by `answer`) and
    /// the domains its code names, every one mapped to the test's stub (answering 404 what `answer` does
    /// not know); a plugin that names no domain is granted one that never resolves. Nothing it asks for
    /// leaves loopback.
    pub async fn install(
        &mut self,
        settings: &[&str],
        stubbed: &[&str],
        answer: Option<Answerer>,
    ) -> Value {
        // No --core: a plugin whose core range says nothing (`latest`) gets the core it was built
        // against, which --core cannot check.
        let out = self.ok(&["install", self.name, "--org", ORG, "--json"]);
        let record: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(record["state"], "INSTALLED", "{record}");
        if !settings.is_empty() {
            let mut args = vec!["configure", self.name, "--org", ORG];
            args.extend(settings);
            self.ok(&args);
        }
        let view: Value =
            serde_json::from_str(&self.ok(&["permissions", self.name, "--org", ORG, "--json"]))
                .unwrap();
        println!("integration {}: asks for {}", self.name, view["requested"]);
        let mut grants: Vec<String> = Vec::new();
        let mut domains: Vec<String> = stubbed.iter().map(|d| d.to_string()).collect();
        for (permission, asked) in view["requested"].as_object().into_iter().flatten() {
            match permission.as_str() {
                "network.external" => {
                    let named: Vec<String> = asked
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|d| d.as_str().map(str::to_string))
                        .collect();
                    if named.is_empty() && domains.is_empty() {
                        grants.extend(["--domain".into(), "nowhere.invalid".into()]);
                    }
                    domains.extend(named);
                }
                "secrets.access" => {
                    for secret in asked.as_array().into_iter().flatten() {
                        grants.extend(["--secret".into(), secret.as_str().unwrap().to_string()]);
                    }
                }
                _ if asked == &Value::Bool(false) => {}
                other => grants.extend(["--permission".into(), other.to_string()]),
            }
        }
        domains.sort();
        domains.dedup();
        if !domains.is_empty() {
            let answer = answer.unwrap_or_else(|| std::sync::Arc::new(|_: &_| None));
            let stub = Stub::answering(domains.clone(), answer).await.unwrap();
            let ca = self.dir().join("stub-ca.pem");
            std::fs::write(&ca, stub.ca_pem()).unwrap();
            for domain in &domains {
                self.mapping.push("--egress-map".into());
                self.mapping.push(format!("{domain}={}", stub.address()));
                grants.extend(["--domain".into(), domain.clone()]);
            }
            self.mapping
                .push(format!("--egress-map-ca={}", ca.display()));
            self.stub = Some(stub);
        }
        if !grants.is_empty() {
            let mut args = vec!["grant", self.name, "--org", ORG];
            args.extend(grants.iter().map(String::as_str));
            self.ok(&args);
        }
        self.activate();
        record
    }

    /// Activates the plugin for the agent. The elizaOS plugins it depends on are activated with it, and
    /// one that needs a setting first (plugin-browser's plugin-anthropic, …) gets a placeholder, as a
    /// user would give a key.
    fn activate(&self) {
        for _ in 0..10 {
            let out = self.run(&["activate", self.name, "--org", ORG, "--agent", AGENT]);
            if out.status.success() {
                return;
            }
            let said = text(&out.stderr);
            // `error: @elizaos/plugin-x needs KEY, OTHER before it can be used: …`
            let needed = said
                .split_once(" needs ")
                .and_then(|(dependency, rest)| {
                    let dependency = dependency.rsplit(' ').next()?;
                    let (keys, _) = rest.split_once(" before ")?;
                    let keys: Vec<String> = keys
                        .split(',')
                        .map(|k| format!("{}=placeholder", k.trim()))
                        .collect();
                    Some((dependency.to_string(), keys))
                })
                .filter(|(dependency, _)| dependency != self.name);
            let Some((dependency, keys)) = needed else {
                panic!("{}: activate: {said}", self.name);
            };
            println!("integration {}: {dependency} needs {keys:?}", self.name);
            let mut args = vec!["configure", dependency.as_str(), "--org", ORG];
            args.extend(keys.iter().map(String::as_str));
            self.ok(&args);
        }
        panic!("{}: activate: too many settings asked for", self.name);
    }

    /// Its init in the sandbox and the true manifest it shows (`inspect --json`).
    pub fn manifest(&self) -> Value {
        let out = self.run(&[
            "inspect", self.name, "--org", ORG, "--agent", AGENT, "--json",
        ]);
        let said = text(&out.stderr);
        assert!(out.status.success(), "{}: {said}", self.name);
        for warning in said.lines().filter(|l| l.starts_with("warning:")) {
            println!("integration {}: {warning}", self.name);
        }
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        let names = |section: &str| -> Vec<String> {
            manifest[section]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    c.as_str()
                        .or_else(|| c["name"].as_str())
                        .or_else(|| c["serviceType"].as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        };
        println!(
            "integration {}: actions [{}] providers [{}] evaluators [{}] services [{}] models [{}]",
            self.name,
            names("actions").join(", "),
            names("providers").join(", "),
            names("evaluators").join(", "),
            names("services").join(", "),
            names("models").join(", "),
        );
        manifest
    }

    /// Runs a component (`run ACTION` / `provide PROVIDER`) on `text` as the agent; the answer.
    pub fn component(&self, kind: &str, name: &str, text_arg: &str) -> (bool, Value, String) {
        let out = self.run(&[
            kind, self.name, name, "--org", ORG, "--agent", AGENT, "--text", text_arg, "--json",
        ]);
        let answer = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), answer, text(&out.stderr))
    }

    /// The egress proxy's records of the plugin's requests: (host, status).
    pub async fn requests(&self) -> Vec<(String, u64)> {
        store_of(self.dir())
            .await
            .events(&plughub_store::EventFilter {
                event_type: Some(plughub_domain::EventType::PluginNetworkRequest),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.metadata["plugin"] == self.name)
            .inspect(|e| {
                if let Some(why) = e.metadata["refused"].as_str() {
                    println!(
                        "integration {}: {} refused: {why}",
                        self.name, e.metadata["host"]
                    );
                }
            })
            .map(|e| {
                (
                    e.metadata["host"].as_str().unwrap_or_default().to_string(),
                    e.metadata["status"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        println!(
            "integration {}: {:.1} s",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// A JSON-RPC answerer: `method` to its result, for the stubs of chain endpoints.
pub fn json_rpc(results: fn(&str, &Value) -> Option<Value>) -> Answerer {
    std::sync::Arc::new(move |asked| {
        let request = asked.json()?;
        let one = |call: &Value| {
            let method = call["method"].as_str().unwrap_or_default();
            let result = results(method, &call["params"])?;
            Some(serde_json::json!({ "jsonrpc": "2.0", "id": call["id"], "result": result }))
        };
        let body = match &request {
            Value::Array(calls) => Value::Array(calls.iter().map(one).collect::<Option<_>>()?),
            call => one(call)?,
        };
        Some(plughub_sdk::test::stub::Answer::json(&body))
    })
}
