//! The npm stage of a sync: which names to ask for (the registry's, the known plugins, and what npm search
//! finds where the registry offers it), one probe first so an unreachable registry fails once, then every
//! document with a bound on concurrency; found packages become npm records and replace the starter's.

use super::{SourceReport, SyncOptions, SyncProgress, failed_source};
use crate::CatalogError;
use crate::sources::npm::{NpmClient, PackumentOutcome};
use plughub_domain::{CatalogEntry, NpmRecord, SourceKind, SourceRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) async fn sync_npm(
    entries: &mut BTreeMap<String, CatalogEntry>,
    readmes: &mut HashMap<String, String>,
    base: &str,
    options: &SyncOptions,
    progress: &dyn SyncProgress,
) -> SourceReport {
    let mut client = NpmClient::new(base);
    client.concurrency = options.npm_concurrency;
    let mut notes = Vec::new();
    let mut names: BTreeSet<String> = entries
        .iter()
        .filter(|(_, e)| e.sources.values().any(|r| !r.withdrawn()))
        // plughub's own packages are never looked up on npm (their entry stays plughub's).
        .filter(|(_, e)| !e.sources.contains_key(&SourceKind::Plughub))
        .map(|(n, _)| n.clone())
        .collect();
    names.extend(options.npm_seeds.iter().cloned());

    // Probe with one name first: an unreachable registry fails once, not once per package.
    let Some(probe) = names.iter().next().cloned() else {
        return SourceReport {
            name: "npm".into(),
            location: base.into(),
            ok: true,
            entries: 0,
            error: None,
            notes,
        };
    };
    progress.stage(&format!("contacting the npm registry at {base}"));
    let probe_outcome = crate::sources::npm::packument(&client, &probe).await;
    if let PackumentOutcome::Failed {
        reason,
        connect: true,
        ..
    } = &probe_outcome
    {
        let e = CatalogError::NpmUnreachable {
            registry: base.to_string(),
            reason: reason.clone(),
        };
        return failed_source("npm", base, e.to_string());
    }

    if options.npm_discover {
        progress.stage("discovering plugins through npm search");
        let mut found = BTreeSet::new();
        let mut unavailable = None;
        for query in [
            "keywords:elizaos-plugin",
            "keywords:elizaos-plugins",
            "keywords:elizaos",
            "@elizaos/plugin-",
        ] {
            match client.search(query).await {
                Ok(list) => found.extend(list.into_iter().filter(|n| looks_like_plugin(n))),
                Err(reason) => {
                    unavailable = Some(reason);
                    break;
                }
            }
        }
        match unavailable {
            Some(reason) => notes.push(format!(
                "npm search is not available on this registry ({reason}); discovery used the registry list and the known plugins only"
            )),
            None => notes.push(format!("npm search found {} plugin packages", found.len())),
        }
        names.extend(found);
    }

    let rest: Vec<String> = names.iter().filter(|n| **n != probe).cloned().collect();
    progress.packages_started(names.len() as u64);
    progress.package_done(&probe);
    let mut outcomes =
        crate::sources::npm::packuments(&client, rest, &|name| progress.package_done(name)).await;
    progress.packages_finished();
    outcomes.push((probe, probe_outcome));

    let (mut found, mut missing, mut failed) = (0, 0, Vec::new());
    for (name, outcome) in outcomes {
        match outcome {
            PackumentOutcome::Found { record, readme } => {
                found += 1;
                let entry = entries.entry(name.clone()).or_insert_with(|| CatalogEntry {
                    name: name.clone(),
                    ..Default::default()
                });
                entry
                    .sources
                    .insert(SourceKind::Npm, SourceRecord::Npm(*record));
                entry.sources.remove(&SourceKind::Starter);
                if let Some(readme) = readme {
                    readmes.insert(name, readme);
                }
            }
            PackumentOutcome::Missing => {
                missing += 1;
                let Some(entry) = entries.get_mut(&name) else {
                    continue;
                };
                let had_npm = entry
                    .sources
                    .get(&SourceKind::Npm)
                    .is_some_and(|r| matches!(r, SourceRecord::Npm(n) if !n.missing));
                if had_npm {
                    entry
                        .sources
                        .get_mut(&SourceKind::Npm)
                        .expect("checked")
                        .set_withdrawn(true);
                } else {
                    entry.sources.insert(
                        SourceKind::Npm,
                        SourceRecord::Npm(NpmRecord {
                            missing: true,
                            ..Default::default()
                        }),
                    );
                }
                if let Some(starter) = entry.sources.get_mut(&SourceKind::Starter) {
                    starter.set_withdrawn(true);
                }
            }
            PackumentOutcome::Failed { reason, .. } => failed.push(format!("{name}: {reason}")),
        }
    }
    notes.push(format!(
        "{found} packages found, {missing} not on this registry (404), {} failed",
        failed.len()
    ));
    failed.sort();
    notes.extend(failed.iter().take(10).cloned());
    if failed.len() > 10 {
        notes.push(format!("… and {} more failures", failed.len() - 10));
    }
    let ok = found + missing > 0;
    SourceReport {
        name: "npm".into(),
        location: base.into(),
        ok,
        entries: found,
        error: (!ok).then(|| {
            failed
                .first()
                .cloned()
                .unwrap_or_else(|| "no package could be read".into())
        }),
        notes,
    }
}

/// Search by keyword also finds the core, the CLI and clients; plugins say so in their name.
fn looks_like_plugin(name: &str) -> bool {
    name.contains("plugin")
}
