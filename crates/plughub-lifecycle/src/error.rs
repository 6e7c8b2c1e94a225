use plughub_domain::lifecycle::TransitionError;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no organisation named '{0}' (create it with `plughub admin create-org {0}`)")]
    UnknownOrg(String),
    #[error("{plugin} is installed in {org} already (version {version})")]
    AlreadyInstalled {
        plugin: String,
        org: String,
        version: String,
    },
    #[error("{plugin} is not installed in {org}")]
    NotInstalled { plugin: String, org: String },
    #[error(
        "{plugin}@{version} is not on this node, and cannot be fetched here as it was installed (from a local folder, or with no integrity recorded): run it on the node that installed it, or reinstall it from the registry"
    )]
    PackageElsewhere { plugin: String, version: String },
    #[error("'{name}' is not a usable {what} name: use 1 to 64 letters, digits, '-', '_' or '.'")]
    BadName { what: &'static str, name: String },
    #[error(
        "{plugin} asks for permissions not granted in {org}: {missing}. Review them with `plughub permissions {plugin} --org {org}`; an org_owner grants them with `plughub grant {plugin} --org {org}`"
    )]
    NeedsGrant {
        plugin: String,
        org: String,
        /// Boxed: the error stays small on every path that returns it.
        missing: Box<plughub_domain::permissions::Permissions>,
    },
    #[error("process.spawn cannot be granted for '{program}': {problem}")]
    UngrantableProgram { program: String, problem: String },
    #[error("{plugin}: its plughub.permissions cannot be read: {source}")]
    BadPermissions {
        plugin: String,
        source: plughub_domain::permissions::PermissionError,
    },

    #[error(
        "{org} has installed {count} plugins in the last hour, the limit is {limit}; try again later"
    )]
    RateLimited { org: String, count: i64, limit: i64 },
    #[error(
        "{plugin}@{version} scores {score}/100 in the static analysis, above the threshold of {threshold}: not installed. Review it with `plughub audit {plugin}@{version}`; an org_owner may accept the risk with --accept-risk"
    )]
    TooRisky {
        plugin: String,
        version: String,
        score: u32,
        threshold: u32,
    },
    #[error("{plugin}: {}", .problems.iter().map(|p| format!("{}: {}", p.key, p.message)).collect::<Vec<_>>().join("; "))]
    InvalidConfig {
        plugin: String,
        problems: Vec<plughub_domain::config_schema::ConfigProblem>,
    },
    #[error("{0}")]
    BadEnvFile(String),
    #[error("{0}")]
    Dependencies(#[from] plughub_domain::dependencies::DependencyError),
    #[error("{by} needs {plugin}, which cannot be installed: {source}")]
    DependencyUnavailable {
        plugin: String,
        by: String,
        source: Box<plughub_install::InstallError>,
    },
    #[error("{plugin} was not installed: its dependency {dependency} failed ({reason})")]
    DependencyFailed {
        plugin: String,
        dependency: String,
        reason: String,
    },
    #[error("{} depend(s) on {plugin} in {org}: {what} {} first", .dependents.join(", "), .dependents.join(", "))]
    HasDependents {
        plugin: String,
        org: String,
        dependents: Vec<String>,
        what: &'static str,
    },
    #[error(
        "no agent named '{agent}' in {org} (create it with `plughub agent create {agent} --org {org}`)"
    )]
    UnknownAgent { agent: String, org: String },
    #[error("{plugin} is already active for agent {agent}")]
    AlreadyActive { plugin: String, agent: String },
    #[error("{plugin} is not active for agent {agent}")]
    NotActive { plugin: String, agent: String },
    #[error("{plugin} needs {} before it can be used: `plughub configure {plugin} --org {org} {}`", .missing.join(", "), .missing.iter().map(|k| format!("{k}=…")).collect::<Vec<_>>().join(" "))]
    NeedsConfig {
        plugin: String,
        org: String,
        missing: Vec<String>,
    },
    #[error(
        "{plugin} has no earlier version to roll back to (a rollback returns to the version before the last update)"
    )]
    NothingToRollBack { plugin: String },
    #[error("rolling {plugin} back to {version} needs {} installed first", .missing.join(", "))]
    RollbackNeeds {
        plugin: String,
        version: String,
        missing: Vec<String>,
    },
    #[error("{plugin} cannot run while it is {state:?}: {}", match .state { plughub_domain::lifecycle::State::Suspended => "it was suspended after repeated errors", plughub_domain::lifecycle::State::Failed => "its install failed; install it again", _ => "wait for the change in progress to finish" })]
    NotRunnable {
        plugin: String,
        state: plughub_domain::lifecycle::State,
    },
    #[error(transparent)]
    Secrets(#[from] plughub_secrets::SecretsError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Install(#[from] plughub_install::InstallError),
    #[error(transparent)]
    Analyze(#[from] plughub_analyzer::AnalyzeError),
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}
