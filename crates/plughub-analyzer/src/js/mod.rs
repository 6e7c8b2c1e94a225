//! The JavaScript rules: one oxc parse per file and one walk over its AST.

use crate::components::FileDeclared;
use crate::finding::{Finding, Rule, Severity};
use crate::strings::{self, AddressClass};
use crate::uses::Uses;
use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{SourceType, Span};

mod expr;
mod position;

use expr::{callee_parts, decodes, first_string, is_process_env, path_prefix, static_string};
use position::{Lines, snippet};

/// Obfuscators rename everything `_0x1a2b`; a handful can be chance, this many is not.
const HEX_NAMES_THRESHOLD: u32 = 25;

const FS_WRITES: [&str; 16] = [
    "writeFile",
    "writeFileSync",
    "appendFile",
    "appendFileSync",
    "createWriteStream",
    "rm",
    "rmSync",
    "rmdir",
    "rmdirSync",
    "unlink",
    "unlinkSync",
    "rename",
    "renameSync",
    "copyFile",
    "copyFileSync",
    "chmodSync",
];

const SENSITIVE_PREFIXES: [&str; 9] = [
    "/etc", "/root", "/home", "/usr", "/bin", "/var", "/proc", "/sys", "~",
];

/// The findings of one file, what its code reaches for, and the components it declares.
pub fn analyze(file: &str, source: &str) -> (Vec<Finding>, Uses, FileDeclared) {
    let allocator = Allocator::default();
    let module = if file.ends_with(".cjs") {
        SourceType::cjs()
    } else {
        SourceType::mjs()
    };
    let mut parsed = Parser::new(&allocator, source, module).parse();
    if parsed.panicked || !parsed.diagnostics.is_empty() {
        // A `.js` file may be a script (CommonJS, sloppy mode): try again as one.
        let retry = Parser::new(&allocator, source, SourceType::cjs()).parse();
        if !retry.panicked
            && (retry.diagnostics.len() < parsed.diagnostics.len() || parsed.panicked)
        {
            parsed = retry;
        }
    }
    let mut collector = Collector::new(file, source);
    if parsed.panicked {
        let reason = parsed
            .diagnostics
            .first()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "syntax error".into());
        collector.report(
            Rule::Unparsable,
            Severity::Medium,
            Span::new(0, 0),
            format!("parse error: {reason}"),
        );
        return (collector.findings, collector.uses, FileDeclared::default());
    }
    collector.visit_program(&parsed.program);
    let (findings, uses) = collector.finish();
    (findings, uses, crate::components::extract(&parsed.program))
}

struct Collector<'s> {
    file: &'s str,
    lines: Lines<'s>,
    findings: Vec<Finding>,
    hex_names: u32,
    first_hex_name: Option<Span>,
    uses: Uses,
}

impl<'s> Collector<'s> {
    fn new(file: &'s str, source: &'s str) -> Collector<'s> {
        Collector {
            file,
            lines: Lines::new(source),
            findings: Vec::new(),
            hex_names: 0,
            first_hex_name: None,
            uses: Uses::default(),
        }
    }

    fn report(&mut self, rule: Rule, severity: Severity, span: Span, message: String) {
        let (line, column, text) = self.lines.position(span.start as usize);
        // One finding of a rule a line: bundles repeat a pattern many times on one line.
        if self
            .findings
            .iter()
            .any(|f| f.rule == rule && f.line == line && f.severity >= severity)
        {
            return;
        }
        self.findings
            .retain(|f| !(f.rule == rule && f.line == line));
        self.findings.push(Finding {
            rule,
            severity,
            file: self.file.to_string(),
            line,
            column,
            snippet: snippet(text, column),
            message,
            why: rule.why().to_string(),
        });
    }

    fn finish(mut self) -> (Vec<Finding>, Uses) {
        if self.hex_names >= HEX_NAMES_THRESHOLD
            && let Some(span) = self.first_hex_name
        {
            let message = format!(
                "{} identifiers named like _0x1a2b, the mark of a JavaScript obfuscator",
                self.hex_names
            );
            self.report(Rule::Obfuscation, Severity::High, span, message);
        }
        (self.findings, self.uses)
    }

    fn module_used(&mut self, name: &str, span: Span) {
        self.uses.module(name);
        let bare = name.strip_prefix("node:").unwrap_or(name);
        match bare {
            "child_process" => self.report(
                Rule::ProcessSpawn,
                Severity::High,
                span,
                format!("uses the '{name}' module"),
            ),
            "vm" => self.report(
                Rule::DynamicCode,
                Severity::High,
                span,
                format!("uses the '{name}' module"),
            ),
            _ => {}
        }
    }

    /// `code` is the argument holding the code: the first for eval and vm, the last for Function.
    fn dynamic_code(&mut self, what: &str, code: Option<&Argument<'_>>, span: Span) {
        let first = code.and_then(Argument::as_expression);
        if first.is_some_and(decodes) {
            let message =
                format!("{what} of a string decoded at run time (base64, hex or char codes)");
            return self.report(Rule::Obfuscation, Severity::Critical, span, message);
        }
        let literal: Option<String> = first.and_then(static_string);
        match literal.as_deref() {
            // `Function("return this")()` is how bundles find the global object.
            Some("return this") => {}
            Some(_) => self.report(
                Rule::DynamicCode,
                Severity::Medium,
                span,
                format!("{what} of a fixed string"),
            ),
            None => self.report(
                Rule::DynamicCode,
                Severity::High,
                span,
                format!("{what} of a computed string"),
            ),
        }
    }

    fn check_text(&mut self, text: &str, span: Span, allow_blob: bool) {
        if let Some(marker) = strings::mining_marker(text) {
            self.report(
                Rule::CryptoMining,
                Severity::Critical,
                span,
                format!("mining marker '{marker}'"),
            );
        }
        if let Some(marker) = strings::drainer_marker(text) {
            self.report(
                Rule::WalletDrain,
                Severity::Critical,
                span,
                format!("drainer kit marker '{marker}'"),
            );
        }
        if allow_blob && let Some(kind) = strings::blob_kind(text) {
            let message = format!("{} encoded blob of {} characters", kind, text.len());
            self.report(Rule::Obfuscation, Severity::Medium, span, message);
        }
        for ip in strings::addresses(text) {
            let (severity, class) = match strings::classify(ip) {
                Some(AddressClass::Internal) => (Severity::High, "internal"),
                Some(AddressClass::Public) => (Severity::Medium, "public"),
                Some(AddressClass::Loopback) => (Severity::Low, "loopback"),
                None => continue,
            };
            self.report(
                Rule::HardcodedIp,
                severity,
                span,
                format!("hard-coded {class} address {ip}"),
            );
        }
    }

    fn fs_write(&mut self, function: &str, args: &[Argument<'_>], span: Span) {
        let Some(path) = args.first().and_then(Argument::as_expression) else {
            return;
        };
        let prefix = path_prefix(path);
        let Some(prefix) = prefix else { return };
        let outside =
            prefix.starts_with('/') || prefix.starts_with('~') || prefix.starts_with("..");
        if !outside {
            return;
        }
        let severity = if SENSITIVE_PREFIXES.iter().any(|p| prefix.starts_with(p))
            || prefix.contains(".ssh")
        {
            Severity::High
        } else {
            Severity::Medium
        };
        self.report(
            Rule::FsWriteOutside,
            severity,
            span,
            format!("{function}() on '{prefix}'"),
        );
    }
}

impl<'a> Visit<'a> for Collector<'_> {
    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        self.module_used(it.source.value.as_str(), it.span);
        walk::walk_import_declaration(self, it);
    }

    fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
        self.module_used(it.source.value.as_str(), it.span);
        walk::walk_export_all_declaration(self, it);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        match static_string(&it.source) {
            Some(name) => self.module_used(&name, it.span),
            None => self.report(
                Rule::DynamicImport,
                Severity::Medium,
                it.span,
                "import() of a computed name".into(),
            ),
        }
        walk::walk_import_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        let callee = it.callee.without_parentheses();
        self.note_call(callee, &it.arguments);
        match callee_parts(callee) {
            (None, "require") => match it
                .arguments
                .first()
                .and_then(Argument::as_expression)
                .map(static_string)
            {
                Some(Some(name)) => self.module_used(&name, it.span),
                Some(None) => self.report(
                    Rule::DynamicImport,
                    Severity::Medium,
                    it.span,
                    "require() of a computed name".into(),
                ),
                None => {}
            },
            (None, "eval") => self.dynamic_code("eval()", it.arguments.first(), it.span),
            (None, "Function") => self.dynamic_code("Function()", it.arguments.last(), it.span),
            (
                Some("vm"),
                "runInNewContext" | "runInThisContext" | "runInContext" | "compileFunction",
            ) => self.dynamic_code("vm", it.arguments.first(), it.span),
            (Some("process"), "binding" | "dlopen") => self.report(
                Rule::ProcessSpawn,
                Severity::High,
                it.span,
                "reaches Node's internals through process".into(),
            ),
            (Some("JSON"), "stringify")
            | (Some("Object"), "keys" | "values" | "entries" | "assign" | "getOwnPropertyNames")
                if it
                    .arguments
                    .iter()
                    .filter_map(Argument::as_expression)
                    .any(is_process_env) =>
            {
                self.report(
                    Rule::EnvHarvest,
                    Severity::High,
                    it.span,
                    "collects every environment variable".into(),
                )
            }
            (object, name)
                if FS_WRITES.contains(&name)
                    && object.is_none_or(|o| {
                        o.to_ascii_lowercase().contains("fs") || o == "promises"
                    }) =>
            {
                self.fs_write(name, &it.arguments, it.span)
            }
            (Some(_), name @ ("setApprovalForAll" | "approve" | "transfer" | "transferFrom")) => {
                let fixed = it
                    .arguments
                    .iter()
                    .filter_map(Argument::as_expression)
                    .filter_map(static_string)
                    .find(|s| strings::is_evm_address(s));
                if let Some(address) = fixed {
                    let severity = if name == "setApprovalForAll" || name == "approve" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    self.report(
                        Rule::WalletDrain,
                        severity,
                        it.span,
                        format!("{name}() to the hard-coded address {address}"),
                    );
                }
            }
            _ => {}
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        if let (_, "WebSocket" | "EventSource") = callee_parts(it.callee.without_parentheses()) {
            self.uses.network = true;
        }
        if let Some(url) = first_string(&it.arguments) {
            self.uses.endpoint(&url);
        }
        match callee_parts(it.callee.without_parentheses()) {
            (None, "Function") => self.dynamic_code("new Function()", it.arguments.last(), it.span),
            (_, "Worker") => {
                let eval = it.arguments.get(1).and_then(Argument::as_expression).is_some_and(|options| {
                    matches!(options.without_parentheses(), Expression::ObjectExpression(o) if o.properties.iter().any(|p| matches!(p,
                        ObjectPropertyKind::ObjectProperty(p) if p.key.is_specific_static_name("eval")
                            && matches!(p.value, Expression::BooleanLiteral(ref b) if b.value))))
                });
                if eval {
                    self.report(
                        Rule::WorkerEval,
                        Severity::High,
                        it.span,
                        "new Worker(code, { eval: true })".into(),
                    );
                }
            }
            _ => {}
        }
        walk::walk_new_expression(self, it);
    }

    fn visit_object_expression(&mut self, it: &ObjectExpression<'a>) {
        for property in &it.properties {
            if let ObjectPropertyKind::SpreadProperty(spread) = property
                && is_process_env(&spread.argument)
            {
                self.report(
                    Rule::EnvHarvest,
                    Severity::Medium,
                    spread.span,
                    "copies every environment variable".into(),
                );
            }
        }
        walk::walk_object_expression(self, it);
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if let Some(url) = it.init.as_ref().and_then(static_string) {
            self.uses.endpoint(&url);
        }
        walk::walk_variable_declarator(self, it);
    }

    /// `getSetting("BASE_URL") || "https://api…"`: the endpoint a setting defaults to.
    fn visit_logical_expression(&mut self, it: &LogicalExpression<'a>) {
        if let Some(url) = static_string(&it.right) {
            self.uses.endpoint(&url);
        }
        walk::walk_logical_expression(self, it);
    }

    fn visit_return_statement(&mut self, it: &ReturnStatement<'a>) {
        if let Some(url) = it.argument.as_ref().and_then(static_string) {
            self.uses.endpoint(&url);
        }
        walk::walk_return_statement(self, it);
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        let key = it.key.static_name().map(|k| k.to_ascii_lowercase());
        let endpointish = key.is_some_and(|k| {
            ["url", "endpoint", "host", "base", "api"]
                .iter()
                .any(|w| k.contains(w))
        });
        if endpointish && let Some(url) = static_string(&it.value) {
            self.uses.endpoint(&url);
        }
        walk::walk_object_property(self, it);
    }

    fn visit_for_in_statement(&mut self, it: &ForInStatement<'a>) {
        if is_process_env(&it.right) {
            self.report(
                Rule::EnvHarvest,
                Severity::High,
                it.span,
                "walks every environment variable".into(),
            );
        }
        walk::walk_for_in_statement(self, it);
    }

    fn visit_string_literal(&mut self, it: &StringLiteral<'a>) {
        self.check_text(it.value.as_str(), it.span, true);
    }

    fn visit_template_literal(&mut self, it: &TemplateLiteral<'a>) {
        for quasi in &it.quasis {
            let text = quasi
                .value
                .cooked
                .as_ref()
                .map_or(quasi.value.raw.as_str(), |c| c.as_str());
            self.check_text(text, quasi.span, false);
        }
        walk::walk_template_literal(self, it);
    }

    fn visit_binding_identifier(&mut self, it: &BindingIdentifier<'a>) {
        self.count_hex_name(it.name.as_str(), it.span);
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        self.count_hex_name(it.name.as_str(), it.span);
    }
}

impl Collector<'_> {
    /// What a call tells of the code's reach: `fetch`, an endpoint URL among its arguments, a runtime
    /// method and the setting it reads.
    fn note_call(&mut self, callee: &Expression<'_>, arguments: &[Argument<'_>]) {
        let (object, name) = callee_parts(callee);
        if name == "fetch" && object.is_none_or(|o| o == "globalThis" || o == "window") {
            self.uses.network = true;
        }
        // Any argument: `getSetting(runtime, "BASE_URL", "https://api…")` passes its default last.
        for url in arguments
            .iter()
            .filter_map(Argument::as_expression)
            .filter_map(static_string)
        {
            self.uses.endpoint(&url);
        }
        if object.is_some_and(|o| o.to_ascii_lowercase().contains("runtime")) {
            self.uses.runtime_calls.insert(name.to_string());
            if name == "getSetting"
                && let Some(setting) = first_string(arguments)
            {
                self.uses.settings.insert(setting);
            }
        }
    }

    fn count_hex_name(&mut self, name: &str, span: Span) {
        let hex = name
            .strip_prefix("_0x")
            .is_some_and(|rest| rest.len() >= 4 && rest.bytes().all(|b| b.is_ascii_hexdigit()));
        if hex {
            self.hex_names += 1;
            self.first_hex_name.get_or_insert(span);
        }
    }
}
