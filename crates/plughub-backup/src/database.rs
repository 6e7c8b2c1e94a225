//! The store's copy: SQLite's own consistent copy, or `pg_dump`'s archive, and their way back.

use crate::manifest::{Manifest, PG_FILE, SQLITE_FILE};
use crate::{BackupError, io};
use plughub_store::{Location, Store};
use std::path::Path;
use std::process::Command;

/// Writes the store's copy into `dir`; returns the file's name.
pub(crate) async fn dump(
    store: &Store,
    location: &Location,
    dir: &Path,
) -> Result<String, BackupError> {
    match location {
        Location::DataDir(_) => {
            store.copy_sqlite_into(&dir.join(SQLITE_FILE)).await?;
            Ok(SQLITE_FILE.to_string())
        }
        Location::Url(url) => {
            let file = dir.join(PG_FILE);
            let mut command = pg_tool("pg_dump", url)?;
            command
                .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(&file);
            run(command, "pg_dump").await?;
            Ok(PG_FILE.to_string())
        }
    }
}

/// Puts the copy in `from` at `location` (checked to hold no store).
pub(crate) async fn load(
    manifest: &Manifest,
    from: &Path,
    location: &Location,
) -> Result<(), BackupError> {
    match location {
        Location::DataDir(dir) => {
            let target = dir.join(Location::SQLITE_FILE);
            let staging = dir.join(".plughub.db.restoring");
            std::fs::copy(from.join(SQLITE_FILE), &staging)
                .map_err(io("cannot copy the store into the data directory"))?;
            std::fs::rename(&staging, &target).map_err(io("cannot put the store in place"))
        }
        Location::Url(url) => {
            if manifest.store != "postgres" {
                return Err(BackupError::Refused("not a PostgreSQL backup".into()));
            }
            let mut command = pg_tool("pg_restore", url)?;
            // One transaction: a restore that fails leaves the database as empty as it was.
            command
                .args([
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                ])
                .arg(from.join(PG_FILE));
            run(command, "pg_restore").await
        }
    }
}

/// `tool` aimed at the database of `url`, the password (if any) in its environment rather than on
/// its command line, where other accounts could read it.
fn pg_tool(tool: &str, url: &str) -> Result<Command, BackupError> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| BackupError::Refused(format!("the database URL: {e}")))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let _ = parsed.set_password(None);
    let mut command = Command::new(tool);
    command.arg("--dbname").arg(parsed.as_str());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

async fn run(command: Command, tool: &'static str) -> Result<(), BackupError> {
    let mut command = tokio::process::Command::from(command);
    let out = command.output().await.map_err(|e| BackupError::Tool {
        tool,
        reason: format!(
            "cannot start it ({e}); install PostgreSQL's client programs (Debian: postgresql-client) of the server's major version or newer"
        ),
    })?;
    if !out.status.success() {
        return Err(BackupError::Tool {
            tool,
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}
