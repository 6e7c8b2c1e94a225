//! `plughub dev validate`: the package checked as it will be published, and the plugin loaded with
//! placeholder settings in plughub's engine (in the OS sandbox where this machine can make one).

use crate::cli::{DevValidateArgs, StoreArgs};
use crate::context;
use crate::output::{self, out};
use anyhow::Result;
use plughub_sdk::validate::{Level, LoadOptions, Outcome, Validation};
use std::path::Path;
use std::time::Duration;

pub async fn run(_store: &StoreArgs, args: DevValidateArgs) -> Result<()> {
    let work = tempfile::tempdir()?;
    let outcome = check(&args.dir.dir, work.path(), !args.json).await?;
    let v = &outcome.validation;
    if args.json {
        output::print_json(v)?;
    } else {
        print(v);
    }
    if !v.ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Validates the package in `dir` (shared with `dev publish`), `work` holding the packed tarball.
pub async fn check(dir: &Path, work: &Path, say: bool) -> Result<Outcome> {
    let dir = std::path::absolute(dir)?;
    // Validation loads the author's own code: in the sandbox where possible, and it says which.
    let sandbox = super::sandbox_here(say).await?;
    let run_dir = work.join("run");
    std::fs::create_dir_all(&run_dir)?;
    let load = LoadOptions {
        node: context::node(),
        run_dir,
        sandbox,
        timeout: Duration::from_secs(30),
    };
    Ok(plughub_sdk::validate::validate(&dir, work, Some(&load)).await)
}

pub fn print(v: &Validation) {
    out!(
        "{}@{}  ({})",
        v.name.as_deref().unwrap_or("?"),
        v.version.as_deref().unwrap_or("?"),
        v.dir.display()
    );
    match (&v.components, v.sandboxed) {
        (Some(c), Some(sandboxed)) => {
            out!(
                "loaded and initialised in plughub's engine ({})",
                if sandboxed { "sandboxed" } else { "no sandbox" }
            );
            let show = |label: &str, names: &[String]| {
                if !names.is_empty() {
                    out!("  {label}: {}", names.join(", "));
                }
            };
            show("actions", &c.actions);
            show("providers", &c.providers);
            show("evaluators", &c.evaluators);
            show("services", &c.services);
            show("models", &c.models);
            show("routes", &c.routes);
        }
        _ => out!("not loaded (see the errors)"),
    }
    if let Some(p) = &v.permissions {
        let text = |perms: &plughub_domain::permissions::Permissions| {
            serde_json::to_string(perms).unwrap_or_default()
        };
        match &p.declared {
            Some(d) => out!("permissions declared: {}", text(d)),
            None => out!("permissions declared: none"),
        }
        out!("permissions the code uses: {}", text(&p.inferred));
    }
    if let Some(risk) = &v.risk {
        out!(
            "analysis: risk {} ({}), {} finding(s)",
            risk.score,
            risk.level,
            v.findings.len()
        );
        for f in &v.findings {
            out!("  {:?} {}:{}  {}", f.severity, f.file, f.line, f.message);
        }
    }
    if let Some(p) = &v.packed {
        out!(
            "package: {} file(s), {} bytes packed, {} unpacked, {} dependencies",
            p.files.len(),
            p.size,
            p.unpacked_size,
            v.dependencies
        );
    }
    let errors = v
        .problems
        .iter()
        .filter(|p| p.level == Level::Error)
        .count();
    let warnings = v.problems.len() - errors;
    for p in &v.problems {
        let level = match p.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        out!("{level} [{}]: {}", p.check, p.message);
        out!("  fix: {}", p.fix);
    }
    if v.ok {
        out!("valid ({warnings} warning(s))");
    } else {
        out!("NOT valid: {errors} error(s), {warnings} warning(s)");
    }
}
