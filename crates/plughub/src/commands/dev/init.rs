use crate::cli::DevInitArgs;
use anyhow::Result;

pub async fn run(_args: DevInitArgs) -> Result<()> {
    anyhow::bail!("`plughub dev init` is not built yet")
}
