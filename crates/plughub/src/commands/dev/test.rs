//! `plughub dev test`: the plugin's own test suites (its `tests`, elizaOS's `TestSuite[]`) run in
//! plughub's real engine. The package is installed through the ordinary install path into a development
//! store kept between runs (organisation `dev-test`, agent `dev`: not `plughub dev`'s organisation, so a
//! test run leaves a running `plughub dev` alone; each run starts with no memories and no cache), configured with `plughub.dev.json`'s
//! settings, granted what it asks for, activated, and started in a worker (sandboxed when this machine
//! can) whose runtime calls plughub answers as in any execution; `useModel` answers from the file's
//! `models`, and its granted domains reach the file's `http` stub through the egress proxy.
//! Exit 0: all passed; 1: a test failed; 2: the plugin could not be built, installed or loaded.

use crate::cli::{DevTestArgs, StoreArgs};
use crate::commands::install;
use crate::context;
use crate::output::{self, out};
use anyhow::{Context, Result, anyhow};
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_engine::{EgressMapping, EgressPolicy};
use plughub_lifecycle::{ActivateOptions, InstallOptions};
use plughub_runner::{DevRun, Runner, RunnerConfig, ScriptedModels};
use plughub_sdk::test::junit;
use plughub_sdk::test::plan::Package;
use plughub_sdk::test::report::{Report, TestOutcome};
use plughub_sdk::test::stub::Stub;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORG: &str = "dev-test";
const AGENT: &str = "dev";
const ACTOR: &str = "dev-test";

pub async fn run(store: &StoreArgs, args: DevTestArgs) -> Result<()> {
    let report = match test(store, &args).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    if args.json {
        output::print_json(&report)?;
    } else {
        for line in report.lines() {
            out!("{line}");
        }
    }
    if let Some(file) = &args.junit {
        std::fs::write(file, junit::to_xml(&report))
            .with_context(|| format!("cannot write the JUnit XML to {}", file.display()))?;
    }
    if report.tests.is_empty() {
        eprintln!(
            "error: {} has no tests: export them as the plugin's `tests` (elizaOS TestSuite[]: {{ name, tests: [{{ name, fn }}] }}), then run plughub dev test again",
            report.plugin
        );
        std::process::exit(1);
    }
    if report.failed > 0 {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(1);
    }
    Ok(())
}

/// Builds, installs, loads and runs; an error here is exit 2 (the plugin did not get to its tests).
async fn test(store: &StoreArgs, args: &DevTestArgs) -> Result<Report> {
    let dir = std::path::absolute(&args.dir.dir).unwrap_or_else(|_| args.dir.dir.clone());
    let package = Package::read(&dir)?;
    if let Some(why) = package.build_needed() {
        eprintln!("{why}: running `npm run build` in {}", dir.display());
        let built = std::process::Command::new("npm")
            .args(["run", "build"])
            .current_dir(&dir)
            .stdout(std::io::stderr())
            .status()
            .context("cannot run npm: install Node.js and npm")?;
        if !built.success() {
            return Err(anyhow!(
                "`npm run build` failed ({built}): fix what its output above says, then run plughub dev test again"
            ));
        }
    }
    let store_args = super::dev_store(store);
    let mut installer = install::installer(&store_args, None, true).await?;
    super::for_development(&mut installer);
    if installer.group(ORG).await.is_err() {
        plughub_accounts::Accounts::new(installer.store().clone())
            .create_org(ORG, super::DEV_PLAN, None, ACTOR)
            .await?;
    }
    if !installer.agents(ORG).await?.iter().any(|a| a.name == AGENT) {
        installer.create_agent(ORG, AGENT, ACTOR).await?;
    }
    // The folder as it is now, each run: what an earlier run installed goes first.
    if let Ok((_, _, record)) = installer.installed_instance(ORG, &package.name).await {
        if record.state == plughub_domain::lifecycle::State::Active {
            installer
                .deactivate(ORG, &package.name, None, ACTOR)
                .await?;
        }
        installer.uninstall(ORG, &package.name, ACTOR).await?;
    }
    let options = InstallOptions {
        // The author's own package: its risk score is theirs to see in `plughub dev validate`, not a
        // reason to keep it from its tests.
        accept_risk_by: Some(ACTOR.into()),
        actor: ACTOR.into(),
        grant: true,
        not_in_catalogue: true,
        core: None,
    };
    installer
        .install(ORG, &dir.display().to_string(), &options)
        .await
        .with_context(|| format!("cannot install {} from {}", package.name, dir.display()))?;
    // The instance keeps its id through the reinstall, and with it what an earlier run wrote: each run
    // starts from nothing, so a test's counts and "not yet remembered" checks hold every time.
    let (_, instance, _) = installer.installed_instance(ORG, &package.name).await?;
    installer
        .store()
        .clear_runtime_state(&instance.id)
        .await
        .context("cannot clear the memories and cache of the previous run")?;
    let keys = context::key_ring(&store_args)?;
    let settings = package.dev.settings();
    if !settings.is_empty() {
        installer
            .configure(ORG, &package.name, &settings, &keys, ACTOR)
            .await
            .context("the settings of plughub.dev.json")?;
    }
    let permissions = installer.permissions(ORG, &package.name).await?;
    let granted: Vec<String> = permissions
        .granted
        .network
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for domain in package.dev.stub_domains() {
        if !plughub_domain::egress::is_granted(&domain, &granted) {
            eprintln!(
                "note: plughub.dev.json stubs {domain}, which the plugin does not ask for (package.json plughub.permissions network.external): its requests there are refused, as in production"
            );
        }
    }
    installer
        .activate(
            ORG,
            &package.name,
            AGENT,
            &ActivateOptions {
                enabled_actions: None,
                priority: 0,
                actor: ACTOR.into(),
            },
        )
        .await?;

    let node = context::node();
    let sandbox = if args.no_sandbox {
        eprintln!("--no-sandbox: the plugin runs without the OS sandbox");
        None
    } else if std::env::var("PLUGHUB_SANDBOX").as_deref() == Ok("off") {
        eprintln!("PLUGHUB_SANDBOX=off: the plugin runs without the OS sandbox");
        None
    } else if !plughub_sandbox::probe(&node).sandbox_possible() {
        eprintln!(
            "note: the plugin runs without the OS sandbox (it needs root and namespaces; `plughub doctor` shows what this machine allows); the egress proxy still checks its network"
        );
        None
    } else {
        Some(plughub_engine::SandboxPolicy::default())
    };
    let sandboxed = sandbox.is_some();
    let stub = Stub::start(package.dev.http.clone())
        .await
        .context("cannot start the HTTP stub on loopback")?;
    let config = RunnerConfig {
        node,
        run_dir: context::run_dir(&store_args),
        policy: ExecutionPolicy::default(),
        sandbox,
        egress: EgressPolicy {
            // Every granted domain leads to the stub, through the egress mapping an operator uses for
            // staging (the proxy checks the grant first), its https with the run's own authority.
            mapped: granted
                .iter()
                .map(|domain| EgressMapping {
                    domain: domain.clone(),
                    to: stub.address(),
                })
                .collect(),
            mapped_ca: Some(stub.ca_pem().to_string()),
            requests_per_minute: 600,
            ..EgressPolicy::default()
        },
    };
    let dev = DevRun {
        models: Some(Arc::new(ScriptedModels::new(package.dev.models.clone()))),
        env: vec![("PLUGHUB_DEV_TEST".into(), "1".into())],
    };
    let runner = Runner::new(installer, keys, config).with_dev(dev);
    let timeout = Duration::from_secs(args.timeout.max(1));
    let outcomes = run_tests(&runner, &package.name, &stub, timeout, sandboxed).await;
    runner.shut_down().await;
    Ok(Report::new(
        &package.name,
        &package.version,
        sandboxed,
        outcomes?,
    ))
}

/// Each test of each suite in the plugin's worker, a new worker after one that ended.
async fn run_tests(
    runner: &Runner,
    plugin: &str,
    stub: &Stub,
    timeout: Duration,
    runner_sandboxed: bool,
) -> Result<Vec<TestOutcome>> {
    let launch = || async {
        let launched = runner
            .launch(ORG, plugin, AGENT, Some(timeout))
            .await
            .with_context(|| format!("{plugin} did not load"))?;
        for error in &launched.service_errors {
            eprintln!("warning: {error}");
        }
        anyhow::Ok(launched)
    };
    let mut launched = launch().await?;
    let suites = launched
        .plugin
        .list_tests(timeout)
        .await
        .context("cannot list its tests")?;
    let count: usize = suites
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["tests"].as_array().map_or(0, Vec::len))
        .sum();
    eprintln!(
        "{plugin} {}: {count} test(s) in its worker{}",
        launched.context.version,
        if runner_sandboxed {
            ", in the OS sandbox"
        } else {
            ""
        }
    );
    let mut outcomes = Vec::new();
    // Set when a worker could not be started again: the tests left are failed with it, not skipped.
    let mut not_restarted: Option<String> = None;
    for suite in suites.as_array().into_iter().flatten() {
        let name = suite["name"].as_str().unwrap_or_default();
        for test in suite["tests"].as_array().into_iter().flatten() {
            let test = test.as_str().unwrap_or_default();
            if not_restarted.is_none() && !launched.plugin.worker().is_alive() {
                match launch().await {
                    Ok(again) => launched = again,
                    Err(e) => {
                        not_restarted = Some(format!(
                            "the plugin did not restart: {}",
                            launched.context.redact(&format!("{e:#}"))
                        ))
                    }
                }
            }
            if let Some(why) = &not_restarted {
                outcomes.push(TestOutcome::broken(name, test, why.clone(), 0.0));
                continue;
            }
            stub.take_requests();
            let started = Instant::now();
            let outcome = match launched.plugin.run_test(name, test, timeout).await {
                Ok(result) => TestOutcome::from_result(name, test, &result, stub.take_requests()),
                Err(e) => {
                    let mut outcome = TestOutcome::broken(
                        name,
                        test,
                        launched.context.redact(&e.to_string()),
                        started.elapsed().as_secs_f64() * 1e3,
                    );
                    outcome.stub_requests = stub.take_requests();
                    outcome
                }
            };
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}
