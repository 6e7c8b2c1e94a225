//! JUnit XML of a run, as CI systems read it: `<testsuites>`, a `<testsuite>` a suite, a `<testcase>`
//! a test with its `<failure>`.

use crate::test::report::Report;

pub fn to_xml(report: &Report) -> String {
    let mut suites: Vec<(&str, Vec<&crate::test::report::TestOutcome>)> = Vec::new();
    for t in &report.tests {
        match suites.iter_mut().find(|(name, _)| *name == t.suite) {
            Some((_, tests)) => tests.push(t),
            None => suites.push((&t.suite, vec![t])),
        }
    }
    let seconds = |ms: f64| format!("{:.3}", ms / 1000.0);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{}\">\n",
        escape(&report.plugin),
        report.tests.len(),
        report.failed,
        seconds(report.duration_ms)
    ));
    for (name, tests) in suites {
        let failures = tests.iter().filter(|t| !t.passed).count();
        let time: f64 = tests.iter().map(|t| t.duration_ms).sum();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{}\">\n",
            escape(name),
            tests.len(),
            seconds(time)
        ));
        for t in tests {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                escape(&format!("{}.{}", report.plugin, t.suite)),
                escape(&t.test),
                seconds(t.duration_ms)
            );
            if t.passed {
                xml.push_str(&open);
                xml.push_str("/>\n");
                continue;
            }
            let message = t.error.clone().unwrap_or_default();
            let detail = t
                .stack
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or(message.clone());
            xml.push_str(&format!(
                "{open}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                escape(&message),
                escape(&detail)
            ));
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Text for XML, attribute or content; characters XML 1.0 cannot carry are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::report::{Report, TestOutcome};

    #[test]
    fn suites_cases_and_failures_escaped() {
        let ok = TestOutcome::broken("s<1>", "a", String::new(), 5.0);
        let ok = TestOutcome {
            passed: true,
            error: None,
            ..ok
        };
        let bad = TestOutcome::broken("s<1>", "b \"q\"", "expected 1 & got 2".into(), 7.0);
        let xml = to_xml(&Report::new("@x/p", "1.0.0", false, vec![ok, bad]));
        assert!(xml.contains("<testsuites name=\"@x/p\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("<testsuite name=\"s&lt;1&gt;\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"a\" time=\"0.005\"/>"));
        assert!(xml.contains("name=\"b &quot;q&quot;\""));
        assert!(xml.contains("<failure message=\"expected 1 &amp; got 2\">"));
    }
}
