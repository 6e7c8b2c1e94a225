mod admin;
mod audit;
mod catalog;
mod info;
mod install;
mod search;
mod serve;

use crate::cli::{AdminCommand, CatalogCommand, Cli, Command};
use anyhow::Result;

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.store, args).await,
        Command::Catalog(CatalogCommand::Sync(args)) => catalog::sync(&cli.store, args).await,
        Command::Catalog(CatalogCommand::Status(args)) => {
            catalog::status(&cli.store, args.json).await
        }
        Command::Catalog(CatalogCommand::BuildStarter(args)) => catalog::build_starter(args).await,
        Command::Search(args) => search::run(&cli.store, args).await,
        Command::Info(args) => info::run(&cli.store, args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Install(args) => install::install(&cli.store, args).await,
        Command::Uninstall(args) => install::uninstall(&cli.store, args).await,
        Command::Installed(args) => install::installed(&cli.store, args).await,
        Command::Configure(args) => install::configure(&cli.store, args).await,
        Command::Config(args) => install::show_config(&cli.store, args).await,
        Command::Admin(AdminCommand::CreateOrg(args)) => admin::create_org(&cli.store, args).await,
        Command::Admin(AdminCommand::Orgs(args)) => admin::orgs(&cli.store, args.json).await,
    }
}
