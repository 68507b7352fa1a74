//! `haihe token create`: API tokens, kept hashed in the data directory's catalog.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use store::catalog::Catalog;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create a token and print it (it is shown once; only its hash is stored).
    Create {
        /// admin, operator (read everything) or org (read one organisation's data).
        #[arg(long, value_parser = ["admin", "operator", "org"])]
        role: String,
        /// The organisation an `org` token is scoped to.
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value = "./haihe-data")]
        data_dir: PathBuf,
    },
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.action {
        Action::Create {
            role,
            org,
            data_dir,
        } => {
            if role == "org" && org.is_none() {
                anyhow::bail!("an org token needs --org");
            }
            std::fs::create_dir_all(data_dir)?;
            let catalog =
                Catalog::open(data_dir.join("catalog.db")).context("opening the catalog")?;
            let token = catalog.create_token(role, org.as_deref())?;
            #[allow(clippy::print_stdout)]
            {
                println!("{token}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
