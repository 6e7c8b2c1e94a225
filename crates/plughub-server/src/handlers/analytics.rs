//! Analytics of executions: an organisation's for its owners, the platform's for platform owners, as
//! JSON or as CSV (one table of the report at a time). Figures come from the daily rollups
//! (`plughub_analytics`), rolled up to the last execution before each answer.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::admin::platform;
use crate::openapi::{BadRequest, InOrg, Platform};
use crate::params::{OrgPath, query};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plughub_analytics::{Analytics, AnalyticsError, MAX_DAYS, PluginUsage, Report, Scope, Table};
use plughub_domain::access::Action;
use serde::Deserialize;

impl From<AnalyticsError> for ApiError {
    fn from(e: AnalyticsError) -> ApiError {
        match e {
            AnalyticsError::Store(e) => e.into(),
            e @ AnalyticsError::Days(_) => ApiError::bad_request(e.to_string()),
        }
    }
}

/// The window of a report and how to answer it.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The days counted, today included.
    #[param(format = Int32, minimum = 1, maximum = 366, default = 30)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub days: Option<u32>,
    /// `json` (the whole report) or `csv` (one table of it, `table`).
    #[serde(default)]
    #[param(inline)]
    pub format: Option<Format>,
    /// The table a CSV answer holds; `days` by default.
    #[serde(default)]
    #[param(inline)]
    pub table: Option<Table>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
}

impl ReportQuery {
    fn days(&self) -> Result<u32, ApiError> {
        match self.days.unwrap_or(30) {
            days @ 1..=MAX_DAYS => Ok(days),
            days => Err(AnalyticsError::Days(days).into()),
        }
    }
}

/// `GET /api/orgs/{org}/analytics`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/analytics",
    tag = "analytics",
    operation_id = "org_analytics",
    summary = "The organisation's analytics: executions per day, error rate, latency, most used actions, top plugins, cost (org owners)",
    params(OrgPath, ReportQuery),
    responses(
        (status = 200, description = "The report (JSON), or one table of it (CSV, `format=csv`)",
         content((Report = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        InOrg,
    )
)]
pub async fn org(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    params: Result<Query<ReportQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let params = query(params)?;
    let days = params.days()?;
    let group = caller
        .group_for(&state, &org, Action::ViewAnalytics)
        .await?;
    let scope = Scope::Org {
        group_id: group.id,
        name: group.name,
    };
    answer(&state, &scope, days, &params).await
}

/// `GET /api/admin/analytics`.
#[utoipa::path(
    get,
    path = "/api/admin/analytics",
    tag = "analytics",
    operation_id = "platform_analytics",
    summary = "The platform's analytics, every organisation's executions and the cost of each (platform owners)",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report (JSON), or one table of it (CSV, `format=csv`)",
         content((Report = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        Platform,
    )
)]
pub async fn platform_report(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ReportQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let params = query(params)?;
    let days = params.days()?;
    platform(&caller, Action::ManageOrganisations)?;
    answer(&state, &Scope::Platform, days, &params).await
}

async fn answer(
    state: &AppState,
    scope: &Scope,
    days: u32,
    params: &ReportQuery,
) -> ApiResult<Response> {
    let report = analytics(state).report(scope, days).await?;
    Ok(match params.format.unwrap_or(Format::Json) {
        Format::Json => axum::Json(report).into_response(),
        Format::Csv => {
            let table = params.table.unwrap_or(Table::Days);
            let name = match scope {
                Scope::Org { name, .. } => name.as_str(),
                Scope::Platform => "platform",
            };
            let file = format!("analytics-{name}-{}-{days}d.csv", table_name(table));
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}\""),
                    ),
                ],
                report.to_csv(table),
            )
                .into_response()
        }
    })
}

fn table_name(table: Table) -> &'static str {
    match table {
        Table::Days => "days",
        Table::Plugins => "plugins",
        Table::Actions => "actions",
        Table::Cost => "cost",
    }
}

/// The analytics of the server's store.
pub fn analytics(state: &AppState) -> Analytics {
    Analytics::new(state.catalog.store().clone())
}

/// A publisher's plugins as their usage shows them: aggregates only.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PublisherAnalytics {
    pub publisher: String,
    /// Each of its catalogue plugins over the last 30 days; the figures are `null` for a plugin run by
    /// fewer than 3 organisations.
    pub plugins: Vec<PluginUsage>,
}

/// `GET /api/publishers/{publisher}/analytics`.
#[utoipa::path(
    get,
    path = "/api/publishers/{publisher}/analytics",
    tag = "analytics",
    operation_id = "publisher_analytics",
    summary = "A publisher's plugins' use across organisations, for the people who hold the publisher (aggregates over at least 3 organisations)",
    params(crate::handlers::publishers::PublisherPath),
    responses(
        (status = 200, description = "Each of its plugins' usage", body = PublisherAnalytics),
        (status = 403, response = crate::openapi::Forbidden),
        crate::openapi::SignedIn,
    )
)]
pub async fn publisher(
    State(state): State<AppState>,
    caller: Caller,
    Path(crate::handlers::publishers::PublisherPath { publisher }): Path<
        crate::handlers::publishers::PublisherPath,
    >,
) -> ApiResult<axum::Json<PublisherAnalytics>> {
    let holds = plughub_market::publishers::Publishers::new(state.catalog.store().clone())
        .holds(&caller.0.person_id, &publisher)
        .await?;
    if !holds {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "only the people who hold the publisher {publisher} see its plugins' analytics: claim it first (POST /api/publishers/{{publisher}}/claims)"
            ),
        ));
    }
    let names: Vec<String> = state
        .catalog
        .index()
        .views()
        .iter()
        .filter(|v| plughub_domain::names::namespace_of(&v.name) == publisher)
        .map(|v| v.name.clone())
        .collect();
    let analytics = analytics(&state);
    let mut plugins = Vec::with_capacity(names.len());
    for name in names {
        plugins.push(analytics.plugin_usage(&name).await?);
    }
    Ok(axum::Json(PublisherAnalytics { publisher, plugins }))
}
