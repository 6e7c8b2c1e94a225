//! What the engine needs to start workers in plughub-sandbox: the Node binary's real path (its
//! installation is bound into the sandbox), and which permission flag it takes, asked once and remembered
//! in the run directory (asking costs a Node start).

use std::path::{Path, PathBuf};

/// `node` as a path: itself when it has a slash, else found on the PATH.
pub(crate) fn resolve_node(node: &Path) -> PathBuf {
    if node.components().count() > 1 {
        return node.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(node))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| node.to_path_buf())
}

/// The permission flag of this Node (`--permission` or `--experimental-permission`), if any. Kept in
/// `<run>/node-permission` against the binary's path, size and modification time.
pub(crate) fn node_permission_flag(node: &Path, run_dir: &Path) -> Option<String> {
    let real = std::fs::canonicalize(resolve_node(node)).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let key = format!("{}\t{}\t{modified}", real.display(), meta.len());
    let cache = run_dir.join("node-permission");
    if let Ok(text) = std::fs::read_to_string(&cache)
        && let Some((cached_key, flag)) = text.rsplit_once('\t')
        && cached_key == key
    {
        return (!flag.is_empty()).then(|| flag.to_string());
    }
    let flag = plughub_sandbox::probe::node_permission_flag(&real);
    let _ = std::fs::write(&cache, format!("{key}\t{}", flag.as_deref().unwrap_or("")));
    flag
}
