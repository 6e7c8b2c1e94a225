//! `plughub configure | config`, and `plughub admin rotate-key`.

use super::install::local_installer;
use crate::cli::{ConfigureArgs, InstanceArgs, RotateKeyArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
use std::collections::BTreeMap;

pub async fn configure(store_args: &StoreArgs, args: ConfigureArgs) -> Result<()> {
    let given = given(&args)?;
    let installer = local_installer(store_args).await?;
    let keys = context::key_ring(store_args)?;
    let view = installer
        .configure(&args.org, &args.plugin, &given, &keys, "cli")
        .await?;
    print_configured(&args, &view, given.len())
}

/// What a `configure` did, here or through a server.
pub fn print_configured(
    args: &ConfigureArgs,
    view: &plughub_lifecycle::ConfigView,
    set: usize,
) -> Result<()> {
    if args.json {
        return output::print_json(view);
    }
    out!(
        "configured {} for {}: {set} setting(s) set",
        args.plugin,
        args.org
    );
    Ok(())
}

/// The settings a `configure` names: from `--env-file`, then the KEY=VALUE pairs over them.
pub fn given(args: &ConfigureArgs) -> Result<BTreeMap<String, String>> {
    let mut given = match &args.env_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            plughub_lifecycle::parse_env_file(&text)?
        }
        None => BTreeMap::new(),
    };
    given.extend(pairs(&args.settings)?);
    if given.is_empty() {
        return Err(anyhow!(
            "nothing to set: give KEY=VALUE pairs or --env-file FILE (see `plughub config {} --org {}`)",
            args.plugin,
            args.org
        ));
    }
    Ok(given)
}

/// KEY=VALUE pairs.
pub fn pairs(settings: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in settings {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("'{pair}': write settings as KEY=VALUE"))?;
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

pub async fn show_config(store_args: &StoreArgs, args: InstanceArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let view = installer.config_view(&args.org, &args.plugin).await?;
    if args.json {
        return output::print_json(&view);
    }
    for p in &view.schema.params {
        let value = if p.sensitive {
            if view.secrets_set.contains(&p.name) {
                "*** (set)".to_string()
            } else {
                String::new()
            }
        } else {
            view.values
                .get(&p.name)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let default = p
            .default
            .as_ref()
            .map(|d| format!(" (default {d})"))
            .unwrap_or_default();
        out!(
            "{}{} = {value}{default}",
            p.name,
            if view.missing.contains(&p.name) {
                " [required, missing]"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Rotation in three steps, each safe to repeat after a crash: the new key is saved (old keys kept),
/// every stale secret is resealed (plugins' secret settings and webhook signing secrets), and only then
/// are old keys dropped (with --retire).
pub async fn rotate_key(store_args: &StoreArgs, args: RotateKeyArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let mut keys = context::key_ring(store_args)?;
    let key = keys.rotate()?;
    let resealed = installer.reseal_secrets(&keys, "cli").await?
        + plughub_notify::webhooks::reseal_secrets(installer.store(), &keys, "cli").await?;
    if args.retire {
        keys.retire_old_keys()?;
    }
    if args.json {
        return output::print_json(&serde_json::json!({
            "active_key": key, "resealed": resealed, "old_keys_retired": args.retire,
        }));
    }
    out!(
        "new active key {key}; {resealed} secret value(s) resealed{}",
        if args.retire {
            "; old keys retired"
        } else {
            " (old keys kept: `plughub admin rotate-key --retire` drops them)"
        }
    );
    Ok(())
}
