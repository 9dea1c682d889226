//! `tlskit cert` (in progress).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a test PKI in DIR
    Init {},
}

pub fn run(_cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tlskit cert is not built yet")
}
