//! `plughub admin backup` and `plughub admin restore`.

use crate::cli::{BackupArgs, PassphraseArgs, RestoreArgs, StoreArgs};
use crate::context;
use crate::output::{self, out};
use anyhow::{Context, Result, bail};
use zeroize::Zeroizing;

/// The environment variable a passphrase may come in.
const PASSPHRASE_ENV: &str = "PLUGHUB_BACKUP_PASSPHRASE";

/// The passphrase from `--passphrase-file` or the environment, if given.
fn passphrase(args: &PassphraseArgs) -> Result<Option<Zeroizing<String>>> {
    if let Some(file) = &args.passphrase_file {
        let text =
            Zeroizing::new(std::fs::read_to_string(file).with_context(|| {
                format!("--passphrase-file {}: cannot read it", file.display())
            })?);
        let line = text.lines().next().unwrap_or_default().to_string();
        if line.is_empty() {
            bail!(
                "--passphrase-file {}: its first line is empty",
                file.display()
            );
        }
        return Ok(Some(Zeroizing::new(line)));
    }
    Ok(std::env::var(PASSPHRASE_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .map(Zeroizing::new))
}

pub async fn backup(store_args: &StoreArgs, args: BackupArgs) -> Result<()> {
    let passphrase = passphrase(&args.passphrase)?;
    if args.with_keys && passphrase.is_none() {
        bail!(
            "--with-keys seals the keys with a passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV}"
        );
    }
    let store = context::open_store(store_args).await?;
    let location = context::location(store_args);
    let packages_dir = context::packages_dir(store_args);
    let ring = if args.with_keys {
        Some(context::key_ring(store_args)?)
    } else {
        None
    };
    let keys = ring
        .as_ref()
        .zip(passphrase.as_ref())
        .map(|(ring, passphrase)| plughub_backup::KeysToKeep {
            ring,
            passphrase: passphrase.as_str(),
        });
    let manifest = plughub_backup::backup(
        &plughub_backup::Source {
            store: &store,
            location: &location,
            packages_dir: &packages_dir,
        },
        &args.to,
        keys,
    )
    .await?;
    store.close().await;
    if args.json {
        return output::print_json(&manifest);
    }
    out!(
        "backed up {} ({} store, schema {}) into {}: {} organisations, {} installed plugins, {} events, {} packages listed ({} copied){}",
        location.describe(),
        manifest.store,
        manifest.schema_version,
        args.to.display(),
        manifest.counts.organisations,
        manifest.counts.installed_plugins,
        manifest.counts.events,
        manifest.packages.len(),
        manifest.packages.iter().filter(|p| p.copied).count(),
        if manifest.keys {
            "; the secret keys sealed with the passphrase"
        } else {
            "; no secret keys (keep secret-keys.json or PLUGHUB_SECRET_KEY apart: the secrets open only with them)"
        }
    );
    Ok(())
}

pub async fn restore(store_args: &StoreArgs, args: RestoreArgs) -> Result<()> {
    let passphrase = passphrase(&args.passphrase)?;
    let location = context::location(store_args);
    let data_dir = context::data_dir(store_args);
    let packages_dir = context::packages_dir(store_args);
    let key_file = data_dir.join("secret-keys.json");
    let restored = plughub_backup::restore(
        &args.from,
        &plughub_backup::Target {
            location: &location,
            data_dir: &data_dir,
            packages_dir: &packages_dir,
            key_file: &key_file,
        },
        passphrase.as_deref().map(String::as_str),
    )
    .await?;
    if args.json {
        return output::print_json(&restored);
    }
    out!(
        "restored the backup of {} into {}: {} organisations, {} installed plugins, {} events; {} packages copied, {} fetched again (verified) when they first run{}",
        restored.manifest.created_at,
        location.describe(),
        restored.counts.organisations,
        restored.counts.installed_plugins,
        restored.counts.events,
        restored.packages_copied,
        restored.packages_to_fetch,
        if restored.keys_restored {
            "; the secret keys restored".to_string()
        } else {
            format!(
                "; no keys in the backup: put the original secret-keys.json at {} (or set PLUGHUB_SECRET_KEY) before the secrets are used",
                key_file.display()
            )
        }
    );
    Ok(())
}
