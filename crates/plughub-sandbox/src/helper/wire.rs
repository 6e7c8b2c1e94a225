//! What plughub and its sandbox helper say to each other: one JSON message a datagram on a
//! `SOCK_SEQPACKET` socket pair (its boundaries kept by the kernel, so no framing), with the descriptors
//! a launched worker is reached by passed alongside (`SCM_RIGHTS`).

use crate::SandboxPolicy;
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

/// The largest message either side sends: a launch's policy and environment, a worker's layers.
pub(crate) const MAX_MESSAGE: usize = 256 * 1024;
/// The most descriptors one message carries (a launched worker's four).
const MAX_FDS: usize = 4;

/// plughub to the helper.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) op: Op,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Op {
    /// Sent once, first, before plughub gives up its privileges: the folders packages may be mounted
    /// from. Refused after.
    Configure {
        package_roots: Vec<PathBuf>,
    },
    Launch(Box<Launch>),
    /// Mount a package into a launched worker, and give it the ordinary CPU priority back if it was
    /// started at the lowest.
    Assign {
        worker: u64,
        package: PathBuf,
    },
    /// End a launched worker (its exit is reported as any other).
    Kill {
        worker: u64,
    },
}

/// A worker to start: Node on the host script, in a sandbox of `policy`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    pub policy: SandboxPolicy,
    /// The Node.js executable.
    pub node: PathBuf,
    pub host_script: PathBuf,
    /// Where the worker's socket folder and root are made (plughub's run folder).
    pub run_dir: PathBuf,
    /// Names the worker's folders there: `w-<name>.d`, `w-<name>.box`.
    pub name: String,
    /// The flag that turns on Node's permission model, when the policy wants it and Node has one.
    pub permission_flag: Option<String>,
    /// V8's heap cap, passed to Node only where no memory cgroup holds the worker.
    pub memory_mb: Option<u32>,
    /// Start at the lowest CPU priority (a boot ahead of need); `Assign` raises it back.
    pub lowest_priority: bool,
}

/// The helper to plughub.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Message {
    /// A launch's answer; its descriptors come with it: the worker's socket listener, its egress
    /// socket listener, its stdout and its stderr.
    Launched {
        id: u64,
        worker: u64,
        /// The process the helper started (the keeper) and Node, its child.
        keeper: u32,
        pid: u32,
        layers: Vec<String>,
        limits_memory: bool,
        egress_path: PathBuf,
    },
    Done {
        id: u64,
    },
    Failed {
        id: u64,
        error: String,
    },
    /// A launched worker ended, and why; its sandbox is gone.
    Exited {
        worker: u64,
        reason: String,
    },
}

/// Sends `message` with `fds`.
pub(crate) fn send<T: Serialize>(
    socket: BorrowedFd<'_>,
    message: &T,
    fds: &[BorrowedFd<'_>],
) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(std::io::Error::other(
            "too many descriptors for one message",
        ));
    }
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(&bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// Receives one message and the descriptors that came with it (close-on-exec); `None` when the other
/// side has closed the socket.
pub(crate) fn receive<T: for<'de> Deserialize<'de>>(
    socket: BorrowedFd<'_>,
    buffer: &mut [u8],
) -> std::io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = loop {
        match rustix::net::recvmsg(
            socket.as_fd(),
            &mut [IoSliceMut::new(buffer)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other?,
        }
    };
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(passed) = message {
            fds.extend(passed);
        }
    }
    if received.bytes == 0 {
        return Ok(None);
    }
    let message = serde_json::from_slice(&buffer[..received.bytes])
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(Some((message, fds)))
}
