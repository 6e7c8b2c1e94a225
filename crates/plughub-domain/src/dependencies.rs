//! Dependencies between plugins (product spec: resolved with cycle detection, depth 5 at most). A planner
//! outside gathers what each plugin requires and the version it would use of each; this module checks that
//! graph (every range met, no cycle, not too deep) and gives the order to install in, dependencies first.

use nodejs_semver::{Range, Version};
use std::collections::{BTreeMap, BTreeSet};

/// How far below the plugin being installed a dependency may sit (product spec default).
pub const MAX_DEPTH: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    /// An npm range, or a dist-tag (`latest`), which cannot be checked against a version.
    pub range: String,
}

/// One plugin of a plan, with the version it would be used at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPlugin {
    pub name: String,
    pub version: String,
    /// Installed in the organisation already: its version is fixed, its own dependencies settled.
    pub installed: bool,
    pub requires: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyError {
    /// The chain that comes back to where it started, e.g. a → b → a.
    Cycle(Vec<String>),
    /// The chain from the plugin being installed to the dependency past the limit.
    TooDeep(Vec<String>),
    /// A plugin whose version meets not every range asked of it: (who asks, the range) for each.
    Conflict {
        plugin: String,
        version: String,
        installed: bool,
        wanted: Vec<(String, String)>,
    },
}

impl std::fmt::Display for DependencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DependencyError::Cycle(chain) => {
                write!(f, "dependency cycle: {}", chain.join(" → "))
            }
            DependencyError::TooDeep(chain) => write!(
                f,
                "dependencies nest deeper than {MAX_DEPTH} levels: {}",
                chain.join(" → ")
            ),
            DependencyError::Conflict {
                plugin,
                version,
                installed,
                wanted,
            } => {
                let asks: Vec<String> = wanted
                    .iter()
                    .map(|(by, range)| format!("{by} needs {range}"))
                    .collect();
                write!(f, "version conflict on {plugin}: {}; ", asks.join(", "))?;
                if *installed {
                    write!(
                        f,
                        "{version} is installed (update or uninstall it first, or pick versions that agree)"
                    )
                } else {
                    write!(f, "no single version meets them all ({version} was chosen)")
                }
            }
        }
    }
}

impl std::error::Error for DependencyError {}

/// Whether `version` meets `range`. Dist-tags and workspace ranges name no version to check, so they are
/// met by whatever the tag resolved to.
pub fn satisfies(version: &str, range: &str) -> bool {
    let Ok(version) = Version::parse(version) else {
        return false;
    };
    match Range::parse(range) {
        Ok(range) => version.satisfies(&range),
        Err(_) => true,
    }
}

/// Checks the plan and returns the plugins to install, dependencies before what needs them; plugins
/// installed already are left out.
pub fn install_order(
    root: &str,
    plan: &BTreeMap<String, PlannedPlugin>,
) -> Result<Vec<String>, DependencyError> {
    check_ranges(plan)?;
    let mut walk = Walk {
        plan,
        path: Vec::new(),
        done: BTreeSet::new(),
        order: Vec::new(),
    };
    walk.visit(root)?;
    Ok(walk
        .order
        .into_iter()
        .filter(|name| plan.get(name).is_some_and(|p| !p.installed))
        .collect())
}

fn check_ranges(plan: &BTreeMap<String, PlannedPlugin>) -> Result<(), DependencyError> {
    for target in plan.values() {
        let wanted: Vec<(String, String)> = plan
            .values()
            .flat_map(|p| {
                p.requires
                    .iter()
                    .filter(|r| r.name == target.name)
                    .map(|r| (p.name.clone(), r.range.clone()))
            })
            .collect();
        if wanted
            .iter()
            .any(|(_, range)| !satisfies(&target.version, range))
        {
            return Err(DependencyError::Conflict {
                plugin: target.name.clone(),
                version: target.version.clone(),
                installed: target.installed,
                wanted,
            });
        }
    }
    Ok(())
}

struct Walk<'a> {
    plan: &'a BTreeMap<String, PlannedPlugin>,
    path: Vec<String>,
    done: BTreeSet<String>,
    order: Vec<String>,
}

impl Walk<'_> {
    fn visit(&mut self, name: &str) -> Result<(), DependencyError> {
        if let Some(start) = self.path.iter().position(|p| p == name) {
            let mut cycle = self.path[start..].to_vec();
            cycle.push(name.to_string());
            return Err(DependencyError::Cycle(cycle));
        }
        if self.done.contains(name) {
            return Ok(());
        }
        if self.path.len() > MAX_DEPTH {
            let mut chain = self.path.clone();
            chain.push(name.to_string());
            return Err(DependencyError::TooDeep(chain));
        }
        self.path.push(name.to_string());
        if let Some(plugin) = self.plan.get(name) {
            for requirement in &plugin.requires {
                self.visit(&requirement.name)?;
            }
        }
        self.path.pop();
        self.done.insert(name.to_string());
        self.order.push(name.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, version, [(required name, range)]).
    type Edge<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    fn plan(edges: &[Edge]) -> BTreeMap<String, PlannedPlugin> {
        edges
            .iter()
            .map(|(name, version, requires)| {
                (
                    name.to_string(),
                    PlannedPlugin {
                        name: name.to_string(),
                        version: version.to_string(),
                        installed: false,
                        requires: requires
                            .iter()
                            .map(|(n, r)| Requirement {
                                name: n.to_string(),
                                range: r.to_string(),
                            })
                            .collect(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn dependencies_come_first_and_shared_ones_once() {
        let p = plan(&[
            ("a", "1.0.0", &[("b", "^1"), ("c", "^2")]),
            ("b", "1.2.0", &[("c", ">=2.0.0")]),
            ("c", "2.0.1", &[]),
        ]);
        assert_eq!(install_order("a", &p).unwrap(), ["c", "b", "a"]);
    }

    #[test]
    fn installed_plugins_are_not_installed_again() {
        let mut p = plan(&[("a", "1.0.0", &[("b", "^1")]), ("b", "1.0.0", &[])]);
        p.get_mut("b").unwrap().installed = true;
        assert_eq!(install_order("a", &p).unwrap(), ["a"]);
    }

    #[test]
    fn a_cycle_is_named_with_its_chain() {
        let p = plan(&[
            ("a", "1.0.0", &[("b", "*")]),
            ("b", "1.0.0", &[("c", "*")]),
            ("c", "1.0.0", &[("b", "*")]),
        ]);
        let err = install_order("a", &p).unwrap_err();
        assert_eq!(
            err,
            DependencyError::Cycle(vec!["b".into(), "c".into(), "b".into()])
        );
        assert_eq!(err.to_string(), "dependency cycle: b → c → b");
    }

    #[test]
    fn five_levels_pass_and_six_do_not() {
        let names = ["p0", "p1", "p2", "p3", "p4", "p5", "p6"];
        let next: Vec<[(&str, &str); 1]> = names.iter().skip(1).map(|n| [(*n, "*")]).collect();
        let chain = |len: usize| {
            let edges: Vec<Edge> = (0..=len)
                .map(|i| {
                    let requires: &[(&str, &str)] = if i < len { &next[i] } else { &[] };
                    (names[i], "1.0.0", requires)
                })
                .collect();
            plan(&edges)
        };
        assert_eq!(install_order("p0", &chain(5)).unwrap().len(), 6);
        let err = install_order("p0", &chain(6)).unwrap_err();
        assert!(
            matches!(&err, DependencyError::TooDeep(c) if c.len() == 7),
            "{err}"
        );
        assert!(err.to_string().contains("p0 → p1"), "{err}");
    }

    #[test]
    fn a_conflict_says_who_wants_what() {
        let mut p = plan(&[
            ("a", "1.0.0", &[("b", "^1"), ("c", "^1")]),
            ("c", "1.0.0", &[("b", "^2")]),
            ("b", "1.4.0", &[]),
        ]);
        let err = install_order("a", &p).unwrap_err().to_string();
        assert!(err.contains("a needs ^1, c needs ^2"), "{err}");
        p.get_mut("b").unwrap().installed = true;
        let err = install_order("a", &p).unwrap_err().to_string();
        assert!(err.contains("1.4.0 is installed"), "{err}");
    }

    #[test]
    fn tags_are_met_and_bad_versions_are_not() {
        assert!(satisfies("1.2.3", "^1.0.0"));
        assert!(!satisfies("2.0.0", "^1.0.0"));
        assert!(satisfies("1.2.3", "latest"));
        assert!(satisfies("2.0.0-alpha.3", "workspace:*"));
        assert!(!satisfies("not-a-version", "*"));
    }
}
