use crate::cli::{DevWatchArgs, StoreArgs};
use anyhow::Result;

pub async fn run(_store: &StoreArgs, _args: DevWatchArgs) -> Result<()> {
    anyhow::bail!("`plughub dev` (watch) is not built yet")
}
