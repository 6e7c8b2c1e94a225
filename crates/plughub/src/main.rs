//! The plughub binary: parses the command line, opens what the command needs, and prints the result.

mod bundled;
mod cli;
mod commands;
mod config;
mod context;
mod logging;
mod output;
mod privileges;
mod remote;

fn main() -> std::process::ExitCode {
    // The configuration file is read first, single-threaded: it may set the sandbox's variables.
    let (cli, matches, loaded) = match config::parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let cli::Command::Serve(args) = &cli.command {
        if args.print_config {
            output::write_out(format_args!("{}", config::print(&loaded, &matches)));
            return std::process::ExitCode::SUCCESS;
        }
        if args.check_config {
            return match config::check(&matches) {
                Ok(()) => {
                    match &loaded.path {
                        Some(path) => {
                            output::out!("the configuration is valid (file: {})", path.display())
                        }
                        None => output::out!(
                            "the configuration is valid (no configuration file: flags, environment and defaults)"
                        ),
                    }
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
    }
    let serving = matches!(cli.command, cli::Command::Serve(_));
    let mut tracing = match logging::init(&cli.logging, serving) {
        Ok(tracing) => tracing,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
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
    // The exporter's thread starts once root is given up.
    if let Err(e) = runtime.block_on(async { tracing.start_export() }) {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let outcome = runtime.block_on(commands::run(cli));
    tracing.finish();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
