//! What a long change reports while it works, for a person to watch (the CLI draws it, the server may
//! stream it). Steps are short phrases; nothing secret goes through here.

/// Receives the steps of installs and updates as they happen.
pub trait Progress: Send + Sync {
    /// `plugin` is at `step` (e.g. "downloading 1.2.0", "analysing", "installing dependencies").
    fn step(&self, plugin: &str, step: &str);
}

/// Reports nothing: the default for library use and tests.
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _plugin: &str, _step: &str) {}
}
