mod admin;
mod agents;
mod audit;
mod backup;
mod catalog;
mod compat;
mod dev;
mod doctor;
mod info;
mod install;
mod logs;
mod people;
mod permissions;
mod remote;
mod run;
mod search;
mod serve;
mod settings;
mod smoke;
mod versions;

use crate::cli::{AdminCommand, AgentCommand, CatalogCommand, Cli, Command, CompatCommand};
use anyhow::Result;

pub async fn run(cli: Cli) -> Result<()> {
    let remote = match &cli.remote.server {
        Some(server) => Some(crate::remote::Remote::new(
            server,
            cli.remote.token.clone(),
        )?),
        None => None,
    };
    // `dev publish` takes --server and --token as where to publish; the rest of `dev` works locally.
    if let Command::Dev(args) = cli.command {
        return dev::run(&cli.store, &cli.remote, args).await;
    }
    if let Command::Smoke(args) = cli.command {
        return smoke::run(remote, args).await;
    }
    if let Some(remote) = remote {
        return remote::run(&remote, cli.command).await;
    }
    match cli.command {
        Command::Serve(args) => serve::run(&cli.store, &cli.egress, args).await,
        Command::Catalog(CatalogCommand::Sync(args)) => catalog::sync(&cli.store, args).await,
        Command::Catalog(CatalogCommand::Status(args)) => {
            catalog::status(&cli.store, args.json).await
        }
        Command::Catalog(CatalogCommand::BuildStarter(args)) => catalog::build_starter(args).await,
        Command::Catalog(CatalogCommand::Analyze(args)) => catalog::analyze(&cli.store, args).await,
        Command::Search(args) => search::run(&cli.store, args).await,
        Command::Info(args) => info::run(&cli.store, args).await,
        Command::Audit(args) => audit::run(&cli.store, args).await,
        Command::Install(args) => install::install(&cli.store, args).await,
        Command::Uninstall(args) => install::uninstall(&cli.store, args).await,
        Command::Installed(args) => install::installed(&cli.store, args).await,
        Command::Configure(args) => settings::configure(&cli.store, args).await,
        Command::Config(args) => settings::show_config(&cli.store, args).await,
        Command::Activate(args) => agents::activate(&cli.store, args).await,
        Command::Deactivate(args) => agents::deactivate(&cli.store, args).await,
        Command::Update(args) => versions::update(&cli.store, args).await,
        Command::Rollback(args) => versions::rollback(&cli.store, args).await,
        Command::Run(args) => run::run(&cli.store, &cli.egress, args).await,
        Command::Provide(args) => run::provide(&cli.store, &cli.egress, args, false).await,
        Command::Evaluate(args) => run::provide(&cli.store, &cli.egress, args, true).await,
        Command::Route(args) => run::route(&cli.store, &cli.egress, args).await,
        Command::Inspect(args) => run::inspect(&cli.store, &cli.egress, args).await,
        Command::Resume(args) => agents::resume(&cli.store, args).await,
        Command::Logs(args) => logs::run(&cli.store, args).await,
        Command::Smoke(_) => unreachable!("answered above"),
        Command::Permissions(args) => permissions::show(&cli.store, args).await,
        Command::Grant(args) => permissions::grant(&cli.store, args).await,
        Command::Revoke(args) => permissions::revoke(&cli.store, args).await,
        Command::Doctor(args) => doctor::run(&cli.store, args).await,
        Command::Compat(CompatCommand::Run(args)) => compat::run(&cli.store, args).await,
        Command::Compat(CompatCommand::Report(args)) => compat::report(&cli.store, args).await,
        Command::Compat(CompatCommand::Show(args)) => compat::show(&cli.store, args).await,
        Command::Agent(AgentCommand::Create(args)) => agents::create(&cli.store, args).await,
        Command::Agent(AgentCommand::List(args)) => agents::list(&cli.store, args).await,
        Command::Agent(AgentCommand::Export(args)) => agents::export(&cli.store, args).await,
        Command::Agent(AgentCommand::Models(args)) => agents::models(&cli.store, args).await,
        Command::Admin(AdminCommand::RotateKey(args)) => {
            settings::rotate_key(&cli.store, args).await
        }
        Command::Admin(AdminCommand::CreateOrg(args)) => admin::create_org(&cli.store, args).await,
        Command::Admin(AdminCommand::Orgs(args)) => admin::orgs(&cli.store, args.json).await,
        Command::Admin(AdminCommand::CreateUser(args)) => {
            people::create_user(&cli.store, args).await
        }
        Command::Admin(AdminCommand::SetRole(args)) => people::set_role(&cli.store, args).await,
        Command::Admin(AdminCommand::CreateToken(args)) => {
            people::create_token(&cli.store, args).await
        }
        Command::Admin(AdminCommand::Tokens(args)) => people::tokens(&cli.store, args).await,
        Command::Admin(AdminCommand::Invite(args)) => people::invite(&cli.store, args).await,
        Command::Admin(AdminCommand::RevokeToken(args)) => {
            people::revoke_token(&cli.store, args).await
        }
        Command::Admin(AdminCommand::Backup(args)) => backup::backup(&cli.store, args).await,
        Command::Admin(AdminCommand::Restore(args)) => backup::restore(&cli.store, args).await,
        Command::Admin(AdminCommand::ExportOrg(args)) => admin::export_org(&cli.store, args).await,
        Command::Admin(AdminCommand::DeleteOrg(args)) => admin::delete_org(&cli.store, args).await,
        Command::Admin(AdminCommand::Retention(args)) => admin::retention(&cli.store, args).await,
        Command::Dev(_) => unreachable!("dispatched above"),
    }
}
