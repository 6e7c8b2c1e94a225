use crate::caps::CallbackCap;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start Node.js ({0}); install Node.js 18 or later, or set PLUGHUB_NODE")]
    NoNode(String),
    #[error("the plugin worker did not start: {0}")]
    Start(String),
    #[error("the plugin worker ended: {reason}{}{}", tail(.log), grant_hint(.log.iter()))]
    Exited { reason: String, log: Vec<String> },
    #[error("{what} did not answer within {seconds} s; its worker was ended")]
    Timeout { what: String, seconds: u64 },
    #[error("{text}{hint}", text = .0, hint = grant_hint(std::iter::once(.0)))]
    Plugin(String),
    /// A request went past a cap on its callbacks (`Caps::callbacks`, `Caps::callback_bytes`): it was
    /// failed at once, and its worker serves on (or is ended, when the run does not stop within
    /// `Caps::stop_grace`). The caller may map it as a failure of the plugin's, not of plughub.
    #[error("{what} sent more than {cap} (the cap per execution); its run was stopped")]
    CallbacksOverCap { what: String, cap: CallbackCap },
    /// The plugin has no component of this kind by this name (nor one that has it as a simile): the
    /// caller's mistake, not the plugin's.
    #[error("{plugin} has no {kind} named {name}")]
    NoComponent {
        plugin: String,
        kind: &'static str,
        name: String,
    },
    /// The action's `validate` answered false: the message is not one it takes, and its handler did not
    /// run.
    #[error("{what} declined this message (its validate answered false)")]
    Declined { what: String },
    #[error("the worker broke the protocol: {0}")]
    Protocol(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What an org owner could grant, when a refusal by the sandbox is what stopped the plugin: Node's
/// addon gate (`ERR_DLOPEN_DISABLED`), its child-process gate (`ERR_ACCESS_DENIED` for `ChildProcess`,
/// as the host script names it), or Landlock refusing to execute a program not granted (`EACCES`).
pub fn grant_hint<'a>(lines: impl IntoIterator<Item = &'a String>) -> &'static str {
    // Node prints an uncaught error's code and permission on lines of their own.
    let text: String = lines.into_iter().map(|l| format!("{l}\n")).collect();
    if text.contains("loading addons is disabled") || text.contains("ERR_DLOPEN_DISABLED") {
        return "\nIt loads a native addon, which its sandbox refuses unless an org owner grants it native.addons (plughub grant PLUGIN --org ORG --permission native.addons).";
    }
    if text.contains("ChildProcess") && text.contains("ERR_ACCESS_DENIED") {
        return "\nIt starts a program, which its sandbox refuses unless an org owner grants it process.spawn naming that program (plughub grant PLUGIN --org ORG --program NAME).";
    }
    if text.contains("spawn") && text.contains("EACCES") {
        return "\nIt starts a program that its process.spawn grant does not name: an org owner may grant it (plughub grant PLUGIN --org ORG --program NAME).";
    }
    ""
}

/// The last lines the plugin printed, which usually say why it ended.
fn tail(log: &[String]) -> String {
    if log.is_empty() {
        return String::new();
    }
    let start = log.len().saturating_sub(5);
    // Node prints the error first and its stack after: keep that line even when the stack is long.
    let cause = log[..start]
        .iter()
        .find(|l| l.contains("Error") || l.contains("error:") || l.contains("FATAL"))
        .map(|l| format!("{l}\n  …\n  "))
        .unwrap_or_default();
    format!("; its last output:\n  {cause}{}", log[start..].join("\n  "))
}
