//! The messages, one JSON object a line. Requests from the host carry a numeric id that the answer repeats;
//! runtime calls from the plugin carry a string id that the host's answer repeats. The two id spaces never
//! meet, so an answer can only be taken for the request it names.

use crate::manifest::Manifest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The id of a request the host made.
pub type RequestId = u64;

/// What the host sends to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum HostMessage {
    /// The first line to a worker, which booted without a plugin: it has been confined (its cgroup
    /// joined) and given its package; `env` is added to its environment (the plugin's own variables,
    /// and the host script's `PLUGHUB_*` settings: where the package is, the egress socket, the caps),
    /// and it may load the plugin.
    #[serde(rename = "plughub.start")]
    Start {
        env: std::collections::BTreeMap<String, String>,
    },
    #[serde(rename = "plugin.init")]
    Init { id: RequestId, config: Value },
    #[serde(rename = "action.validate")]
    ValidateAction {
        id: RequestId,
        action: String,
        memory: Value,
        state: Value,
    },
    #[serde(rename = "action.invoke")]
    InvokeAction {
        id: RequestId,
        action: String,
        memory: Value,
        state: Value,
        options: Value,
        /// The calling agent answers the run's conversation calls (see `RuntimeCall::request`).
        #[serde(default, skip_serializing_if = "is_false")]
        remote: bool,
    },
    /// `action.validate` then, when it answers true, `action.invoke`, in one message: what an execution
    /// does, at one round trip instead of two. Answered with `validate.result` (valid false) when the
    /// action declines the message, else as `action.invoke`. plughub's own; the interop protocol has
    /// the two steps.
    #[serde(rename = "action.run")]
    RunAction {
        id: RequestId,
        action: String,
        memory: Value,
        state: Value,
        options: Value,
        /// The calling agent answers the run's conversation calls (see `RuntimeCall::request`).
        #[serde(default, skip_serializing_if = "is_false")]
        remote: bool,
    },
    #[serde(rename = "provider.get")]
    GetProvider {
        id: RequestId,
        provider: String,
        memory: Value,
        state: Value,
        #[serde(default, skip_serializing_if = "is_false")]
        remote: bool,
    },
    #[serde(rename = "evaluator.invoke")]
    InvokeEvaluator {
        id: RequestId,
        evaluator: String,
        memory: Value,
        state: Value,
        #[serde(default, skip_serializing_if = "is_false")]
        remote: bool,
    },
    #[serde(rename = "service.start")]
    StartService { id: RequestId, service: String },
    #[serde(rename = "service.stop")]
    StopService { id: RequestId, service: String },
    #[serde(rename = "route.handle")]
    HandleRoute {
        id: RequestId,
        path: String,
        method: String,
        body: Value,
        params: Value,
        query: Value,
        headers: Value,
    },
    /// A model the plugin provides, called as `useModel` of another plugin calls it (plughub's addition:
    /// elizaOS calls models in-process).
    #[serde(rename = "model.invoke")]
    InvokeModel {
        id: RequestId,
        #[serde(rename = "modelType")]
        model_type: String,
        params: Value,
    },
    /// The plugin's own test suites (its `tests`, elizaOS's `TestSuite[]`): their names, answered with
    /// `test.list.result`. `plughub dev test` only; plughub's addition.
    #[serde(rename = "test.list")]
    ListTests { id: RequestId },
    /// Runs one test of the plugin's suites (`fn(runtime)` with the runtime components get), answered
    /// with `test.result` whether it passed or threw. `plughub dev test` only; plughub's addition.
    #[serde(rename = "test.run")]
    RunTest {
        id: RequestId,
        suite: String,
        test: String,
    },
    /// The answer to a runtime call of the plugin.
    #[serde(rename = "runtime.result")]
    RuntimeResult { id: String, result: Value },
    #[serde(rename = "runtime.error")]
    RuntimeError { id: String, error: String },
}

impl HostMessage {
    /// The id of a request (runtime answers have none: they answer the plugin).
    pub fn request_id(&self) -> Option<RequestId> {
        use HostMessage::*;
        match self {
            Init { id, .. }
            | ValidateAction { id, .. }
            | InvokeAction { id, .. }
            | RunAction { id, .. }
            | GetProvider { id, .. }
            | InvokeEvaluator { id, .. }
            | StartService { id, .. }
            | StopService { id, .. }
            | HandleRoute { id, .. }
            | InvokeModel { id, .. }
            | ListTests { id }
            | RunTest { id, .. } => Some(*id),
            Start { .. } | RuntimeResult { .. } | RuntimeError { .. } => None,
        }
    }
}

/// What a worker sends to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum WorkerMessage {
    /// The first line: the plugin is loaded (not yet initialised); its static manifest.
    #[serde(rename = "ready")]
    Ready { manifest: Manifest },
    /// `init` ran; the manifest as it is now, with what `init` registered.
    #[serde(rename = "plugin.init.result")]
    InitResult {
        id: RequestId,
        success: bool,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        manifest: Option<Manifest>,
    },
    #[serde(rename = "validate.result")]
    ValidateResult { id: RequestId, valid: bool },
    #[serde(rename = "action.result")]
    ActionResult {
        id: RequestId,
        #[serde(default)]
        result: Value,
    },
    #[serde(rename = "provider.result")]
    ProviderResult {
        id: RequestId,
        #[serde(default)]
        result: Value,
    },
    #[serde(rename = "model.result")]
    ModelResult {
        id: RequestId,
        #[serde(default)]
        result: Value,
    },
    #[serde(rename = "service.response")]
    ServiceResponse {
        id: RequestId,
        success: bool,
        #[serde(default)]
        error: Option<String>,
    },
    #[serde(rename = "route.response")]
    RouteResponse {
        id: RequestId,
        status: u16,
        #[serde(default)]
        headers: Value,
        #[serde(default)]
        body: Value,
    },
    /// The plugin's test suites: `[{name, tests: [name]}]`.
    #[serde(rename = "test.list.result")]
    TestList {
        id: RequestId,
        #[serde(default)]
        suites: Value,
    },
    /// How one test went: `{passed, error?, stack?, durationMs, runtimeCalls, httpRequests}`; a test
    /// that throws is answered here too (it is the test's outcome, not the worker's error).
    #[serde(rename = "test.result")]
    TestResult {
        id: RequestId,
        #[serde(default)]
        result: Value,
    },
    #[serde(rename = "error")]
    Error {
        id: RequestId,
        error: String,
        #[serde(default)]
        details: Value,
    },
    /// Content an action passed to its callback, while the request `id` runs.
    #[serde(rename = "callback")]
    Callback { id: RequestId, content: Value },
    /// A call of the plugin on its runtime (`useModel`, `getMemories`, …). `request`: the request whose
    /// run made the call, when the call was made while one ran (the host script follows each run's
    /// asynchronous context): a run whose calling agent answers the conversation's calls gets them.
    #[serde(rename = "runtime.call")]
    RuntimeCall {
        id: String,
        method: String,
        #[serde(default)]
        params: Vec<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// A line of the plugin's logger; `cut`: how many bytes of it the worker already left out (it cuts
    /// a long line before sending it, rather than sending what plughub would cut).
    #[serde(rename = "log")]
    Log {
        level: String,
        message: String,
        #[serde(default, skip_serializing_if = "is_zero")]
        cut: u64,
    },
}

impl WorkerMessage {
    /// The request this message answers (finally or, for a callback, on the way).
    pub fn answers(&self) -> Option<RequestId> {
        use WorkerMessage::*;
        match self {
            InitResult { id, .. }
            | ValidateResult { id, .. }
            | ActionResult { id, .. }
            | ProviderResult { id, .. }
            | ModelResult { id, .. }
            | ServiceResponse { id, .. }
            | RouteResponse { id, .. }
            | TestList { id, .. }
            | TestResult { id, .. }
            | Error { id, .. }
            | Callback { id, .. } => Some(*id),
            Ready { .. } | RuntimeCall { .. } | Log { .. } => None,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
