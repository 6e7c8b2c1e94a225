use crate::caps::CallbackCap;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start Node.js ({0}); install Node.js 18 or later, or set PLUGHUB_NODE")]
    NoNode(String),
    #[error("the plugin worker did not start: {0}")]
    Start(String),
    #[error("the plugin worker ended: {reason}{}", tail(.log))]
    Exited { reason: String, log: Vec<String> },
    #[error("{what} did not answer within {seconds} s; its worker was ended")]
    Timeout { what: String, seconds: u64 },
    #[error("{0}")]
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
