//! `plughub info`.

use crate::cli::{InfoArgs, StoreArgs};
use crate::{context, output};
use anyhow::Result;

pub async fn run(store_args: &StoreArgs, args: InfoArgs) -> Result<()> {
    let catalog = context::open_catalog(store_args).await?;
    let detail = catalog.info(&args.plugin).await?;
    if args.json {
        output::print_json(&detail)
    } else {
        output::print_info(&detail, args.readme);
        Ok(())
    }
}
