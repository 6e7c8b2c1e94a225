//! An organisation's own pages: its installed plugins, the playground, its activity and its security.
//! Each shows only what the viewer's role lets them see; the changes the pages offer go to the API.

use super::permissions::explain;
use super::{Page, Viewer};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_domain::core_range::compare_versions;
use plughub_domain::{EventType, StoredEvent, ThingKind};
use plughub_store::EventFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The query of an organisation's page: which organisation, and (activity, security) which page and
/// which kind of entry.
#[derive(Debug, Default, Deserialize)]
pub struct OrgQuery {
    org: Option<String>,
    page: Option<u64>,
    show: Option<String>,
    plugin: Option<String>,
}

impl OrgQuery {
    /// The organisation asked for (the switcher's choice).
    pub fn org(&self) -> Option<&str> {
        self.org.as_deref()
    }
}

/// The page, or where the viewer must go first (sign in; an organisation they are in).
fn org_page<'a>(
    viewer: &'a Viewer,
    section: &'static str,
    uri: &Uri,
    q: &OrgQuery,
) -> Result<Page<'a>, Box<Response>> {
    let page = Page::new(viewer, section, uri).in_org(q.org.as_deref());
    if let Some(sign_in) = page.sign_in_first(uri) {
        return Err(Box::new(sign_in));
    }
    if page.org().is_none() {
        return Err(Box::new(page.no_org()));
    }
    Ok(page)
}

/// One installed plugin as its row shows it.
#[derive(Serialize)]
struct InstalledRow {
    plugin: String,
    version: String,
    state: String,
    risk: Option<u32>,
    error: Option<String>,
    previous: Option<String>,
    /// A newer version that works with the core it is on, when the catalogue knows one.
    update: Option<String>,
    /// Why the catalogue says it is deprecated (npm or a platform owner), and what to use instead.
    deprecated: Option<String>,
    replacement: Option<String>,
    agents: Vec<AgentUse>,
    requested: Vec<super::permissions::PermissionLine>,
    missing: Vec<super::permissions::PermissionLine>,
    granted: Vec<super::permissions::PermissionLine>,
    config: Option<plughub_lifecycle::ConfigView>,
}

#[derive(Serialize)]
struct AgentUse {
    agent: String,
    priority: i64,
    enabled_actions: serde_json::Value,
}

/// `GET /plugins/installed`.
pub async fn installed(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = match org_page(&viewer, "installed", &uri, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let membership = page.org().expect("checked");
    if !page.may().view {
        return page.error(
            StatusCode::FORBIDDEN,
            "Installed plugins",
            &format!(
                "Your role in {} ({}) does not allow seeing its installed plugins.",
                membership.group,
                membership.role.as_str()
            ),
        );
    }
    let org = membership.group.clone();
    let Some(lifecycle) = &state.lifecycle else {
        return page.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Installed plugins",
            "This server serves the catalogue only.",
        );
    };
    let installer = lifecycle.runner.installer();
    let (records, agents) = match (installer.list(&org).await, installer.agents(&org).await) {
        (Ok(r), Ok(a)) => (r, a),
        (Err(e), _) | (_, Err(e)) => {
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Installed plugins",
                &e.to_string(),
            );
        }
    };
    let mut rows = Vec::new();
    for record in records {
        let uses = agents
            .iter()
            .flat_map(|a| {
                a.plugins
                    .iter()
                    .filter(|p| p.plugin == record.plugin)
                    .map(|p| AgentUse {
                        agent: a.name.clone(),
                        priority: p.priority,
                        enabled_actions: p.enabled_actions.clone(),
                    })
            })
            .collect();
        let mut deprecation = (None, None);
        let update = match state.catalog.info(&record.plugin).await {
            Ok(detail) => {
                deprecation = (
                    detail.view.deprecated.clone(),
                    detail.view.replacement.clone(),
                );
                let newest = match record.core {
                    Some(core) => detail
                        .view
                        .compat
                        .get(&core)
                        .and_then(|c| c.version.clone()),
                    None => detail.view.latest_version.clone(),
                };
                newest.filter(|n| compare_versions(n, record.version()).is_gt())
            }
            Err(_) => None,
        };
        let config = installer.config_view(&org, &record.plugin).await.ok();
        rows.push(InstalledRow {
            version: record.version().to_string(),
            state: serde_json::to_value(record.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_ascii_lowercase))
                .unwrap_or_default(),
            risk: record.current.risk_score,
            error: record.error.clone(),
            previous: record.previous.as_ref().map(|p| p.version.clone()),
            update,
            deprecated: deprecation.0,
            replacement: deprecation.1,
            agents: uses,
            requested: explain(&record.current.requested),
            missing: explain(&record.ungranted()),
            granted: explain(&record.granted),
            config,
            plugin: record.plugin,
        });
    }
    page.render(
        "installed.html",
        "Installed plugins",
        context! { rows => Serde(&rows), agents => Serde(&agents) },
    )
}

/// A component an installed plugin offers to run.
#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Runnable {
    plugin: String,
    kind: &'static str,
    name: String,
}

/// `GET /plugins/playground`.
pub async fn playground(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = match org_page(&viewer, "playground", &uri, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let membership = page.org().expect("checked");
    if !page.may().run {
        return page.error(
            StatusCode::FORBIDDEN,
            "Playground",
            &format!(
                "Your role in {} does not allow running plugins.",
                membership.group
            ),
        );
    }
    let Some(lifecycle) = &state.lifecycle else {
        return page.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Playground",
            "This server serves the catalogue only.",
        );
    };
    let installer = lifecycle.runner.installer();
    let org = membership.group.clone();
    let records = installer.list(&org).await.unwrap_or_default();
    let agents: Vec<String> = installer
        .agents(&org)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.name)
        .collect();
    // What each plugin runs: the components recorded when it first ran, else those its package declares.
    let store = state.catalog.store();
    let mut runnables = std::collections::BTreeSet::new();
    for (kind, label) in [
        (ThingKind::PluginAction, "action"),
        (ThingKind::PluginProvider, "provider"),
        (ThingKind::PluginEvaluator, "evaluator"),
    ] {
        for thing in store
            .things(kind, Some(&membership.group_id))
            .await
            .unwrap_or_default()
        {
            if let (Some(plugin), Some(name)) = (
                thing.properties["plugin"].as_str(),
                thing.properties["name"].as_str(),
            ) {
                runnables.insert(Runnable {
                    plugin: plugin.into(),
                    kind: label,
                    name: name.into(),
                });
            }
        }
    }
    for record in &records {
        if runnables.iter().any(|r| r.plugin == record.plugin) {
            continue;
        }
        if let Ok(detail) = state.catalog.info(&record.plugin).await {
            for c in detail.package.iter().flat_map(|f| f.components.iter()) {
                let kind = match c.kind.as_str() {
                    "action" => "action",
                    "provider" => "provider",
                    "evaluator" => "evaluator",
                    _ => continue,
                };
                runnables.insert(Runnable {
                    plugin: record.plugin.clone(),
                    kind,
                    name: c.name.clone(),
                });
            }
        }
    }
    let plugins: Vec<String> = records.iter().map(|r| r.plugin.clone()).collect();
    page.render(
        "playground.html",
        "Playground",
        context! { plugins => plugins, runnables => Serde(runnables.into_iter().collect::<Vec<_>>()), agents => agents, chosen => q.plugin },
    )
}

const PER_PAGE: u32 = 50;

/// An event as a row of a log shows it.
#[derive(Serialize)]
struct EventRow {
    time: String,
    kind: String,
    actor: String,
    plugin: Option<String>,
    summary: String,
    failed: bool,
    details: String,
}

fn row(e: &StoredEvent) -> EventRow {
    let m = &e.metadata;
    let text = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let summary = match e.event_type {
        EventType::PluginNetworkRequest => format!(
            "{} {}:{} → {}",
            text("method").unwrap_or_default(),
            text("host").unwrap_or_default(),
            m.get("port").and_then(|v| v.as_u64()).unwrap_or(0),
            match m.get("refused").and_then(|v| v.as_str()) {
                Some(why) => format!("refused: {why}"),
                None => m.get("status").map(|s| s.to_string()).unwrap_or_default(),
            }
        ),
        EventType::SignInFailed => format!(
            "{} from {}",
            e.target.clone().unwrap_or_else(|| "unknown account".into()),
            text("address").unwrap_or_default()
        ),
        _ => [
            text("component"),
            text("action"),
            text("provider"),
            text("evaluator"),
            text("outcome"),
            text("status"),
            text("error"),
            text("reason"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    };
    let failed = matches!(
        e.event_type,
        EventType::PluginErrorOccurred
            | EventType::PluginAttemptFailed
            | EventType::PluginAccessDenied
            | EventType::SignInFailed
            | EventType::SignInThrottled
    ) || m.get("refused").is_some_and(|v| !v.is_null());
    EventRow {
        time: e.time.clone(),
        kind: e.event_type.as_str().to_string(),
        actor: e.actor.clone(),
        plugin: text("plugin"),
        summary,
        failed,
        details: serde_json::to_string_pretty(m).unwrap_or_default(),
    }
}

/// `GET /plugins/activity`: the organisation's executions and events, paged; new executions come in
/// live while the page is open.
pub async fn activity(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = match org_page(&viewer, "activity", &uri, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let membership = page.org().expect("checked");
    if !page.may().activity {
        return page.error(
            StatusCode::FORBIDDEN,
            "Activity",
            &format!(
                "Your role in {} does not allow reading its activity.",
                membership.group
            ),
        );
    }
    let executions_only = q.show.as_deref() != Some("events");
    let number = q.page.unwrap_or(1).max(1);
    let filter = EventFilter {
        group_id: Some(membership.group_id.clone()),
        executions_only,
        ..Default::default()
    };
    let store = state.catalog.store();
    let total = store.count_events(&filter).await.unwrap_or(0);
    let events = store
        .events(&EventFilter {
            newest_first: true,
            offset: Some(
                i64::try_from((number - 1).saturating_mul(PER_PAGE.into())).unwrap_or(i64::MAX),
            ),
            limit: Some(i64::from(PER_PAGE)),
            ..filter
        })
        .await
        .unwrap_or_default();
    let pages = u64::try_from(total)
        .unwrap_or(0)
        .div_ceil(PER_PAGE.into())
        .max(1);
    let link = |n: u64| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("org", &membership.group);
        if !executions_only {
            s.append_pair("show", "events");
        }
        s.append_pair("page", &n.to_string());
        format!("/plugins/activity?{}", s.finish())
    };
    page.render(
        "activity.html",
        "Activity",
        context! {
            rows => Serde(events.iter().map(row).collect::<Vec<_>>()),
            executions_only => executions_only,
            total => total,
            page => number,
            pages => pages,
            prev => (number > 1).then(|| link(number - 1)),
            next => (number < pages).then(|| link(number + 1)),
        },
    )
}

/// A finding of the analysis of an installed plugin.
#[derive(Serialize)]
struct FindingRow {
    plugin: String,
    version: String,
    severity: String,
    rule: String,
    file: String,
    line: u32,
    snippet: String,
    message: String,
    why: String,
}

/// `GET /plugins/security`: findings, grants, network requests and refusals, denied access, failed
/// sign-ins; `show` picks one of them.
pub async fn security(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = match org_page(&viewer, "security", &uri, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let membership = page.org().expect("checked");
    if !page.may().activity {
        return page.error(
            StatusCode::FORBIDDEN,
            "Security",
            &format!(
                "Your role in {} does not allow reading its security log.",
                membership.group
            ),
        );
    }
    let Some(lifecycle) = &state.lifecycle else {
        return page.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Security",
            "This server serves the catalogue only.",
        );
    };
    let show = q.show.clone().unwrap_or_else(|| "all".into());
    let want = |s: &str| show == "all" || show == s;
    let installer = lifecycle.runner.installer();
    let org = membership.group.clone();
    let records = installer.list(&org).await.unwrap_or_default();
    let mut findings = Vec::new();
    let mut grants = Vec::new();
    for record in &records {
        if want("findings")
            && let Ok(Some(report)) = installer.analysis(&org, &record.plugin).await
        {
            for f in report.findings {
                findings.push(FindingRow {
                    plugin: record.plugin.clone(),
                    version: record.version().to_string(),
                    severity: serde_json::to_value(f.severity)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    rule: serde_json::to_value(f.rule)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    file: f.file,
                    line: f.line,
                    snippet: f.snippet,
                    message: f.message,
                    why: f.why,
                });
            }
        }
        if want("grants") {
            grants.push((
                record.plugin.clone(),
                explain(&record.granted),
                record.granted_by.clone(),
            ));
        }
    }
    let store = state.catalog.store();
    let newest = |event_type: EventType, group_id: Option<String>| EventFilter {
        event_type: Some(event_type),
        group_id,
        newest_first: true,
        limit: Some(100),
        ..Default::default()
    };
    let mut log: BTreeMap<&str, Vec<EventRow>> = BTreeMap::new();
    for (key, event_type) in [
        ("egress", EventType::PluginNetworkRequest),
        ("denied", EventType::PluginAccessDenied),
    ] {
        if want(key) {
            let events = store
                .events(&newest(event_type, Some(membership.group_id.clone())))
                .await
                .unwrap_or_default();
            log.insert(key, events.iter().map(row).collect());
        }
    }
    if want("sign_ins") {
        // Failed sign-ins are the platform's: an organisation sees those of its own people's accounts,
        // asked for person by person so that failures of other accounts cannot push them out of view.
        let members = members_of(&state, &membership.group_id).await;
        let mut rows = Vec::new();
        for (person_id, email) in &members {
            let filter = EventFilter {
                target: Some(person_id.clone()),
                ..newest(EventType::SignInFailed, None)
            };
            for e in store.events(&filter).await.unwrap_or_default() {
                let mut r = row(&e);
                r.summary = r.summary.replacen(person_id.as_str(), email, 1);
                rows.push(r);
            }
        }
        rows.sort_by(|a, b| b.time.cmp(&a.time));
        rows.truncate(100);
        log.insert("sign_ins", rows);
    }
    page.render(
        "security.html",
        "Security",
        context! { show => show, findings => Serde(&findings), grants => Serde(&grants), log => Serde(&log) },
    )
}

/// A group's members: person id → email (failed sign-ins name a known person by id).
async fn members_of(state: &AppState, group_id: &str) -> std::collections::HashMap<String, String> {
    state
        .catalog
        .store()
        .members(group_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.person_id, m.email))
        .collect()
}
