use crate::cli::{DevTestArgs, StoreArgs};
use anyhow::Result;

pub async fn run(_store: &StoreArgs, _args: DevTestArgs) -> Result<()> {
    anyhow::bail!("`plughub dev test` is not built yet")
}
