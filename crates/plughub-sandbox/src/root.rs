//! The sandbox's root: a size-capped tmpfs with what the worker needs bound into it read-only at the same
//! paths as on the host (so that absolute paths and symlinks in packages still resolve), `/tmp` as its
//! writable scratch, and nothing else of the host. Planned in the parent as C strings; carried out in the
//! child by `mkdir`, `mount` and `pivot_root` alone.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(crate) enum Step {
    Dir(CString),
    /// An empty file to bind a file onto.
    File(CString),
    Symlink {
        target: CString,
        link: CString,
    },
    Bind {
        source: CString,
        target: CString,
        /// A device node (`/dev/null`): its mount keeps devices working and stays writable.
        device: bool,
    },
}

pub(crate) struct RootPlan {
    pub(crate) root: CString,
    pub(crate) tmpfs_options: CString,
    pub(crate) steps: Vec<Step>,
    /// `/tmp` inside the new root, as seen before the pivot: made writable for everyone (sticky).
    pub(crate) scratch: CString,
}

fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("paths have no NUL")
}

/// `path` under `root`.
fn inside(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// Plans a root at `root` (an empty directory on the host) holding `binds` (absolute host paths, bound
/// read-only), the host's top-level symlinks into /usr (`/bin`, `/lib`, …), the usual device files, and a
/// scratch `/tmp`; the tmpfs holding it all is capped at `size_bytes`.
pub(crate) fn plan(root: &Path, binds: &[PathBuf], size_bytes: u64) -> RootPlan {
    let mut steps = Vec::new();
    let mut made: Vec<PathBuf> = Vec::new();
    let mut dir = |steps: &mut Vec<Step>, path: &Path| {
        for ancestor in path.ancestors().collect::<Vec<_>>().into_iter().rev() {
            if ancestor == Path::new("/") || made.iter().any(|m| m == ancestor) {
                continue;
            }
            made.push(ancestor.to_path_buf());
            steps.push(Step::Dir(c(&inside(root, ancestor))));
        }
    };
    for link in ["/bin", "/sbin", "/lib", "/lib32", "/lib64"] {
        let link = Path::new(link);
        if let Ok(target) = std::fs::read_link(link) {
            steps.push(Step::Symlink {
                target: c(&target),
                link: c(&inside(root, link)),
            });
        }
    }
    dir(&mut steps, Path::new("/tmp"));
    // The package's mount point, empty until plughub assigns the worker a package.
    dir(&mut steps, Path::new(crate::PACKAGE_MOUNT));
    dir(&mut steps, Path::new("/dev"));
    for device in ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"] {
        let device = Path::new(device);
        if device.exists() {
            steps.push(Step::File(c(&inside(root, device))));
            steps.push(Step::Bind {
                source: c(device),
                target: c(&inside(root, device)),
                device: true,
            });
        }
    }
    for source in binds {
        let Ok(meta) = std::fs::metadata(source) else {
            continue;
        };
        let target = inside(root, source);
        if meta.is_dir() {
            dir(&mut steps, source);
        } else {
            if let Some(parent) = source.parent() {
                dir(&mut steps, parent);
            }
            steps.push(Step::File(c(&target)));
        }
        steps.push(Step::Bind {
            source: c(source),
            target: c(&target),
            device: false,
        });
    }
    RootPlan {
        root: c(root),
        tmpfs_options: CString::new(format!("size={size_bytes},mode=0755")).expect("no NUL"),
        steps,
        scratch: c(&inside(root, Path::new("/tmp"))),
    }
}
