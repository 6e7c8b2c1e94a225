//! `plughub permissions | grant | revoke`: an installed plugin's permissions as an org_owner reviews and
//! grants them.

use super::install::local_installer;
use crate::cli::{GrantArgs, InstanceArgs, StoreArgs};
use crate::output;
use crate::output::out;
use anyhow::{Result, anyhow};
use plughub_domain::permissions::{Permission, Permissions};
use plughub_lifecycle::PermissionsView;

pub async fn show(store_args: &StoreArgs, args: InstanceArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let view = installer.permissions(&args.org, &args.plugin).await?;
    print(&view, &args.org, args.json)
}

pub async fn grant(store_args: &StoreArgs, args: GrantArgs) -> Result<()> {
    let named = named(&args)?;
    let installer = local_installer(store_args).await?;
    let view = installer
        .grant(
            &args.org,
            &args.plugin,
            named.is_none(),
            &named.unwrap_or_default(),
            "cli",
        )
        .await?;
    print(&view, &args.org, args.json)
}

pub async fn revoke(store_args: &StoreArgs, args: GrantArgs) -> Result<()> {
    let named = named(&args)?;
    let installer = local_installer(store_args).await?;
    let view = installer
        .revoke(&args.org, &args.plugin, named.as_ref(), "cli")
        .await?;
    print(&view, &args.org, args.json)
}

/// The permissions the flags name; `None` when they name none.
fn named(args: &GrantArgs) -> Result<Option<Permissions>> {
    let mut set = Permissions::default();
    set.add_domains(args.domains.iter().cloned())?;
    set.add_secrets(args.secrets.iter().cloned());
    set.add_programs(args.programs.iter().cloned())?;
    for name in &args.permissions {
        match Permission::parse(name)? {
            Permission::SecretsAccess => {
                return Err(anyhow!(
                    "name the secrets with --secret NAME (secrets.access is granted by name)"
                ));
            }
            Permission::NetworkExternal => {
                return Err(anyhow!(
                    "name the domains with --domain DOMAIN (network.external is granted by domain)"
                ));
            }
            Permission::ProcessSpawn => {
                return Err(anyhow!(
                    "name the programs with --program NAME (process.spawn is granted by program)"
                ));
            }
            permission => set.add(permission),
        }
    }
    Ok((!set.is_empty()).then_some(set))
}

pub fn print(view: &PermissionsView, org: &str, json: bool) -> Result<()> {
    if json {
        return output::print_json(view);
    }
    let how = if view.declared {
        "declared"
    } else {
        "inferred from its code"
    };
    out!("{}@{} in {org}", view.plugin, view.version);
    let section = |title: &str, set: &Permissions| {
        out!("  {title}:");
        let lines = set.lines();
        if lines.is_empty() {
            out!("    none");
        }
        for line in lines {
            out!("    {line}");
        }
    };
    section(&format!("asks for ({how})"), &view.requested);
    section("granted", &view.granted);
    if view.missing.is_empty() {
        out!("  everything it asks for is granted");
    } else {
        section("missing (it does not run until granted)", &view.missing);
    }
    Ok(())
}
