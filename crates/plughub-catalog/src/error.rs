use plughub_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{source_name}: cannot read {location}: {reason}")]
    Fetch {
        source_name: String,
        location: String,
        reason: String,
    },
    #[error("{source_name}: {location} is not valid registry JSON: {reason}")]
    Malformed {
        source_name: String,
        location: String,
        reason: String,
    },
    #[error("{location}: {count} registry entr{plural} with wrong types, nothing was imported:\n{details}", plural = if *count == 1 { "y" } else { "ies" })]
    BadEntries {
        location: String,
        count: usize,
        details: String,
    },
    #[error(transparent)]
    NoNpmRegistry(#[from] plughub_npm::NoNpmRegistry),
    #[error(
        "the npm registry at {registry} cannot be reached: {reason} (check your network, or the registry in your npm configuration)"
    )]
    NpmUnreachable { registry: String, reason: String },
    #[error(
        "no plugin named '{name}' in the catalogue{}",
        suggestion_text(suggestions)
    )]
    UnknownPlugin {
        name: String,
        suggestions: Vec<String>,
    },
    #[error(
        "the last catalogue sync started {ago_secs} s ago; syncs run at most once every {interval_secs} s (use --force to sync now)"
    )]
    TooSoon { ago_secs: u64, interval_secs: u64 },
    #[error(
        "another server on this store is syncing the catalogue now; this one follows what it writes"
    )]
    SyncElsewhere,
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("the starter catalogue carried by this binary is unreadable: {0}")]
    Starter(String),
    #[error("no starter catalogue was built: {0}")]
    StarterBuild(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        " (try `plughub search <words>`)".to_string()
    } else {
        format!("; did you mean: {}?", suggestions.join(", "))
    }
}
