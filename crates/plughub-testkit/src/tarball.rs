//! Package tarballs built by tests, honest or hostile. Hostile entry names are written into the header
//! bytes directly: the tar crate (rightly) refuses to write `..` or absolute paths itself.

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

pub enum Entry {
    File { path: String, body: Vec<u8> },
    Dir { path: String },
    Symlink { path: String, target: String },
    HardLink { path: String, target: String },
    CharDevice { path: String },
    Fifo { path: String },
}

pub fn file(path: &str, body: impl Into<Vec<u8>>) -> Entry {
    Entry::File {
        path: path.into(),
        body: body.into(),
    }
}

/// A gzip'd tar of the entries, in order.
pub fn tgz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (path, kind, body, link): (&str, tar::EntryType, &[u8], Option<&str>) = match entry {
            Entry::File { path, body } => (path, tar::EntryType::Regular, body, None),
            Entry::Dir { path } => (path, tar::EntryType::Directory, &[], None),
            Entry::Symlink { path, target } => (path, tar::EntryType::Symlink, &[], Some(target)),
            Entry::HardLink { path, target } => (path, tar::EntryType::Link, &[], Some(target)),
            Entry::CharDevice { path } => (path, tar::EntryType::Char, &[], None),
            Entry::Fifo { path } => (path, tar::EntryType::Fifo, &[], None),
        };
        header.set_entry_type(kind);
        header.set_size(body.len() as u64);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_mtime(1_700_000_000);
        let name = &mut header.as_old_mut().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(target) = link {
            let field = &mut header.as_old_mut().linkname;
            field.fill(0);
            field[..target.len()].copy_from_slice(target.as_bytes());
        }
        header.set_cksum();
        builder.append(&header, body).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// An ordinary plugin package: `package/package.json` from `manifest` and the given files under `package/`.
pub fn package(manifest: &Value, files: &[(&str, &str)]) -> Vec<u8> {
    let mut entries = vec![
        Entry::Dir {
            path: "package/".into(),
        },
        file(
            "package/package.json",
            serde_json::to_vec_pretty(manifest).unwrap(),
        ),
    ];
    for (path, body) in files {
        entries.push(file(&format!("package/{path}"), body.as_bytes().to_vec()));
    }
    tgz(&entries)
}
