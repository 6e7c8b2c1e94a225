//! `plughub search`.

use crate::cli::{SearchArgs, StoreArgs};
use crate::{context, output};
use anyhow::{Result, anyhow, bail};
use plughub_catalog::SearchRequest;
use plughub_domain::CoreMajor;

pub async fn run(store_args: &StoreArgs, args: SearchArgs) -> Result<()> {
    let mut request = SearchRequest::new(args.query.join(" "));
    request.topic = args.topic;
    request.compat = match &args.compat {
        Some(c) => Some(
            CoreMajor::parse(c).ok_or_else(|| anyhow!("--compat {c}: expected v0, v1 or v2"))?,
        ),
        None => None,
    };
    request.verified_compat_only = args.compat_verified;
    request.kind = args.kind;
    request.license = args.license;
    request.permission = args.permission;
    request.without_permissions = args
        .without_permission
        .iter()
        .flat_map(|list| SearchRequest::permission_list(list))
        .collect();
    request.min_rating = args.min_rating;
    request.runs = match &args.runs {
        Some(runs) => Some(runs.parse().map_err(|e: String| anyhow!("--runs: {e}"))?),
        None => None,
    };
    request.check_filters().map_err(|e| anyhow!("{e}"))?;
    request.verified = args.verified.then_some(true);
    request.deprecated = if args.include_deprecated {
        None
    } else {
        Some(false)
    };
    request.sort = args.sort.parse().map_err(|e: String| anyhow!(e))?;
    if args.page == 0 || args.per_page == 0 || args.per_page > SearchRequest::MAX_PER_PAGE {
        bail!(
            "--page starts at 1 and --per-page is between 1 and {}",
            SearchRequest::MAX_PER_PAGE
        );
    }
    request.page = args.page;
    request.per_page = args.per_page;
    request.facets = args.facets;

    let catalog = context::open_catalog(store_args).await?;
    let results = catalog.search(&request)?;
    if args.json {
        return output::print_json(&results);
    }
    let status = catalog.status().await?;
    if status.starter_only {
        eprintln!(
            "note: the catalogue is the starter carried by plughub (built {}); run `plughub catalog sync` for what npm has published since",
            status
                .starter_generated_at
                .as_deref()
                .map_or("?", |d| d.get(..10).unwrap_or(d))
        );
    }
    output::print_search(&results);
    Ok(())
}
