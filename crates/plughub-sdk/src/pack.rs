//! Packing a plugin package as `npm publish` would upload it. `npm pack` itself does it (not a packer of
//! ours): npm's rules for what goes in (`files`, `.npmignore`, the files always included or always left
//! out, bundled dependencies) are many and change with npm, and authors check their package with npm's
//! own `npm pack --dry-run`; the one npm they build with packs exactly what they expect.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A packed package: the tarball as it will be uploaded, and npm's account of it.
#[derive(Debug, Clone, Serialize)]
pub struct Packed {
    pub name: String,
    pub version: String,
    /// The tarball's file (in a temporary folder the caller owns).
    pub tarball: PathBuf,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// The tarball's size in bytes.
    pub size: u64,
    pub unpacked_size: u64,
    /// sha512 SRI of the tarball, computed here from its bytes (what the registry checks).
    pub integrity: String,
    /// sha1 hex of the tarball.
    pub shasum: String,
    pub files: Vec<PackedFile>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PackedFile {
    pub path: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot run npm ({0}): install Node.js and npm, or put npm on the PATH")]
    NoNpm(std::io::Error),
    #[error("`npm pack` failed in {}: {stderr}", dir.display())]
    Failed { dir: PathBuf, stderr: String },
    #[error("`npm pack` answered what plughub does not understand: {0}")]
    Answer(String),
    #[error("cannot read the packed tarball {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Packs the package in `dir` into `destination` with `npm pack` (scripts not run: packing must not
/// build or change anything; `npm run build` is the author's step).
pub fn pack(dir: &Path, destination: &Path) -> Result<Packed, PackError> {
    let output = Command::new(npm())
        .args(["pack", "--json", "--ignore-scripts", "--pack-destination"])
        .arg(destination)
        .current_dir(dir)
        .output()
        .map_err(PackError::NoNpm)?;
    if !output.status.success() {
        return Err(PackError::Failed {
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        PackError::Answer(format!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
    })?;
    let entry = answer
        .get(0)
        .ok_or_else(|| PackError::Answer(answer.to_string()))?;
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
    let tarball = destination.join(text("filename"));
    let bytes = std::fs::read(&tarball).map_err(|source| PackError::Io {
        path: tarball.clone(),
        source,
    })?;
    let files: Vec<PackedFile> = serde_json::from_value(entry["files"].clone())
        .map_err(|e| PackError::Answer(format!("files: {e}")))?;
    Ok(Packed {
        name: text("name"),
        version: text("version"),
        size: bytes.len() as u64,
        unpacked_size: entry["unpackedSize"]
            .as_u64()
            .unwrap_or_else(|| files.iter().map(|f| f.size).sum()),
        integrity: plughub_install::integrity::sri_of(&bytes),
        shasum: sha1_hex(&bytes),
        tarball,
        bytes,
        files,
    })
}

fn sha1_hex(bytes: &[u8]) -> String {
    ssri::IntegrityOpts::new()
        .algorithm(ssri::Algorithm::Sha1)
        .chain(bytes)
        .result()
        .to_hex()
        .1
}

/// The npm to run: `PLUGHUB_NPM`, else `npm` on the PATH.
pub fn npm() -> PathBuf {
    std::env::var_os("PLUGHUB_NPM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("npm"))
}
