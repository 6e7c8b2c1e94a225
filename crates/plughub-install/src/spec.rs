//! What the user asked to install: `@elizaos/plugin-openai@1.6.0`, `plugin-x@^1`, `name@next`, a folder,
//! or a tarball.

use crate::InstallError;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageSpec {
    /// An npm name with an optional version, range or dist-tag.
    Npm {
        name: String,
        wanted: Option<String>,
    },
    /// A local package folder (holding a `package.json`), for plugin authors.
    Folder(PathBuf),
    /// A local `.tgz`, as `npm pack` makes.
    Tarball(PathBuf),
}

impl PackageSpec {
    pub fn parse(input: &str) -> Result<PackageSpec, InstallError> {
        let input = input.trim();
        let path = PathBuf::from(input);
        let looks_local =
            input.starts_with('.') || input.starts_with('/') || input.starts_with('~');
        if input.ends_with(".tgz") || input.ends_with(".tar.gz") {
            return Ok(PackageSpec::Tarball(path));
        }
        if looks_local || (path.is_dir() && path.join("package.json").is_file()) {
            return Ok(PackageSpec::Folder(path));
        }
        // `@scope/name@range`: the version separator is the last `@` after the first character.
        let (name, wanted) = match input[1.min(input.len())..].rfind('@') {
            Some(i) => (&input[..i + 1], Some(input[i + 2..].to_string())),
            None => (input, None),
        };
        let valid = !name.is_empty()
            && name.len() <= 214
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"@/._-~".contains(&b))
            && (!name.starts_with('@') || name.matches('/').count() == 1)
            && (name.starts_with('@') || !name.contains('/'));
        if !valid || wanted.as_deref() == Some("") {
            return Err(InstallError::BadSpec(input.to_string()));
        }
        Ok(PackageSpec::Npm {
            name: name.to_string(),
            wanted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_ranges_and_tags() {
        let npm = |name: &str, wanted: Option<&str>| PackageSpec::Npm {
            name: name.into(),
            wanted: wanted.map(Into::into),
        };
        assert_eq!(
            PackageSpec::parse("@elizaos/plugin-openai").unwrap(),
            npm("@elizaos/plugin-openai", None)
        );
        assert_eq!(
            PackageSpec::parse("@elizaos/plugin-openai@1.6.0").unwrap(),
            npm("@elizaos/plugin-openai", Some("1.6.0"))
        );
        assert_eq!(
            PackageSpec::parse("plugin-x@^1.2").unwrap(),
            npm("plugin-x", Some("^1.2"))
        );
        assert_eq!(
            PackageSpec::parse("plugin-x@next").unwrap(),
            npm("plugin-x", Some("next"))
        );
        assert_eq!(
            PackageSpec::parse("./my-plugin").unwrap(),
            PackageSpec::Folder("./my-plugin".into())
        );
        assert_eq!(
            PackageSpec::parse("x-1.0.0.tgz").unwrap(),
            PackageSpec::Tarball("x-1.0.0.tgz".into())
        );
        for bad in ["", "a b", "@scope", "@a/b/c", "x@", "a/b"] {
            assert!(PackageSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
