//! The permissions of an installed plugin: what a version asks for (its package.json's
//! `plughub.permissions`, else what its code is seen to reach for, with the secrets its settings declare),
//! what an org_owner granted, and granting and revoking, each with its event.

use crate::LifecycleError;
use crate::instance::InstanceRecord;
use crate::service::{InstallOptions, Installer};
use plughub_analyzer::Report;
use plughub_domain::EventType;
use plughub_domain::permissions::Permissions;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// An instance's permissions as an owner reviews them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PermissionsView {
    pub plugin: String,
    pub version: String,
    /// Declared in the package, or inferred from its code.
    pub declared: bool,
    pub requested: Permissions,
    pub granted: Permissions,
    /// Requested and not granted: the instance does not run until this is empty.
    pub missing: Permissions,
    pub granted_by: Option<String>,
}

/// What the package in `dir` asks for, read as the catalogue reads it (`plughub_analyzer`'s
/// `requested_permissions`); a declaration that cannot be read refuses the install.
pub(crate) fn requested(
    plugin: &str,
    dir: &Path,
    report: &Report,
) -> Result<(Permissions, bool), LifecycleError> {
    let asked = plughub_analyzer::requested_permissions(dir, report).map_err(|source| {
        LifecycleError::BadPermissions {
            plugin: plugin.into(),
            source,
        }
    })?;
    Ok((asked.permissions, asked.declared))
}

impl Installer {
    pub async fn permissions(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<PermissionsView, LifecycleError> {
        let (_, _, mut record) = self.installed_instance(org, plugin).await?;
        self.requested_now(&mut record).await?;
        Ok(view(&record))
    }

    /// Fills in what the current version asks for when it was installed before plughub recorded it, by
    /// analysing its package now. Until saved (a grant saves it), the instance does not run: nothing is
    /// granted for it.
    pub(crate) async fn requested_now(
        &self,
        record: &mut InstanceRecord,
    ) -> Result<(), LifecycleError> {
        if record.current.permissions_recorded {
            return Ok(());
        }
        let Some(package) = record.current.package.clone() else {
            return Ok(());
        };
        let dir = self.packages.path(&package);
        let analysed = dir.clone();
        let report =
            tokio::task::spawn_blocking(move || plughub_analyzer::analyze_package(&analysed))
                .await
                .expect("analysis does not panic")?;
        let (asked, declared) = requested(&record.plugin, &dir, &report)?;
        record.current.requested = asked;
        record.current.declared_permissions = declared;
        record.current.permissions_recorded = true;
        Ok(())
    }

    /// Grants `extra`, and with `requested` everything the current version asks for. An org_owner's act:
    /// the caller checks the role. Recorded with the grant as it is after.
    pub async fn grant(
        &self,
        org: &str,
        plugin: &str,
        requested: bool,
        extra: &Permissions,
        actor: &str,
    ) -> Result<PermissionsView, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        self.requested_now(&mut record).await?;
        let mut added = extra.clone();
        if requested {
            added = added.union(&record.current.requested);
        }
        resolve_programs(&mut added)?;
        record.granted = record.granted.union(&added);
        record.granted_by = Some(actor.into());
        let options = InstallOptions::by(actor);
        let event = self.event(
            EventType::PluginPermissionsGranted,
            &group,
            &options,
            json!({ "plugin": plugin, "version": record.version(), "added": added,
                    "granted": record.granted, "missing": record.ungranted() }),
        );
        self.save(&thing.id, &record, event).await?;
        Ok(view(&record))
    }

    /// Takes back `taken`, or every grant when `None`. A running instance keeps what it was started with
    /// until its workers are replaced; its next start is checked against what is left.
    pub async fn revoke(
        &self,
        org: &str,
        plugin: &str,
        taken: Option<&Permissions>,
        actor: &str,
    ) -> Result<PermissionsView, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        record.granted = match taken {
            Some(taken) => record.granted.without(taken),
            None => Permissions::default(),
        };
        let options = InstallOptions::by(actor);
        let event = self.event(
            EventType::PluginPermissionsRevoked,
            &group,
            &options,
            json!({ "plugin": plugin, "version": record.version(),
                    "revoked": taken.cloned().unwrap_or_default(), "all": taken.is_none(),
                    "granted": record.granted, "missing": record.ungranted() }),
        );
        self.save(&thing.id, &record, event).await?;
        Ok(view(&record))
    }
}

/// Replaces each program of a process.spawn grant by the real path it names on this machine now: a name
/// as found on plughub's PATH, links followed. What the worker may execute is then fixed at the grant; a
/// later change of PATH or of a link does not widen it. A script is refused: its interpreter (a shell)
/// would have to be executable too, and the programs it starts.
pub(crate) fn resolve_programs(set: &mut Permissions) -> Result<(), LifecycleError> {
    let Some(programs) = set.programs.take() else {
        return Ok(());
    };
    let refuse = |program: &str, problem: String| LifecycleError::UngrantableProgram {
        program: program.into(),
        problem,
    };
    let mut resolved = std::collections::BTreeSet::new();
    for program in &programs {
        let found = if program.starts_with('/') {
            Some(std::path::PathBuf::from(program))
        } else {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(program))
                    .find(|candidate| candidate.is_file())
            })
        };
        let found = found.ok_or_else(|| {
            refuse(
                program,
                "no such program on this machine's PATH: install it, or grant its absolute path"
                    .into(),
            )
        })?;
        let real = std::fs::canonicalize(&found)
            .map_err(|e| refuse(program, format!("{}: {e}", found.display())))?;
        use std::io::Read;
        use std::os::unix::fs::PermissionsExt;
        let mut head = [0u8; 2];
        let mut file = std::fs::File::open(&real)
            .map_err(|e| refuse(program, format!("{}: {e}", real.display())))?;
        let executable = file
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        if !executable {
            return Err(refuse(
                program,
                format!("{} is not an executable file", real.display()),
            ));
        }
        if file.read_exact(&mut head).is_ok() && &head == b"#!" {
            return Err(refuse(
                program,
                format!(
                    "{} is a script: grant the program it starts instead (for Debian's chromium, /usr/lib/chromium/chromium)",
                    real.display()
                ),
            ));
        }
        resolved.insert(real.display().to_string());
    }
    set.programs = Some(resolved);
    Ok(())
}

/// What `--grant` (install and update: "grant what it asks for") grants: everything asked for but the
/// programs to execute. A program is granted only by name, through `grant --program`, which fixes it to
/// a real, non-script executable on this machine; a path taken as asked could name any file, and its
/// folder is made readable in the sandbox.
pub(crate) fn granted_on_request(requested: &Permissions) -> Permissions {
    Permissions {
        programs: None,
        ..requested.clone()
    }
}

pub(crate) fn view(record: &InstanceRecord) -> PermissionsView {
    PermissionsView {
        plugin: record.plugin.clone(),
        version: record.version().to_string(),
        declared: record.current.declared_permissions,
        requested: record.current.requested.clone(),
        granted: record.granted.clone(),
        missing: record.ungranted(),
        granted_by: record.granted_by.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_what_it_asks_for_leaves_the_programs_to_an_explicit_grant() {
        let asked: Permissions = serde_json::from_value(json!({
            "native.addons": true,
            "process.spawn": ["/etc/shadow-folder/x", "chromium"],
            "storage.read": true,
        }))
        .unwrap();
        let granted = granted_on_request(&asked);
        assert!(granted.programs.is_none());
        assert!(granted.native_addons);
        assert_eq!(
            serde_json::to_value(&granted).unwrap()["storage.read"],
            json!(true)
        );
    }
}
