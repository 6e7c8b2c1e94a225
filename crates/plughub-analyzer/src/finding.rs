//! What a rule reports, and the rules themselves with the reason each matters.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Points towards the risk score (0–100).
    pub fn weight(self) -> u32 {
        match self {
            Severity::Info => 0,
            Severity::Low => 2,
            Severity::Medium => 8,
            Severity::High => 20,
            Severity::Critical => 40,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The rules. Their ids are stable: reports and accepted risks refer to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    ProcessSpawn,
    WorkerEval,
    DynamicCode,
    DynamicImport,
    FsWriteOutside,
    EnvHarvest,
    HardcodedIp,
    Obfuscation,
    CryptoMining,
    WalletDrain,
    InstallScript,
    Unparsable,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::ProcessSpawn,
        Rule::WorkerEval,
        Rule::DynamicCode,
        Rule::DynamicImport,
        Rule::FsWriteOutside,
        Rule::EnvHarvest,
        Rule::HardcodedIp,
        Rule::Obfuscation,
        Rule::CryptoMining,
        Rule::WalletDrain,
        Rule::InstallScript,
        Rule::Unparsable,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::ProcessSpawn => "process-spawn",
            Rule::WorkerEval => "worker-eval",
            Rule::DynamicCode => "dynamic-code",
            Rule::DynamicImport => "dynamic-import",
            Rule::FsWriteOutside => "fs-write-outside",
            Rule::EnvHarvest => "env-harvest",
            Rule::HardcodedIp => "hardcoded-ip",
            Rule::Obfuscation => "obfuscation",
            Rule::CryptoMining => "crypto-mining",
            Rule::WalletDrain => "wallet-drain",
            Rule::InstallScript => "install-script",
            Rule::Unparsable => "unparsable",
        }
    }

    /// Why a finding of this rule matters, for people deciding whether to install.
    pub fn why(self) -> &'static str {
        match self {
            Rule::ProcessSpawn => "runs other programs, outside the JavaScript runtime's control",
            Rule::WorkerEval => {
                "starts a worker thread from a code string, which hides what it runs"
            }
            Rule::DynamicCode => {
                "builds code at run time (eval, Function, vm), which no review can see"
            }
            Rule::DynamicImport => {
                "loads a module whose name is computed at run time, so what it loads cannot be checked"
            }
            Rule::FsWriteOutside => "writes files outside its own package folder",
            Rule::EnvHarvest => "reads the whole environment, where the host's secrets live",
            Rule::HardcodedIp => "talks to a fixed network address instead of a configured host",
            Rule::Obfuscation => "hides code or data in encoded or scrambled form",
            Rule::CryptoMining => "carries markers of cryptocurrency mining",
            Rule::WalletDrain => {
                "carries markers of wallet draining: approvals or transfers to a fixed address"
            }
            Rule::InstallScript => {
                "runs a script at install time (plughub never runs it: installs use --ignore-scripts)"
            }
            Rule::Unparsable => "could not be parsed, so it was not analysed",
        }
    }
}

/// One finding: where, what, and why it matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// Path inside the package.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub snippet: String,
    /// What was found here.
    pub message: String,
    /// Why the rule matters.
    pub why: String,
}
