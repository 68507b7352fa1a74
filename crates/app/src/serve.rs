//! `haihe serve`: the platform in embedded mode.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The TOML configuration (DESIGN.md §5); every key can be overridden by HAIHE_SECTION__KEY.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data directory (overrides `data_dir` of the configuration).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref(), args.data_dir.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("haihe")
        .build()?;
    runtime.block_on(crate::platform::run(config))?;
    Ok(ExitCode::SUCCESS)
}
