//! `plughub.toml`: the operator's configuration file, beneath the environment and the flags.
//!
//! Every key of the file is a flag (or, for the sandbox, an environment variable) under another name,
//! listed in [`KEYS`]. The file's values become the flags' defaults before the command line is read
//! again, so clap itself applies the order: a flag over its environment variable over the file over the
//! built-in default. A value is checked by the same parser as its flag, and an error names the key.

use crate::cli::Cli;
use anyhow::{Context, Result, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::PathBuf;

/// Where the file is looked for when neither `--config` nor `PLUGHUB_CONFIG` names one.
pub const DEFAULT_PATH: &str = "/etc/plughub/plughub.toml";

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Bool,
    List,
}

/// What a key sets.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A flag every command takes (`--data-dir`).
    Global(&'static str),
    /// A flag of `plughub serve`.
    Serve(&'static str),
    /// An environment variable read where it is used (the sandbox's), set from the file when the
    /// environment does not have it.
    Env(&'static str),
}

/// One key of the file.
#[derive(Debug, Clone, Copy)]
struct Key {
    name: &'static str,
    target: Target,
    kind: Kind,
    /// Shown masked by `--print-config`.
    secret: bool,
}

const fn key(name: &'static str, target: Target, kind: Kind) -> Key {
    Key {
        name,
        target,
        kind,
        secret: false,
    }
}

use Kind::*;
use Target::*;

/// Every key the file may hold, by section.
const KEYS: &[Key] = &[
    key("server.listen", Serve("listen"), Text),
    key("server.user", Serve("user"), Text),
    key("server.public_url", Serve("public_url"), Text),
    key("server.trusted_proxies", Serve("trusted_proxies"), List),
    key(
        "server.shutdown_deadline",
        Serve("shutdown_deadline"),
        Integer,
    ),
    key("store.data_dir", Global("data_dir"), Text),
    Key {
        secret: true,
        ..key("store.database_url", Global("database_url"), Text)
    },
    key("catalog.sync", Serve("no_sync"), Bool),
    key("catalog.poll", Serve("catalog_poll"), Integer),
    key("catalog.registries", Serve("registries"), List),
    key("catalog.no_registry", Serve("no_registry"), Bool),
    key("catalog.npm_registry", Serve("npm_registry"), Text),
    key("catalog.no_npm", Serve("no_npm"), Bool),
    key("catalog.concurrency", Serve("concurrency"), Integer),
    key(
        "catalog.update_check_every",
        Serve("update_check_every"),
        Integer,
    ),
    key(
        "limits.executions_per_minute",
        Serve("executions_per_minute"),
        Integer,
    ),
    key("limits.recycle_after", Serve("recycle_after"), Integer),
    key("limits.recycle_age", Serve("recycle_age"), Integer),
    key(
        "limits.recycle_memory_growth",
        Serve("recycle_memory_growth"),
        Integer,
    ),
    key("limits.booted_workers", Serve("booted_workers"), Integer),
    key(
        "limits.breaker_failures",
        Serve("breaker_failures"),
        Integer,
    ),
    key("sandbox.enabled", Env("PLUGHUB_SANDBOX"), Bool),
    key("sandbox.node", Env("PLUGHUB_NODE"), Text),
    key("egress.map", Global("egress_map"), List),
    key("egress.map_ca", Global("egress_map_ca"), Text),
    key(
        "webhooks.allow_loopback",
        Serve("webhook_allow_loopback"),
        Bool,
    ),
    key(
        "webhooks.loopback_only",
        Serve("webhook_loopback_only"),
        Bool,
    ),
    key(
        "webhooks.trusted_addresses",
        Serve("webhook_trusted_addresses"),
        List,
    ),
    key(
        "retention.executions_days",
        Serve("retain_executions"),
        Integer,
    ),
    key("logging.format", Global("log_format"), Text),
    key("logging.level", Global("log_level"), Text),
    key("logging.otlp_endpoint", Global("otlp_endpoint"), Text),
];

/// `catalog.sync = false` is the flag `--no-sync`: the one key whose sense is the flag's opposite, since
/// a file says what it wants.
fn inverted(key: &Key) -> bool {
    key.name == "catalog.sync"
}

/// The configuration file in force and what it set.
#[derive(Debug, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    /// The keys the file set, for `--print-config` to say where each value came from.
    set: Vec<&'static str>,
    /// The environment variables the file set (the operator had not).
    env_from_file: Vec<&'static str>,
}

/// Parses the command line, with `plughub.toml` beneath it when there is one: the file named by
/// `--config` or `PLUGHUB_CONFIG` (which must exist), else [`DEFAULT_PATH`] when it exists.
pub fn parse() -> Result<(Cli, ArgMatches, Loaded)> {
    parse_from(std::env::args_os().collect())
}

fn parse_from(argv: Vec<OsString>) -> Result<(Cli, ArgMatches, Loaded)> {
    let first = Cli::command().get_matches_from(argv.clone());
    let named = first.get_one::<PathBuf>("config").cloned();
    let path = match named {
        Some(path) => Some(path),
        None => Some(PathBuf::from(DEFAULT_PATH)).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        let cli = Cli::from_arg_matches(&first).unwrap_or_else(|e| e.exit());
        return Ok((cli, first, Loaded::default()));
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let values = read(&text).with_context(|| format!("{}", path.display()))?;
    let mut command = Cli::command();
    let mut set = Vec::new();
    let mut env_from_file = Vec::new();
    for (key, value) in values {
        set.push(key.name);
        command = match key.target {
            Global(id) => command.mut_arg(id, |arg| with_default(arg, &value)),
            Serve(id) => command.mut_subcommand("serve", |serve| {
                serve.mut_arg(id, |arg| with_default(arg, &value))
            }),
            Env(var) => {
                if std::env::var_os(var).is_none() {
                    let value = match (key.name, value.first().map(String::as_str)) {
                        ("sandbox.enabled", Some("false")) => "off".to_string(),
                        ("sandbox.enabled", _) => "on".to_string(),
                        _ => value.join(","),
                    };
                    // Before the runtime starts any thread: main calls this first.
                    plughub_sandbox::privileges::set_environment_alone(var, value.as_ref())
                        .with_context(|| format!("{}: {}", path.display(), key.name))?;
                    env_from_file.push(var);
                }
                command
            }
        };
    }
    let matches = command.get_matches_from(argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    Ok((
        cli,
        matches,
        Loaded {
            path: Some(path),
            set,
            env_from_file,
        },
    ))
}

fn with_default(arg: clap::Arg, values: &[String]) -> clap::Arg {
    arg.default_values(values.iter().map(clap::builder::OsStr::from))
}

/// The file's keys with their values as the flags take them, each checked by its flag's parser.
fn read(text: &str) -> Result<Vec<(Key, Vec<String>)>> {
    let table: toml::Table = toml::from_str(text).context("not valid TOML")?;
    let command = Cli::command();
    let serve = command
        .find_subcommand("serve")
        .expect("serve is a command")
        .clone();
    let mut values = Vec::new();
    for (section, inner) in &table {
        let Some(inner) = inner.as_table() else {
            bail!(
                "`{section}` is not a section: every key is in one ({})",
                sections().join(", ")
            );
        };
        for (name, value) in inner {
            let full = format!("{section}.{name}");
            let Some(key) = KEYS.iter().find(|k| k.name == full) else {
                bail!("unknown key `{full}`; {}", known_near(section));
            };
            let strings = as_strings(key, value)?;
            let strings = if inverted(key) {
                vec![(strings[0] == "false").to_string()]
            } else {
                strings
            };
            let (owner, id) = match key.target {
                Global(id) => (&command, id),
                Serve(id) => (&serve, id),
                Env(_) => {
                    values.push((*key, strings));
                    continue;
                }
            };
            let arg = owner
                .get_arguments()
                .find(|a| a.get_id() == id)
                .expect("every key's flag exists");
            if key.kind != Bool {
                for s in &strings {
                    parse_as(arg, s)
                        .map_err(|e| anyhow::anyhow!("`{full}` = {s:?}: {}", clap_reason(&e)))?;
                }
            }
            check_meaning(key, &strings)?;
            values.push((*key, strings));
        }
    }
    Ok(values)
}

/// Parses `value` as the flag `arg` would take it on the command line.
fn parse_as(arg: &clap::Arg, value: &str) -> Result<(), clap::Error> {
    let long = arg.get_long().expect("every key's flag has a long name");
    clap::Command::new("plughub.toml")
        .no_binary_name(true)
        .arg(arg.clone().global(false).required(false))
        .try_get_matches_from([format!("--{long}={value}")])
        .map(|_| ())
}

/// The reason clap gives, without its "error:" and usage lines.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first
        .trim_start_matches("error: ")
        .replace(" for '<", " ('<")
        .to_string()
}

/// What the flags' parsers do not check: these are text to them.
fn check_meaning(key: &Key, values: &[String]) -> Result<()> {
    let value = values.first().map(String::as_str).unwrap_or_default();
    match key.name {
        "server.listen" => {
            use std::net::ToSocketAddrs;
            if value.to_socket_addrs().is_err() {
                bail!(
                    "`server.listen` = {value:?}: not an address to listen on; give HOST:PORT, e.g. \"127.0.0.1:8080\" or \"0.0.0.0:8080\""
                );
            }
        }
        "server.public_url" if !(value.starts_with("http://") || value.starts_with("https://")) => {
            bail!(
                "`server.public_url` = {value:?}: give an http:// or https:// URL, e.g. \"https://plughub.example.org\""
            )
        }
        "store.database_url"
            if !value.starts_with("postgres://") && !value.starts_with("postgresql://") =>
        {
            bail!(
                "`store.database_url`: expected postgres://user:password@host:port/database (leave it out for the embedded SQLite store)"
            )
        }
        _ => {}
    }
    Ok(())
}

fn as_strings(key: &Key, value: &toml::Value) -> Result<Vec<String>> {
    let wrong = |expected: &str| {
        anyhow::anyhow!(
            "`{}`: expected {expected}, found {} ({value})",
            key.name,
            value.type_str()
        )
    };
    Ok(match (key.kind, value) {
        (Text, toml::Value::String(s)) => vec![s.clone()],
        (Integer, toml::Value::Integer(i)) if *i >= 0 => vec![i.to_string()],
        (Integer, toml::Value::Integer(_)) => {
            bail!("`{}`: expected a whole number of 0 or more", key.name)
        }
        (Bool, toml::Value::Boolean(b)) => vec![b.to_string()],
        (List, toml::Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s.clone()),
                _ => Err(wrong("a list of strings")),
            })
            .collect::<Result<_>>()?,
        (Text, _) => return Err(wrong("a string")),
        (Integer, _) => return Err(wrong("a whole number")),
        (Bool, _) => return Err(wrong("true or false")),
        (List, _) => return Err(wrong("a list of strings, e.g. [\"a\", \"b\"]")),
    })
}

fn sections() -> Vec<&'static str> {
    let mut sections: Vec<&str> = KEYS
        .iter()
        .map(|k| k.name.split_once('.').unwrap().0)
        .collect();
    sections.dedup();
    sections
}

/// The keys of `section`, or the sections when there is no such section.
fn known_near(section: &str) -> String {
    let keys: Vec<&str> = KEYS
        .iter()
        .filter_map(|k| k.name.strip_prefix(section)?.strip_prefix('.'))
        .collect();
    if keys.is_empty() {
        format!("the sections are {}", sections().join(", "))
    } else {
        format!("the keys of [{section}] are {}", keys.join(", "))
    }
}

/// Checks the configuration in force, whatever set it: what the flags' parsers took as text, and the
/// log filter. What `plughub serve --check-config` runs after the file has been read.
pub fn check(matches: &ArgMatches) -> Result<()> {
    for key in KEYS {
        let values = match key.target {
            Global(id) => raw(matches, id),
            Serve(id) => matches.subcommand_matches("serve").and_then(|m| raw(m, id)),
            Env(_) => None,
        };
        if let Some(values) = values {
            check_meaning(key, &values)?;
        }
    }
    if let Some(level) = matches.get_one::<String>("log_level") {
        tracing_subscriber::EnvFilter::try_new(level)
            .map_err(|e| anyhow::anyhow!("`logging.level` = {level:?}: {e}"))?;
    }
    Ok(())
}

/// Where a value in force came from.
fn source(loaded: &Loaded, key: &Key, matches: &ArgMatches) -> String {
    let from_file = || match &loaded.path {
        Some(path) if loaded.set.contains(&key.name) => Some(format!("{}", path.display())),
        _ => None,
    };
    let (matches, id) = match key.target {
        Global(id) => (matches, id),
        Serve(id) => match matches.subcommand_matches("serve") {
            Some(serve) => (serve, id),
            None => return "not used by this command".into(),
        },
        Env(var) => {
            return if loaded.env_from_file.contains(&var) {
                from_file().unwrap_or_default()
            } else if std::env::var_os(var).is_some() {
                format!("environment {var}")
            } else {
                "default".into()
            };
        }
    };
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => "flag".into(),
        Some(ValueSource::EnvVariable) => format!("environment {}", env_of(key)),
        Some(ValueSource::DefaultValue) => from_file().unwrap_or_else(|| "default".into()),
        _ => from_file().unwrap_or_else(|| "default".into()),
    }
}

/// The value in force for `key`, as TOML, masked when secret.
fn value_in_force(key: &Key, matches: &ArgMatches) -> Option<toml::Value> {
    let raw: Vec<String> = match key.target {
        Global(id) => raw(matches, id)?,
        Serve(id) => raw(matches.subcommand_matches("serve")?, id)?,
        Env(var) => {
            let value = std::env::var(var).ok()?;
            match key.name {
                "sandbox.enabled" => vec![(value != "off").to_string()],
                _ => vec![value],
            }
        }
    };
    let first = raw.first().cloned().unwrap_or_default();
    Some(match key.kind {
        _ if key.secret => toml::Value::String(mask(&first)),
        Text => toml::Value::String(first),
        Integer => toml::Value::Integer(first.parse().ok()?),
        Bool if inverted(key) => toml::Value::Boolean(first != "true"),
        Bool => toml::Value::Boolean(first == "true"),
        List => toml::Value::Array(raw.into_iter().map(toml::Value::String).collect()),
    })
}

fn raw(matches: &ArgMatches, id: &str) -> Option<Vec<String>> {
    let values = matches.get_raw(id)?;
    Some(values.map(|v| v.to_string_lossy().into_owned()).collect())
}

/// The environment variable of a key's flag.
fn env_of(key: &Key) -> String {
    let command = Cli::command();
    let (owner, id) = match key.target {
        Global(id) => (&command, id),
        Serve(id) => (command.find_subcommand("serve").expect("serve"), id),
        Env(var) => return var.to_string(),
    };
    owner
        .get_arguments()
        .find(|a| a.get_id() == id)
        .and_then(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A database URL without its password.
fn mask(url: &str) -> String {
    plughub_store::Location::Url(url.to_string()).describe()
}

/// The configuration in force, as a `plughub.toml` (secrets masked), each value with where it came
/// from: what `plughub serve --print-config` prints.
pub fn print(loaded: &Loaded, matches: &ArgMatches) -> String {
    let mut out = String::from("# The configuration in force");
    match &loaded.path {
        Some(path) => out.push_str(&format!(" (file: {})\n", path.display())),
        None => out.push_str(" (no configuration file)\n"),
    }
    let mut section = "";
    for key in KEYS {
        let (this, name) = key.name.split_once('.').unwrap();
        if this != section {
            out.push_str(&format!("\n[{this}]\n"));
            section = this;
        }
        let from = source(loaded, key, matches);
        match value_in_force(key, matches) {
            Some(value) => out.push_str(&format!("{name} = {value}  # {from}\n")),
            None => out.push_str(&format!(
                "# {name} is not set: plughub's own default applies\n"
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn example() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plughub.example.toml"),
        )
        .unwrap()
    }

    /// The example file the repository carries: every key is known, and its values are what the flags
    /// take.
    #[test]
    fn the_example_file_is_valid_and_shows_every_key() {
        // Its keys are commented out, showing the defaults: read them as set.
        let uncommented: String = example()
            .lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let values = read(&uncommented).unwrap();
        let set: Vec<&str> = values.iter().map(|(k, _)| k.name).collect();
        let missing: Vec<&str> = KEYS
            .iter()
            .map(|k| k.name)
            .filter(|k| !set.contains(k))
            .collect();
        assert!(missing.is_empty(), "the example leaves out {missing:?}");
    }

    #[test]
    fn an_unknown_key_or_a_wrong_value_is_named_with_what_to_do() {
        let e = read("[server]\nlisen = \"127.0.0.1:1\"\n").unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("unknown key `server.lisen`"), "{e}");
        assert!(e.contains("listen"), "{e}");
        let e = format!(
            "{:#}",
            read("[limits]\nrecycle_after = \"ten\"\n").unwrap_err()
        );
        assert!(
            e.contains("`limits.recycle_after`: expected a whole number"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            read("[limits]\nbreaker_failures = 0\n").unwrap_err()
        );
        assert!(e.contains("`limits.breaker_failures` = \"0\""), "{e}");
        let e = format!(
            "{:#}",
            read("[server]\nlisten = \"everywhere\"\n").unwrap_err()
        );
        assert!(e.contains("give HOST:PORT"), "{e}");
        let e = format!("{:#}", read("[nowhere]\nx = 1\n").unwrap_err());
        assert!(e.contains("the sections are server, store"), "{e}");
        let e = format!("{:#}", read("listen = 1\n").unwrap_err());
        assert!(e.contains("`listen` is not a section"), "{e}");
        let e = format!("{:#}", read("[server\n").unwrap_err());
        assert!(e.contains("not valid TOML"), "{e}");
        let e = format!("{:#}", read("[logging]\nformat = \"yaml\"\n").unwrap_err());
        assert!(e.contains("`logging.format` = \"yaml\""), "{e}");
    }
}
