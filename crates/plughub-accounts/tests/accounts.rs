//! People, roles, tokens and sessions on both backends: a real SQLite file and a real PostgreSQL.

use plughub_accounts::{AccountError, Accounts, MIN_PASSWORD_CHARS};
use plughub_domain::access::{Action, Denial};
use plughub_domain::{Plan, Role};
use plughub_testkit::{BACKENDS, TestStore};
use std::net::{IpAddr, Ipv4Addr};

/// Where the sign-ins of these tests come from.
const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn with_orgs(t: &TestStore) -> Accounts {
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    Accounts::new(t.store.clone())
}

#[tokio::test]
async fn tokens_carry_their_person_s_roles_until_revoked_or_expired() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let accounts = with_orgs(&t).await;
        accounts
            .create_person("Ada@Acme.test", "Ada", None, "test")
            .await
            .unwrap();
        accounts
            .set_role("ada@acme.test", "acme", Role::OrgOwner, "test")
            .await
            .unwrap();
        let (token, secret) = accounts
            .create_token("ada@acme.test", "ci", 30, "test")
            .await
            .unwrap();
        assert!(secret.starts_with("phk_"));
        // Only the hash is stored.
        let stored = t.store.tokens_of(&token.person_id).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0].token_hash, secret);
        assert!(!stored[0].token_hash.contains(&secret[4..]));

        let who = accounts.authenticate_token(&secret).await.unwrap();
        assert_eq!(who.email, "ada@acme.test", "{backend:?}");
        let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
        let globex = t.store.group_by_name("globex").await.unwrap().unwrap();
        assert_eq!(who.may(Action::ManagePlugins, Some(&acme.id)), Ok(()));
        assert_eq!(
            who.may(Action::ViewGroup, Some(&globex.id)),
            Err(Denial::NotFound),
            "another group does not exist for her"
        );

        let bad = accounts.authenticate_token("phk_not-a-token").await;
        assert!(matches!(bad, Err(AccountError::UnknownToken)), "{bad:?}");
        accounts.revoke_token(&token.id, "test").await.unwrap();
        let revoked = accounts.authenticate_token(&secret).await;
        assert!(
            matches!(revoked, Err(AccountError::RevokedToken(_))),
            "{revoked:?}"
        );
        assert!(matches!(
            accounts.revoke_token(&token.id, "test").await,
            Err(AccountError::NoSuchToken(_))
        ));

        // A token past its expiry says so (made directly in the store, as time passing would leave it).
        let (old_secret, old_hash) = plughub_accounts::new_secret("phk").unwrap();
        let past =
            plughub_store::format_time(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
        let mut tx = t.store.begin().await.unwrap();
        tx.create_token(&token.person_id, "old", &old_hash, &past, "test")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let expired = accounts.authenticate_token(&old_secret).await;
        assert!(
            matches!(expired, Err(AccountError::ExpiredToken(_))),
            "{expired:?}"
        );
        assert!(matches!(
            accounts.create_token("ada@acme.test", "x", 0, "test").await,
            Err(AccountError::BadExpiry)
        ));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn passwords_log_in_to_sessions_and_bad_ones_say_nothing_more() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let accounts = with_orgs(&t).await;
        let short = "x".repeat(MIN_PASSWORD_CHARS - 1);
        assert!(matches!(
            accounts
                .create_person("bo@acme.test", "Bo", Some(&short), "test")
                .await,
            Err(AccountError::WeakPassword)
        ));
        assert!(matches!(
            accounts
                .create_person("not-an-email", "Bo", None, "test")
                .await,
            Err(AccountError::BadEmail(_))
        ));
        let password = "a long enough password";
        accounts
            .create_person("bo@acme.test", "Bo", Some(password), "test")
            .await
            .unwrap();
        let again = accounts
            .create_person("BO@acme.test", "Bo", None, "test")
            .await;
        assert!(again.unwrap_err().to_string().contains("exists already"));
        accounts
            .set_role("bo@acme.test", "acme", Role::OrgUser, "test")
            .await
            .unwrap();

        for (email, pass) in [
            ("bo@acme.test", "wrong password!!"),
            ("nobody@acme.test", password),
        ] {
            let failed = accounts.login(email, pass, HERE).await;
            assert!(matches!(failed, Err(AccountError::BadLogin)), "{failed:?}");
        }
        let (session, _expires) = accounts
            .login("bo@acme.test", password, HERE)
            .await
            .unwrap();
        let who = accounts.authenticate_session(&session).await.unwrap();
        let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
        assert_eq!(who.may(Action::Run, Some(&acme.id)), Ok(()));
        assert!(matches!(
            who.may(Action::ManagePlugins, Some(&acme.id)),
            Err(Denial::Forbidden { .. })
        ));
        accounts.logout(&session).await.unwrap();
        assert!(matches!(
            accounts.authenticate_session(&session).await,
            Err(AccountError::SessionEnded)
        ));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_first_start_makes_one_platform_owner() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let accounts = Accounts::new(t.store.clone());
        let owner = accounts.first_start("test").await.unwrap().expect("made");
        let (session, _) = accounts
            .login(&owner.email, &owner.password, HERE)
            .await
            .unwrap();
        let who = accounts.authenticate_session(&session).await.unwrap();
        assert!(who.is_platform_owner());
        assert_eq!(who.may(Action::ManageOrganisations, None), Ok(()));
        // And an organisation of their own, to install plugins in at once.
        assert_eq!(owner.org.as_deref(), Some(plughub_accounts::FIRST_ORG));
        let org = t
            .store
            .group_by_name(plughub_accounts::FIRST_ORG)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(who.may(Action::ManagePlugins, Some(&org.id)), Ok(()));
        assert!(accounts.first_start("test").await.unwrap().is_none());
        t.cleanup().await;
    }
}

/// Two servers on one store: a token revoked on one is refused there at once, and on the other once
/// its last check there is `TOKEN_RECHECK` old.
#[tokio::test]
async fn a_revocation_on_one_server_reaches_another_within_the_recheck_time() {
    let t = TestStore::new(plughub_testkit::TestBackend::Postgres).await;
    let here = with_orgs(&t).await;
    let there = Accounts::new(t.reopen().await);
    here.create_person("bo@acme.test", "Bo", None, "test")
        .await
        .unwrap();
    here.set_role("bo@acme.test", "acme", Role::OrgUser, "test")
        .await
        .unwrap();
    let (token, secret) = here
        .create_token("bo@acme.test", "ci", 30, "test")
        .await
        .unwrap();
    there.authenticate_token(&secret).await.unwrap();
    here.authenticate_token(&secret).await.unwrap();
    here.revoke_token(&token.id, "test").await.unwrap();
    assert!(matches!(
        here.authenticate_token(&secret).await,
        Err(AccountError::RevokedToken(_))
    ));
    tokio::time::sleep(plughub_accounts::TOKEN_RECHECK + std::time::Duration::from_millis(100))
        .await;
    assert!(matches!(
        there.authenticate_token(&secret).await,
        Err(AccountError::RevokedToken(_))
    ));
    t.cleanup().await;
}

/// Wrong passwords are throttled per (account, address) and per address, unknown tokens per address;
/// the counts live in the store, so a second server on it refuses as well. Both backends: the queries
/// read the events through a partial index on each.
#[tokio::test]
async fn failed_sign_ins_are_throttled_by_account_and_address_and_by_address() {
    let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
        "198.51.100.1".parse().unwrap(),
        "198.51.100.2".parse().unwrap(),
        "2001:db8:7:7::1".parse().unwrap(),
    );
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let accounts = with_orgs(&t).await;
        let other_server = Accounts::new(t.store.clone());
        let password = "a long enough password";
        accounts
            .create_person("bo@acme.test", "Bo", Some(password), "test")
            .await
            .unwrap();
        for _ in 0..5 {
            let failed = accounts.login("bo@acme.test", "not it at all", a).await;
            assert!(matches!(failed, Err(AccountError::BadLogin)), "{failed:?}");
        }
        // The right password does not help from a, on this server or another.
        for server in [&accounts, &other_server] {
            let refused = server.login("bo@acme.test", password, a).await;
            let Err(AccountError::Throttled { retry_after, until }) = refused else {
                panic!("{backend:?}: {refused:?}");
            };
            assert!((1..=30).contains(&retry_after), "{retry_after}");
            assert!(until.ends_with('Z'), "{until}");
        }
        // Bo elsewhere is not locked out, and neither is another account from a.
        accounts.login("bo@acme.test", password, b).await.unwrap();
        let other = accounts
            .login("nobody@acme.test", "whatever it is", a)
            .await;
        assert!(matches!(other, Err(AccountError::BadLogin)), "{other:?}");

        let count = |event_type, actor: &str| {
            let store = t.store.clone();
            let actor = actor.to_string();
            async move {
                store
                    .events(&plughub_store::EventFilter {
                        event_type: Some(event_type),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|e| e.actor == actor)
                    .collect::<Vec<_>>()
            }
        };
        use plughub_domain::EventType::{SignInFailed, SignInThrottled, SignedIn};
        let failed = count(SignInFailed, "client:198.51.100.1").await;
        assert_eq!(failed.len(), 6, "{backend:?}");
        assert_eq!(failed[0].metadata["email"], "bo@acme.test");
        assert_eq!(failed[0].metadata["with"], "password");
        assert_eq!(failed[0].metadata["address"], "198.51.100.1");
        assert!(
            !failed[0].metadata.to_string().contains("not it at all"),
            "no password is recorded"
        );
        // One refusal recorded per server for the wait, however often it knocked.
        assert!(accounts.login("bo@acme.test", password, a).await.is_err());
        assert_eq!(count(SignInThrottled, "client:198.51.100.1").await.len(), 2);
        assert_eq!(count(SignedIn, "client:198.51.100.2").await.len(), 1);

        // Unknown tokens from an IPv6 client: 20 are answered, then its whole /64 waits, whatever
        // token it presents.
        let (_, valid) = accounts
            .create_token("bo@acme.test", "ci", 1, "test")
            .await
            .unwrap();
        for i in 0..20 {
            let unknown = accounts
                .authenticate_token_from(&format!("phk_guess{i}"), c)
                .await;
            assert!(
                matches!(unknown, Err(AccountError::UnknownToken)),
                "{i}: {unknown:?}"
            );
        }
        let neighbour: IpAddr = "2001:db8:7:7::2".parse().unwrap();
        for (server, token, from) in [
            (&accounts, "phk_guess20", c),
            (&accounts, valid.as_str(), c),
            (&accounts, valid.as_str(), neighbour),
            (&other_server, "phk_guess21", c),
        ] {
            let refused = server.authenticate_token_from(token, from).await;
            assert!(
                matches!(refused, Err(AccountError::Throttled { .. })),
                "{backend:?} {from}: {refused:?}"
            );
        }
        // Its password logins wait too (the address counts them all); other addresses do not.
        assert!(matches!(
            accounts.login("bo@acme.test", password, c).await,
            Err(AccountError::Throttled { .. })
        ));
        let who = accounts.authenticate_token_from(&valid, a).await.unwrap();
        assert_eq!(who.email, "bo@acme.test");
        let tokens = count(SignInFailed, "client:2001:db8:7:7::/64").await;
        assert_eq!(tokens.len(), 20);
        assert_eq!(tokens[0].metadata["with"], "token");
        assert_eq!(tokens[0].target, None);
        t.cleanup().await;
    }
}

/// Two owners demoting each other at the same moment: the group's memberships are locked for each
/// change, so one goes through and the other finds itself the last owner, on both databases.
#[tokio::test(flavor = "multi_thread")]
async fn two_owners_stepping_down_at_once_leave_one() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let accounts = with_orgs(&t).await;
        for email in ["ada@acme.test", "bo@acme.test"] {
            accounts
                .create_person(email, "", None, "test")
                .await
                .unwrap();
            accounts
                .set_role(email, "acme", Role::OrgOwner, "test")
                .await
                .unwrap();
        }
        for _ in 0..3 {
            let (a, b) = tokio::join!(
                accounts.change_role("ada@acme.test", "acme", Role::OrgUser, "test"),
                accounts.remove_member("bo@acme.test", "acme", "test"),
            );
            let refused = [&a, &b]
                .iter()
                .filter(|r| matches!(r, Err(AccountError::LastOwner { .. })))
                .count();
            assert_eq!(refused, 1, "{backend:?}: {a:?} {b:?}");
            assert!(a.is_ok() || b.is_ok(), "{backend:?}: {a:?} {b:?}");
            let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
            let owners: Vec<_> = t
                .store
                .members(&acme.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.role == Role::OrgOwner)
                .collect();
            assert_eq!(owners.len(), 1, "{backend:?}");
            // Both owners again for the next round.
            for email in ["ada@acme.test", "bo@acme.test"] {
                accounts
                    .set_role(email, "acme", Role::OrgOwner, "test")
                    .await
                    .unwrap();
            }
        }
        // platform_owner is held on the platform only, and org roles nowhere else.
        assert!(matches!(
            accounts
                .set_role("ada@acme.test", "acme", Role::PlatformOwner, "test")
                .await,
            Err(AccountError::RoleNotHere(_))
        ));
        t.cleanup().await;
    }
}

/// An invitation's link works once: two acceptances at the same moment give the role once.
#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_is_accepted_once() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let accounts = with_orgs(&t).await;
        let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
        let (invitation, secret) = accounts
            .invite(&acme, Role::OrgUser, None, 7, "test")
            .await
            .unwrap();
        assert!(secret.starts_with("phi_"));
        let (a, b) = tokio::join!(
            accounts.accept_invitation_as_new(
                &secret,
                "cy@acme.test",
                "a long enough password",
                ""
            ),
            accounts.accept_invitation_as_new(
                &secret,
                "dee@acme.test",
                "a long enough password",
                ""
            ),
        );
        assert_eq!(
            [&a, &b].iter().filter(|r| r.is_ok()).count(),
            1,
            "{backend:?}: {:?} {:?}",
            a.as_ref().err(),
            b.as_ref().err()
        );
        // Nothing half-written: the one refused was not made a person.
        let people = t.store.people().await.unwrap();
        assert_eq!(people.len(), 1, "{backend:?}");
        assert_eq!(t.store.members(&acme.id).await.unwrap().len(), 1);
        let stored = t
            .store
            .invitation_by_hash(&plughub_accounts::hash_secret(&secret))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.id, invitation.id);
        assert!(stored.accepted_at.is_some());
        assert!(matches!(
            accounts.invitation(&secret).await,
            Err(AccountError::UnknownInvitation)
        ));
        t.cleanup().await;
    }
}
