//! Reading expressions: what a callee is, fixed strings, path prefixes, run-time decoding.

use oxc_ast::ast::*;
use oxc_ast_visit::{Visit, walk};

/// `(object, name)` of a callee: `eval` → `(None, "eval")`, `fs.writeFile` → `(Some("fs"), "writeFile")`,
/// `fs.promises.rm` → `(Some("promises"), "rm")`.
pub(super) fn callee_parts<'b>(callee: &'b Expression<'_>) -> (Option<&'b str>, &'b str) {
    match callee {
        Expression::Identifier(id) => (None, id.name.as_str()),
        Expression::StaticMemberExpression(m) => {
            let object = match m.object.without_parentheses() {
                Expression::Identifier(id) => Some(id.name.as_str()),
                Expression::StaticMemberExpression(inner) => Some(inner.property.name.as_str()),
                _ => Some(""),
            };
            (object, m.property.name.as_str())
        }
        _ => (None, ""),
    }
}

pub(super) fn is_process_env(e: &Expression<'_>) -> bool {
    e.without_parentheses()
        .is_specific_member_access("process", "env")
}

/// The value of a string that is fixed in the source: a literal, or a template without substitutions.
pub(super) fn static_string(e: &Expression<'_>) -> Option<String> {
    match e.without_parentheses() {
        Expression::StringLiteral(s) => Some(s.value.as_str().to_string()),
        Expression::TemplateLiteral(t) if t.expressions.is_empty() => t.quasis.first().map(|q| {
            q.value
                .cooked
                .as_ref()
                .map_or(q.value.raw.as_str(), |c| c.as_str())
                .to_string()
        }),
        _ => None,
    }
}

/// The first argument when it is a fixed string.
pub(super) fn first_string(arguments: &[Argument<'_>]) -> Option<String> {
    arguments
        .first()
        .and_then(Argument::as_expression)
        .and_then(static_string)
}

/// The fixed start of a path argument: a literal, a template's first part, `path.join("/etc", …)`, or
/// `~` for paths built on the home directory.
pub(super) fn path_prefix(e: &Expression<'_>) -> Option<String> {
    match e.without_parentheses() {
        Expression::TemplateLiteral(t) => {
            let first = t.quasis.first()?;
            let text = first
                .value
                .cooked
                .as_ref()
                .map_or(first.value.raw.as_str(), |c| c.as_str());
            if text.is_empty() {
                t.expressions.first().and_then(path_prefix)
            } else {
                Some(text.to_string())
            }
        }
        Expression::CallExpression(call) => match callee_parts(call.callee.without_parentheses()) {
            (_, "homedir") => Some("~".into()),
            (Some("path"), "join" | "resolve") => call
                .arguments
                .first()
                .and_then(Argument::as_expression)
                .and_then(path_prefix),
            _ => None,
        },
        Expression::StaticMemberExpression(m)
            if m.property.name == "HOME" && is_process_env(&m.object) =>
        {
            Some("~".into())
        }
        other => static_string(other),
    }
}

/// Whether an expression decodes a string at run time: `atob(…)`, `Buffer.from(…, "base64"|"hex")`,
/// `String.fromCharCode(…)`, anywhere inside it.
pub(super) fn decodes(e: &Expression<'_>) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
            match callee_parts(it.callee.without_parentheses()) {
                (None, "atob") | (Some("String"), "fromCharCode") => self.0 = true,
                (Some("Buffer"), "from") => {
                    let encoding = it
                        .arguments
                        .get(1)
                        .and_then(Argument::as_expression)
                        .and_then(static_string);
                    if matches!(encoding.as_deref(), Some("base64" | "hex" | "base64url")) {
                        self.0 = true;
                    }
                }
                _ => {}
            }
            walk::walk_call_expression(self, it);
        }
    }
    let mut finder = Finder(false);
    finder.visit_expression(e);
    finder.0
}
