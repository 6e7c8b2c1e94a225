//! Why a try stopped, read from what failed in its own words: a table of the texts real failures
//! print (Node, pnpm, npm, plughub's engine and installer), first match wins. The stage a failure
//! happened at comes from where it was caught; the table only names the cause.

use plughub_domain::trial::{Cause, Stage};

/// One row: any of `texts` in the message means `cause`. Checked in order: the more specific first
/// (an EMFILE while importing is the sandbox's limit, not a missing module).
struct Row {
    texts: &'static [&'static str],
    cause: Cause,
}

const TABLE: &[Row] = &[
    Row {
        texts: &["EMFILE", "too many open files"],
        cause: Cause::SandboxLimit,
    },
    Row {
        texts: &[
            "JavaScript heap out of memory",
            "ENOMEM",
            "over its memory",
            "out of memory",
            "Allocation failed",
        ],
        cause: Cause::OutOfMemory,
    },
    Row {
        texts: &[
            "Cannot load native addon",
            "loading addons is disabled",
            "ERR_DLOPEN_DISABLED",
            "ERR_DLOPEN_FAILED",
            "Could not locate the bindings file",
            "was compiled against a different Node.js version",
            "No native build was found",
            "cannot open shared object file",
        ],
        cause: Cause::NativeAddon,
    },
    Row {
        texts: &[
            "permission: 'ChildProcess'",
            "permission: 'WorkerThreads'",
            "Failed to launch the browser process",
            "Executable doesn't exist",
            "spawn EACCES",
            "spawn EPERM",
        ],
        cause: Cause::NeedsProgram,
    },
    Row {
        texts: &["workspace:"],
        cause: Cause::WorkspaceDependency,
    },
    Row {
        texts: &[
            "ERESOLVE",
            "ERR_PNPM_PEER_DEP_ISSUES",
            "conflicting peer dependenc",
            "unmet peer",
        ],
        cause: Cause::PeerConflict,
    },
    Row {
        texts: &["exports no elizaOS plugin"],
        cause: Cause::NoPluginExport,
    },
    Row {
        texts: &[
            "ERR_REQUIRE_ESM",
            "require() of ES Module",
            "Cannot use import statement outside a module",
            "require is not defined in ES module scope",
            "exports is not defined in ES module scope",
            "module is not defined in ES module scope",
            "__dirname is not defined in ES module scope",
            "ERR_UNSUPPORTED_DIR_IMPORT",
            "ERR_PACKAGE_PATH_NOT_EXPORTED",
            "ERR_UNKNOWN_FILE_EXTENSION",
            "Unexpected token 'export'",
        ],
        cause: Cause::ModuleFormat,
    },
    Row {
        texts: &[
            "does not provide an export named",
            "is not a function",
            "is not a constructor",
            "is not exported",
            "Cannot destructure property",
            "is not defined",
        ],
        cause: Cause::MissingExport,
    },
    Row {
        texts: &[
            "Cannot find module",
            "Cannot find package",
            "ERR_MODULE_NOT_FOUND",
        ],
        cause: Cause::MissingModule,
    },
    Row {
        texts: &[
            "ERR_PNPM_FETCH_404",
            "E404",
            "is not on the npm registry",
            "(notarget)",
            "ETARGET",
            "(404)",
            "404 Not Found",
            "is not in this registry",
            "not found on",
            "answered 404",
            "No matching version",
            "ERR_PNPM_NO_MATCHING_VERSION",
            "has no version",
        ],
        cause: Cause::PackageMissing,
    },
    Row {
        texts: &[
            "E401",
            "E403",
            "401 ",
            "403 ",
            "Unauthorized",
            "Forbidden",
            "refused",
        ],
        cause: Cause::RegistryRefused,
    },
    Row {
        texts: &[
            "ENOTFOUND",
            "EAI_AGAIN",
            "getaddrinfo",
            "ECONNREFUSED",
            "ECONNRESET",
            "fetch failed",
            "socket hang up",
            "egress",
            "network request",
        ],
        cause: Cause::NeedsNetwork,
    },
    Row {
        texts: &[
            "ZodError",
            "Invalid configuration",
            "configuration validation",
            "config validation",
            "Invalid plugin configuration",
            // `Invalid GitHub plugin configuration: [...]` (@elizaos/plugin-github 1.2.9).
            " plugin configuration: ",
            // `LTCG_API_KEY must start with 'ltcg_'` (@lunchtable/plugin-ltcg 0.1.0).
            "must start with",
            "invalid api key",
            "Invalid API key",
            "API key is required",
            "is required",
            "must be set",
            "must be provided",
            "Invalid URL",
            "invalid private key",
            "Invalid private key",
            "invalid address",
            "Invalid address",
            "invalid settings",
            "not configured",
            "Missing required",
            "missing required",
        ],
        cause: Cause::SettingsRejected,
    },
    Row {
        texts: &[
            "getService",
            "service not found",
            "Service not found",
            "requires the service",
        ],
        cause: Cause::NeedsService,
    },
    Row {
        texts: &["did not answer within", "timed out", "ETIMEDOUT", "Timeout"],
        cause: Cause::InitTimeout,
    },
];

/// The cause of a failure caught at `stage` with `message`. A cause the table names for another step
/// is kept where it is still true there (an EMFILE while importing is the sandbox's limit; a module
/// missing in init is missing): the table's word wins, the stage only picks timeouts and the fallbacks.
pub fn classify(stage: Stage, message: &str) -> Cause {
    let found = TABLE
        .iter()
        .find(|row| row.texts.iter().any(|t| message.contains(t)))
        .map(|row| row.cause);
    match (found, stage) {
        (Some(Cause::InitTimeout), Stage::Install) => Cause::InstallTimeout,
        // Only an install talks to the registry: elsewhere "refused" is the egress proxy's word.
        (Some(Cause::RegistryRefused), Stage::Load | Stage::Init) => Cause::NeedsNetwork,
        (Some(Cause::PackageMissing), Stage::Load | Stage::Init) => fallback(stage),
        (Some(cause), _) => cause,
        (None, _) => fallback(stage),
    }
}

fn fallback(stage: Stage) -> Cause {
    match stage {
        Stage::Install => Cause::InstallFailed,
        Stage::Load => Cause::LoadFailed,
        Stage::Init => Cause::InitFailed,
    }
}

/// The grants an org owner would decide on for the plugin to run, read from the failure: native
/// addons, or the program it tried to start (`process.spawn:chromium`).
pub fn needs(cause: Cause, message: &str) -> Vec<String> {
    match cause {
        Cause::NativeAddon => vec!["native.addons".to_string()],
        Cause::NeedsProgram => vec![format!(
            "process.spawn:{}",
            program(message).unwrap_or_else(|| "unknown".to_string())
        )],
        _ => Vec::new(),
    }
}

/// The program a failure names: `spawn chromium ENOENT`, a browser launch, `Executable doesn't exist
/// at /…/chrome`.
fn program(message: &str) -> Option<String> {
    if message.contains("browser process") || message.contains("chrom") {
        return Some("chromium".to_string());
    }
    let after = message.split("spawn ").nth(1)?;
    let word = after.split_whitespace().next()?;
    let name = word
        .rsplit('/')
        .next()?
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_');
    (!name.is_empty() && !name.starts_with('E')).then(|| name.to_string())
}

/// The first lines of a message, for storing: what failed is at the top; stacks go on for pages.
pub fn first_lines(message: &str) -> String {
    const LINES: usize = 12;
    const CHARS: usize = 2000;
    let text: String = message
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(LINES)
        .collect::<Vec<_>>()
        .join("\n");
    if text.chars().count() > CHARS {
        text.chars().take(CHARS).collect::<String>() + "…"
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real texts, as plugins and tools printed them (issue 19's trials and the run on the catalogue).
    #[test]
    fn real_messages_are_read_as_their_cause() {
        let cases: &[(Stage, &str, Cause)] = &[
            (
                Stage::Load,
                "the plugin worker ended: exit status 1\n  Error: EMFILE: too many open files, open '/pkg/node_modules/viem/_esm/index.js'",
                Cause::SandboxLimit,
            ),
            (
                Stage::Load,
                "the plugin worker ended: exit status 1\n  Error: Cannot load native addon because loading addons is disabled.",
                Cause::NativeAddon,
            ),
            (
                Stage::Load,
                "the plugin worker ended: exit status 1\n  TypeError: z3.object(...).loose is not a function",
                Cause::MissingExport,
            ),
            (
                Stage::Load,
                "SyntaxError: The requested module '@elizaos/core' does not provide an export named 'getRequestContext'",
                Cause::MissingExport,
            ),
            (
                Stage::Load,
                "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'zod' imported from /pkg/dist/index.js",
                Cause::MissingModule,
            ),
            (
                Stage::Load,
                "Error [ERR_REQUIRE_ESM]: require() of ES Module /pkg/node_modules/x/index.js not supported.",
                Cause::ModuleFormat,
            ),
            (
                Stage::Install,
                "ERR_PNPM_WORKSPACE_PKG_NOT_FOUND  In : \"@elizaos/core@workspace:*\" is in the dependencies but no package named \"@elizaos/core\" is present in the workspace",
                Cause::WorkspaceDependency,
            ),
            (
                Stage::Install,
                "ERR_PNPM_FETCH_404  GET http://127.0.0.1:4873/@acme%2Fnothing: Not Found - 404",
                Cause::PackageMissing,
            ),
            (
                Stage::Install,
                "@fixture/plugin-compat-gone is not on the npm registry at http://127.0.0.1:38329/ (404): check the name, or whether your registry mirrors it",
                Cause::PackageMissing,
            ),
            (
                Stage::Install,
                "@elizaos/plugin-evm: no version matches '2.0.0-alpha.8' (notarget); newest versions: 1.0.13, 1.0.12",
                Cause::PackageMissing,
            ),
            (
                Stage::Install,
                "ERR_PNPM_FETCH_403  GET http://127.0.0.1:4873/left-pad: Forbidden - 403",
                Cause::RegistryRefused,
            ),
            (
                Stage::Install,
                "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree",
                Cause::PeerConflict,
            ),
            (
                Stage::Init,
                "@elizaos/plugin-github did not start: Invalid GitHub plugin configuration: [\n  {\n    \"code\": \"custom\"",
                Cause::SettingsRejected,
            ),
            (
                Stage::Init,
                "@lunchtable/plugin-ltcg did not start: LTCG_API_KEY must start with 'ltcg_'. Check your API key.",
                Cause::SettingsRejected,
            ),
            (
                Stage::Init,
                "Invalid plugin configuration: ZodError: [ { \"code\": \"invalid_string\", \"path\": [\"API_URL\"] } ]",
                Cause::SettingsRejected,
            ),
            (
                Stage::Init,
                "getaddrinfo ENOTFOUND api.example.com",
                Cause::NeedsNetwork,
            ),
            (
                Stage::Init,
                "the egress proxy refused the request: compat.invalid does not resolve",
                Cause::NeedsNetwork,
            ),
            (
                Stage::Init,
                "Error: Access to this API has been restricted\n  code: 'ERR_ACCESS_DENIED', permission: 'ChildProcess'",
                Cause::NeedsProgram,
            ),
            (
                Stage::Init,
                "init did not answer within 60 s; its worker was ended",
                Cause::InitTimeout,
            ),
            (
                Stage::Install,
                "the install did not answer within 600 s",
                Cause::InstallTimeout,
            ),
            (
                Stage::Load,
                "the plugin worker ended: exit status 3\n  plughub: @acme/x exports no elizaOS plugin",
                Cause::NoPluginExport,
            ),
            (
                Stage::Init,
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                Cause::OutOfMemory,
            ),
            (Stage::Init, "something odd happened", Cause::InitFailed),
            (
                Stage::Load,
                "SyntaxError: Unexpected identifier",
                Cause::LoadFailed,
            ),
            (
                Stage::Install,
                "tar: unexpected end of file",
                Cause::InstallFailed,
            ),
        ];
        for (stage, message, cause) in cases {
            assert_eq!(classify(*stage, message), *cause, "{message}");
        }
    }

    #[test]
    fn needs_name_addons_and_the_program() {
        assert_eq!(
            needs(Cause::NativeAddon, "Cannot load native addon"),
            vec!["native.addons"]
        );
        assert_eq!(
            needs(
                Cause::NeedsProgram,
                "Error: Failed to launch the browser process!"
            ),
            vec!["process.spawn:chromium"]
        );
        assert_eq!(
            needs(Cause::NeedsProgram, "Error: spawn /usr/bin/ffmpeg EACCES"),
            vec!["process.spawn:ffmpeg"]
        );
        assert!(needs(Cause::MissingModule, "Cannot find module 'x'").is_empty());
    }

    #[test]
    fn first_lines_keep_the_top_of_a_stack() {
        let long = (0..40)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let kept = first_lines(&long);
        assert!(kept.starts_with("line 0\nline 1"));
        assert_eq!(kept.lines().count(), 12);
    }
}
