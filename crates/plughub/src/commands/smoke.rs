//! `plughub smoke`: what "it works" means end to end, through the API: load the catalogue, search,
//! install, configure, run an action, find its execution in the logs, uninstall; each step timed. With
//! `--server` it checks that server; without, a throwaway server on loopback over a throwaway store.

use crate::cli::{SmokeArgs, StoreArgs};
use crate::commands::remote::plugin_path;
use crate::output::{self, out};
use crate::remote::Remote;
use anyhow::{Context, Result, anyhow, bail};
use plughub_domain::{Plan, Role};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use std::future::Future;
use std::time::Instant;

/// A reserved name (RFC 2606) that never resolves: granted to a plugin that asks for the network without
/// saying where, so that it runs and reaches nothing.
const UNRESOLVABLE: &str = "smoke.invalid";

#[derive(Debug, Serialize)]
struct Step {
    step: &'static str,
    ok: bool,
    ms: f64,
    detail: String,
}

pub async fn run(remote: Option<Remote>, args: SmokeArgs) -> Result<()> {
    let steps = match remote {
        Some(remote) => steps(&remote, &args).await,
        None => throwaway(&args).await?,
    };
    if args.json {
        output::print_json(&steps)?;
    } else {
        for s in &steps {
            let mark = if s.ok { "ok    " } else { "FAILED" };
            out!("{mark} {:<18} {:>9.1} ms  {}", s.step, s.ms, s.detail);
        }
    }
    let failed = steps.iter().filter(|s| !s.ok).count();
    if failed > 0 {
        bail!("{failed} of {} smoke steps failed", steps.len());
    }
    if !args.json {
        out!(
            "all {} steps passed in {:.0} ms",
            steps.len(),
            steps.iter().map(|s| s.ms).sum::<f64>()
        );
    }
    Ok(())
}

/// Times one step; its error becomes its detail.
async fn step(
    steps: &mut Vec<Step>,
    name: &'static str,
    work: impl Future<Output = Result<String>>,
) -> bool {
    let started = Instant::now();
    let outcome = work.await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let ok = outcome.is_ok();
    steps.push(Step {
        step: name,
        ok,
        ms,
        detail: outcome.unwrap_or_else(|e| format!("{e:#}")),
    });
    ok
}

async fn steps(remote: &Remote, args: &SmokeArgs) -> Vec<Step> {
    let mut steps = Vec::new();
    let org = &args.org;
    let plugin = plugin_path(org, &args.plugin);
    let query = args.query.clone().unwrap_or_else(|| {
        let short = args.plugin.rsplit('/').next().unwrap_or(&args.plugin);
        short.trim_start_matches("plugin-").to_string()
    });
    let ok = step(&mut steps, "load the catalogue", async {
        let status: Value = remote.get("/api/catalog/status").await?;
        let plugins = status["plugins"].as_u64().unwrap_or(0);
        if plugins == 0 {
            bail!("the catalogue is empty");
        }
        Ok(format!("{plugins} plugins"))
    })
    .await;
    let ok = ok
        && step(&mut steps, "search", async {
            let path = format!(
                "/api/plugins?{}",
                reqwest::Url::parse_with_params("http://x/", [("q", &query)])?
                    .query()
                    .unwrap_or_default()
            );
            let results: Value = remote.get(&path).await?;
            let total = results["total"].as_u64().unwrap_or(0);
            if total == 0 {
                bail!("nothing found for '{query}'");
            }
            let first = results["hits"][0]["name"].as_str().unwrap_or("?");
            Ok(format!("{total} found for '{query}', first {first}"))
        })
        .await;
    if !ok {
        return steps;
    }
    // Whether the plugin went in, apart from whether the whole step went well: what went in goes again.
    let mut installed = false;
    step(&mut steps, "install", async {
        let answer: Value = remote
            .call(
                Method::POST,
                &format!("/api/orgs/{org}/plugins"),
                Some(&json!({ "plugin": args.plugin, "grant": true })),
            )
            .await?;
        installed = true;
        let name = format!(
            "{}@{}",
            answer["plugin"].as_str().unwrap_or(&args.plugin),
            answer["version"].as_str().unwrap_or("?")
        );
        let permissions: Value = remote.get(&format!("{plugin}/permissions")).await?;
        let unnamed = permissions["missing"]["network.external"] == json!([]);
        let domains = match (&args.domains[..], unnamed) {
            ([], true) => vec![UNRESOLVABLE.to_string()],
            (named, _) => named.to_vec(),
        };
        if domains.is_empty() {
            return Ok(name);
        }
        let _: Value = remote
            .call(
                Method::POST,
                &format!("{plugin}/permissions"),
                Some(&json!({ "domains": domains })),
            )
            .await?;
        Ok(format!("{name}, network granted to {}", domains.join(", ")))
    })
    .await;
    if !installed {
        return steps;
    }
    let ok = steps.last().is_some_and(|s| s.ok)
        && step(&mut steps, "configure", async {
            let settings = super::settings::pairs(&args.settings)?;
            let _: Value = remote
                .call(
                    Method::PUT,
                    &format!("{plugin}/config"),
                    Some(&json!({ "settings": settings })),
                )
                .await?;
            Ok(match settings.len() {
                0 => "its defaults (no --set given)".to_string(),
                n => format!(
                    "{n} setting(s): {}",
                    settings.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
        })
        .await;
    let ok = ok
        && step(&mut steps, "execute an action", async {
            let body = json!({ "action": args.action, "text": args.text });
            let ran = super::remote::run_streamed(remote, org, &args.plugin, &body, false).await?;
            let text = ran.result["text"].as_str().unwrap_or("(no text)");
            Ok(format!(
                "{} answered in {:.1} ms: {}",
                args.action,
                ran.duration_ms,
                text.chars().take(60).collect::<String>()
            ))
        })
        .await;
    if ok {
        step(&mut steps, "view its logs", async {
            let page: Value = remote
                .get(&format!("/api/orgs/{org}/executions?per_page=20"))
                .await?;
            let found = page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| {
                    e["metadata"]["plugin"] == args.plugin.as_str()
                        && e["metadata"]["component"] == args.action.as_str()
                })
                .ok_or_else(|| anyhow!("the execution is not in the organisation's log"))?;
            Ok(format!(
                "recorded by {} with {} log line(s)",
                found["actor"].as_str().unwrap_or("?"),
                found["metadata"]["log"].as_array().map_or(0, Vec::len)
            ))
        })
        .await;
    }
    // Whatever failed on the way, what was installed goes.
    step(&mut steps, "uninstall", async {
        let _: Value = remote.call(Method::DELETE, &plugin, None).await?;
        Ok(format!("{} removed from {org}", args.plugin))
    })
    .await;
    steps
}

/// A server on loopback over a throwaway store, an organisation and an owner's token in it, the steps
/// against it, and everything removed after.
async fn throwaway(args: &SmokeArgs) -> Result<Vec<Step>> {
    let dir = tempfile::Builder::new()
        .prefix("plughub-smoke-")
        .tempdir()
        .context("cannot make a throwaway data directory")?;
    let store_args = StoreArgs {
        data_dir: Some(dir.path().to_path_buf()),
        database_url: None,
    };
    eprintln!(
        "no --server: checking a throwaway server on loopback over a throwaway store in {}",
        dir.path().display()
    );
    let catalog = std::sync::Arc::new(crate::context::open_catalog(&store_args).await?);
    let store = catalog.store().clone();
    let mut tx = store.begin().await?;
    tx.create_group(&args.org, Plan::Pro, None, "smoke").await?;
    tx.commit().await?;
    let accounts = plughub_accounts::Accounts::new(store.clone());
    let email = "smoke@plughub.local";
    accounts
        .create_person(email, "smoke", None, "smoke")
        .await?;
    accounts
        .set_role(email, &args.org, Role::OrgOwner, "smoke")
        .await?;
    let (_, token) = accounts.create_token(email, "smoke", 1, "smoke").await?;
    let state = super::serve::app_state(
        &store_args,
        &Default::default(),
        catalog,
        Default::default(),
        // A check that runs a plugin once boots its worker when it needs it.
        0,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(plughub_server::serve(
        listener,
        state,
        async {
            let _ = stopped.await;
        },
        std::time::Duration::from_secs(5),
    ));
    let remote = Remote::new(&format!("http://{address}"), Some(token))?;
    let steps = steps(&remote, args).await;
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    Ok(steps)
}
