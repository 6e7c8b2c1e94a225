use crate::cli::{DevLogsArgs, StoreArgs};
use anyhow::Result;

pub async fn run(_store: &StoreArgs, _args: DevLogsArgs) -> Result<()> {
    anyhow::bail!("`plughub dev logs` is not built yet")
}
