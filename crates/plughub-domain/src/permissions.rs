//! The permissions of `product-spec.md`: what a plugin asks for (declared in its package.json, or inferred
//! from its code) and what an org_owner granted. One table ties each runtime call to the permission it
//! needs; the installer infers from it and the runtime enforces it, so the two cannot drift apart.

use crate::egress::is_granted;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// One permission, without its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    NetworkExternal,
    StorageRead,
    StorageWrite,
    SecretsAccess,
    EventsPublish,
    KnowledgeQuery,
    /// Loading native addons (`.node` files): lifts Node's addon gate for the plugin; the OS layers of
    /// its sandbox stay in force.
    NativeAddons,
    /// Executing the programs it names (and nothing else), inside its sandbox.
    ProcessSpawn,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::NetworkExternal,
        Permission::StorageRead,
        Permission::StorageWrite,
        Permission::SecretsAccess,
        Permission::EventsPublish,
        Permission::KnowledgeQuery,
        Permission::NativeAddons,
        Permission::ProcessSpawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::NetworkExternal => "network.external",
            Permission::StorageRead => "storage.read",
            Permission::StorageWrite => "storage.write",
            Permission::SecretsAccess => "secrets.access",
            Permission::EventsPublish => "events.publish",
            Permission::KnowledgeQuery => "knowledge.query",
            Permission::NativeAddons => "native.addons",
            Permission::ProcessSpawn => "process.spawn",
        }
    }

    pub fn parse(name: &str) -> Result<Permission, PermissionError> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| PermissionError::Unknown { name: name.into() })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permission a runtime call needs, `None` for calls every plugin may make (models, logging, its
/// own registrations, and what the worker keeps to itself: rooms, entities, tasks). Storage is the
/// instance's cache and memories kept by plughub; knowledge is searching them. Names are the runtime's
/// (`getMemoriesByRoomIds` reaches plughub as `getMemories`, and asks for the same).
pub fn needed_by_call(method: &str) -> Option<Permission> {
    match method {
        "getCache" | "getMemories" | "getMemoriesByRoomIds" => Some(Permission::StorageRead),
        "setCache" | "deleteCache" | "createMemory" | "deleteMemory" => {
            Some(Permission::StorageWrite)
        }
        "searchMemories" => Some(Permission::KnowledgeQuery),
        "emitEvent" => Some(Permission::EventsPublish),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    #[error(
        "unknown permission '{name}' (known: network.external, storage.read, storage.write, secrets.access, events.publish, knowledge.query, native.addons, process.spawn)"
    )]
    Unknown { name: String },
    #[error("permission {permission}: {problem}")]
    Malformed {
        permission: &'static str,
        problem: String,
    },
    #[error("plughub.permissions must be an object or a list of names, not {found}")]
    Shape { found: String },
}

/// A set of permissions with their arguments: asked for, granted, or missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Permissions {
    /// Domains reached over the network (`*.example.com` covers its subdomains). `Some` of an empty set
    /// asks for the network without saying where: the grant has to name the domains.
    #[serde(
        rename = "network.external",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub network: Option<BTreeSet<String>>,
    #[serde(rename = "storage.read", default, skip_serializing_if = "is_false")]
    pub storage_read: bool,
    #[serde(rename = "storage.write", default, skip_serializing_if = "is_false")]
    pub storage_write: bool,
    /// Names of the secret settings `getSetting` may return.
    #[serde(
        rename = "secrets.access",
        default,
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub secrets: BTreeSet<String>,
    #[serde(rename = "events.publish", default, skip_serializing_if = "is_false")]
    pub events_publish: bool,
    #[serde(rename = "knowledge.query", default, skip_serializing_if = "is_false")]
    pub knowledge_query: bool,
    /// Native addons may be loaded (Node's addon gate lifted for this plugin alone).
    #[serde(rename = "native.addons", default, skip_serializing_if = "is_false")]
    pub native_addons: bool,
    /// Programs it may execute: names (`chromium`) as asked for, real absolute paths as granted (a grant
    /// resolves each name on the machine when it is made). `Some` of an empty set asks to run programs
    /// without saying which: the grant has to name them.
    #[serde(
        rename = "process.spawn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub programs: Option<BTreeSet<String>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Permissions {
    /// Reads a `plughub.permissions` declaration. Two shapes: an object
    /// (`{"network.external": ["api.example.com"], "secrets.access": ["API_KEY"], "storage.read": true}`,
    /// where a list may also be given as `{"domains": [...]}` or `{"names": [...]}`), or a list of names
    /// with optional arguments after a colon (`["storage.read", "network.external:api.example.com"]`).
    /// `process.spawn` names programs as network.external names domains (`{"programs": [...]}` too).
    pub fn parse(value: &Value) -> Result<Permissions, PermissionError> {
        let mut out = Permissions::default();
        match value {
            Value::Object(map) => {
                for (name, argument) in map {
                    out.add_declared(Permission::parse(name)?, argument)?;
                }
            }
            Value::Array(items) => {
                for item in items {
                    let Value::String(text) = item else {
                        return Err(PermissionError::Shape {
                            found: format!("a list holding {item}"),
                        });
                    };
                    let (name, argument) = match text.split_once(':') {
                        Some((name, args)) => (
                            name.trim(),
                            Value::Array(
                                args.split(',')
                                    .map(|a| Value::String(a.trim().to_string()))
                                    .collect(),
                            ),
                        ),
                        None => (text.trim(), Value::Bool(true)),
                    };
                    out.add_declared(Permission::parse(name)?, &argument)?;
                }
            }
            other => {
                return Err(PermissionError::Shape {
                    found: other.to_string(),
                });
            }
        }
        Ok(out)
    }

    fn add_declared(
        &mut self,
        permission: Permission,
        argument: &Value,
    ) -> Result<(), PermissionError> {
        let names = |key: &str| -> Result<Vec<String>, PermissionError> {
            let list = match argument {
                Value::Bool(true) => return Ok(Vec::new()),
                Value::Object(o) => o.get(key).cloned().unwrap_or(Value::Array(Vec::new())),
                other => other.clone(),
            };
            let Value::Array(items) = list else {
                return Err(PermissionError::Malformed {
                    permission: permission.as_str(),
                    problem: format!("expected a list of {key}, got {list}"),
                });
            };
            items
                .iter()
                .map(|i| match i.as_str().map(str::trim) {
                    Some(s) if !s.is_empty() => Ok(s.to_string()),
                    _ => Err(PermissionError::Malformed {
                        permission: permission.as_str(),
                        problem: format!("{i} is not a name"),
                    }),
                })
                .collect()
        };
        let flag = || match argument {
            Value::Bool(b) => Ok(*b),
            other => Err(PermissionError::Malformed {
                permission: permission.as_str(),
                problem: format!("expected true or false, got {other}"),
            }),
        };
        match permission {
            Permission::NetworkExternal if *argument == Value::Bool(false) => {}
            Permission::NetworkExternal => {
                self.network.get_or_insert_with(BTreeSet::new);
                self.add_domains(names("domains")?)?;
            }
            Permission::SecretsAccess if *argument == Value::Bool(false) => {}
            Permission::SecretsAccess => self.secrets.extend(names("names")?),
            Permission::ProcessSpawn if *argument == Value::Bool(false) => {}
            Permission::ProcessSpawn => {
                self.programs.get_or_insert_with(BTreeSet::new);
                self.add_programs(names("programs")?)?;
            }
            other => {
                if flag()? {
                    self.add(other);
                }
            }
        }
        Ok(())
    }

    /// Adds a permission that has no arguments (network, secrets and programs get theirs with
    /// `add_domains`, `add_secrets` and `add_programs`).
    pub fn add(&mut self, permission: Permission) {
        match permission {
            Permission::NetworkExternal => {
                self.network.get_or_insert_with(BTreeSet::new);
            }
            Permission::StorageRead => self.storage_read = true,
            Permission::StorageWrite => self.storage_write = true,
            Permission::SecretsAccess => {}
            Permission::EventsPublish => self.events_publish = true,
            Permission::KnowledgeQuery => self.knowledge_query = true,
            Permission::NativeAddons => self.native_addons = true,
            Permission::ProcessSpawn => {
                self.programs.get_or_insert_with(BTreeSet::new);
            }
        }
    }

    /// Adds programs to process.spawn: names looked up on the machine's PATH when granted, or absolute
    /// paths (none given: nothing changes).
    pub fn add_programs(
        &mut self,
        programs: impl IntoIterator<Item = String>,
    ) -> Result<(), PermissionError> {
        for program in programs {
            check_program(&program)?;
            self.programs
                .get_or_insert_with(BTreeSet::new)
                .insert(program);
        }
        Ok(())
    }

    /// Adds domains to network.external (none given: nothing changes).
    pub fn add_domains(
        &mut self,
        domains: impl IntoIterator<Item = String>,
    ) -> Result<(), PermissionError> {
        for domain in domains {
            check_domain(&domain)?;
            self.network
                .get_or_insert_with(BTreeSet::new)
                .insert(domain.to_ascii_lowercase());
        }
        Ok(())
    }

    pub fn add_secrets(&mut self, names: impl IntoIterator<Item = String>) {
        self.secrets.extend(names);
    }

    /// Whether the flag-like permission is in the set (network and secrets: any of it).
    pub fn has(&self, permission: Permission) -> bool {
        match permission {
            Permission::NetworkExternal => self.network.is_some(),
            Permission::StorageRead => self.storage_read,
            Permission::StorageWrite => self.storage_write,
            Permission::SecretsAccess => !self.secrets.is_empty(),
            Permission::EventsPublish => self.events_publish,
            Permission::KnowledgeQuery => self.knowledge_query,
            Permission::NativeAddons => self.native_addons,
            Permission::ProcessSpawn => self.programs.is_some(),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Permissions::default()
    }

    /// Everything of both.
    pub fn union(&self, other: &Permissions) -> Permissions {
        Permissions {
            network: merged(&self.network, &other.network),
            programs: merged(&self.programs, &other.programs),
            native_addons: self.native_addons || other.native_addons,
            storage_read: self.storage_read || other.storage_read,
            storage_write: self.storage_write || other.storage_write,
            secrets: self.secrets.union(&other.secrets).cloned().collect(),
            events_publish: self.events_publish || other.events_publish,
            knowledge_query: self.knowledge_query || other.knowledge_query,
        }
    }

    /// What of `self` (asked for) `granted` does not cover. A domain is covered by the same name or a
    /// wildcard above it; a network request without domains is covered by any network grant that names
    /// at least one.
    pub fn beyond(&self, granted: &Permissions) -> Permissions {
        let network = match (&self.network, &granted.network) {
            (None, _) => None,
            (Some(_), None) => self.network.clone(),
            (Some(asked), Some(given)) => {
                let given: Vec<String> = given.iter().cloned().collect();
                let missing: BTreeSet<String> = asked
                    .iter()
                    .filter(|d| !covers(&given, d))
                    .cloned()
                    .collect();
                if !missing.is_empty() || (asked.is_empty() && given.is_empty()) {
                    Some(missing)
                } else {
                    None
                }
            }
        };
        let programs = match (&self.programs, &granted.programs) {
            (None, _) => None,
            (Some(_), None) => self.programs.clone(),
            (Some(asked), Some(given)) => {
                let missing: BTreeSet<String> =
                    asked.iter().filter(|p| !runs(given, p)).cloned().collect();
                (!missing.is_empty() || (asked.is_empty() && given.is_empty())).then_some(missing)
            }
        };
        Permissions {
            network,
            programs,
            native_addons: self.native_addons && !granted.native_addons,
            storage_read: self.storage_read && !granted.storage_read,
            storage_write: self.storage_write && !granted.storage_write,
            secrets: self.secrets.difference(&granted.secrets).cloned().collect(),
            events_publish: self.events_publish && !granted.events_publish,
            knowledge_query: self.knowledge_query && !granted.knowledge_query,
        }
    }

    /// `self` without what `taken` names: flags taken away, domains and secret names removed; a network
    /// grant left with no domain is no network grant.
    pub fn without(&self, taken: &Permissions) -> Permissions {
        let network = match (&self.network, &taken.network) {
            (Some(_), Some(gone)) if gone.is_empty() => None,
            (Some(domains), Some(gone)) => {
                let left: BTreeSet<String> = domains.difference(gone).cloned().collect();
                (!left.is_empty()).then_some(left)
            }
            (network, None) => network.clone(),
            (None, _) => None,
        };
        let programs = match (&self.programs, &taken.programs) {
            (Some(_), Some(gone)) if gone.is_empty() => None,
            (Some(programs), Some(gone)) => {
                let left: BTreeSet<String> = programs
                    .iter()
                    .filter(|p| !runs(gone, p))
                    .cloned()
                    .collect();
                (!left.is_empty()).then_some(left)
            }
            (programs, None) => programs.clone(),
            (None, _) => None,
        };
        Permissions {
            network,
            programs,
            native_addons: self.native_addons && !taken.native_addons,
            storage_read: self.storage_read && !taken.storage_read,
            storage_write: self.storage_write && !taken.storage_write,
            secrets: self.secrets.difference(&taken.secrets).cloned().collect(),
            events_publish: self.events_publish && !taken.events_publish,
            knowledge_query: self.knowledge_query && !taken.knowledge_query,
        }
    }

    /// The granted domains, for the egress policy (none without a network grant).
    pub fn domains(&self) -> Vec<String> {
        self.network
            .iter()
            .flat_map(|d| d.iter().cloned())
            .collect()
    }

    /// The programs granted, for the sandbox (real absolute paths once granted).
    pub fn program_paths(&self) -> Vec<String> {
        self.programs
            .iter()
            .flat_map(|p| p.iter().cloned())
            .collect()
    }

    /// One line a permission, as shown at install: `network.external: api.example.com`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(domains) = &self.network {
            lines.push(if domains.is_empty() {
                "network.external (no domain named: the grant must name them)".to_string()
            } else {
                format!(
                    "network.external: {}",
                    domains.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            });
        }
        for (set, permission) in [
            (self.storage_read, Permission::StorageRead),
            (self.storage_write, Permission::StorageWrite),
        ] {
            if set {
                lines.push(permission.as_str().to_string());
            }
        }
        if !self.secrets.is_empty() {
            lines.push(format!(
                "secrets.access: {}",
                self.secrets.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        for (set, permission) in [
            (self.events_publish, Permission::EventsPublish),
            (self.knowledge_query, Permission::KnowledgeQuery),
        ] {
            if set {
                lines.push(permission.as_str().to_string());
            }
        }
        if self.native_addons {
            lines.push(Permission::NativeAddons.as_str().to_string());
        }
        if let Some(programs) = &self.programs {
            lines.push(if programs.is_empty() {
                "process.spawn (no program named: the grant must name them)".to_string()
            } else {
                format!(
                    "process.spawn: {}",
                    programs.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            });
        }
        lines
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.lines();
        if lines.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&lines.join("; "))
        }
    }
}

fn covers(given: &[String], domain: &str) -> bool {
    match domain.strip_prefix("*.") {
        // A wildcard asked for is covered only by the same wildcard or a wider one.
        Some(parent) => given.iter().any(|g| {
            g.strip_prefix("*.")
                .is_some_and(|p| parent == p || parent.ends_with(&format!(".{p}")))
        }),
        None => is_granted(domain, given),
    }
}

fn merged(a: &Option<BTreeSet<String>>, b: &Option<BTreeSet<String>>) -> Option<BTreeSet<String>> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(
            a.iter()
                .chain(b.iter())
                .flat_map(|s| s.iter().cloned())
                .collect(),
        ),
    }
}

/// Whether `given` (programs granted) runs `program` (asked for by name or path): the same entry, or a
/// granted path of that file name (a grant holds `chromium` as the real path it found for it). What
/// runs is only ever what was granted: the sandbox allows executing the granted paths alone.
fn runs(given: &BTreeSet<String>, program: &str) -> bool {
    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    given.contains(program) || given.iter().any(|g| name(g) == name(program))
}

/// A program as a declaration or a grant may name it: a file name (looked up on PATH when granted) or an
/// absolute path, never a relative path or one with `..`.
fn check_program(program: &str) -> Result<(), PermissionError> {
    let ok = if let Some(path) = program.strip_prefix('/') {
        !path.is_empty()
            && path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    } else {
        !program.is_empty()
            && program.len() <= 255
            && program != "."
            && program != ".."
            && program
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
    };
    if !ok {
        return Err(PermissionError::Malformed {
            permission: "process.spawn",
            problem: format!(
                "'{program}' is not a program name or an absolute path (e.g. chromium, /usr/bin/ffmpeg)"
            ),
        });
    }
    Ok(())
}

/// A domain as a grant may name it: a host name, optionally under `*.`; never an address (the egress
/// policy refuses addresses that are not public, and a grant of a public address is a grant of whoever
/// holds it next).
fn check_domain(domain: &str) -> Result<(), PermissionError> {
    let name = domain.strip_prefix("*.").unwrap_or(domain);
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let numeric = name
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if !labels_ok || numeric || !name.contains('.') && name != "localhost" {
        return Err(PermissionError::Malformed {
            permission: "network.external",
            problem: format!(
                "'{domain}' is not a domain name (e.g. api.example.com, *.example.com)"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(value: Value) -> Permissions {
        Permissions::parse(&value).unwrap()
    }

    #[test]
    fn both_declaration_shapes_read_the_same() {
        let object = set(json!({
            "network.external": ["API.example.com", "*.cdn.example.org"],
            "secrets.access": { "names": ["API_KEY"] },
            "storage.read": true,
            "events.publish": false,
        }));
        let list = set(json!([
            "network.external:api.example.com, *.cdn.example.org",
            "secrets.access:API_KEY",
            "storage.read",
        ]));
        assert_eq!(object, list);
        assert_eq!(
            object.lines(),
            vec![
                "network.external: *.cdn.example.org, api.example.com",
                "storage.read",
                "secrets.access: API_KEY"
            ]
        );
        assert!(!object.events_publish);
    }

    #[test]
    fn bad_declarations_say_what_is_wrong() {
        let unknown = Permissions::parse(&json!(["storage.delete"])).unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("unknown permission 'storage.delete'")
        );
        let address = Permissions::parse(&json!({"network.external": ["10.0.0.1"]})).unwrap_err();
        assert!(
            address.to_string().contains("not a domain name"),
            "{address}"
        );
        let flag = Permissions::parse(&json!({"storage.read": "yes"})).unwrap_err();
        assert!(
            flag.to_string().contains("expected true or false"),
            "{flag}"
        );
        assert!(Permissions::parse(&json!("storage.read")).is_err());
    }

    #[test]
    fn beyond_is_what_a_grant_lacks() {
        let asked = set(
            json!({"network.external": ["api.example.com", "x.other.net"],
                               "secrets.access": ["A", "B"], "storage.write": true}),
        );
        let granted = set(json!({"network.external": ["*.example.com", "x.other.net"],
                                 "secrets.access": ["A"], "storage.write": true}));
        let missing = asked.beyond(&granted);
        assert_eq!(missing.lines(), vec!["secrets.access: B"]);
        assert!(asked.beyond(&asked).is_empty());
        // Nothing granted: all of it is missing.
        assert_eq!(asked.beyond(&Permissions::default()), asked);
        // A wildcard asked for needs a wildcard as wide.
        let wild = set(json!({"network.external": ["*.example.com"]}));
        assert!(
            !wild
                .beyond(&set(json!({"network.external": ["api.example.com"]})))
                .is_empty()
        );
        assert!(
            wild.beyond(&set(json!({"network.external": ["*.example.com"]})))
                .is_empty()
        );
        // The network without domains: any named domain covers it, none does not.
        let any = set(json!(["network.external"]));
        assert!(
            any.beyond(&set(json!(["network.external:api.example.com"])))
                .is_empty()
        );
        assert_eq!(any.beyond(&any), any);
    }

    #[test]
    fn without_takes_away_and_union_adds() {
        let granted = set(
            json!({"network.external": ["a.example.com", "b.example.com"],
                                 "storage.read": true, "secrets.access": ["K"]}),
        );
        let less = granted.without(&set(json!({"network.external": ["a.example.com"]})));
        assert_eq!(less.domains(), vec!["b.example.com"]);
        assert!(less.storage_read);
        let none = granted.without(&set(json!(["network.external", "storage.read"])));
        assert_eq!(none.network, None);
        assert!(!none.storage_read);
        assert_eq!(none.union(&granted), granted);
    }

    #[test]
    fn runtime_calls_map_to_permissions() {
        assert_eq!(needed_by_call("getMemories"), Some(Permission::StorageRead));
        assert_eq!(
            needed_by_call("createMemory"),
            Some(Permission::StorageWrite)
        );
        assert_eq!(
            needed_by_call("searchMemories"),
            Some(Permission::KnowledgeQuery)
        );
        assert_eq!(
            needed_by_call("deleteMemory"),
            Some(Permission::StorageWrite)
        );
        assert_eq!(needed_by_call("emitEvent"), Some(Permission::EventsPublish));
        assert_eq!(needed_by_call("useModel"), None);
    }

    #[test]
    fn programs_are_asked_by_name_and_granted_by_path() {
        let asked =
            set(json!({"process.spawn": {"programs": ["chromium"]}, "native.addons": true}));
        assert_eq!(
            asked,
            set(json!(["process.spawn:chromium", "native.addons"]))
        );
        assert_eq!(
            asked.lines(),
            vec!["native.addons", "process.spawn: chromium"]
        );
        // A grant holds the real path found for the name: it covers the name, nothing else.
        let granted =
            set(json!({"process.spawn": ["/usr/lib/chromium/chromium"], "native.addons": true}));
        assert!(asked.beyond(&granted).is_empty());
        let other = set(json!({"process.spawn": ["/usr/bin/ffmpeg"]}));
        assert_eq!(
            asked.beyond(&other).lines(),
            vec!["native.addons", "process.spawn: chromium"]
        );
        // Asked without naming a program: the grant must name one.
        let any = set(json!(["process.spawn"]));
        assert_eq!(any.beyond(&Permissions::default()), any);
        assert!(any.beyond(&granted).is_empty());
        // Taking the name back takes the path it was granted as.
        assert_eq!(granted.without(&asked), Permissions::default());
        for bad in ["../bin/sh", "bin/sh", "/usr/../bin/sh", "a b"] {
            let refused = Permissions::parse(&json!({"process.spawn": [bad]})).unwrap_err();
            assert!(
                refused.to_string().contains("not a program name"),
                "{bad}: {refused}"
            );
        }
    }

    #[test]
    fn stored_form_round_trips() {
        let p = set(json!({"network.external": [], "knowledge.query": true}));
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"network.external":[],"knowledge.query":true}"#);
        assert_eq!(serde_json::from_str::<Permissions>(&text).unwrap(), p);
    }
}
