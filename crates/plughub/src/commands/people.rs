//! `plughub admin create-user | set-role | create-token | tokens | revoke-token`: people, their roles and
//! their API tokens. Secrets (a made password, a token) are printed once and never stored.

use crate::cli::{
    CreateTokenArgs, CreateUserArgs, InviteArgs, PersonArgs, RevokeTokenArgs, SetRoleArgs,
    StoreArgs,
};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
use plughub_accounts::Accounts;
use plughub_domain::Role;
use serde_json::json;

async fn accounts(store_args: &StoreArgs) -> Result<Accounts> {
    Ok(Accounts::new(context::open_store(store_args).await?))
}

fn role(text: &str) -> Result<Role> {
    text.parse().map_err(|e: String| anyhow!(e))
}

pub async fn create_user(store_args: &StoreArgs, args: CreateUserArgs) -> Result<()> {
    let role = args.role.as_deref().map(role).transpose()?;
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        None
    };
    let accounts = accounts(store_args).await?;
    let created = accounts
        .create_person_with_password(&args.email, &args.name, password.as_deref(), "cli")
        .await?;
    let person = created.person;
    let made = created.made_password;
    if let (Some(org), Some(role)) = (&args.org, role) {
        accounts.set_role(&person.email, org, role, "cli").await?;
    }
    if args.json {
        return output::print_json(&json!({
            "id": person.id, "email": person.email, "name": person.display_name,
            "password": made, "org": args.org, "role": role,
        }));
    }
    out!("created {} ({})", person.email, person.id);
    if let Some(password) = &made {
        out!("  password (shown this once): {password}");
    }
    if let (Some(org), Some(role)) = (&args.org, role) {
        out!("  {role} in {org}");
    }
    Ok(())
}

pub async fn set_role(store_args: &StoreArgs, args: SetRoleArgs) -> Result<()> {
    let role = role(&args.role)?;
    accounts(store_args)
        .await?
        .set_role(&args.email, &args.org, role, "cli")
        .await?;
    out!("{} is {role} in {}", args.email, args.org);
    Ok(())
}

pub async fn create_token(store_args: &StoreArgs, args: CreateTokenArgs) -> Result<()> {
    let (token, secret) = accounts(store_args)
        .await?
        .create_token(&args.email, &args.name, args.days, "cli")
        .await?;
    if args.json {
        return output::print_json(&json!({
            "id": token.id, "name": token.name, "expires_at": token.expires_at, "token": secret,
        }));
    }
    out!(
        "token {} for {} (expires {})",
        token.id,
        args.email,
        token.expires_at
    );
    out!("  {secret}");
    out!(
        "  shown this once: keep it somewhere safe; revoke it with `plughub admin revoke-token {}`",
        token.id
    );
    Ok(())
}

pub async fn tokens(store_args: &StoreArgs, args: PersonArgs) -> Result<()> {
    let tokens = accounts(store_args).await?.tokens(&args.email).await?;
    if args.json {
        return output::print_json(&tokens);
    }
    if tokens.is_empty() {
        out!("{} has no API token", args.email);
    }
    for t in tokens {
        let state = match &t.revoked_at {
            Some(at) => format!("revoked {at}"),
            None => format!("expires {}", t.expires_at),
        };
        out!("{}  {}  {state}", t.id, t.name);
    }
    Ok(())
}

pub async fn revoke_token(store_args: &StoreArgs, args: RevokeTokenArgs) -> Result<()> {
    accounts(store_args)
        .await?
        .revoke_token(&args.id, "cli")
        .await?;
    out!("revoked token {}", args.id);
    Ok(())
}

pub async fn invite(store_args: &StoreArgs, args: InviteArgs) -> Result<()> {
    let role = role(&args.role)?;
    let store = context::open_store(store_args).await?;
    let group = store.group_by_name(&args.org).await?.ok_or_else(|| {
        anyhow!(
            "no organisation named '{}' (create it with `plughub admin create-org {}`)",
            args.org,
            args.org
        )
    })?;
    let (invitation, secret) = Accounts::new(store)
        .invite(&group, role, args.email.as_deref(), args.days, "cli")
        .await?;
    let link = format!("/invitations/{secret}");
    if args.json {
        return output::print_json(&json!({
            "id": invitation.id, "org": invitation.group, "role": invitation.role,
            "email": invitation.email, "expires_at": invitation.expires_at,
            "link": link, "secret": secret,
        }));
    }
    out!(
        "invitation {} to {} as {role} (expires {})",
        invitation.id,
        invitation.group,
        invitation.expires_at
    );
    out!("  {link}");
    out!("  shown this once: give it to the person it is for; it is used once");
    Ok(())
}
