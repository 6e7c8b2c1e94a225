#![doc = include_str!("../README.md")]

mod invitations;
mod members;
mod secret;
mod sign_in;

pub use invitations::{INVITATION_DAYS, INVITATION_DEFAULT_DAYS, INVITATION_PREFIX};
pub use members::{CreatedPerson, PersonWithRoles};
pub use secret::{hash_password, hash_secret, new_secret, verify_password};

use plughub_domain::access::Principal;
use plughub_domain::{Plan, Role};
use plughub_store::{PersonRecord, Store, StoreError, TokenRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// API tokens start `phk_`, session secrets `phs_`: a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "phk";
pub const SESSION_PREFIX: &str = "phs";
pub const MIN_PASSWORD_CHARS: usize = 12;
/// How long a web session lasts.
pub const SESSION_HOURS: i64 = 12;
/// The group platform owners hold their role in.
pub const PLATFORM_GROUP: &str = "platform";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the system's random source failed: {0}")]
    Random(String),
    #[error("'{0}' is not an email address")]
    BadEmail(String),
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("no person with the email {0} (create one with `plughub admin create-user {0}`)")]
    UnknownPerson(String),
    #[error("no organisation named '{0}' (create it with `plughub admin create-org {0}`)")]
    UnknownOrg(String),
    #[error("the email or the password is wrong")]
    BadLogin,
    #[error("the token is not known")]
    UnknownToken,
    #[error("the token was revoked at {0}")]
    RevokedToken(String),
    #[error("the token expired at {0}")]
    ExpiredToken(String),
    #[error("the session has ended: log in again")]
    SessionEnded,
    #[error("a token lasts 1 to 365 days")]
    BadExpiry,
    #[error("{email} is not a member of {org} (invite them with POST /api/orgs/{org}/invitations)")]
    NotMember { email: String, org: String },
    #[error(
        "{email} is the last {role} of {org}: make someone else {role} first, then change or remove {email}"
    )]
    LastOwner {
        email: String,
        org: String,
        role: Role,
    },
    #[error("{0}")]
    RoleNotHere(String),
    #[error(
        "'{0}' is not a usable organisation name: use 1 to 64 letters, digits, '-', '_' or '.'"
    )]
    BadOrgName(String),
    #[error("no token with the id {0} that is not revoked already (list them to see their ids)")]
    NoSuchToken(String),
    #[error(
        "this invitation link is not open: it was used or withdrawn, or never made; ask an owner of the organisation for a new one"
    )]
    UnknownInvitation,
    #[error("the invitation expired at {0}: ask an owner of the organisation for a new one")]
    InvitationExpired(String),
    #[error(
        "this invitation is for {0}: sign in as {0} to accept it, or ask for an invitation of your own"
    )]
    InvitationNotYours(String),
    #[error(
        "no open invitation with the id {id} in {org} (list them with GET /api/orgs/{org}/invitations)"
    )]
    NoSuchInvitation { id: String, org: String },
    #[error("an invitation lasts 1 to 30 days")]
    BadInvitationExpiry,
    #[error(
        "a person with the email {0} exists already: sign in as them first (POST /api/auth/login), then accept the invitation"
    )]
    EmailTaken(String),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error(
        "too many failed sign-ins from your address: try again after {until} (in {retry_after} s)"
    )]
    Throttled {
        /// Seconds to wait, for `Retry-After`.
        retry_after: u64,
        /// When the wait ends (RFC 3339).
        until: String,
    },
}

/// Who someone is, from what they present; and the people, roles and tokens behind it.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    recent: Arc<Mutex<HashMap<String, Recent>>>,
    sign_ins: Arc<sign_in::SignIns>,
}

/// How long a token's check is reused: every API call presents its token, and its check costs three
/// reads. A revocation, an expiry or a change of role (on any server) therefore takes effect within
/// this time; on this server a revocation or a change of role takes effect at once.
pub const TOKEN_RECHECK: Duration = Duration::from_secs(1);
/// Tokens whose checks are kept at most (past it they are all dropped: the next calls check again).
const RECENT_TOKENS: usize = 10_000;

/// A token checked a moment ago: its owner and roles, and when that check was made.
#[derive(Clone)]
struct Recent {
    checked: Instant,
    expires_at: String,
    principal: Principal,
}

/// A login for the first start: the platform owner made, with the password shown this once.
#[derive(Debug, Clone)]
pub struct FirstOwner {
    pub email: String,
    pub password: String,
    /// The organisation made for them to own, if one was.
    pub org: Option<String>,
}

/// The organisation the first start makes, owned by the first person.
pub const FIRST_ORG: &str = "default";

impl Accounts {
    pub fn new(store: Store) -> Accounts {
        Accounts {
            store,
            recent: Default::default(),
            sign_ins: Default::default(),
        }
    }

    /// Forgets every token checked a moment ago: after a change here to who may do what.
    pub(crate) fn forget_recent(&self) {
        self.recent.lock().expect("not poisoned").clear();
    }

    /// Creates a person, with a password to log in with (or none: tokens only).
    pub async fn create_person(
        &self,
        email: &str,
        display_name: &str,
        password: Option<&str>,
        actor: &str,
    ) -> Result<PersonRecord, AccountError> {
        let email = normalise_email(email)?;
        let hash = match password {
            Some(p) if p.chars().count() < MIN_PASSWORD_CHARS => {
                return Err(AccountError::WeakPassword);
            }
            Some(p) => Some(hash_password(p)?),
            None => None,
        };
        let name = members::display_name_or_default(display_name, &email);
        let mut tx = self.store.begin().await?;
        let person = tx
            .create_person(&email, &name, hash.as_deref(), actor)
            .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// A new API token for a person, lasting `days`; the secret is returned this once.
    pub async fn create_token(
        &self,
        email: &str,
        name: &str,
        days: u32,
        actor: &str,
    ) -> Result<(TokenRecord, String), AccountError> {
        if !(1..=365).contains(&days) {
            return Err(AccountError::BadExpiry);
        }
        let person = self.person(email).await?;
        let (secret, hash) = new_secret(TOKEN_PREFIX)?;
        let expires = rfc3339(OffsetDateTime::now_utc() + time::Duration::days(i64::from(days)));
        let mut tx = self.store.begin().await?;
        let token = tx
            .create_token(&person.id, name, &hash, &expires, actor)
            .await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    pub async fn revoke_token(&self, token_id: &str, actor: &str) -> Result<(), AccountError> {
        let mut tx = self.store.begin().await?;
        let revoked = tx.revoke_token(token_id, actor).await?;
        tx.commit().await?;
        self.forget_recent();
        if revoked {
            Ok(())
        } else {
            Err(AccountError::NoSuchToken(token_id.to_string()))
        }
    }

    pub async fn tokens(&self, email: &str) -> Result<Vec<TokenRecord>, AccountError> {
        let person = self.person(email).await?;
        Ok(self.store.tokens_of(&person.id).await?)
    }

    /// The person a token belongs to, with their roles: unknown, revoked and expired tokens are refused,
    /// each saying which. Not throttled: a request's token goes through `authenticate_token_from`; this
    /// checks again a token that was already accepted (as a live stream does).
    pub async fn authenticate_token(&self, secret: &str) -> Result<Principal, AccountError> {
        let hash = hash_secret(secret.trim());
        let recent = self
            .recent
            .lock()
            .expect("not poisoned")
            .get(&hash)
            .cloned();
        if let Some(recent) = recent
            && recent.checked.elapsed() < TOKEN_RECHECK
            && !is_past(&recent.expires_at)
        {
            return Ok(recent.principal);
        }
        let token = self
            .store
            .token_by_hash(&hash)
            .await?
            .ok_or(AccountError::UnknownToken)?;
        if let Some(at) = token.revoked_at {
            return Err(AccountError::RevokedToken(at));
        }
        if is_past(&token.expires_at) {
            return Err(AccountError::ExpiredToken(token.expires_at));
        }
        let principal = self.principal(&token.person_id).await?;
        let mut recent = self.recent.lock().expect("not poisoned");
        if recent.len() >= RECENT_TOKENS {
            recent.clear();
        }
        recent.insert(
            hash,
            Recent {
                checked: Instant::now(),
                expires_at: token.expires_at,
                principal: principal.clone(),
            },
        );
        Ok(principal)
    }

    pub async fn logout(&self, session: &str) -> Result<(), AccountError> {
        self.store.delete_session(&hash_secret(session)).await?;
        Ok(())
    }

    pub async fn authenticate_session(&self, secret: &str) -> Result<Principal, AccountError> {
        let session = self
            .store
            .session(&hash_secret(secret))
            .await?
            .ok_or(AccountError::SessionEnded)?;
        if is_past(&session.expires_at) {
            self.store.delete_session(&hash_secret(secret)).await?;
            return Err(AccountError::SessionEnded);
        }
        self.principal(&session.person_id).await
    }

    /// On a store with nobody in it: the platform group and its owner, with a password made for them
    /// (returned this once). `None` once anybody exists.
    pub async fn first_start(&self, actor: &str) -> Result<Option<FirstOwner>, AccountError> {
        if self.store.count_people().await? > 0 {
            return Ok(None);
        }
        if self.store.group_by_name(PLATFORM_GROUP).await?.is_none() {
            let mut tx = self.store.begin().await?;
            tx.create_group(PLATFORM_GROUP, Plan::Enterprise, None, actor)
                .await?;
            tx.commit().await?;
        }
        let (secret, _) = new_secret("pw")?;
        let password = secret.trim_start_matches("pw_").to_string();
        let email = "owner@plughub.local".to_string();
        self.create_person(&email, "Platform owner", Some(&password), actor)
            .await?;
        self.set_role(&email, PLATFORM_GROUP, Role::PlatformOwner, actor)
            .await?;
        // A first organisation that the first person owns, so that they can install and run plugins at
        // once; one that exists already (made before the first start) is left as it is.
        let org = if self.store.group_by_name(FIRST_ORG).await?.is_none() {
            self.create_org(FIRST_ORG, Plan::Pro, None, actor).await?;
            self.set_role(&email, FIRST_ORG, Role::OrgOwner, actor)
                .await?;
            Some(FIRST_ORG.to_string())
        } else {
            None
        };
        Ok(Some(FirstOwner {
            email,
            password,
            org,
        }))
    }

    pub(crate) async fn person(&self, email: &str) -> Result<PersonRecord, AccountError> {
        let email = normalise_email(email)?;
        self.store
            .person_by_email(&email)
            .await?
            .ok_or(AccountError::UnknownPerson(email))
    }

    async fn principal(&self, person_id: &str) -> Result<Principal, AccountError> {
        let person = self
            .store
            .person(person_id)
            .await?
            .ok_or(AccountError::UnknownToken)?;
        Ok(Principal {
            memberships: self.store.memberships(&person.id).await?,
            person_id: person.id,
            email: person.email,
        })
    }
}

/// An argon2 hash of a password nobody has, verified against when the email is unknown so that the
/// answer takes as long as for a wrong password. Made once, on first use.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let (unguessable, _) = new_secret("dummy").unwrap_or_default();
            hash_password(&unguessable).unwrap_or_default()
        })
        .clone()
}

pub(crate) fn normalise_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_ascii_lowercase();
    let valid = email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && !domain.is_empty() && !domain.starts_with('.') && domain.contains('.')
    }) && !email.contains(char::is_whitespace)
        && email.len() <= 254;
    if valid {
        Ok(email)
    } else {
        Err(AccountError::BadEmail(email))
    }
}

/// In the store's own format, so that times stored by accounts sort as text with the rest.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    plughub_store::format_time(at)
}

/// Whether an RFC 3339 time has passed; one that cannot be read counts as passed.
pub(crate) fn is_past(at: &str) -> bool {
    OffsetDateTime::parse(at, &Rfc3339).map_or(true, |t| t <= OffsetDateTime::now_utc())
}
