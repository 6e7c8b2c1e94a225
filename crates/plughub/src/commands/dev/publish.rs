//! `plughub dev publish`: pack as npm does, validate (errors stop it), show what goes up, and PUT the
//! tarball to a plughub registry with a publish token.

use crate::cli::{DevPublishArgs, RemoteArgs};
use crate::output::{self, out};
use anyhow::{Result, bail};
use plughub_sdk::publish::{Answer, PublishError, upload};
use serde_json::json;

pub async fn run(remote: &RemoteArgs, args: DevPublishArgs) -> Result<()> {
    // Where to and with what, asked first: nothing is packed for a publish that cannot happen.
    let target = if args.dry_run {
        None
    } else {
        let server = remote.server.clone().ok_or(PublishError::NoServer)?;
        let token = remote.token.clone().ok_or(PublishError::NoToken)?;
        Some((server, token))
    };
    let work = tempfile::tempdir()?;
    let outcome = super::validate::check(&args.dir.dir, work.path(), !args.json).await?;
    let v = &outcome.validation;
    let packed = match (&outcome.packed, v.ok) {
        (Some(packed), true) => packed,
        _ => {
            if args.json {
                output::print_json(&json!({ "published": false, "validation": v }))?;
            } else {
                super::validate::print(v);
            }
            bail!("not published: fix the errors above (`plughub dev validate` checks again)");
        }
    };
    let shown = json!({
        "name": packed.name,
        "version": packed.version,
        "tag": args.tag,
        "files": packed.files,
        "size": packed.size,
        "unpacked_size": packed.unpacked_size,
        "integrity": packed.integrity,
        "shasum": packed.shasum,
    });
    if !args.json {
        match &args.tag {
            Some(tag) => out!("{}@{} (tag {tag})", packed.name, packed.version),
            None => out!("{}@{}", packed.name, packed.version),
        }
        for f in &packed.files {
            out!("  {:>9}  {}", f.size, f.path);
        }
        out!(
            "{} file(s), {} bytes packed, {} unpacked",
            packed.files.len(),
            packed.size,
            packed.unpacked_size
        );
        out!("integrity {}", packed.integrity);
        out!("shasum    {}", packed.shasum);
        for p in &v.problems {
            out!("warning [{}]: {} (fix: {})", p.check, p.message, p.fix);
        }
    }
    let Some((server, token)) = target else {
        if args.json {
            output::print_json(&json!({ "dry_run": true, "package": shown, "validation": v }))?;
        } else {
            out!("dry run: nothing published");
        }
        return Ok(());
    };
    let answer = upload(
        &server,
        &token,
        &packed.name,
        args.tag.as_deref(),
        packed.bytes.clone(),
    )
    .await?;
    if args.json {
        output::print_json(&json!({ "package": shown, "answer": answer }))?;
    } else {
        match &answer {
            Answer::Published { body } => out!(
                "published {}@{} to {server} (tag {}; status {})",
                packed.name,
                packed.version,
                body["tag"]
                    .as_str()
                    .or(args.tag.as_deref())
                    .unwrap_or("none"),
                body["status"].as_str().unwrap_or("published")
            ),
            Answer::Quarantined { reasons, .. } => {
                out!(
                    "uploaded {}@{}, but QUARANTINED: a moderator reviews it before anyone can install it",
                    packed.name,
                    packed.version
                );
                for reason in reasons {
                    out!("  {reason}");
                }
            }
            Answer::Refused { .. } => {}
        }
    }
    if let Answer::Refused {
        status,
        code,
        message,
        what_to_do,
    } = answer
    {
        bail!("not published ({status} {code}): {message}\n  what to do: {what_to_do}");
    }
    Ok(())
}
