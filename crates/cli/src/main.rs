//! The `tlskit` binary: a thin layer of argument parsing and printing over the
//! `tlskit` and `tlskit-wire` libraries.

mod bench;
mod cert;
mod dump;
mod flags;
mod get;
mod output;
mod serve;
mod tls_args;
mod trace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tlskit", version, about = "Program, serve, test and watch HTTPS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a directory over HTTPS (default: the current one on https://127.0.0.1:9443/)
    Serve(serve::Args),
    /// Fetch URLs over HTTPS, curl-style, showing what each handshake did
    Get(get::Args),
    /// POST to a URL over HTTPS (curl's -d/--data, --json)
    Post(get::Args),
    /// Load-test HTTPS servers, counting full and resumed handshakes (wrk/h2load-style)
    Bench(bench::Args),
    /// Decode and decrypt TLS and DTLS in a capture file (ssldump-style)
    Dump(dump::Args),
    /// Make a test PKI, issue certificates, show certificates
    #[command(subcommand)]
    Cert(cert::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        // serve sets up its own, non-blocking and -q aware (serve.rs).
        init_logging();
    }
    let (result, flags) = match cli.command {
        Command::Serve(args) => (serve::run(args), flags::SERVE),
        Command::Get(args) => (get::run(args, get::Method::Get), flags::GET),
        Command::Post(args) => (get::run(args, get::Method::Post), flags::GET),
        Command::Bench(args) => (bench::run(args), flags::BENCH),
        Command::Dump(args) => (dump::run(args), flags::DUMP),
        Command::Cert(cmd) => (cert::run(cmd), flags::CERT),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line, the causes joined: never a backtrace; the library's options named as our flags.
            eprintln!("tlskit: {}", flags::named(&format!("{err:#}"), flags));
            ExitCode::FAILURE
        }
    }
}

/// Diagnostics go to stderr, filtered by RUST_LOG (default: warnings only).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
