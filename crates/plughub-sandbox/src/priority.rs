//! A worker's CPU priority. A worker booted ahead of need starts at the lowest (`nice` 19), so that its
//! start takes only CPU that executions leave idle; once it is given a plugin, plughub raises every
//! thread of it back to the ordinary priority (a priority is a thread's, and Node's threads inherit
//! the one they were started with). Raising a priority needs root (CAP_SYS_NICE): the sandbox helper
//! does both.

/// The lowest CPU priority.
const LOWEST: libc::c_int = 19;

/// Starts the command's process at the lowest CPU priority.
pub(crate) fn lowest_at_start(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setpriority is a system call on integers only, which a closure run between fork and exec
    // may make.
    unsafe {
        command.pre_exec(|| {
            libc::setpriority(libc::PRIO_PROCESS, 0, LOWEST);
            Ok(())
        });
    }
}

/// Gives every thread of process `pid` the ordinary priority. Blocking (reads `/proc`).
pub(crate) fn raise_to_ordinary(pid: u32) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        if let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        {
            // SAFETY: setpriority takes integers only.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 0) };
        }
    }
}
