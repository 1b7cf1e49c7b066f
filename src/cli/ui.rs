//! `sandbox ui [--open]`: the dashboard's URL (the registry's `GET /`), and
//! with `--open` a browser on it.

use clap::Args;

use super::Globals;
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct UiArgs {
    #[command(flatten)]
    pub manifest: super::FileLong,
    /// Open it in a browser too ($BROWSER, else xdg-open); a browser that
    /// cannot be started is a warning, not an error.
    #[arg(long)]
    pub open: bool,
}

pub async fn run(globals: &Globals, args: UiArgs) -> Result<()> {
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    let url = found.registry_url().ok_or_else(|| {
        Error::Failed(format!(
            "the registry of `{sandbox}` is not published; restart it with `sandbox up`"
        ))
    })? + "/";
    output::println(&url)?;
    if args.open {
        let browser = std::env::var("BROWSER")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| "xdg-open".into());
        let started = std::process::Command::new(&browser)
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Err(error) = started {
            output::eprintln(&format!(
                "warning: cannot start a browser ({browser}): {error}; open {url} yourself"
            ));
        }
    }
    Ok(())
}
