use crate::{Result, StoreError};
use std::path::PathBuf;

/// Which database engine serves the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the store lives: an embedded SQLite file in a data directory, or a database URL.
#[derive(Debug, Clone)]
pub enum Location {
    DataDir(PathBuf),
    Url(String),
}

impl Location {
    /// The SQLite file inside a data directory.
    pub const SQLITE_FILE: &'static str = "plughub.db";

    pub(crate) fn connect_url(&self) -> Result<(String, Backend)> {
        match self {
            Location::DataDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                    path: dir.display().to_string(),
                    source,
                })?;
                let file = dir.join(Self::SQLITE_FILE);
                Ok((
                    format!("sqlite://{}?mode=rwc", file.display()),
                    Backend::Sqlite,
                ))
            }
            Location::Url(url) => {
                let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://")
                {
                    Backend::Postgres
                } else if url.starts_with("sqlite:") {
                    Backend::Sqlite
                } else {
                    return Err(StoreError::InvalidUrl {
                        url: redact(url),
                        reason: "expected postgres://user@host:port/database (or sqlite://path)"
                            .into(),
                    });
                };
                if backend == Backend::Postgres {
                    check_postgres_url(url)?;
                }
                Ok((url.clone(), backend))
            }
        }
    }

    /// A description for messages, with any password in a URL hidden.
    pub fn describe(&self) -> String {
        match self {
            Location::DataDir(dir) => format!("{} (SQLite)", dir.join(Self::SQLITE_FILE).display()),
            Location::Url(url) => redact(url),
        }
    }
}

/// Catches the URL mistakes that the driver would report obscurely (or after a long connect timeout).
fn check_postgres_url(url: &str) -> Result<()> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let bad = |reason: &str| {
        Err(StoreError::InvalidUrl {
            url: redact(url),
            reason: reason.into(),
        })
    };
    if host_port.is_empty() && !url.contains("host=") {
        return bad("no host: write postgres://user@host:port/database");
    }
    if let Some((_, port)) = host_port.rsplit_once(':')
        && !host_port.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return bad("the port is not a number between 0 and 65535");
    }
    Ok(())
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        let loc = Location::Url("postgres://app:s3cret@db:5432/plughub".into());
        assert_eq!(loc.describe(), "postgres://app:***@db:5432/plughub");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = Location::Url("mysql://x@y/z".into())
            .connect_url()
            .unwrap_err();
        assert!(err.to_string().contains("expected postgres://"), "{err}");
        let err = Location::Url("postgres://u@host:99999/db".into())
            .connect_url()
            .unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let err = Location::Url("postgres:///db".into())
            .connect_url()
            .unwrap_err();
        assert!(err.to_string().contains("no host"), "{err}");
    }
}
