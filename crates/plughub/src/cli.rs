//! The command line.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "plughub",
    version,
    about = "The plugin platform for elizaOS agents"
)]
pub struct Cli {
    /// The configuration file (plughub.toml) beneath the environment and the flags; without it,
    /// /etc/plughub/plughub.toml when it exists (`plughub serve --print-config` shows what is in force)
    #[arg(long, global = true, env = "PLUGHUB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub logging: LoggingArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub egress: EgressMapArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct LoggingArgs {
    /// How log lines are written on stderr: text for people, json (one object a line, with the
    /// request's and the execution's ids) for a log collector
    #[arg(long, global = true, env = "PLUGHUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What is logged: a level (info) or tracing directives (plughub=debug,info); RUST_LOG too.
    /// Default: info for serve, warn for the other commands
    #[arg(long, global = true, env = "PLUGHUB_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Export the server's spans (HTTP requests, executions, installs, syncs) over OTLP/HTTP to this
    /// collector (http://host:4318; /v1/traces is added). Off by default
    #[arg(
        long,
        global = true,
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        value_name = "URL"
    )]
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where the embedded SQLite store lives (created on first use)
    #[arg(long, global = true, env = "PLUGHUB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use a PostgreSQL server instead: postgres://user:password@host:port/database
    #[arg(
        long,
        global = true,
        env = "PLUGHUB_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

/// Granted domains sent to stubs on this machine (staging, tests), for every command that runs plugins:
/// `serve`, `run`, `provide`, `evaluate`, `route`, `inspect`, `compat run`.
#[derive(Debug, Clone, Default, Args)]
pub struct EgressMapArgs {
    /// Send a plugin's requests for DOMAIN (a name, or *.example.com), on any port, to a server on
    /// loopback instead of the internet, once its grant is checked: a stub of that API for staging and
    /// tests. Repeat for several. Every other request is checked and resolved as ever
    #[arg(
        long = "egress-map",
        global = true,
        env = "PLUGHUB_EGRESS_MAP",
        value_name = "DOMAIN=HOST:PORT",
        value_delimiter = ','
    )]
    pub egress_map: Vec<plughub_engine::EgressMapping>,
    /// A certificate authority (PEM file) that signed the stubs' certificates: plugins trust it for
    /// https to the mapped domains only
    #[arg(
        long = "egress-map-ca",
        global = true,
        env = "PLUGHUB_EGRESS_MAP_CA",
        value_name = "FILE"
    )]
    pub egress_map_ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// Work through a plughub server's API instead of a local store: http://host:port
    #[arg(long, global = true, env = "PLUGHUB_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The API token for --server (make one with `plughub admin create-token`)
    #[arg(
        long,
        global = true,
        env = "PLUGHUB_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: the REST API and the web UI
    Serve(ServeArgs),
    /// Keep the catalogue of elizaOS plugins
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Search the catalogue
    Search(SearchArgs),
    /// Everything known of one plugin
    Info(InfoArgs),
    /// Static analysis of a plugin before it runs: an npm package, a folder or a .tgz
    Audit(AuditArgs),
    /// Install a plugin for an organisation: verified, analysed, dependencies without scripts
    Install(InstallArgs),
    /// Uninstall a plugin from an organisation; unused packages are collected
    Uninstall(InstanceArgs),
    /// The plugins an organisation has installed
    Installed(InstalledArgs),
    /// Set an installed plugin's settings (checked against what it declares; secrets sealed)
    Configure(ConfigureArgs),
    /// Show an installed plugin's settings (secrets by name only)
    Config(InstanceArgs),
    /// Activate an installed plugin for an agent (the plugins it depends on first)
    Activate(ActivateArgs),
    /// Deactivate a plugin for an agent, or for all its agents
    Deactivate(DeactivateArgs),
    /// Update an installed plugin to a newer version, keeping its configuration
    Update(UpdateArgs),
    /// Go back to the version before the last update
    Rollback(InstanceArgs),
    /// The agents of an organisation
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Run an action of an installed plugin (its callbacks stream as they come)
    Run(RunArgs),
    /// Ask a provider of an installed plugin for what it provides
    Provide(ProvideArgs),
    /// Run an evaluator of an installed plugin on a message
    Evaluate(ProvideArgs),
    /// Send an HTTP request to a route of an installed plugin, as elizaOS's server would
    Route(RouteArgs),
    /// Load an installed plugin, run its init, and show what it really has (recorded with it)
    Inspect(InspectArgs),
    /// Let a plugin suspended after repeated errors run again
    Resume(InstanceArgs),
    /// An organisation's executions with their logs, newest first; --follow shows new ones as they come
    Logs(LogsArgs),
    /// Check plughub end to end: catalogue, search, install, configure, run, logs, uninstall, each timed
    Smoke(SmokeArgs),
    /// What an installed plugin asks for, what is granted, and what is missing
    Permissions(InstanceArgs),
    /// Grant an installed plugin permissions: what it asks for, or the ones named (as org_owner)
    Grant(GrantArgs),
    /// Take back an installed plugin's permissions: all of them, or the ones named
    Revoke(GrantArgs),
    /// What this machine allows plughub's sandbox to do, tried on a real sandboxed worker
    Doctor(DoctorArgs),
    /// Try catalogue plugins under plughub and under plain npm, and report which run
    #[command(subcommand)]
    Compat(CompatCommand),
    /// Organisations, people, roles, API tokens and keys
    #[command(subcommand)]
    Admin(AdminCommand),
    /// For plugin authors: make, check, test and publish a plugin (alone: rebuild and reload on change)
    ///
    /// `plughub dev` alone, in a plugin's folder: builds it (npm run build), starts a local plughub on
    /// 127.0.0.1 with a development store (~/.cache/plughub/dev), installs the plugin in the organisation
    /// `dev`, configures it from plughub.dev.json, grants and activates it for the agent `dev`, prints the
    /// playground URL and a sign-in, then rebuilds and reloads it on every change of src/. Ctrl-C stops.
    Dev(DevArgs),
}

/// `plughub dev`: the plugin author's tools. Each works on the plugin package in the current folder
/// (or `--dir`).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: Option<DevCommand>,
    #[command(flatten)]
    pub watch: DevWatchArgs,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// A new plugin package from a template, ready to build and test
    ///
    /// Writes DIR/<name without scope>: TypeScript sources (src/index.ts, src/tests.ts with TestSuite
    /// tests), package.json with settings and declared permissions, tsup config, plughub.dev.json (the
    /// test harness's settings, HTTP stubs and models), README and placeholder images. Then: npm install,
    /// npm run build, plughub dev validate, plughub dev test.
    Init(DevInitArgs),
    /// Load and init the plugin with placeholder settings, check its package, permissions and analysis
    ///
    /// Packs the package as `npm publish` would, analyses it as an install does, loads it in plughub's
    /// engine (in the OS sandbox as root), and lists its components. Each problem is an error or a warning
    /// with its fix: the package.json (name, semver, keywords, settings, the @elizaos/core peer range,
    /// images, built entry files), declared permissions against what the code uses, the analysis'
    /// findings and risk score, size and dependencies. Exits 1 on errors.
    Validate(DevValidateArgs),
    /// Run the plugin's own test suites in plughub's engine and sandbox
    Test(DevTestArgs),
    /// The plugin's executions with their logs in the local development server (`plughub dev`'s store)
    Logs(DevLogsArgs),
    /// Pack, validate and publish the plugin to a plughub server
    ///
    /// Packs with `npm pack`, validates (errors stop it), shows the files, size and sha512 integrity, and
    /// uploads to --server with --token (a publish token, php_…, for the package's namespace). Says
    /// whether it was published or quarantined for a moderator, or why it was refused and what to do.
    Publish(DevPublishArgs),
}

#[derive(Debug, Args)]
pub struct DevDirArg {
    /// The plugin package's folder
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

/// `plughub dev` alone: build, serve the plugin on a local plughub with a playground, rebuild and reload
/// it on every change of src/.
#[derive(Debug, Args)]
pub struct DevWatchArgs {
    #[command(flatten)]
    pub dir: DevDirArg,
    /// The local server's port (0: any free one)
    #[arg(long, default_value_t = 3017)]
    pub port: u16,
    /// Print the ready line, each reload and the URLs as JSON lines
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DevInitArgs {
    /// The package name: plugin-x, or @scope/plugin-x (npm's rules: lowercase, no spaces)
    pub name: String,
    /// What the plugin starts with: action, provider (calls an HTTP API with a secret), evaluator, model
    /// (a model provider), service, or full (one of each)
    #[arg(long, default_value = "action", value_parser = ["action", "provider", "evaluator", "model", "service", "full"])]
    pub template: String,
    /// The folder to make the package in (as DIR/<name without scope>)
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DevValidateArgs {
    #[command(flatten)]
    pub dir: DevDirArg,
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DevTestArgs {
    #[command(flatten)]
    pub dir: DevDirArg,
    #[arg(long)]
    pub json: bool,
    /// Also write the outcome as JUnit XML to FILE (for CI)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run the worker without the OS sandbox (it runs without it anyway when plughub is not root)
    #[arg(long)]
    pub no_sandbox: bool,
    /// Seconds each test may take
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct DevLogsArgs {
    #[command(flatten)]
    pub dir: DevDirArg,
    /// Keep showing new executions as they come
    #[arg(long)]
    pub follow: bool,
    /// How many of the latest executions to show first
    #[arg(long, default_value_t = 20)]
    pub last: usize,
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

/// `--server` and `--token` (or PLUGHUB_SERVER / PLUGHUB_TOKEN) say where to publish and with which
/// publish token.
#[derive(Debug, Args)]
pub struct DevPublishArgs {
    #[command(flatten)]
    pub dir: DevDirArg,
    /// The dist-tag the version gets (without it, the server moves `latest` to it only when it is newer)
    #[arg(long)]
    pub tag: Option<String>,
    /// Pack and validate, show what would be published, and stop there
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organisation
    CreateOrg(CreateOrgArgs),
    /// List the organisations
    Orgs(JsonArg),
    /// Make a new secret key and reseal every stored secret with it
    RotateKey(RotateKeyArgs),
    /// Create a person (a password is made and shown once, unless one comes on stdin)
    CreateUser(CreateUserArgs),
    /// Give a person a role in an organisation: org_owner, org_user or customer (platform_owner in
    /// `platform`)
    SetRole(SetRoleArgs),
    /// Make an API token for a person (shown once)
    CreateToken(CreateTokenArgs),
    /// A person's API tokens (never their secrets)
    Tokens(PersonArgs),
    /// Revoke an API token by its id
    RevokeToken(RevokeTokenArgs),
    /// Invite someone to an organisation with a role: a link, shown once, used once
    Invite(InviteArgs),
    /// Back up the store (a consistent copy while the server serves), the list of installed packages
    /// with their integrity, and with --with-keys the secret keys sealed with a passphrase
    Backup(BackupArgs),
    /// Restore a backup into a fresh data directory (--data-dir) or an empty database (--database-url)
    Restore(RestoreArgs),
    /// Write all of an organisation's data to a file: members, installed plugins and their settings
    /// (secrets by name only), agents, webhooks, reviews, events
    ExportOrg(ExportOrgArgs),
    /// Delete an organisation with everything of it (recorded on the platform's log)
    DeleteOrg(DeleteOrgArgs),
    /// Delete the records of executions older than an age now, once the analytics' rollups count them
    /// (what plughub serve does every hour with --retain-executions)
    Retention(RetentionArgs),
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The age in days past which executions' records go
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(1..))]
    pub older_than: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportOrgArgs {
    pub org: String,
    /// The file to write (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
pub struct DeleteOrgArgs {
    pub org: String,
    /// Say yes: the organisation, its installed plugins, agents, memories and events are gone for good
    /// (export it first with `plughub admin export-org`)
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new folder for the backup
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Keep the secret keys too, sealed with a passphrase (without them a restore's secrets open only
    /// with the keys kept elsewhere: secret-keys.json or PLUGHUB_SECRET_KEY)
    #[arg(long)]
    pub with_keys: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's folder
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// The passphrase that seals the keys of a backup, read from the first line of FILE (or
    /// PLUGHUB_BACKUP_PASSPHRASE); 12 characters at least
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// The organisation
    pub org: String,
    /// org_owner, org_user or customer
    #[arg(long)]
    pub role: String,
    /// Only this person may accept it (anyone with the link when left out)
    #[arg(long)]
    pub email: Option<String>,
    /// Days until it expires (1 to 30)
    #[arg(long, default_value_t = plughub_accounts::INVITATION_DEFAULT_DAYS)]
    pub days: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    pub email: String,
    #[arg(long, default_value = "")]
    pub name: String,
    /// Read the password from stdin (one line) instead of making one
    #[arg(long)]
    pub password_stdin: bool,
    /// Also give a role in this organisation
    #[arg(long, requires = "role")]
    pub org: Option<String>,
    #[arg(long, requires = "org")]
    pub role: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SetRoleArgs {
    pub email: String,
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    pub email: String,
    /// What the token is for (shown in `plughub admin tokens`)
    #[arg(long, default_value = "cli")]
    pub name: String,
    /// Days until it expires (1 to 365)
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PersonArgs {
    pub email: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// Drop the old keys once nothing sealed with them is left
    #[arg(long)]
    pub retire: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent in an organisation
    Create(AgentCreateArgs),
    /// The agents of an organisation and the plugins each uses
    List(InstalledArgs),
    /// The character fragment that makes an elizaOS agent use its plugins through plughub (the agent
    /// bridge, @plughub/plugin-remote), its token left for you to fill in
    Export(AgentExportArgs),
    /// Who answers the plugins' models when the agent runs them from its own process: `agent` (its
    /// own models) or `plughub` (the organisation's model plugins); as org_owner
    Models(AgentModelsArgs),
}

#[derive(Debug, Args)]
pub struct AgentExportArgs {
    /// The agent's name in plughub
    pub name: String,
    #[arg(long)]
    pub org: String,
    /// The address the agent reaches plughub at (default: --server's, else the server's default
    /// address, http://127.0.0.1:8080)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct AgentModelsArgs {
    /// The agent's name in plughub
    pub name: String,
    /// agent or plughub
    #[arg(value_parser = ["agent", "plughub"])]
    pub models: String,
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AgentCreateArgs {
    pub name: String,
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateOrgArgs {
    pub name: String,
    /// free, pro or enterprise
    #[arg(long, default_value = "free")]
    pub plan: String,
    /// Make it a sub-group of this organisation
    #[arg(long)]
    pub parent: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "PLUGHUB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Check the configuration (file, environment and flags), say what is wrong, and exit
    #[arg(long, conflicts_with = "print_config")]
    pub check_config: bool,
    /// Print the configuration in force, as a plughub.toml with where each value came from (secrets
    /// masked), and exit
    #[arg(long)]
    pub print_config: bool,
    /// Days the records of executions are kept (runs, failed runs, their network requests); older ones
    /// are deleted every hour once the analytics' daily rollups count them (0: keep them all).
    /// Lifecycle, review, account and security events are always kept
    #[arg(
        long,
        env = "PLUGHUB_RETAIN_EXECUTIONS",
        value_name = "DAYS",
        default_value_t = 90
    )]
    pub retain_executions: u64,
    /// Seconds a SIGTERM or Ctrl-C waits for the runs in flight to finish before ending their workers
    #[arg(
        long,
        env = "PLUGHUB_SHUTDOWN_DEADLINE",
        value_name = "SECONDS",
        default_value_t = 30
    )]
    pub shutdown_deadline: u64,
    /// The account the server runs as when started as root: it starts the sandbox helper, which alone
    /// keeps root's powers, then becomes this account with no capabilities (default: the account
    /// `plughub` if there is one, else uid and gid 65532). It must be able to reach the data directory.
    #[arg(long, env = "PLUGHUB_USER", value_name = "NAME|UID[:GID]")]
    pub user: Option<String>,
    /// Do not sync the catalogue in the background
    #[arg(long)]
    pub no_sync: bool,
    /// How often to look for catalogue changes made by other servers or commands on the same store, to
    /// bring this server's search up to date (0: never)
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub catalog_poll: u64,
    /// Executions a minute each installed plugin may have, over all servers (default 100; 0: no limit)
    #[arg(long, value_name = "N")]
    pub executions_per_minute: Option<usize>,
    /// Executions a warm plugin worker serves before a fresh one replaces it (default 100; 0: never)
    #[arg(long, value_name = "N")]
    pub recycle_after: Option<u64>,
    /// Seconds after its start a warm plugin worker is replaced by a fresh one (default 3600; 0: never)
    #[arg(long, value_name = "SECONDS")]
    pub recycle_age: Option<u64>,
    /// MB by which a warm plugin worker's resident memory may grow over what it held once started
    /// before a fresh one replaces it (default 128; 0: never)
    #[arg(long, value_name = "MB")]
    pub recycle_memory_growth: Option<u64>,
    /// Plugin workers kept booted ahead of need (Node started in its sandbox, no plugin yet) for each
    /// set of limits plugins ran under lately: a new agent's worker, or a recycled one's successor, then
    /// costs only the plugin's import and init (0: none)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub booted_workers: usize,
    /// Failures in a row that open an installed plugin's circuit (default 5)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker_failures: Option<u32>,
    /// A reverse proxy in front of this server (an address, or a network such as 10.0.0.0/8) whose
    /// X-Forwarded-For is believed for the client's address; repeat for several. None by default: the
    /// header is then never read, so no client can choose the address its failed sign-ins count under
    #[arg(
        long = "trusted-proxy",
        env = "PLUGHUB_TRUSTED_PROXIES",
        value_name = "ADDRESS[/PREFIX]",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<plughub_domain::sign_in::Network>,
    /// Let webhooks be sent to loopback addresses (a receiver on this machine, for local use and
    /// tests). Off by default: webhooks go to public addresses only, as plugins' requests do
    #[arg(long)]
    pub webhook_allow_loopback: bool,
    /// Send webhooks to loopback only, resolving no name but localhost: nothing leaves this machine
    /// (checks that make webhooks from generated URLs)
    #[arg(long)]
    pub webhook_loopback_only: bool,
    /// A non-public address webhooks may be sent to anyway (an internal receiver); repeat for several
    #[arg(
        long = "webhook-trusted-address",
        value_name = "ADDRESS",
        value_delimiter = ','
    )]
    pub webhook_trusted_addresses: Vec<std::net::IpAddr>,
    /// How often to look in the registry for newer versions of installed plugins and tell
    /// organisations of them (0: never; `POST /api/admin/updates/check` checks at once)
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub update_check_every: u64,
    /// The address clients reach this server at (`https://plughub.example.org`), for the absolute URLs
    /// it hands out: the tarballs of its npm registry at `/npm/`. Set it behind a reverse proxy; without
    /// it, each request's Host header is used, over http
    #[arg(long, env = "PLUGHUB_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The official registry's generated-registry.json (a URL or a file); repeat to merge several
    #[arg(
        long = "from",
        env = "PLUGHUB_REGISTRY_URL",
        value_name = "FILE|URL",
        value_delimiter = ','
    )]
    pub registries: Vec<String>,
    /// Skip the official registry
    #[arg(long)]
    pub no_registry: bool,
    /// The npm registry (default: the one in your npm configuration)
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    /// Skip npm
    #[arg(long)]
    pub no_npm: bool,
    /// Parallel npm requests
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

#[derive(Debug, Subcommand)]
pub enum CompatCommand {
    /// Try each plugin's newest version per core major: installed in a throwaway organisation with
    /// placeholder settings, granted what it asks with no name resolving, inited in the sandbox; beside
    /// it plain `npm install --ignore-scripts` and Node offline. Versions tried before are skipped
    Run(CompatRunArgs),
    /// What the trials add up to: totals, plugins plain npm loads that plughub does not init, failures
    /// by cause and whose fault; --markdown writes what COMPATIBILITY.md holds
    Report(CompatReportArgs),
    /// One plugin's trials: how far each version got, why it stopped, its manifest
    Show(CompatShowArgs),
}

#[derive(Debug, Args)]
pub struct CompatRunArgs {
    /// Plugins to try: `openai`, `plugin-openai` or `@elizaos/plugin-openai`
    pub names: Vec<String>,
    /// Every plugin of the catalogue with an npm package
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Versions tried at once
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Do not try plain npm beside plughub
    #[arg(long)]
    pub no_npm_baseline: bool,
    /// Try again versions tried before under the same rules
    #[arg(long)]
    pub retry: bool,
    /// Seconds a plugin's init may take
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// The npm registry (default: the one in your npm configuration)
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    /// Print the trials of this run as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompatReportArgs {
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Markdown, as COMPATIBILITY.md holds it
    #[arg(long)]
    pub markdown: bool,
    /// The registry whose trials to report (default: the one in your npm configuration)
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompatShowArgs {
    /// The plugin: `openai`, `plugin-openai` or `@elizaos/plugin-openai`
    pub name: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Fill the catalogue from the official registry and npm
    Sync(SyncArgs),
    /// Which sources the catalogue came from, when, and what failed
    Status(JsonArg),
    /// Read what plugins' latest packages declare and ask for: fetched from npm as an install fetches
    /// them, analysed, never run
    Analyze(AnalyzeArgs),
    /// Build the starter catalogue carried by the binary (for plughub's own developers)
    #[command(hide = true)]
    BuildStarter(BuildStarterArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Sync even if the last sync was less than 5 minutes ago
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Plugins to analyse: `openai`, `plugin-openai` or `@elizaos/plugin-openai`
    pub names: Vec<String>,
    /// Every plugin of the catalogue
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Analyse again versions analysed before
    #[arg(long)]
    pub force: bool,
    /// Packages fetched and analysed at once
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The npm registry (default: the one in your npm configuration)
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BuildStarterArgs {
    /// The known plugins list: npm names, one a line
    #[arg(long)]
    pub names: PathBuf,
    /// A registry snapshot (`generated-registry.json` of the `main` or the `next` shape); repeatable,
    /// and at least one: a starter without the registry would be a poorer one
    #[arg(long = "registry", value_name = "FILE", required = true)]
    pub registries: Vec<PathBuf>,
    /// Where to write the starter (gzip-compressed JSON, as the binary carries it)
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for (empty: everything, most starred first)
    pub query: Vec<String>,
    /// Only plugins with this GitHub topic
    #[arg(long)]
    pub topic: Option<String>,
    /// Only plugins that work with this core major (v0, v1, v2)
    #[arg(long)]
    pub compat: Option<String>,
    /// With --compat: only where a published version proves it
    #[arg(long)]
    pub compat_verified: bool,
    /// Only plugins of this kind: action, provider, evaluator, service, model, client, adapter
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long)]
    pub license: Option<String>,
    /// Only plugins whose package asks for this permission (network.external, storage.read,
    /// storage.write, secrets.access, events.publish, knowledge.query), or `none`
    #[arg(long)]
    pub permission: Option<String>,
    /// Only plugins known to ask for none of these (comma-separated; repeatable):
    /// `--without-permission network.external` finds plugins that need no network
    #[arg(long, value_name = "PERMISSION")]
    pub without_permission: Vec<String>,
    /// Only plugins published under the @elizaos scope
    #[arg(long)]
    pub verified: bool,
    /// Show deprecated plugins too
    #[arg(long)]
    pub include_deprecated: bool,
    /// Only plugins whose reviews average at least this many stars (1 to 5)
    #[arg(long, value_name = "STARS")]
    pub min_rating: Option<f64>,
    /// Only plugins that run on plughub (a compatibility run inited their newest tried version),
    /// that do not, or that no run has tried: yes, no or untried
    #[arg(long, value_name = "yes|no|untried")]
    pub runs: Option<String>,
    /// relevance, stars, downloads, updated or rating
    #[arg(long, default_value = "relevance")]
    pub sort: String,
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    #[arg(long, default_value_t = 20)]
    pub per_page: usize,
    /// Count matches by topic, compatibility, license, kind, permission
    #[arg(long)]
    pub facets: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A plugin name: `@elizaos/plugin-solana`, `plugin-solana` or `solana`
    pub plugin: String,
    /// Print the README too
    #[arg(long)]
    pub readme: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// `name[@version|@range|@tag]` (a name the catalogue knows means its plugin, as for `info`), a
    /// package folder, or a .tgz
    pub plugin: String,
    /// Audit the npm name as written, although the catalogue does not hold it and it does not look like
    /// an elizaOS plugin (a private plugin)
    #[arg(long)]
    pub not_in_catalogue: bool,
    /// With an npm name: the newest version that works with this core major (v0, v1, v2)
    #[arg(long)]
    pub core: Option<String>,
    /// The npm registry (default: the one in your npm configuration)
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    /// Show every finding, not only the first 50
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// `name[@version|@range|@tag]` (a name the catalogue knows means its plugin, as for `info`), a
    /// package folder, or a .tgz
    pub plugin: String,
    /// Install the npm name as written, although the catalogue does not hold it and its package.json
    /// does not look like an elizaOS plugin's (a private plugin); one that exports no plugin still never
    /// starts
    #[arg(long)]
    pub not_in_catalogue: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

/// What installs and updates share.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[arg(long)]
    pub org: String,
    /// The newest version that works with this core major (v0, v1, v2); an update keeps the one it was
    /// installed for unless given
    #[arg(long)]
    pub core: Option<String>,
    /// Go ahead even above the risk threshold, accepted by this org_owner (named for the record)
    #[arg(long, value_name = "OWNER")]
    pub accept_risk: Option<String>,
    /// Grant the permissions the plugin asks for (shown by the install; you act as the org_owner)
    #[arg(long)]
    pub grant: bool,
    /// The npm registry (default: the one in your npm configuration)
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Permissions to grant or revoke; none named means all (what the plugin asks for, or all granted).
#[derive(Debug, Args)]
pub struct GrantArgs {
    pub plugin: String,
    #[arg(long)]
    pub org: String,
    /// A domain for network.external (`api.example.com`, `*.example.com`); repeatable
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// A secret setting for secrets.access; repeatable
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// A program for process.spawn: a name found on PATH or an absolute path, fixed to its real path when
    /// granted; repeatable
    #[arg(long = "program", value_name = "PROGRAM")]
    pub programs: Vec<String>,
    /// storage.read, storage.write, events.publish, knowledge.query or native.addons; repeatable
    /// (network.external is granted by naming its domains with --domain, process.spawn its programs
    /// with --program)
    #[arg(long = "permission", value_name = "NAME")]
    pub permissions: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

/// One installed plugin of an organisation (uninstall, config, rollback, resume).
#[derive(Debug, Args)]
pub struct InstanceArgs {
    pub plugin: String,
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InstalledArgs {
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    pub plugin: String,
    /// KEY=VALUE pairs
    pub settings: Vec<String>,
    #[arg(long)]
    pub org: String,
    /// Read KEY=VALUE lines from a file (.env style)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ActivateArgs {
    pub plugin: String,
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub agent: String,
    /// Only these actions (comma-separated); all by default
    #[arg(long, value_delimiter = ',')]
    pub actions: Option<Vec<String>>,
    /// Higher first, when several plugins offer the same thing
    #[arg(long, default_value_t = 0)]
    pub priority: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeactivateArgs {
    pub plugin: String,
    #[arg(long)]
    pub org: String,
    /// Only for this agent (default: every agent)
    #[arg(long)]
    pub agent: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub plugin: String,
    /// A version, range or tag, or a package folder or .tgz (default: the newest compatible version)
    pub target: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[arg(long)]
    pub org: String,
    /// The agent it runs for (its id as the runtime's agentId)
    #[arg(long, default_value = "cli")]
    pub agent: String,
    /// Seconds before the execution is ended (at most 300; the plan's tier sets the memory cap)
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub plugin: String,
    /// The action's name (or one of its similes)
    pub action: String,
    /// The message text the action is called with
    #[arg(long, default_value = "")]
    pub text: String,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct ProvideArgs {
    pub plugin: String,
    /// The provider's (or evaluator's) name
    pub provider: String,
    #[arg(long, default_value = "")]
    pub text: String,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    pub plugin: String,
    /// GET, POST, PUT, DELETE, …
    pub method: String,
    /// The route's path, as the plugin declares it (e.g. /hello)
    pub path: String,
    /// A query parameter (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub query: Vec<String>,
    /// The request body, as JSON
    #[arg(long, value_name = "JSON")]
    pub body: Option<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    pub plugin: String,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[arg(long)]
    pub org: String,
    /// Only this plugin's
    #[arg(long)]
    pub plugin: Option<String>,
    /// How many to show
    #[arg(long, default_value_t = 20)]
    pub last: usize,
    /// Keep showing executions as they are recorded (by any server on the store)
    #[arg(long)]
    pub follow: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The plugin to install, from the npm registry the server uses
    #[arg(long, default_value = "@elizaos/plugin-bootstrap")]
    pub plugin: String,
    /// The action to run
    #[arg(long, default_value = "NONE")]
    pub action: String,
    /// What to search the catalogue for (the plugin's short name when left out)
    #[arg(long)]
    pub query: Option<String>,
    /// Settings to configure, KEY=VALUE (repeat)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// Domains to grant the plugin network access to (repeat). When it asks for the network without
    /// saying where and none is given, it is granted `smoke.invalid`, a name that never resolves: it
    /// runs, and reaches nothing
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// The organisation to install into (with --server: one the token's owner is org_owner of); without
    /// --server plughub makes a throwaway store, organisation and token for the check
    #[arg(long, default_value = "smoke")]
    pub org: String,
    /// The message the action runs on
    #[arg(long, default_value = "hello from plughub smoke")]
    pub text: String,
    #[arg(long)]
    pub json: bool,
}
