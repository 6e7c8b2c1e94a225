//! The lifecycle of an installed plugin (product spec): DISCOVERED → INSTALLING → INSTALLED → ACTIVATING →
//! ACTIVE ⇄ EXECUTING, with DEACTIVATING, SUSPENDED, UNINSTALLING, FAILED and ERROR. Every change of state
//! goes through `next`, so no code path can put an instance where the machine does not allow; the states
//! that only last while work is in flight are resolved by `recover` after a crash.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Discovered,
    Installing,
    Installed,
    Activating,
    Active,
    Executing,
    Deactivating,
    Suspended,
    Uninstalling,
    Uninstalled,
    Failed,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Install,
    Installed,
    InstallFailed,
    Activate,
    Activated,
    ActivationFailed,
    Execute,
    Executed,
    Deactivate,
    Deactivated,
    Suspend,
    Resume,
    /// Update or roll back: a new version is installed beside the current one.
    Replace,
    Uninstall,
    Uninstalled,
}

/// The consecutive errors after which an instance is suspended (product spec default).
pub const SUSPEND_AFTER_ERRORS: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    pub from: State,
    pub step: Step,
    pub hint: &'static str,
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {:?} an instance that is {:?}",
            self.step, self.from
        )?;
        if !self.hint.is_empty() {
            write!(f, ": {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for TransitionError {}

impl State {
    pub fn next(self, step: Step) -> Result<State, TransitionError> {
        use State::*;
        use Step as S;
        let to = match (self, step) {
            (Discovered | Failed, S::Install) => Installing,
            (Installing, S::Installed) => Installed,
            (Installing, S::InstallFailed) => Failed,
            (Installed, S::Activate) => Activating,
            (Activating, S::Activated) => Active,
            (Activating, S::ActivationFailed) => Error,
            (Active, S::Execute) => Executing,
            (Executing, S::Executed) => Active,
            (Active | Error, S::Deactivate) => Deactivating,
            (Deactivating, S::Deactivated) => Installed,
            (Installed | Active | Executing | Error, S::Suspend) => Suspended,
            (Suspended, S::Resume) => Installed,
            (Installed | Active | Suspended | Error, S::Replace) => Installing,
            (Installed | Failed | Suspended | Error, S::Uninstall) => Uninstalling,
            (Uninstalling, S::Uninstalled) => Uninstalled,
            (from, step) => {
                return Err(TransitionError {
                    from,
                    step,
                    hint: hint(from, step),
                });
            }
        };
        Ok(to)
    }

    /// Where an instance found in a state that only lasts while work is in flight goes after a crash: the
    /// work did not finish, so the state says so and the instance can be retried or removed.
    pub fn recover(self) -> State {
        match self {
            State::Installing => State::Failed,
            State::Activating | State::Deactivating => State::Error,
            State::Executing => State::Active,
            State::Uninstalling => State::Uninstalled,
            settled => settled,
        }
    }

    /// The thing status the store keeps (draft | active | suspended | archived).
    pub fn thing_status(self) -> &'static str {
        match self {
            State::Discovered | State::Installing | State::Installed | State::Failed => "draft",
            State::Activating | State::Active | State::Executing | State::Deactivating => "active",
            State::Suspended | State::Error => "suspended",
            State::Uninstalling | State::Uninstalled => "archived",
        }
    }
}

fn hint(from: State, step: Step) -> &'static str {
    match (from, step) {
        (State::Active | State::Executing, Step::Uninstall) => "deactivate it first",
        (State::Installing | State::Activating | State::Deactivating | State::Uninstalling, _) => {
            "another change to it is in progress; wait for it to finish"
        }
        (State::Uninstalled, _) => "it has been uninstalled; install it again",
        (State::Suspended, Step::Activate) => {
            "it was suspended after repeated errors; resume it first"
        }
        (State::Active, Step::Activate) => "it is active already",
        (State::Installed, Step::Deactivate) => "it is not active",
        (State::Failed, _) => "its install failed; install it again or uninstall it",
        (State::Error, Step::Activate) => {
            "its activation failed; deactivate it, then activate it again"
        }
        _ => "",
    }
}

/// Counts consecutive failed executions; a success resets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorStreak(pub u32);

impl ErrorStreak {
    /// Records one outcome; true when the instance must now be suspended.
    pub fn record(&mut self, success: bool) -> bool {
        self.0 = if success { 0 } else { self.0 + 1 };
        self.0 >= SUSPEND_AFTER_ERRORS
    }
}

#[cfg(test)]
mod tests {
    use super::State::*;
    use super::*;

    #[test]
    fn the_happy_path_of_the_spec() {
        let mut s = Discovered;
        for step in [
            Step::Install,
            Step::Installed,
            Step::Activate,
            Step::Activated,
            Step::Execute,
            Step::Executed,
        ] {
            s = s.next(step).unwrap();
        }
        assert_eq!(s, Active);
        s = s
            .next(Step::Deactivate)
            .unwrap()
            .next(Step::Deactivated)
            .unwrap();
        assert_eq!(s, Installed);
        s = s
            .next(Step::Uninstall)
            .unwrap()
            .next(Step::Uninstalled)
            .unwrap();
        assert_eq!((s, s.thing_status()), (Uninstalled, "archived"));
    }

    #[test]
    fn refusals_say_what_to_do() {
        let err = Active.next(Step::Uninstall).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot Uninstall an instance that is Active: deactivate it first"
        );
        assert!(
            Installing
                .next(Step::Activate)
                .unwrap_err()
                .to_string()
                .contains("in progress")
        );
        assert!(Uninstalled.next(Step::Activate).is_err());
        assert!(
            Suspended
                .next(Step::Activate)
                .unwrap_err()
                .to_string()
                .contains("resume it first")
        );
    }

    #[test]
    fn every_state_has_a_way_out_and_crashes_settle() {
        use std::collections::HashSet;
        let all = [
            Discovered,
            Installing,
            Installed,
            Activating,
            Active,
            Executing,
            Deactivating,
            Suspended,
            Uninstalling,
            Uninstalled,
            Failed,
            Error,
        ];
        let steps = [
            Step::Install,
            Step::Installed,
            Step::InstallFailed,
            Step::Activate,
            Step::Activated,
            Step::ActivationFailed,
            Step::Execute,
            Step::Executed,
            Step::Deactivate,
            Step::Deactivated,
            Step::Suspend,
            Step::Resume,
            Step::Replace,
            Step::Uninstall,
            Step::Uninstalled,
        ];
        for s in all {
            let reachable: HashSet<State> =
                steps.iter().filter_map(|st| s.next(*st).ok()).collect();
            assert!(
                s == Uninstalled || !reachable.is_empty(),
                "{s:?} is a dead end"
            );
            let settled = s.recover();
            assert_eq!(
                settled.recover(),
                settled,
                "{s:?} recovers to a settled state"
            );
        }
        assert_eq!(Installing.recover(), Failed);
        assert_eq!(
            Failed.next(Step::Install).unwrap(),
            Installing,
            "a failed install can be retried"
        );
    }

    #[test]
    fn ten_errors_in_a_row_suspend() {
        let mut streak = ErrorStreak::default();
        for _ in 0..9 {
            assert!(!streak.record(false));
        }
        assert!(!streak.record(true), "a success resets the streak");
        for _ in 0..9 {
            assert!(!streak.record(false));
        }
        assert!(streak.record(false));
        assert_eq!(Executing.next(Step::Suspend).unwrap(), Suspended);
    }
}
