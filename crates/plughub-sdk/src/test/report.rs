//! The outcome of a test run: one line a test and a summary, or JSON.

use crate::test::stub::StubRequest;
use serde::Serialize;
use serde_json::Value;

/// How one test went.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub suite: String,
    pub test: String,
    pub passed: bool,
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// The runtime calls it made to plughub (`[{method, params}]`).
    pub runtime_calls: Value,
    /// The HTTP requests it made, as the worker saw them (`[{method, url, status}]`).
    pub http_requests: Value,
    /// What the stub answered while it ran.
    pub stub_requests: Vec<StubRequest>,
}

impl TestOutcome {
    /// From the worker's `test.result`, and what the stub saw meanwhile.
    pub fn from_result(
        suite: &str,
        test: &str,
        result: &Value,
        stub_requests: Vec<StubRequest>,
    ) -> TestOutcome {
        let text = |key: &str| result[key].as_str().map(str::to_string);
        TestOutcome {
            suite: suite.into(),
            test: test.into(),
            passed: result["passed"] == Value::Bool(true),
            duration_ms: result["durationMs"].as_f64().unwrap_or(0.0),
            error: text("error"),
            stack: text("stack"),
            runtime_calls: result["runtimeCalls"].clone(),
            http_requests: result["httpRequests"].clone(),
            stub_requests,
        }
    }

    /// A test the worker could not run (it ended, it timed out).
    pub fn broken(suite: &str, test: &str, error: String, duration_ms: f64) -> TestOutcome {
        TestOutcome {
            suite: suite.into(),
            test: test.into(),
            passed: false,
            duration_ms,
            error: Some(error),
            stack: None,
            runtime_calls: Value::Array(Vec::new()),
            http_requests: Value::Array(Vec::new()),
            stub_requests: Vec::new(),
        }
    }

    /// Requests the stub had no entry for: said under the test, pass or fail.
    pub fn unmatched(&self) -> impl Iterator<Item = &StubRequest> {
        self.stub_requests.iter().filter(|r| !r.matched)
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub version: String,
    /// Whether the worker ran in the OS sandbox.
    pub sandboxed: bool,
    pub tests: Vec<TestOutcome>,
    pub passed: usize,
    pub failed: usize,
    pub duration_ms: f64,
}

impl Report {
    pub fn new(plugin: &str, version: &str, sandboxed: bool, tests: Vec<TestOutcome>) -> Report {
        let passed = tests.iter().filter(|t| t.passed).count();
        Report {
            plugin: plugin.into(),
            version: version.into(),
            sandboxed,
            passed,
            failed: tests.len() - passed,
            duration_ms: tests.iter().map(|t| t.duration_ms).sum(),
            tests,
        }
    }

    /// One line a test (`✓`/`✗`, suite › test, time), a failure's error under it, then the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for t in &self.tests {
            let mark = if t.passed { "✓" } else { "✗" };
            lines.push(format!(
                "{mark} {} › {} ({:.0} ms)",
                t.suite, t.test, t.duration_ms
            ));
            if let Some(error) = t.error.as_deref().filter(|_| !t.passed) {
                for line in error.lines() {
                    lines.push(format!("    {line}"));
                }
            }
            for r in t.unmatched() {
                lines.push(format!(
                    "    (stub: no entry in plughub.dev.json for {} {}: answered 404)",
                    r.method, r.url
                ));
            }
        }
        let summary = match (self.tests.len(), self.failed) {
            (0, _) => format!(
                "{}: no tests (give the plugin `tests: TestSuite[]`)",
                self.plugin
            ),
            (n, 0) => format!("{n} passed ({:.0} ms)", self.duration_ms),
            (n, failed) => format!(
                "{failed} failed, {} passed of {n} ({:.0} ms)",
                self.passed, self.duration_ms
            ),
        };
        lines.push(summary);
        lines
    }
}
