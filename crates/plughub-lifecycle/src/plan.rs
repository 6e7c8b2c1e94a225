//! Finding a package and the plugins it needs: the version to install of each (or the one the
//! organisation has already), checked as one graph (ranges, cycles, depth) before anything is installed.

use crate::LifecycleError;
use crate::packages::remove;
use crate::service::Installer;
use plughub_domain::dependencies::{MAX_DEPTH, PlannedPlugin, Requirement, install_order};
use plughub_domain::names::is_plugin_package;
use plughub_domain::{CoreMajor, Group};
use plughub_install::{Naming, PackageSpec, Resolved, document, locate_named, open_local, resolve};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

/// Where a package comes from.
pub(crate) enum Source {
    Npm(Box<Resolved>),
    /// An author's folder or tarball.
    Local(PathBuf),
}

/// A package found and chosen, not yet installed.
pub(crate) struct Located {
    pub name: String,
    pub version: String,
    pub source: Source,
    /// The plugins it needs, by range.
    pub requires: Vec<Requirement>,
}

/// The plugins among a package's dependencies (its own name excluded): elizaOS loads them with it, so the
/// organisation needs an instance of each.
pub(crate) fn plugin_requirements(name: &str, manifest: &Value) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = Vec::new();
    for field in ["dependencies", "peerDependencies"] {
        let Some(deps) = manifest.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (dep, range) in deps {
            if dep != name && is_plugin_package(dep) && !out.iter().any(|r| r.name == *dep) {
                out.push(Requirement {
                    name: dep.clone(),
                    range: range.as_str().unwrap_or("*").to_string(),
                });
            }
        }
    }
    out
}

impl Installer {
    /// Finds the version a spec means, and what it needs, without installing anything. An npm name is
    /// read as `naming` says; a folder or a tarball is named by its path, as explicitly as a private
    /// plugin's flag, and taken as it is.
    pub(crate) async fn locate(
        &self,
        spec: &PackageSpec,
        core: Option<CoreMajor>,
        naming: Naming<'_>,
    ) -> Result<Located, LifecycleError> {
        match spec {
            PackageSpec::Npm { name, wanted } => {
                self.progress.step(name, "resolving");
                let resolved =
                    locate_named(&self.sources, name, wanted.as_deref(), core, naming).await?;
                if resolved.name != *name {
                    self.progress
                        .step(name, &format!("the catalogue's {}", resolved.name));
                }
                Ok(located_on_npm(resolved))
            }
            PackageSpec::Folder(path) | PackageSpec::Tarball(path) => {
                let probe = self.packages.staging()?;
                let read = || -> Result<Located, LifecycleError> {
                    let local = open_local(path, &probe, &self.limits)?;
                    let manifest = read_manifest(&local.dir.join("package.json"));
                    Ok(Located {
                        requires: plugin_requirements(&local.name, &manifest),
                        name: local.name,
                        version: local.version,
                        source: Source::Local(path.clone()),
                    })
                };
                let located = read();
                remove(&probe)?;
                located
            }
        }
    }

    /// The packages to install for `root`, dependencies first and `root` last; plugins the group has
    /// installed already are used as they are, and their versions must meet the ranges asked of them.
    pub(crate) async fn plan(
        &self,
        group: &Group,
        root: Located,
        core: Option<CoreMajor>,
    ) -> Result<Vec<Located>, LifecycleError> {
        let root_name = root.name.clone();
        let mut graph: BTreeMap<String, PlannedPlugin> = BTreeMap::new();
        graph.insert(root.name.clone(), planned(&root, false));
        let mut found: BTreeMap<String, Located> = BTreeMap::new();
        let mut queue = VecDeque::from([(root.name.clone(), root.requires.clone(), 0usize)]);
        found.insert(root.name.clone(), root);
        while let Some((by, requires, depth)) = queue.pop_front() {
            // Past the limit nothing more is fetched; the graph check names the chain.
            if depth > MAX_DEPTH {
                continue;
            }
            for requirement in requires {
                if graph.contains_key(&requirement.name) {
                    continue;
                }
                if let Some((thing, record)) =
                    self.present_instance(group, &requirement.name).await?
                {
                    // Its own links count too: an update may close a cycle through it, or no longer
                    // meet the range it asks of the plugin being changed.
                    graph.insert(
                        requirement.name.clone(),
                        PlannedPlugin {
                            name: requirement.name.clone(),
                            version: record.version().to_string(),
                            installed: true,
                            requires: self.installed_requirements(&thing).await?,
                        },
                    );
                    continue;
                }
                self.progress
                    .step(&requirement.name, &format!("resolving (needed by {by})"));
                let published = found.get(&by).and_then(|l| match &l.source {
                    Source::Npm(r) => r.published.clone(),
                    Source::Local(_) => None,
                });
                let dependency = self
                    .locate_dependency(&requirement, &by, published.as_deref(), core)
                    .await?;
                graph.insert(dependency.name.clone(), planned(&dependency, false));
                queue.push_back((
                    dependency.name.clone(),
                    dependency.requires.clone(),
                    depth + 1,
                ));
                found.insert(dependency.name.clone(), dependency);
            }
        }
        let order = install_order(&root_name, &graph)?;
        Ok(order
            .into_iter()
            .filter_map(|name| found.remove(&name))
            .collect())
    }

    /// What an installed instance requires, from its plugin_depends_on links.
    async fn installed_requirements(
        &self,
        thing: &plughub_domain::Thing,
    ) -> Result<Vec<Requirement>, LifecycleError> {
        let mut out = Vec::new();
        for link in self
            .store
            .connections_from(plughub_domain::ConnectionKind::PluginDependsOn, &thing.id)
            .await?
        {
            if let Some(dependency) = self.store.thing(&link.to_id).await? {
                out.push(Requirement {
                    name: dependency.name,
                    range: link.metadata["range"].as_str().unwrap_or("*").to_string(),
                });
            }
        }
        Ok(out)
    }

    /// The version of a required plugin to install; `published` is when the plugin requiring it was
    /// published.
    async fn locate_dependency(
        &self,
        requirement: &Requirement,
        by: &str,
        published: Option<&str>,
        core: Option<CoreMajor>,
    ) -> Result<Located, LifecycleError> {
        let unavailable = |source| LifecycleError::DependencyUnavailable {
            plugin: requirement.name.clone(),
            by: by.to_string(),
            source: Box::new(source),
        };
        let doc = document(&self.sources, &requirement.name)
            .await
            .map_err(unavailable)?;
        // A workspace reference is read as pnpm gets it (`pins`): the version published last before the
        // plugin requiring it.
        let wanted = if requirement.range.starts_with("workspace:") {
            plughub_install::pins::workspace_range(
                &self.sources,
                by,
                &requirement.name,
                &requirement.range,
                published,
                &plughub_install::pins::Within::default(),
            )
            .await?
        } else {
            requirement.range.clone()
        };
        let resolved =
            resolve(&doc, &requirement.name, Some(&wanted), core).map_err(unavailable)?;
        Ok(located_on_npm(resolved))
    }
}

fn located_on_npm(resolved: Resolved) -> Located {
    Located {
        name: resolved.name.clone(),
        version: resolved.version.clone(),
        requires: plugin_requirements(&resolved.name, &resolved.manifest),
        source: Source::Npm(Box::new(resolved)),
    }
}

fn planned(located: &Located, installed: bool) -> PlannedPlugin {
    PlannedPlugin {
        name: located.name.clone(),
        version: located.version.clone(),
        installed,
        requires: located.requires.clone(),
    }
}

pub(crate) fn read_manifest(path: &std::path::Path) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plugins_among_the_dependencies_are_required() {
        let manifest = serde_json::json!({
            "dependencies": { "@elizaos/core": "^1.0.0", "@elizaos/plugin-sql": "^1.2.0", "zod": "3" },
            "peerDependencies": { "plugin-extra": "*", "@elizaos/plugin-sql": "^1.0.0" }
        });
        let requires = plugin_requirements("@acme/plugin-a", &manifest);
        let names: Vec<(&str, &str)> = requires
            .iter()
            .map(|r| (r.name.as_str(), r.range.as_str()))
            .collect();
        assert_eq!(
            names,
            [("@elizaos/plugin-sql", "^1.2.0"), ("plugin-extra", "*")]
        );
    }
}
