//! Sign-in that resists guessing. Password logins are throttled per (account, client address) and per
//! client address, unknown API tokens per client address, by the back-offs of
//! `plughub_domain::sign_in`. Every failure is an event (`sign_in_failed`), as are successful logins
//! (`signed_in`) and refusals to try (`sign_in_throttled`); the throttle counts those events in the
//! store, so it holds across every server sharing it. Nothing secret is recorded: no password, no token.
//!
//! On each server, attempts from one address take turns, so that a burst of parallel guesses is counted
//! one by one instead of all passing the check before any failure is recorded (across N servers at most
//! N go at once). A wait an address has earned is also kept here, so that while it lasts every token it
//! presents is refused without asking the store, a valid one too: a guess that happens to be right must
//! not be told apart from one that is wrong.

use crate::{AccountError, Accounts, PLATFORM_GROUP, SESSION_HOURS, SESSION_PREFIX};
use crate::{dummy_hash, new_secret, normalise_email, rfc3339, verify_password};
use plughub_domain::access::Principal;
use plughub_domain::sign_in::{
    Backoff, Outcome, PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS, Verdict, address_key,
};
use plughub_domain::{EventType, NewEvent, StoredEvent};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Entries each of this server's maps keeps at most (past it they are dropped: the store still holds
/// every failure, and the next attempt reads it again).
const REMEMBERED: usize = 10_000;

/// This server's part of the throttle: turns per address, and what it learned of waits.
#[derive(Default)]
pub(crate) struct SignIns {
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The end (ms since the epoch) of the wait each client address is known to be in.
    waits: Mutex<HashMap<String, i64>>,
    /// The end of the last wait recorded as a `sign_in_throttled` event, by (client, account): one
    /// event a wait, however often a client knocks during it.
    reported: Mutex<HashMap<(String, String), i64>>,
    platform_group: Mutex<Option<String>>,
}

/// A request's client: its address, and the actor its sign-in events are recorded under (its throttle
/// key: the address, or an IPv6 address's /64).
struct Client {
    address: IpAddr,
    actor: String,
}

impl Client {
    fn of(address: IpAddr) -> Client {
        Client {
            address,
            actor: format!("client:{}", address_key(address)),
        }
    }
}

/// How a client tried to sign in, as recorded.
#[derive(Clone, Copy)]
enum With {
    Password,
    Token,
}

impl With {
    fn as_str(self) -> &'static str {
        match self {
            With::Password => "password",
            With::Token => "token",
        }
    }
}

impl Accounts {
    /// A password login from `from`: a session secret for a cookie, and when it ends. Refused with
    /// `Throttled` while this account from this address, or this address, has failed too often.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<(String, String), AccountError> {
        let typed: String = email
            .trim()
            .to_ascii_lowercase()
            .chars()
            .take(254)
            .collect();
        let person = match normalise_email(email) {
            Ok(email) => self.store.person_by_email(&email).await?,
            Err(_) => None,
        };
        // An unknown email is throttled like a known one: the answers do not tell them apart.
        let account = person
            .as_ref()
            .map_or_else(|| typed.clone(), |p| p.id.clone());
        let client = Client::of(from);
        let _turn = self.sign_ins.turn(&client.actor).await;
        let now = now_ms();
        let by_pair = self
            .verdict(&client, Some(&account), &PER_ACCOUNT_AND_ADDRESS, now)
            .await?;
        let by_address = self.verdict(&client, None, &PER_ADDRESS, now).await?;
        if let Verdict::Wait { until } = by_address {
            self.sign_ins.note_wait(&client.actor, until);
        }
        if let Verdict::Wait { until } = by_pair.and(by_address) {
            let by = if by_address == Verdict::Allowed {
                "account_and_address"
            } else {
                "address"
            };
            let detail = json!({ "email": typed, "by": by });
            return Err(self
                .throttled(&client, Some(&account), With::Password, detail, until, now)
                .await);
        }
        // The same answer, and about the same time, for an unknown email and a wrong password.
        let hash = person
            .as_ref()
            .and_then(|p| p.password_hash.clone())
            .unwrap_or_else(dummy_hash);
        let matches = verify_password(password, &hash);
        let Some(person) = person.filter(|p| matches && p.password_hash.is_some()) else {
            self.failed(
                &client,
                Some(&account),
                With::Password,
                json!({ "email": typed }),
                now,
            )
            .await?;
            return Err(AccountError::BadLogin);
        };
        let (secret, expires) = self.start_session(&person.id).await?;
        // Ends the run of failures on this account from this address.
        self.record(
            EventType::SignedIn,
            &client,
            Some(&person.id),
            json!({ "with": With::Password.as_str(), "email": person.email }),
        )
        .await?;
        Ok((secret, expires))
    }

    /// A new web session of a person: its secret, for a cookie, and when it ends.
    pub(crate) async fn start_session(
        &self,
        person_id: &str,
    ) -> Result<(String, String), AccountError> {
        let (secret, hash) = new_secret(SESSION_PREFIX)?;
        let expires = rfc3339(OffsetDateTime::now_utc() + time::Duration::hours(SESSION_HOURS));
        self.store
            .create_session(person_id, &hash, &expires)
            .await?;
        Ok((secret, expires))
    }

    /// A person changes their password, from `from`, giving the current one: checked as a login checks
    /// it, throttled with the logins of the same account and address (a wrong one is a failed sign-in).
    /// Their other web sessions end; `keep_session`, the session the change came from, stays. API tokens
    /// stay: they are revoked one by one. Returns how many sessions ended.
    pub async fn change_password(
        &self,
        person_id: &str,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
        from: IpAddr,
    ) -> Result<u64, AccountError> {
        if new.chars().count() < crate::MIN_PASSWORD_CHARS {
            return Err(AccountError::WeakPassword);
        }
        let person = self
            .store
            .person(person_id)
            .await?
            .ok_or(AccountError::SessionEnded)?;
        let client = Client::of(from);
        let _turn = self.sign_ins.turn(&client.actor).await;
        let now = now_ms();
        let by_pair = self
            .verdict(&client, Some(&person.id), &PER_ACCOUNT_AND_ADDRESS, now)
            .await?;
        let by_address = self.verdict(&client, None, &PER_ADDRESS, now).await?;
        if let Verdict::Wait { until } = by_pair.and(by_address) {
            let detail = json!({ "email": person.email, "by": "password_change" });
            return Err(self
                .throttled(
                    &client,
                    Some(&person.id),
                    With::Password,
                    detail,
                    until,
                    now,
                )
                .await);
        }
        let hash = person.password_hash.clone().unwrap_or_else(dummy_hash);
        if !(verify_password(current, &hash) && person.password_hash.is_some()) {
            self.failed(
                &client,
                Some(&person.id),
                With::Password,
                json!({ "email": person.email, "changing_password": true }),
                now,
            )
            .await?;
            return Err(AccountError::WrongPassword);
        }
        let new_hash = crate::hash_password(new)?;
        let mut tx = self.store.begin().await?;
        let ended = tx
            .set_password(
                &person.id,
                &new_hash,
                keep_session.map(crate::hash_secret).as_deref(),
                &person.email,
            )
            .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// `authenticate_token` for a request from `from`: an unknown token is a failed sign-in of the
    /// address, and an address that has failed too often is refused with `Throttled`, whatever token it
    /// presents, until its wait ends. Revoked and expired tokens are known, and are not failures.
    pub async fn authenticate_token_from(
        &self,
        secret: &str,
        from: IpAddr,
    ) -> Result<Principal, AccountError> {
        let client = Client::of(from);
        let now = now_ms();
        if let Some(until) = self.sign_ins.known_wait(&client.actor, now) {
            return Err(self
                .throttled(&client, None, With::Token, Value::Null, until, now)
                .await);
        }
        match self.authenticate_token(secret).await {
            Err(AccountError::UnknownToken) => {}
            known => return known,
        }
        let _turn = self.sign_ins.turn(&client.actor).await;
        let now = now_ms();
        if let Verdict::Wait { until } = self.verdict(&client, None, &PER_ADDRESS, now).await? {
            self.sign_ins.note_wait(&client.actor, until);
            return Err(self
                .throttled(&client, None, With::Token, Value::Null, until, now)
                .await);
        }
        self.failed(&client, None, With::Token, Value::Null, now)
            .await?;
        Err(AccountError::UnknownToken)
    }

    /// Whether `client` may try now: on `account` (its attempts there, a success ending the failures),
    /// or on any (its failures).
    async fn verdict(
        &self,
        client: &Client,
        account: Option<&str>,
        rule: &Backoff,
        now: i64,
    ) -> Result<Verdict, AccountError> {
        let history = self
            .store
            .sign_ins_by(
                &client.actor,
                account,
                account.is_none(),
                rule.history_needed(),
            )
            .await?;
        Ok(rule.verdict(now, history.iter().map(attempt)))
    }

    /// Records a failed attempt; a wait of the address it starts is known here at once.
    async fn failed(
        &self,
        client: &Client,
        account: Option<&str>,
        with: With,
        detail: Value,
        now: i64,
    ) -> Result<(), AccountError> {
        let mut metadata = json!({ "with": with.as_str() });
        merge(&mut metadata, detail);
        self.record(EventType::SignInFailed, client, account, metadata)
            .await?;
        if let Verdict::Wait { until } = self.verdict(client, None, &PER_ADDRESS, now).await? {
            self.sign_ins.note_wait(&client.actor, until);
        }
        Ok(())
    }

    /// The refusal to try before `until`, recorded once a wait.
    async fn throttled(
        &self,
        client: &Client,
        account: Option<&str>,
        with: With,
        detail: Value,
        until: i64,
        now: i64,
    ) -> AccountError {
        let retry_after = Verdict::Wait { until }.retry_after_secs(now).max(1);
        let until_text = OffsetDateTime::from_unix_timestamp_nanos(i128::from(until) * 1_000_000)
            .map(rfc3339)
            .unwrap_or_default();
        if self.sign_ins.first_report(&client.actor, account, until) {
            let mut metadata =
                json!({ "with": with.as_str(), "retry_after": retry_after, "until": until_text });
            merge(&mut metadata, detail);
            if let Err(e) = self
                .record(EventType::SignInThrottled, client, account, metadata)
                .await
            {
                return e;
            }
        }
        AccountError::Throttled {
            retry_after,
            until: until_text,
        }
    }

    /// Appends a sign-in event of `client` (about `account`, when there is one) in the platform group.
    async fn record(
        &self,
        event_type: EventType,
        client: &Client,
        account: Option<&str>,
        mut metadata: Value,
    ) -> Result<(), AccountError> {
        merge(
            &mut metadata,
            json!({ "address": client.address.to_string() }),
        );
        let event = NewEvent {
            event_type,
            actor: client.actor.clone(),
            target: account.map(str::to_string),
            group_id: self.platform_group().await?,
            metadata,
        };
        self.store.append_event(&event).await?;
        Ok(())
    }

    /// The platform group's id, once it exists (it is made at the first start).
    async fn platform_group(&self) -> Result<Option<String>, AccountError> {
        if let Some(id) = self
            .sign_ins
            .platform_group
            .lock()
            .expect("not poisoned")
            .clone()
        {
            return Ok(Some(id));
        }
        let id = self
            .store
            .group_by_name(PLATFORM_GROUP)
            .await?
            .map(|g| g.id);
        if let Some(id) = &id {
            *self.sign_ins.platform_group.lock().expect("not poisoned") = Some(id.clone());
        }
        Ok(id)
    }
}

impl SignIns {
    /// Waits for the turn of `actor` on this server; the turn ends when the guard is dropped.
    async fn turn(&self, actor: &str) -> Turn<'_> {
        let lock = self
            .turns
            .lock()
            .expect("not poisoned")
            .entry(actor.to_string())
            .or_default()
            .clone();
        Turn {
            turns: &self.turns,
            actor: actor.to_string(),
            guard: Some(lock.lock_owned().await),
        }
    }

    fn note_wait(&self, actor: &str, until: i64) {
        let mut waits = self.waits.lock().expect("not poisoned");
        if waits.len() >= REMEMBERED {
            waits.clear();
        }
        let known = waits.entry(actor.to_string()).or_default();
        *known = (*known).max(until);
    }

    fn known_wait(&self, actor: &str, now: i64) -> Option<i64> {
        let mut waits = self.waits.lock().expect("not poisoned");
        match waits.get(actor) {
            Some(until) if *until > now => Some(*until),
            Some(_) => {
                waits.remove(actor);
                None
            }
            None => None,
        }
    }

    /// Whether the wait ending at `until` is not yet recorded for this client and account.
    fn first_report(&self, actor: &str, account: Option<&str>, until: i64) -> bool {
        let mut reported = self.reported.lock().expect("not poisoned");
        if reported.len() >= REMEMBERED {
            reported.clear();
        }
        let last = reported
            .entry((actor.to_string(), account.unwrap_or_default().to_string()))
            .or_default();
        // The same wait may be computed a few milliseconds apart from events read at different times.
        if *last >= until - 1_000 {
            return false;
        }
        *last = until;
        true
    }
}

/// One client's turn; dropping it lets the next attempt of the same client go, and forgets the
/// client's lock once nobody waits on it.
struct Turn<'a> {
    turns: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    actor: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut turns = self.turns.lock().expect("not poisoned");
        self.guard.take();
        // Only the map's own handle left: nobody holds or awaits this client's turn.
        if turns
            .get(&self.actor)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            turns.remove(&self.actor);
        }
    }
}

/// A sign-in event as an attempt of the back-off: its time (ms since the epoch) and outcome. A time
/// that cannot be read counts as long ago.
fn attempt(event: &StoredEvent) -> (i64, Outcome) {
    let at = OffsetDateTime::parse(&event.time, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0);
    let outcome = if event.event_type == EventType::SignedIn {
        Outcome::Succeeded
    } else {
        Outcome::Failed
    };
    (at, outcome)
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Adds the fields of `more` (an object, or nothing) to `into`.
fn merge(into: &mut Value, more: Value) {
    if let (Value::Object(into), Value::Object(more)) = (into, more) {
        into.extend(more);
    }
}
