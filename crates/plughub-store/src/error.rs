use crate::Location;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the store at {location}: {source}{hint}")]
    Connect {
        location: String,
        source: sqlx::Error,
        hint: &'static str,
    },
    #[error("cannot bring the store's schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not what this version of plughub expects ({what}): {reason}")]
    Corrupt { what: String, reason: String },
    #[error("{0}")]
    Conflict(String),
    /// What was asked to be stored is not of the shape kept (a memory that is not an object, …).
    #[error("{0}")]
    Invalid(String),
    /// The write would take the instance's cache and memories over `quota` bytes (nothing was written).
    #[error("the storage quota of {quota} bytes is full")]
    StorageFull { quota: u64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    pub(crate) fn connect(location: &Location, source: sqlx::Error) -> StoreError {
        let hint = match location {
            Location::DataDir(_) => " (check that the data directory is writable)",
            Location::Url(_) => {
                " (is the PostgreSQL server running and reachable? check --database-url or PLUGHUB_DATABASE_URL)"
            }
        };
        StoreError::Connect {
            location: location.describe(),
            source,
            hint,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}
