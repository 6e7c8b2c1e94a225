#![doc = include_str!("../README.md")]

mod boot;
mod caps;
mod error;
mod lines;
mod plugin;
mod pool;
pub mod readiness;
mod runtime;
mod sandboxing;
mod worker;

pub use boot::{BootSpec, Booted, Urgency};
pub use caps::{CallbackCap, Caps};
pub use error::EngineError;
pub use plughub_egress::{
    Admission, AdmitFuture, EgressMapping, EgressPolicy, EgressRecord, ResolveFuture, Resolver,
};
pub use plughub_sandbox::SandboxPolicy;
pub use plugin::{
    Invocation, LoadedPlugin, PluginSpec, RouteRequest, RouteResponse, RunContext, Settings,
    message,
};
pub use pool::WorkerPool;
pub use runtime::{LocalRuntime, RuntimeFuture, RuntimeHost};
pub use worker::{EgressHooks, LogLine, LogMark, Worker, WorkerSpec};

/// The JS host, carried by the binary and written next to the workers' sockets when they start.
pub const HOST_SCRIPT: &str = include_str!("../js/host.mjs");
