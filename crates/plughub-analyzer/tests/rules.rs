//! The analyzer against its corpus: every hostile sample is flagged by the rule its name starts with, and
//! the benign samples (shaped like real plugin bundles) are not flagged at all.

use plughub_analyzer::{Rule, Severity, analyze_package, analyze_source};
use std::path::{Path, PathBuf};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_hostile_sample_is_flagged_by_its_rule() {
    let mut covered = std::collections::BTreeSet::new();
    for file in corpus("hostile") {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let rule_id = name.split('.').next().unwrap();
        let source = std::fs::read_to_string(&file).unwrap();
        let findings = analyze_source(&name, &source);
        let hit = findings.iter().find(|f| f.rule.id() == rule_id);
        let hit = hit.unwrap_or_else(|| panic!("{name}: no {rule_id} finding in {findings:#?}"));
        assert!(
            hit.line >= 1 && hit.column >= 1 && !hit.why.is_empty() && !hit.message.is_empty(),
            "{hit:?}"
        );
        assert!(hit.severity >= Severity::Medium, "{name}: {hit:?}");
        if rule_id != "unparsable" {
            assert!(!hit.snippet.is_empty(), "{name}: {hit:?}");
        }
        covered.insert(rule_id.to_string());
    }
    covered.insert(Rule::InstallScript.id().to_string()); // package.json: its own test below
    for rule in Rule::ALL {
        assert!(
            covered.contains(rule.id()),
            "no hostile sample for {}",
            rule.id()
        );
    }
}

#[test]
fn findings_point_at_the_right_place() {
    let source = "const a = 1;\nconst b = 2;\nexport const f = (x) =>   eval(x);\n";
    let findings = analyze_source("dist/index.js", source);
    let eval = findings
        .iter()
        .find(|f| f.rule == Rule::DynamicCode)
        .unwrap();
    assert_eq!(
        (eval.file.as_str(), eval.line, eval.column),
        ("dist/index.js", 3, 27)
    );
    assert_eq!(eval.snippet, "export const f = (x) =>   eval(x);");
    assert_eq!(eval.severity, Severity::High);
}

#[test]
fn the_code_of_function_is_its_last_argument() {
    let computed = analyze_source("a.js", "const f = Function('binder', 'return ' + body);");
    assert_eq!(computed[0].severity, Severity::High, "{computed:?}");
    let fixed = analyze_source("a.js", "const f = new Function('a', 'b', 'return a + b');");
    assert_eq!(fixed[0].severity, Severity::Medium, "{fixed:?}");
}

#[test]
fn decoded_and_executed_code_is_critical() {
    for file in ["obfuscation.decoded.js", "obfuscation.atob-function.js"] {
        let path = corpus("hostile")
            .into_iter()
            .find(|p| p.ends_with(file))
            .unwrap();
        let findings = analyze_source(file, &std::fs::read_to_string(path).unwrap());
        assert!(
            findings
                .iter()
                .any(|f| f.rule == Rule::Obfuscation && f.severity == Severity::Critical),
            "{findings:#?}"
        );
    }
}

#[test]
fn internal_addresses_weigh_more_than_public_ones() {
    let internal = analyze_source("a.js", "export const u = 'http://192.168.0.10/admin';");
    let public = analyze_source("a.js", "export const u = 'http://203.0.113.5/';");
    let loopback = analyze_source("a.js", "export const u = 'http://127.0.0.1:11434';");
    assert_eq!(internal[0].severity, Severity::High);
    assert_eq!(public[0].severity, Severity::Medium);
    assert_eq!(loopback[0].severity, Severity::Low);
}

#[test]
fn benign_samples_are_clean() {
    for file in corpus("benign") {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let findings = analyze_source(&name, &std::fs::read_to_string(&file).unwrap());
        assert!(findings.is_empty(), "{name}: {findings:#?}");
    }
}

#[test]
fn a_package_with_an_install_script_scores_high_and_its_node_modules_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/hostile-package/package.json");
    std::fs::copy(src, dir.path().join("package.json")).unwrap();
    std::fs::create_dir_all(dir.path().join("dist")).unwrap();
    std::fs::write(
        dir.path().join("dist/index.js"),
        "import cp from 'child_process'; export default cp;",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("node_modules/dep")).unwrap();
    std::fs::write(dir.path().join("node_modules/dep/index.js"), "eval(x)").unwrap();

    let report = analyze_package(dir.path()).unwrap();
    assert_eq!(report.package.as_deref(), Some("@evil/plugin-install"));
    assert_eq!(report.files, 1, "node_modules are other packages");
    let script = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::InstallScript)
        .unwrap();
    assert_eq!((script.file.as_str(), script.line), ("package.json", 6));
    assert!(script.message.contains("node ./steal.js"));
    assert_eq!(
        report.score, 40,
        "two high findings: {:#?}",
        report.findings
    );
    assert!(
        report
            .findings
            .windows(2)
            .all(|w| w[0].severity >= w[1].severity)
    );

    let err = analyze_package(&dir.path().join("dist")).unwrap_err();
    assert!(
        err.to_string().contains("no readable package.json"),
        "{err}"
    );
}

#[test]
fn repeats_of_one_rule_add_less_than_new_rules() {
    let one = plughub_analyzer::score(&analyze_source("a.js", "eval(a)"));
    let same_rule = plughub_analyzer::score(&analyze_source("a.js", "eval(a)\neval(b)\neval(c)"));
    let two_rules = plughub_analyzer::score(&analyze_source("a.js", "eval(a)\nimport('x' + y)"));
    assert_eq!(one, 20);
    assert_eq!(same_rule, 30);
    assert_eq!(two_rules, 28);
}
