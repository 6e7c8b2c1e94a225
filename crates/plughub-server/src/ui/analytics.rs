//! `/plugins/analytics`: an organisation's analytics for its owners (`?org=`), the platform's for
//! platform owners; charts drawn on the server as SVG (bars for executions per day, a line for the error
//! rate), each with a title and description and a table of the same figures beside it, and CSV exports.

use super::{Page, Viewer};
use crate::handlers::analytics::analytics;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_analytics::{DayFigures, Scope};
use serde::Deserialize;
use std::fmt::Write;

#[derive(Debug, Default, Deserialize)]
pub struct AnalyticsQuery {
    org: Option<String>,
    days: Option<u32>,
}

/// The windows offered.
const WINDOWS: [u32; 3] = [7, 30, 90];

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<AnalyticsQuery>,
) -> Response {
    let days = q.days.filter(|d| WINDOWS.contains(d)).unwrap_or(30);
    // A platform owner sees the platform unless an organisation of theirs is asked for.
    let platform = viewer.is_platform_owner() && q.org.is_none();
    let page = Page::new(&viewer, "analytics", &uri).in_org(q.org.as_deref());
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let (scope, csv, here) = if platform {
        (
            Scope::Platform,
            format!("/api/admin/analytics?days={days}&format=csv"),
            "/plugins/analytics?".to_string(),
        )
    } else {
        let Some(membership) = page.org() else {
            return page.no_org();
        };
        if !page.may().analytics {
            return page.error(
                StatusCode::FORBIDDEN,
                "Analytics",
                &format!(
                    "Only owners of {} see its analytics; ask one of them.",
                    membership.group
                ),
            );
        }
        let org = urlencode(&membership.group);
        (
            Scope::Org {
                group_id: membership.group_id.clone(),
                name: membership.group.clone(),
            },
            format!("/api/orgs/{org}/analytics?days={days}&format=csv"),
            format!("/plugins/analytics?org={org}&"),
        )
    };
    let report = match analytics(&state).report(&scope, days).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "analytics failed");
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Analytics",
                "The analytics could not be read; the server's log says why. Try again in a moment.",
            );
        }
    };
    let windows: Vec<(u32, String)> = WINDOWS
        .iter()
        .map(|d| (*d, format!("{here}days={d}")))
        .collect();
    page.render(
        "analytics.html",
        "Analytics",
        context! {
            platform => platform,
            days => days,
            windows => windows,
            csv => csv,
            executions_chart => executions_chart(&report.per_day),
            error_chart => error_rate_chart(&report.per_day),
            report => Serde(&report),
        },
    )
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

/// A bar per day, its height the day's executions. Dates and numbers only: nothing to escape.
pub fn executions_chart(days: &[DayFigures]) -> String {
    let max = days.iter().map(|d| d.executions).max().unwrap_or(0).max(1) as f64;
    let total: i64 = days.iter().map(|d| d.executions).sum();
    let busiest = days.iter().max_by_key(|d| d.executions);
    let desc = match busiest {
        Some(b) if b.executions > 0 => format!(
            "{total} executions over {} days, from {} to {}; the busiest day was {} with {}.",
            days.len(),
            days[0].day,
            days[days.len() - 1].day,
            b.day,
            b.executions
        ),
        _ => format!("No executions over {} days.", days.len()),
    };
    let mut svg = open_svg(
        "executions-title",
        "executions-desc",
        "Executions per day",
        &desc,
    );
    axis(&mut svg, &format!("{max}"), "0");
    let plot = WIDTH - LEFT - 8.0;
    let step = plot / days.len().max(1) as f64;
    for (i, d) in days.iter().enumerate() {
        let h = (d.executions as f64 / max) * (HEIGHT - TOP - BOTTOM);
        let x = LEFT + i as f64 * step + step * 0.1;
        let y = HEIGHT - BOTTOM - h;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{}: {} executions</title></rect>"#,
            step * 0.8,
            d.day,
            d.executions
        );
    }
    day_labels(&mut svg, days, step);
    svg.push_str("</svg>");
    svg
}

/// A line of the error rate per day, 0 to its highest (at least 5 %).
pub fn error_rate_chart(days: &[DayFigures]) -> String {
    let max = days.iter().map(|d| d.error_rate).fold(0.05_f64, f64::max);
    let worst = days
        .iter()
        .max_by(|a, b| a.error_rate.total_cmp(&b.error_rate));
    let desc = match worst {
        Some(w) if w.error_rate > 0.0 => format!(
            "Error rate per day from {} to {}; the highest was {:.1} % on {}.",
            days[0].day,
            days[days.len() - 1].day,
            w.error_rate * 100.0,
            w.day
        ),
        _ => format!("No errors over {} days.", days.len()),
    };
    let mut svg = open_svg("errors-title", "errors-desc", "Error rate per day", &desc);
    axis(&mut svg, &format!("{:.0} %", max * 100.0), "0 %");
    let plot = WIDTH - LEFT - 8.0;
    let step = plot / days.len().max(1) as f64;
    let points: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = LEFT + i as f64 * step + step / 2.0;
            let y = HEIGHT - BOTTOM - (d.error_rate / max) * (HEIGHT - TOP - BOTTOM);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="line" fill="none" points="{}"/>"#,
        points.join(" ")
    );
    for (point, d) in points.iter().zip(days) {
        let (x, y) = point.split_once(',').expect("x,y");
        let _ = write!(
            svg,
            r#"<circle class="dot" cx="{x}" cy="{y}" r="2.5"><title>{}: {:.1} % errors</title></circle>"#,
            d.day,
            d.error_rate * 100.0
        );
    }
    day_labels(&mut svg, days, step);
    svg.push_str("</svg>");
    svg
}

fn open_svg(title_id: &str, desc_id: &str, title: &str, desc: &str) -> String {
    format!(
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg"><title id="{title_id}">{title}</title><desc id="{desc_id}">{desc}</desc>"#
    )
}

fn axis(svg: &mut String, top: &str, bottom: &str) {
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/><line class="axis" x1="{LEFT}" y1="{base}" x2="{}" y2="{base}"/><text class="tick" x="{}" y="{}" text-anchor="end">{top}</text><text class="tick" x="{}" y="{base}" text-anchor="end">{bottom}</text>"#,
        WIDTH - 8.0,
        LEFT - 4.0,
        TOP + 8.0,
        LEFT - 4.0,
    );
}

/// The first and last days under the axis.
fn day_labels(svg: &mut String, days: &[DayFigures], step: f64) {
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let y = HEIGHT - 6.0;
        let _ = write!(
            svg,
            r#"<text class="tick" x="{LEFT}" y="{y}">{}</text><text class="tick" x="{:.1}" y="{y}" text-anchor="end">{}</text>"#,
            first.day,
            LEFT + step * days.len() as f64,
            last.day
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: &str, executions: i64, errors: i64) -> DayFigures {
        DayFigures {
            day: day.into(),
            executions,
            errors,
            timeouts: 0,
            error_rate: if executions == 0 {
                0.0
            } else {
                errors as f64 / executions as f64
            },
        }
    }

    #[test]
    fn charts_are_titled_described_and_drawn_to_scale() {
        let days = [day("2026-12-01", 10, 1), day("2026-12-02", 40, 0)];
        let bars = executions_chart(&days);
        assert!(bars.contains(r#"role="img""#));
        assert!(bars.contains("<title id=\"executions-title\">Executions per day</title>"));
        assert!(bars.contains("the busiest day was 2026-12-02 with 40"));
        assert_eq!(bars.matches("<rect").count(), 2);
        // The busiest day's bar fills the plot's height.
        assert!(bars.contains(&format!(r#"height="{:.1}""#, HEIGHT - TOP - BOTTOM)));
        let line = error_rate_chart(&days);
        assert!(line.contains("the highest was 10.0 % on 2026-12-01"));
        assert_eq!(line.matches("<circle").count(), 2);
    }
}
