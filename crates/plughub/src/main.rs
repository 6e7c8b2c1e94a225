//! The plughub binary: parses the command line, opens what the command needs, and prints the result.

mod bundled;
mod cli;
mod commands;
mod context;
mod output;
mod privileges;
mod remote;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let default_level = if matches!(cli.command, cli::Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!(
                    "plughub={default_level},{default_level}"
                ))
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    // Before the runtime starts any thread (see `privileges::give_up_root`).
    if let cli::Command::Serve(args) = &cli.command
        && let Err(e) = privileges::give_up_root(&cli.store, args)
    {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
