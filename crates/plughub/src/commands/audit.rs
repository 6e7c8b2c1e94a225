//! `plughub audit`: fetch a plugin the way an install does (verified, safely extracted) into a temporary
//! folder, analyse it, and print the findings. Nothing of the plugin runs.

use crate::cli::AuditArgs;
use crate::output;
use anyhow::{Result, anyhow};
use plughub_domain::CoreMajor;
use plughub_install::{ExtractLimits, PackageSpec, fetch_from_npm, open_local};
use plughub_npm::{NpmClient, npm_registry_url};
use serde::Serialize;

#[derive(Serialize)]
struct AuditOutput {
    name: String,
    version: String,
    integrity: Option<String>,
    #[serde(flatten)]
    report: plughub_analyzer::Report,
}

pub async fn run(args: AuditArgs) -> Result<()> {
    let core = match &args.core {
        Some(c) => {
            Some(CoreMajor::parse(c).ok_or_else(|| anyhow!("--core {c}: expected v0, v1 or v2"))?)
        }
        None => None,
    };
    let work = tempfile::tempdir()?;
    let dest = work.path().join("package");
    let limits = ExtractLimits::default();
    let fetched = match PackageSpec::parse(&args.plugin)? {
        PackageSpec::Npm { name, wanted } => {
            let registry = match &args.npm_registry {
                Some(url) => url.clone(),
                None => npm_registry_url()?,
            };
            let client = NpmClient::new(&registry);
            if !args.json {
                eprintln!("fetching {name} from {registry}");
            }
            fetch_from_npm(&client, &name, wanted.as_deref(), core, &dest, &limits).await?
        }
        PackageSpec::Folder(path) | PackageSpec::Tarball(path) => {
            open_local(&path, &dest, &limits)?
        }
    };
    let dir = fetched.dir.clone();
    let report =
        tokio::task::spawn_blocking(move || plughub_analyzer::analyze_package(&dir)).await??;
    let out = AuditOutput {
        name: fetched.name,
        version: fetched.version,
        integrity: fetched.integrity,
        report,
    };
    if args.json {
        return output::print_json(&out);
    }
    output::print_audit(
        &out.name,
        &out.version,
        out.integrity.as_deref(),
        &out.report,
        args.all,
    );
    Ok(())
}
