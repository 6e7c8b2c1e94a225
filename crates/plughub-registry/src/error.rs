/// Why the registry refused something. Each has the stable code and HTTP status the API answers with
/// (`code()`, `status()`), and a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Not a package that can be published: no readable package.json, a name that is not the one in
    /// the path, no valid version, an archive that is not one.
    #[error("{0}")]
    InvalidPackage(String),
    #[error("{0}")]
    NamespaceReserved(String),
    #[error("{0}")]
    NamespaceNotHeld(String),
    #[error("{0}")]
    WrongNamespace(String),
    #[error("{0}")]
    NamespaceOnNpm(String),
    #[error("{0}")]
    VersionExists(String),
    #[error("{0}")]
    TooLarge(String),
    /// No such package or version (or one the caller may not see).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    UnpublishWindowOver(String),
    #[error("{0}")]
    Installed(String),
    /// Not in a state that allows this (releasing a version that is not quarantined, say).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but not acceptable (a tag that is not a tag, an expiry out of range).
    #[error("{0}")]
    Invalid(String),
    /// A publish token that does not hold (unknown, revoked, expired).
    #[error("{0}")]
    BadToken(String),
    /// The npm registry could not be asked whether it has the namespace.
    #[error("{0}")]
    Npm(String),
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
    #[error(transparent)]
    Market(#[from] plughub_market::MarketError),
    #[error("{0}")]
    Internal(String),
}

impl RegistryError {
    /// The stable code of the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::InvalidPackage(_) => "invalid_package",
            RegistryError::NamespaceReserved(_) => "namespace_reserved",
            RegistryError::NamespaceNotHeld(_) => "namespace_not_held",
            RegistryError::WrongNamespace(_) => "wrong_namespace",
            RegistryError::NamespaceOnNpm(_) => "namespace_on_npm",
            RegistryError::VersionExists(_) => "version_exists",
            RegistryError::TooLarge(_) => "too_large",
            RegistryError::NotFound(_) => "plugin_not_found",
            RegistryError::UnpublishWindowOver(_) => "unpublish_window_over",
            RegistryError::Installed(_) => "installed",
            RegistryError::Conflict(_) => "conflict",
            RegistryError::Invalid(_) => "invalid",
            RegistryError::BadToken(_) => "token_unknown",
            RegistryError::Npm(_) => "registry",
            RegistryError::Store(_) | RegistryError::Market(_) | RegistryError::Internal(_) => {
                "internal"
            }
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            RegistryError::InvalidPackage(_) => 400,
            RegistryError::BadToken(_) => 401,
            RegistryError::NamespaceReserved(_)
            | RegistryError::NamespaceNotHeld(_)
            | RegistryError::WrongNamespace(_)
            | RegistryError::NamespaceOnNpm(_) => 403,
            RegistryError::NotFound(_) => 404,
            RegistryError::VersionExists(_)
            | RegistryError::UnpublishWindowOver(_)
            | RegistryError::Installed(_)
            | RegistryError::Conflict(_) => 409,
            RegistryError::TooLarge(_) => 413,
            RegistryError::Invalid(_) => 422,
            RegistryError::Npm(_) => 502,
            RegistryError::Store(_) | RegistryError::Market(_) | RegistryError::Internal(_) => 500,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
