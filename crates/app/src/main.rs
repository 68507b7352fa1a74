//! The `haihe` binary: one command per job, wired from the library crates.

mod apply;
mod backend;
mod charging;
mod config;
mod decode;
mod demo;
mod directory;
mod fleet;
mod ocpp;
mod platform;
mod serve;
mod simulate;
mod sql;
mod tcec;
mod token;
mod webhook;

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
    /// Run the platform (embedded mode).
    Serve(serve::Args),
    /// Run one read-only SQL query over a data directory.
    Sql(sql::Args),
    /// Manage API tokens.
    Token(token::Args),
    /// Manage the fleet registry (`fleet import FILE.csv`).
    Fleet(fleet::Args),
    /// Simulate vehicles and carmaker platforms speaking the real protocols to a server.
    Simulate(Box<simulate::Args>),
    /// Run the platform with simulators of every protocol (a city district) in one process and
    /// print the dashboard address and admin token; Ctrl-C stops it.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, filtered by RUST_LOG (default: info for Haihe's crates).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(
                    "warn,haihe=info,app=info,gateway=info,store=info,pipeline=info",
                )
            }),
        )
        .init();
    let result = match cli.command {
        Cmd::Decode(args) => decode::run(&args),
        Cmd::Simulate(args) => simulate::run(&args),
        Cmd::Serve(args) => serve::run(&args),
        Cmd::Demo(args) => demo::run(&args),
        Cmd::Sql(args) => sql::run(&args),
        Cmd::Token(args) => token::run(&args),
        Cmd::Fleet(args) => fleet::run(&args),
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
