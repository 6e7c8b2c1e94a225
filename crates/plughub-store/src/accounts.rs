//! People, their roles in groups, their API tokens and web sessions. Secrets are never stored: a token or
//! session is kept as the SHA-256 its holder's secret must match, a password as its argon2 hash.

use crate::clock::now_rfc3339;
use crate::events::{event_from_row, insert_event};
use crate::tx::unique_violation;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::access::Membership;
use plughub_domain::{EventType, NewEvent, Role, StoredEvent};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A person as stored, with the hash of their password if they have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub created_at: String,
}

/// An API token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: String,
    pub person_id: String,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

/// A member of a group, as the group's members list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub person_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// When they got the role they hold.
    pub since: String,
}

/// A web session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub person_id: String,
    pub created_at: String,
    pub expires_at: String,
}

impl StoreTx<'_> {
    pub async fn create_person(
        &mut self,
        email: &str,
        display_name: &str,
        password_hash: Option<&str>,
        actor: &str,
    ) -> Result<PersonRecord> {
        let person = PersonRecord {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.to_string(),
            display_name: display_name.to_string(),
            password_hash: password_hash.map(str::to_string),
            created_at: now_rfc3339(),
        };
        sqlx::query(
            "INSERT INTO people (id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&person.id)
        .bind(&person.email)
        .bind(&person.display_name)
        .bind(&person.password_hash)
        .bind(&person.created_at)
        .execute(self.conn())
        .await
        .map_err(|e| unique_violation(e, || format!("a person with the email {email} exists already")))?;
        let event = NewEvent {
            event_type: EventType::PersonCreated,
            actor: actor.to_string(),
            target: Some(person.id.clone()),
            group_id: None,
            metadata: serde_json::json!({ "email": email }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(person)
    }

    /// Gives `person_id` `role` in `group_id`, replacing a role they had there.
    pub async fn set_membership(
        &mut self,
        person_id: &str,
        group_id: &str,
        role: Role,
        actor: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM memberships WHERE person_id = $1 AND group_id = $2")
            .bind(person_id)
            .bind(group_id)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "INSERT INTO memberships (person_id, group_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(person_id)
        .bind(group_id)
        .bind(role.as_str())
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?;
        let event = NewEvent {
            event_type: EventType::MemberChanged,
            actor: actor.to_string(),
            target: Some(person_id.to_string()),
            group_id: Some(group_id.to_string()),
            metadata: serde_json::json!({ "role": role }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(())
    }

    /// Takes the group's lock for changes to its memberships until the transaction ends: two changes
    /// to one group's members go one after the other, so a rule on what remains (the last owner) is
    /// checked against what the other change left (PostgreSQL's row lock; SQLite has one writer).
    pub async fn lock_members(&mut self, group_id: &str) -> Result<()> {
        let done = sqlx::query("UPDATE groups SET plan = plan WHERE id = $1")
            .bind(group_id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "group {group_id} does not exist"
            )));
        }
        Ok(())
    }

    /// The role a person holds in a group, as this transaction sees it.
    pub async fn role_in(&mut self, person_id: &str, group_id: &str) -> Result<Option<Role>> {
        let row =
            sqlx::query("SELECT role FROM memberships WHERE person_id = $1 AND group_id = $2")
                .bind(person_id)
                .bind(group_id)
                .fetch_optional(self.conn())
                .await?;
        row.map(|row| -> Result<Role> {
            let role: String = row.try_get("role")?;
            role.parse()
                .map_err(|e| StoreError::corrupt("memberships.role", e))
        })
        .transpose()
    }

    /// How many people hold `role` in a group, as this transaction sees it.
    pub async fn count_role(&mut self, group_id: &str, role: Role) -> Result<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM memberships WHERE group_id = $1 AND role = $2")
                .bind(group_id)
                .bind(role.as_str())
                .fetch_one(self.conn())
                .await?;
        Ok(row.try_get("n")?)
    }

    /// Takes a person's role in a group away; false when they had none there.
    pub async fn remove_membership(
        &mut self,
        person_id: &str,
        group_id: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query("DELETE FROM memberships WHERE person_id = $1 AND group_id = $2")
            .bind(person_id)
            .bind(group_id)
            .execute(self.conn())
            .await?
            .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::MemberRemoved,
                actor: actor.to_string(),
                target: Some(person_id.to_string()),
                group_id: Some(group_id.to_string()),
                metadata: serde_json::json!({}),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }

    /// Replaces a person's password hash, and ends their web sessions but the one whose hash is
    /// `keep_session` (the one that made the change, if it was one).
    pub async fn set_password(
        &mut self,
        person_id: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        actor: &str,
    ) -> Result<u64> {
        sqlx::query("UPDATE people SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(person_id)
            .execute(self.conn())
            .await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE person_id = $1 AND token_hash <> $2")
            .bind(person_id)
            .bind(keep_session.unwrap_or(""))
            .execute(self.conn())
            .await?
            .rows_affected();
        let event = NewEvent {
            event_type: EventType::PasswordChanged,
            actor: actor.to_string(),
            target: Some(person_id.to_string()),
            group_id: None,
            metadata: serde_json::json!({ "sessions_ended": ended }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(ended)
    }

    pub async fn create_token(
        &mut self,
        person_id: &str,
        name: &str,
        token_hash: &str,
        expires_at: &str,
        actor: &str,
    ) -> Result<TokenRecord> {
        let token = TokenRecord {
            id: uuid::Uuid::now_v7().to_string(),
            person_id: person_id.to_string(),
            name: name.to_string(),
            token_hash: token_hash.to_string(),
            created_at: now_rfc3339(),
            expires_at: expires_at.to_string(),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, person_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(&token.person_id)
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(&token.created_at)
        .bind(&token.expires_at)
        .execute(self.conn())
        .await?;
        let event = NewEvent {
            event_type: EventType::TokenCreated,
            actor: actor.to_string(),
            target: Some(person_id.to_string()),
            group_id: None,
            metadata: serde_json::json!({ "token": token.id, "name": name, "expires_at": expires_at }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(token)
    }

    /// Revokes a token; false when there is no such token not yet revoked.
    pub async fn revoke_token(&mut self, token_id: &str, actor: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_rfc3339())
        .bind(token_id)
        .execute(self.conn())
        .await?
        .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::TokenRevoked,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata: serde_json::json!({ "token": token_id }),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }
}

impl Store {
    /// Every person, by email.
    pub async fn people(&self) -> Result<Vec<PersonRecord>> {
        let rows = sqlx::query(
            "SELECT id, email, display_name, password_hash, created_at FROM people ORDER BY email",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(person_from_row).collect()
    }

    /// Every role of every person, by person id.
    pub async fn all_memberships(
        &self,
    ) -> Result<std::collections::HashMap<String, Vec<Membership>>> {
        let rows = sqlx::query(
            "SELECT m.person_id, m.group_id, g.name, m.role FROM memberships m \
             JOIN groups g ON g.id = m.group_id ORDER BY g.name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: std::collections::HashMap<String, Vec<Membership>> = Default::default();
        for row in &rows {
            let role: String = row.try_get("role")?;
            out.entry(row.try_get("person_id")?)
                .or_default()
                .push(Membership {
                    group_id: row.try_get("group_id")?,
                    group: row.try_get("name")?,
                    role: role
                        .parse()
                        .map_err(|e| StoreError::corrupt("memberships.role", e))?,
                });
        }
        Ok(out)
    }

    /// The members of a group with their roles, by email.
    pub async fn members(&self, group_id: &str) -> Result<Vec<MemberRecord>> {
        let rows = sqlx::query(
            "SELECT p.id, p.email, p.display_name, m.role, m.created_at FROM memberships m \
             JOIN people p ON p.id = m.person_id WHERE m.group_id = $1 ORDER BY p.email",
        )
        .bind(group_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(MemberRecord {
                    person_id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    display_name: row.try_get("display_name")?,
                    role: role
                        .parse()
                        .map_err(|e| StoreError::corrupt("memberships.role", e))?,
                    since: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// A token by id (never its secret).
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, person_id, name, token_hash, created_at, expires_at, revoked_at FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Every person's tokens, with the email of whose each is, oldest first.
    pub async fn all_tokens(&self) -> Result<Vec<(TokenRecord, String)>> {
        let rows = sqlx::query(
            "SELECT t.id, t.person_id, t.name, t.token_hash, t.created_at, t.expires_at, t.revoked_at, \
             p.email FROM api_tokens t JOIN people p ON p.id = t.person_id ORDER BY t.created_at, t.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((token_from_row(row)?, row.try_get("email")?)))
            .collect()
    }

    pub async fn person_by_email(&self, email: &str) -> Result<Option<PersonRecord>> {
        let row = sqlx::query(
            "SELECT id, email, display_name, password_hash, created_at FROM people WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    pub async fn person(&self, id: &str) -> Result<Option<PersonRecord>> {
        let row = sqlx::query(
            "SELECT id, email, display_name, password_hash, created_at FROM people WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    pub async fn count_people(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM people")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The roles a person holds, with their groups' names.
    pub async fn memberships(&self, person_id: &str) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT m.group_id, g.name, m.role FROM memberships m JOIN groups g ON g.id = m.group_id \
             WHERE m.person_id = $1 ORDER BY g.name",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(Membership {
                    group_id: row.try_get("group_id")?,
                    group: row.try_get("name")?,
                    role: role
                        .parse()
                        .map_err(|e| StoreError::corrupt("memberships.role", e))?,
                })
            })
            .collect()
    }

    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, person_id, name, token_hash, created_at, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn tokens_of(&self, person_id: &str) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT id, person_id, name, token_hash, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE person_id = $1 ORDER BY created_at",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn create_session(
        &self,
        person_id: &str,
        token_hash: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(person_id)
        .bind(now_rfc3339())
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT person_id, created_at, expires_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| -> Result<SessionRecord> {
            Ok(SessionRecord {
                person_id: row.try_get("person_id")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// The sign-in attempts made by one client (`actor`: failed and succeeded sign-ins), newest first, at
    /// most `limit`: those on the account `target` only, when given; the failed ones only, when
    /// `failed_only`. Served by the partial index `events_sign_ins`: each condition on the type is one
    /// its index condition implies on both databases (checked with their query plans).
    pub async fn sign_ins_by(
        &self,
        actor: &str,
        target: Option<&str>,
        failed_only: bool,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let (failed, succeeded) = (
            EventType::SignInFailed.as_str(),
            EventType::SignedIn.as_str(),
        );
        // Event type names and a number, never user text: safe to inline.
        let types = if failed_only {
            format!("type = '{failed}'")
        } else {
            format!("(type = '{failed}' OR type = '{succeeded}')")
        };
        let mut sql = format!(
            "SELECT seq, id, type, actor, target, group_id, time, metadata FROM events \
             WHERE actor = $1 AND {types}"
        );
        if target.is_some() {
            sql.push_str(" AND target = $2");
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
        let mut query = sqlx::query(&sql).bind(actor);
        if let Some(target) = target {
            query = query.bind(target);
        }
        query
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?
            .rows_affected()
            == 1)
    }
}

fn person_from_row(row: &AnyRow) -> Result<PersonRecord> {
    Ok(PersonRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        person_id: row.try_get("person_id")?,
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
