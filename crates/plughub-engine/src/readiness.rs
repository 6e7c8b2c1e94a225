//! Whether this process can start workers now, for a server's readiness: Node found, and the sandbox
//! usable. Each answers what it found, or why not.

use crate::SandboxPolicy;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The Node.js `node` names, found: a path to an executable file, or a name on the PATH.
pub fn node(node: &Path) -> Result<PathBuf, String> {
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if node.components().count() > 1 {
        return if executable(node) {
            Ok(node.to_path_buf())
        } else {
            Err(format!(
                "{} is not an executable file; install Node.js 18 or later, or set PLUGHUB_NODE",
                node.display()
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(node))
        .find(|candidate| executable(candidate))
        .ok_or_else(|| {
            format!(
                "no {} on the PATH; install Node.js 18 or later, or set PLUGHUB_NODE",
                node.display()
            )
        })
}

/// Whether workers can be given their sandbox: the helper that builds sandboxes is running (or can be
/// started, for a process that is root), or the operator turned the sandbox off.
pub fn sandbox(policy: Option<&SandboxPolicy>) -> Result<String, String> {
    if policy.is_none() {
        return Ok("off (PLUGHUB_SANDBOX=off): plugins run without the OS sandbox".into());
    }
    match plughub_sandbox::helper::current() {
        Some(helper) => match helper.gone() {
            None => {
                let held = plughub_sandbox::privileges::Capabilities::of(&helper.pid().to_string())
                    .map_err(|e| format!("cannot read the sandbox helper's capabilities: {e}"))?;
                let missing =
                    plughub_sandbox::privileges::helper_capabilities_missing(held.effective);
                if missing.is_empty() {
                    Ok(format!("the sandbox helper runs (pid {})", helper.pid()))
                } else {
                    Err(format!(
                        "the sandbox helper lacks {}: grant them to the service or container (docs/operator-guide.md, Packaging), or workers cannot start",
                        missing.join(", ")
                    ))
                }
            }
            Some(why) => Err(format!(
                "the sandbox helper ended ({why}): no plugin can run until plughub serve is restarted"
            )),
        },
        None if plughub_sandbox::privileges::is_root() => {
            Ok("root: the sandbox helper starts with the first worker".into())
        }
        None => Err(
            "not root, so no sandbox helper: start plughub serve as root (it gives root up itself), or set PLUGHUB_SANDBOX=off"
                .into(),
        ),
    }
}
