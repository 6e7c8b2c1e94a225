//! Trials: what a compatibility run found when it tried one version of a catalogue plugin under
//! plughub (install in a throwaway organisation, load, init in the sandbox), beside the same version
//! under plain `npm install --ignore-scripts` and Node. Trials are the catalogue's own records: they
//! belong to no organisation, so every page that shows the catalogue may show them.
//!
//! "Compatibility" elsewhere in the catalogue means the core majors a plugin declares
//! ([`crate::CoreMajor`]); a trial says whether it actually runs.

use serde::{Deserialize, Serialize};

/// How far a try got. Each step needs the one before it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Reached {
    /// It did not install.
    Nothing,
    /// Its package and dependencies are on disk.
    Installed,
    /// Its entry point was imported and exported a plugin object (under plain npm: imported).
    Loaded,
    /// Its `init` ran to the end in the sandbox with placeholder settings, and its manifest was read.
    Inited,
}

impl Reached {
    pub const ALL: [Reached; 4] = [
        Reached::Nothing,
        Reached::Installed,
        Reached::Loaded,
        Reached::Inited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reached::Nothing => "nothing",
            Reached::Installed => "installed",
            Reached::Loaded => "loaded",
            Reached::Inited => "inited",
        }
    }

    pub fn parse(text: &str) -> Option<Reached> {
        Reached::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// The step a failure stopped: the one after what was reached.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Install,
    Load,
    Init,
}

/// Whose fault a failure is, as far as a trial can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The package as published cannot work anywhere (not on the registry, a settings validator that
    /// rejects every placeholder, no plugin exported).
    Plugin,
    /// plughub's to fix (plain npm gets further, or a limit of plughub's stops it).
    Plughub,
    /// It needs something a trial does not give: a real service, a network answer, a grant an org owner
    /// decides on (a program to run, native addons).
    Needs,
    /// Not yet told apart.
    Unknown,
}

macro_rules! causes {
    ($($variant:ident => $text:literal, $stage:ident, $fault:ident, $label:literal;)+) => {
        /// Why a try stopped, by the step it stopped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum Cause { $(#[serde(rename = $text)] $variant),+ }

        impl Cause {
            pub const ALL: &'static [Cause] = &[$(Cause::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Cause::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Cause> {
                Cause::ALL.iter().copied().find(|c| c.as_str() == text)
            }

            /// The step it stops.
            pub fn stage(self) -> Stage {
                match self { $(Cause::$variant => Stage::$stage),+ }
            }

            /// Whose fault it usually is.
            pub fn fault(self) -> Fault {
                match self { $(Cause::$variant => Fault::$fault),+ }
            }

            /// A few words for reports and pages.
            pub fn label(self) -> &'static str {
                match self { $(Cause::$variant => $label),+ }
            }
        }
    };
}

causes! {
    // Install.
    PackageMissing => "package_missing", Install, Plugin, "not on this registry";
    WorkspaceDependency => "workspace_dependency", Install, Plugin, "a workspace dependency with no published version";
    PeerConflict => "peer_conflict", Install, Unknown, "conflicting peer dependencies";
    RegistryRefused => "registry_refused", Install, Unknown, "the registry refused a package";
    InstallTimeout => "install_timeout", Install, Unknown, "the install took too long";
    InstallFailed => "install_failed", Install, Unknown, "the install failed";
    // Load.
    ModuleFormat => "module_format", Load, Unknown, "ESM/CommonJS mismatch";
    MissingExport => "missing_export", Load, Unknown, "a module lacks an export it imports";
    MissingModule => "missing_module", Load, Unknown, "a module it imports is not installed";
    NativeAddon => "native_addon", Load, Needs, "needs native addons";
    NoPluginExport => "no_plugin_export", Load, Plugin, "exports no plugin object";
    LoadFailed => "load_failed", Load, Unknown, "the module failed to load";
    // Init.
    SettingsRejected => "settings_rejected", Init, Plugin, "its settings validation rejects placeholders";
    NeedsService => "needs_service", Init, Needs, "needs a service of another plugin";
    NeedsNetwork => "needs_network", Init, Needs, "needs the network at init";
    NeedsProgram => "needs_program", Init, Needs, "needs to run a program";
    InitTimeout => "init_timeout", Init, Unknown, "init did not finish in time";
    OutOfMemory => "out_of_memory", Init, Unknown, "ran out of memory";
    SandboxLimit => "sandbox_limit", Init, Plughub, "hit a sandbox limit";
    InitFailed => "init_failed", Init, Unknown, "init threw";
}

/// What plain `npm install --ignore-scripts` and Node made of the same version, in the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Baseline {
    /// `installed` or `loaded` at most: plain Node has no runtime to init a plugin with.
    pub reached: Reached,
    /// The first lines of what failed, if something did.
    pub message: Option<String>,
    pub duration_ms: i64,
}

/// One try of one version of one catalogue plugin, against one npm registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trial {
    /// The catalogue's name of the plugin.
    pub plugin: String,
    /// The npm package tried (most often the same name).
    pub package: String,
    pub version: String,
    /// The `@elizaos/core` major this version is for (its newest version per major is tried).
    pub core_major: Option<u32>,
    /// The npm registry the run used: a "not found" is about this registry, not about npm.
    pub registry: String,
    pub reached: Reached,
    /// Why it stopped, when it did not reach `inited`.
    pub cause: Option<Cause>,
    /// What failed, in its own words (first lines), when it did.
    pub message: Option<String>,
    pub duration_ms: i64,
    /// Bytes its install added to the package store and its folder.
    pub disk_bytes: i64,
    /// Packages in its installed dependency tree.
    pub packages: i64,
    /// Its true manifest as inited (components with names and descriptions), when it inited.
    pub manifest: Option<serde_json::Value>,
    /// Grants an org owner would have to decide on for it to run (`addons`, `program:chromium`, …).
    pub needs: Vec<String>,
    pub npm: Option<Baseline>,
    /// The trial rules it was tried under (plughub's version and its trial revision): a change of rules
    /// makes the next run try it again.
    pub rules: String,
    pub tried_at: String,
}

impl Trial {
    /// The step it stopped, if it stopped.
    pub fn stopped_at(&self) -> Option<Stage> {
        match self.reached {
            Reached::Inited => None,
            Reached::Loaded => Some(Stage::Init),
            Reached::Installed => Some(Stage::Load),
            Reached::Nothing => Some(Stage::Install),
        }
    }

    /// Whether it runs on plughub: it inited.
    pub fn runs(&self) -> bool {
        self.reached == Reached::Inited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_and_reached_round_trip_through_their_text() {
        for cause in Cause::ALL {
            assert_eq!(Cause::parse(cause.as_str()), Some(*cause));
            assert_eq!(
                serde_json::to_value(cause).unwrap(),
                serde_json::json!(cause.as_str())
            );
        }
        for reached in Reached::ALL {
            assert_eq!(Reached::parse(reached.as_str()), Some(reached));
        }
        assert_eq!(Cause::parse("no_such_cause"), None);
    }

    #[test]
    fn a_trial_stops_at_the_step_after_what_it_reached() {
        let mut trial = Trial {
            plugin: "@elizaos/plugin-x".into(),
            package: "@elizaos/plugin-x".into(),
            version: "1.0.0".into(),
            core_major: Some(1),
            registry: "http://127.0.0.1:1/".into(),
            reached: Reached::Installed,
            cause: Some(Cause::ModuleFormat),
            message: None,
            duration_ms: 1,
            disk_bytes: 0,
            packages: 0,
            manifest: None,
            needs: vec![],
            npm: None,
            rules: "t".into(),
            tried_at: "2026-12-07T00:00:00.000Z".into(),
        };
        assert_eq!(trial.stopped_at(), Some(Stage::Load));
        assert_eq!(Cause::ModuleFormat.stage(), Stage::Load);
        assert!(!trial.runs());
        trial.reached = Reached::Inited;
        assert_eq!(trial.stopped_at(), None);
        assert!(trial.runs());
    }
}
