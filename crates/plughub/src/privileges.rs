//! `plughub serve` started as root gives root up before it serves. Root is needed only to build
//! plugins' sandboxes, so it starts the sandbox helper first (which keeps root, on one thread, and does
//! nothing else), then becomes an ordinary account with no capabilities: HTTP requests, tarballs,
//! registry documents and workers' messages are never parsed as root.
//!
//! Before it does, it makes what it will need its own: the data directory (created, and given to the
//! account), and the operator's npm configuration (read now: root's home is closed to the account).

use crate::cli::{ServeArgs, StoreArgs};
use crate::context;
use anyhow::{Context, Result, bail};
use plughub_sandbox::privileges::{self, Account};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The uid and gid served as when no account is named and none is called `plughub`: one that no
/// account of a Debian system has (distroless images use it for the same reason).
const FALLBACK_ID: u32 = 65_532;

/// Starts the sandbox helper and gives up root, when started as root; says what it did. Call it before
/// any thread is started (see `privileges::become_account`).
pub fn give_up_root(store: &StoreArgs, args: &ServeArgs) -> Result<()> {
    let sandbox_off = std::env::var("PLUGHUB_SANDBOX").as_deref() == Ok("off");
    if !privileges::is_root() {
        if !sandbox_off {
            tracing::warn!(
                "not started as root, so no sandbox helper: plugins are refused unless PLUGHUB_SANDBOX=off \
                 (which runs them without the OS sandbox); start plughub serve as root and it gives \
                 root up itself"
            );
        }
        return Ok(());
    }
    let account = account(args.user.as_deref())?;
    let data = context::data_dir(store);
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot make the data directory {}", data.display()))?;
    reachable(&data, &account)?;
    let given = give_tree(&data, &account)
        .with_context(|| format!("cannot give {} to {}", data.display(), account.name))?;
    if given > 0 {
        tracing::info!(entries = given, data = %data.display(), account = %account.name,
            "the data directory's files given to the account plughub serves as");
    }
    plughub_npm::pin_configuration();
    keep_pgpass(store, &data, &account)?;
    let helper = if sandbox_off {
        None
    } else {
        let helper = plughub_sandbox::helper::start(vec![data.clone()])
            .context("cannot start the sandbox helper")?;
        plughub_sandbox::helper::install(helper.clone());
        // A container or service that withholds what the helper needs: said now, and by /readyz.
        if let Ok(held) = privileges::Capabilities::of(&helper.pid().to_string()) {
            let missing = privileges::helper_capabilities_missing(held.effective);
            if !missing.is_empty() {
                tracing::error!(missing = %missing.join(", "),
                    "the sandbox helper lacks capabilities it needs: plugins' workers cannot start until the service or container grants them (docs/operator-guide.md, Packaging)");
            }
        }
        Some(helper.pid())
    };
    privileges::become_account(&account).with_context(|| {
        format!(
            "cannot become the account {} (uid {})",
            account.name, account.uid
        )
    })?;
    // The programs plughub runs (pnpm, npm, Node) start in its folder, and pnpm fails in one it cannot
    // reach by its path: where the account cannot (a folder above it may be closed, as a checkout in
    // root's home is), plughub moves to its data directory. Where it can, relative paths keep their
    // meaning.
    if std::env::current_dir().and_then(std::fs::read_dir).is_err() {
        std::env::set_current_dir(&data)
            .with_context(|| format!("cannot move into the data directory {}", data.display()))?;
        tracing::info!(folder = %data.display(), "the folder plughub was started in is closed to the account it serves as: working in the data directory");
    }
    match helper {
        Some(pid) => tracing::info!(
            account = %account.name, uid = account.uid, helper = pid,
            "serving as an account with no capabilities; plugins' sandboxes are built by the sandbox helper, which alone runs as root"
        ),
        None => tracing::info!(account = %account.name, uid = account.uid,
            "serving as an account with no capabilities (PLUGHUB_SANDBOX=off: no sandbox helper)"),
    }
    Ok(())
}

/// A PostgreSQL URL with no password finds it, at each new connection, in the password file
/// (`PGPASSFILE`, else `~/.pgpass`), and root's home is closed to the account: the file is copied into
/// the data directory's `run/` for the account, owner-only, and `PGPASSFILE` names the copy.
fn keep_pgpass(store: &StoreArgs, data: &Path, account: &Account) -> Result<()> {
    let is_postgres = store
        .database_url
        .as_deref()
        .is_some_and(|url| url.trim_start().starts_with("postgres"));
    if !is_postgres {
        return Ok(());
    }
    let file = match std::env::var_os("PGPASSFILE").filter(|f| !f.is_empty()) {
        Some(file) => std::path::PathBuf::from(file),
        None => match std::env::var_os("HOME") {
            Some(home) => Path::new(&home).join(".pgpass"),
            None => return Ok(()),
        },
    };
    let Ok(passwords) = std::fs::read(&file) else {
        return Ok(());
    };
    let run = data.join("run");
    std::fs::create_dir_all(&run)?;
    let copy = run.join("pgpass");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(&copy);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&copy)
            .with_context(|| format!("cannot write {}", copy.display()))?;
        out.write_all(&passwords)?;
    }
    std::os::unix::fs::lchown(&run, Some(account.uid), Some(account.gid))?;
    std::os::unix::fs::lchown(&copy, Some(account.uid), Some(account.gid))?;
    privileges::set_environment_alone("PGPASSFILE", copy.as_os_str())
        .context("cannot point PGPASSFILE at the account's copy of the password file")?;
    tracing::info!(from = %file.display(), to = %copy.display(),
        "the PostgreSQL password file copied for the account plughub serves as");
    Ok(())
}

/// The account named (a name, or `UID[:GID]`), else `plughub`, else [`FALLBACK_ID`].
pub fn account(named: Option<&str>) -> Result<Account> {
    let account = match named.map(str::trim).filter(|n| !n.is_empty()) {
        Some(named) => match parse_ids(named) {
            Some((uid, gid)) => Account {
                name: named.to_string(),
                uid,
                gid,
            },
            None => privileges::find_account(named)?.with_context(|| {
                format!(
                    "--user {named}: there is no such account; make it (`useradd --system {named}`) or give a uid"
                )
            })?,
        },
        None => privileges::find_account("plughub")?.unwrap_or(Account {
            name: format!("uid {FALLBACK_ID}"),
            uid: FALLBACK_ID,
            gid: FALLBACK_ID,
        }),
    };
    if account.uid == 0 {
        bail!(
            "--user {}: plughub serve gives up root, so it cannot serve as root; name an ordinary account",
            account.name
        );
    }
    Ok(account)
}

/// `UID` or `UID:GID`.
fn parse_ids(text: &str) -> Option<(u32, u32)> {
    let (uid, gid) = match text.split_once(':') {
        Some((uid, gid)) => (uid.parse().ok()?, gid.parse().ok()?),
        None => {
            let uid = text.parse().ok()?;
            (uid, uid)
        }
    };
    Some((uid, gid))
}

/// Refuses, saying what to do, a data directory the account cannot reach: each folder above it must
/// let the account through.
fn reachable(data: &Path, account: &Account) -> Result<()> {
    for folder in data.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(folder) else {
            continue;
        };
        let mode = meta.mode();
        let through = if meta.uid() == account.uid {
            mode & 0o100 != 0
        } else if meta.gid() == account.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !through {
            bail!(
                "plughub serve, started as root, serves as {} (uid {}), and the data directory {} is closed to it: {} lets only its owner in; choose a data directory it can reach (--data-dir or PLUGHUB_DATA_DIR, e.g. /var/lib/plughub) or another account (--user)",
                account.name,
                account.uid,
                data.display(),
                folder.display()
            );
        }
    }
    Ok(())
}

/// Gives every file and folder beneath `dir` (itself included, links themselves, not what they point
/// to) to `account`; returns how many were not its own yet. Files a command run as root wrote there
/// meanwhile become the server's again.
fn give_tree(dir: &Path, account: &Account) -> std::io::Result<usize> {
    let mut given = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.uid() != account.uid || meta.gid() != account.gid {
            std::os::unix::fs::lchown(&path, Some(account.uid), Some(account.gid))?;
            given += 1;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_a_uid_or_a_uid_and_gid() {
        assert_eq!(super::parse_ids("1000"), Some((1000, 1000)));
        assert_eq!(super::parse_ids("1000:50"), Some((1000, 50)));
        assert_eq!(super::parse_ids("plughub"), None);
        assert_eq!(super::parse_ids("1000:staff"), None);
    }

    #[test]
    fn root_is_never_the_account_served_as() {
        let e = super::account(Some("0")).unwrap_err().to_string();
        assert!(e.contains("cannot serve as root"), "{e}");
        let e = super::account(Some("no-such-account-here"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("useradd --system no-such-account-here"), "{e}");
    }
}
