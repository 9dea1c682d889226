//! `tlskit get` and `tlskit post` (in progress).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub enum Method {
    Get,
    Post,
}

pub fn run(_args: Args, _method: Method) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tlskit get/post is not built yet")
}
