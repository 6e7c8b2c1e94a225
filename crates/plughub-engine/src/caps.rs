//! What a plugin may make plughub hold: its log (per line, per worker, per execution), its callbacks and
//! events per execution, and the size of each runtime call. Past a cap, output is cut with a marker, a
//! runtime call is refused with an error the plugin sees, or the execution is stopped with an error that
//! says which cap; plughub's own memory never pays for a plugin's output.

use std::fmt;
use std::time::Duration;

/// The caps of one worker and of each execution it serves; `Caps::default()` is what plughub runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// A line the plugin prints or logs is cut past this many bytes, with a marker
    /// `… [cut: N more bytes]` (default 8 KiB).
    pub log_line_bytes: usize,
    /// The log a worker keeps: its newest lines, at most this many (default 1,000)…
    pub worker_log_lines: usize,
    /// …and at most this many bytes (default 1 MiB).
    pub worker_log_bytes: usize,
    /// What one execution's log carries (`Worker::log_since`): its newest lines, at most this many
    /// (default 200)…
    pub run_log_lines: usize,
    /// …and at most this many bytes (default 64 KiB); a first line says how much was left out.
    pub run_log_bytes: usize,
    /// Callbacks one request may send (default 1,000): the next stops the run with
    /// `EngineError::CallbacksOverCap`.
    pub callbacks: usize,
    /// Bytes of callbacks one request may send, counted as their protocol messages (default 1 MiB).
    pub callback_bytes: usize,
    /// Events (`runtime.emitEvent`) one execution may emit (default 100); past it the call throws in
    /// the plugin.
    pub events: usize,
    /// The largest event, its call's protocol message (default 64 KiB).
    pub event_bytes: usize,
    /// The largest runtime call's arguments, and the largest answer, as protocol messages (default
    /// 1,000,000 bytes, the protocol's frame cap, which it cannot exceed): past it the call throws in
    /// the plugin, and the worker serves on.
    pub runtime_call_bytes: usize,
    /// Runtime calls of one worker answered at once (default 64); more wait, and the worker's socket
    /// backs up into the worker instead of into plughub.
    pub runtime_calls_in_flight: usize,
    /// How long a run stopped at a cap has to end (its callback then throws in the plugin) before its
    /// worker is ended as one that does not stop (default 5 s).
    pub stop_grace: Duration,
}

impl Caps {
    pub const DEFAULT: Caps = Caps {
        log_line_bytes: 8 * 1024,
        worker_log_lines: 1_000,
        worker_log_bytes: 1024 * 1024,
        run_log_lines: 200,
        run_log_bytes: 64 * 1024,
        callbacks: 1_000,
        callback_bytes: 1024 * 1024,
        events: 100,
        event_bytes: 64 * 1024,
        runtime_call_bytes: plughub_protocol::MAX_MESSAGE_BYTES,
        runtime_calls_in_flight: 64,
        stop_grace: Duration::from_secs(5),
    };

    /// What the JS host enforces on its side (the same figures, so both sides stop at the same message).
    pub(crate) fn for_host(&self) -> String {
        serde_json::json!({
            "callbacks": self.callbacks,
            "callbackBytes": self.callback_bytes,
            "logLineBytes": self.log_line_bytes,
            "runtimeCallBytes": self.runtime_call_bytes.min(plughub_protocol::MAX_MESSAGE_BYTES),
        })
        .to_string()
    }
}

impl Default for Caps {
    fn default() -> Caps {
        Caps::DEFAULT
    }
}

/// Which cap on callbacks a run went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackCap {
    /// More callbacks than this.
    Count(usize),
    /// More bytes of callbacks than this.
    Bytes(usize),
}

impl fmt::Display for CallbackCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackCap::Count(n) => write!(f, "{} callbacks", thousands(*n as u64)),
            CallbackCap::Bytes(n) => write!(f, "{} of callbacks", bytes(*n as u64)),
        }
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size as people read it: whole KiB and MiB when exact (the caps are), else bytes.
pub(crate) fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        n => format!("{} bytes", thousands(n)),
    }
}

/// `text` cut to at most `cap` bytes (on a character boundary), and how many bytes were left out.
pub(crate) fn cut(mut text: String, cap: usize) -> (String, usize) {
    if text.len() <= cap {
        return (text, 0);
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let left_out = text.len() - end;
    text.truncate(end);
    (text, left_out)
}

/// The marker a cut line ends with.
pub(crate) fn cut_marker(left_out: usize) -> String {
    format!("… [cut: {} more bytes]", thousands(left_out as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_048_576), "1,048,576");
        assert_eq!(bytes(1024 * 1024), "1 MiB");
        assert_eq!(bytes(64 * 1024), "64 KiB");
        assert_eq!(bytes(1_000_000), "1,000,000 bytes");
        assert_eq!(
            CallbackCap::Count(1_000).to_string(),
            "1,000 callbacks",
            "as the error says it"
        );
        assert_eq!(
            CallbackCap::Bytes(1 << 20).to_string(),
            "1 MiB of callbacks"
        );
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        assert_eq!(cut("short".into(), 8), ("short".into(), 0));
        assert_eq!(cut("abcdefghij".into(), 4), ("abcd".into(), 6));
        // "é" is two bytes: a cut inside it keeps the character whole out.
        assert_eq!(cut("aé".into(), 2), ("a".into(), 2));
        assert_eq!(cut_marker(1_040_384), "… [cut: 1,040,384 more bytes]");
    }

    #[test]
    fn the_host_gets_the_same_figures() {
        let host: serde_json::Value = serde_json::from_str(&Caps::DEFAULT.for_host()).unwrap();
        assert_eq!(host["callbacks"], 1_000);
        assert_eq!(host["callbackBytes"], 1024 * 1024);
        assert_eq!(host["logLineBytes"], 8 * 1024);
        assert_eq!(host["runtimeCallBytes"], 1_000_000);
    }
}
