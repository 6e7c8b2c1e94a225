use crate::cli::{DevPublishArgs, RemoteArgs};
use anyhow::Result;

pub async fn run(_remote: &RemoteArgs, _args: DevPublishArgs) -> Result<()> {
    anyhow::bail!("`plughub dev publish` is not built yet")
}
