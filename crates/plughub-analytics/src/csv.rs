//! A report's tables as CSV (RFC 4180), the same figures as its JSON.

use crate::Report;

/// Which table of a report a CSV export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Executions, errors, timeouts and error rate per day.
    Days,
    /// The top plugins with their latency.
    Plugins,
    /// The most used actions.
    Actions,
    /// The cost per organisation.
    Cost,
}

impl Report {
    /// One table of the report as CSV, with its header line.
    pub fn to_csv(&self, table: Table) -> String {
        let mut out = String::new();
        let mut line = |fields: Vec<String>| {
            let quoted: Vec<String> = fields.iter().map(|f| field(f)).collect();
            out.push_str(&quoted.join(","));
            out.push_str("\r\n");
        };
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        match table {
            Table::Days => {
                line(s(&[
                    "day",
                    "executions",
                    "errors",
                    "timeouts",
                    "error_rate",
                ]));
                for d in &self.per_day {
                    line(vec![
                        d.day.clone(),
                        d.executions.to_string(),
                        d.errors.to_string(),
                        d.timeouts.to_string(),
                        d.error_rate.to_string(),
                    ]);
                }
            }
            Table::Plugins => {
                line(s(&[
                    "plugin",
                    "executions",
                    "errors",
                    "timeouts",
                    "error_rate",
                    "p50_ms",
                    "p95_ms",
                    "p99_ms",
                ]));
                for p in &self.top_plugins {
                    line(vec![
                        p.plugin.clone(),
                        p.executions.to_string(),
                        p.errors.to_string(),
                        p.timeouts.to_string(),
                        p.error_rate.to_string(),
                        opt(p.latency.p50_ms),
                        opt(p.latency.p95_ms),
                        opt(p.latency.p99_ms),
                    ]);
                }
            }
            Table::Actions => {
                line(s(&[
                    "plugin",
                    "kind",
                    "component",
                    "executions",
                    "errors",
                    "error_rate",
                ]));
                for a in &self.top_actions {
                    line(vec![
                        a.plugin.clone(),
                        a.kind.clone(),
                        a.component.clone(),
                        a.executions.to_string(),
                        a.errors.to_string(),
                        a.error_rate.to_string(),
                    ]);
                }
            }
            Table::Cost => {
                line(s(&[
                    "org",
                    "executions",
                    "cpu_seconds",
                    "memory_gib_seconds",
                    "cost_units",
                ]));
                for c in &self.cost {
                    line(vec![
                        c.org.clone(),
                        c.executions.to_string(),
                        c.cost.cpu_seconds.to_string(),
                        c.cost.memory_gib_seconds.to_string(),
                        c.cost.cost_units.to_string(),
                    ]);
                }
            }
        }
        out
    }
}

fn s(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A field quoted when it must be (RFC 4180: a comma, a quote or a line break), its quotes doubled.
/// A field that a spreadsheet would take for a formula (`=` or `+` first, or `-` before something not
/// a number) is prefixed with `'`: component names are the plugin's own text. `@` first is left as it
/// is: every scoped npm name starts with it, and the export must say what the JSON says.
fn field(value: &str) -> String {
    // What a spreadsheet would take for a formula: `=`, `+`, `@`, a tab or a carriage return first, or
    // `-` before anything but a number. A scoped package name (`@acme/plugin-x`) is a name, kept as is;
    // a component's name is the plugin's own text and may be anything.
    let scoped_name = value.starts_with('@')
        && value.split_once('/').is_some_and(|(scope, name)| {
            let plain = |t: &str| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c))
            };
            plain(&scope[1..]) && plain(name)
        });
    let value = if value.starts_with(['=', '+', '\t', '\r'])
        || (value.starts_with('@') && !scoped_name)
        || (value.starts_with('-') && value.parse::<f64>().is_err())
    {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
        assert_eq!(field("-1.5"), "-1.5");
        assert_eq!(field("@acme/plugin-a"), "@acme/plugin-a");
        assert_eq!(
            field("@SUM(1+1)*cmd|' /C calc'!A0"),
            "'@SUM(1+1)*cmd|' /C calc'!A0"
        );
        assert_eq!(field("@acme/x(1)"), "'@acme/x(1)");
        assert_eq!(field("\tx"), "'\tx");
    }
}
