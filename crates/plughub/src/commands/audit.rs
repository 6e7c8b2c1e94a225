//! `plughub audit`: fetch a plugin the way an install does (the name read through the catalogue,
//! verified, safely extracted) into a temporary folder, analyse it, and print the findings. Nothing of
//! the plugin runs.

use crate::cli::{AuditArgs, StoreArgs};
use crate::{context, output};
use anyhow::{Result, anyhow};
use plughub_domain::CoreMajor;
use plughub_install::{
    ExtractLimits, Naming, PackageSpec, fetch_resolved, locate_named, open_local,
};
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

pub async fn run(store_args: &StoreArgs, args: AuditArgs) -> Result<()> {
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
            // The npm configuration's scopes and tokens, as installs use them.
            let client = NpmClient::with_config(plughub_npm::NpmConfig::with_files(&registry));
            // The same reading of the name as an install's, so that what is audited is what would be
            // installed.
            let catalog;
            let naming = if args.not_in_catalogue {
                Naming::AsWritten
            } else {
                catalog = context::open_catalog(store_args).await?;
                Naming::Catalogue(Some(&catalog))
            };
            let resolved = locate_named(&client, &name, wanted.as_deref(), core, naming).await?;
            if !args.json {
                eprintln!(
                    "fetching {}@{} from {registry}",
                    resolved.name, resolved.version
                );
            }
            fetch_resolved(&client, resolved, &dest, &limits).await?
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
