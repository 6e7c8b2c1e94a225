use crate::cli::{DevValidateArgs, StoreArgs};
use anyhow::Result;

pub async fn run(_store: &StoreArgs, _args: DevValidateArgs) -> Result<()> {
    anyhow::bail!("`plughub dev validate` is not built yet")
}
