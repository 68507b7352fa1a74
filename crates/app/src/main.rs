//! The `haihe` binary: one command per job, wired from the library crates.

mod decode;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Haihe: a city-scale vehicle–road–cloud data platform.
#[derive(Debug, Parser)]
#[command(name = "haihe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Decode protocol frames given as hex (arguments, or one per line on stdin) to JSON lines.
    Decode(decode::Args),
    /// Simulate vehicles and carmaker platforms speaking the real protocols to a server.
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Decode(args) => decode::run(&args),
        Cmd::Simulate(args) => simulate::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
