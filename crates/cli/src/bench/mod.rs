//! `tlskit bench URL…`: a TLS-aware load generator. Parses the flags (wrk's, h2load's and
//! curl's names), shows live progress on a terminal, and renders the library's report as
//! text, JSON or a plot; `--compare` sets two JSON reports side by side.

mod compare;
mod plot;
mod text;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tlskit::bench::{self, Bench, Control, Mode, Protocol, Report, Stop};
use tlskit::client::http::{HeaderName, HeaderValue, Method};
use tlskit::client::ResolveOverride;

use crate::tls_args::TlsArgs;

const ABOUT: &str = "\
Load-test HTTPS servers, counting what every TLS handshake was

Each connection slot holds one connection at a time: reused (--keep-alive, the default), replaced \
by a new connection with a full handshake for every request (--new-conn), or replaced by a new \
connection that resumes the slot's previous session (--resume; tickets or session IDs, whatever \
the server offers). rustls reports each handshake as full, full after HelloRetryRequest, or \
resumed; every slot has its own session store, so resumption never silently runs out of tickets, \
and the report says how many resumptions were attempted and how many the server accepted.

Latencies: connect (TCP) and handshake (TLS) per connection; ttfb (to the response head) and \
request (to its last byte) per request, from the request's start, which includes the connection \
when the request needs a new one. With --rate R requests follow a fixed schedule (open model) and \
ttfb and request are measured from each request's intended send time, so a server that stalls \
cannot hide behind a waiting generator (coordinated omission); the uncorrected figures, from the \
actual send time, are reported beside them (wrk2's -U).

Durations: 300ms, 3s, 1m, 1h (a plain number is seconds). --json prints one JSON document \
(keys in docs/bench-json.md); --plot FILE.svg|FILE.html draws req/s and p50/p99 over time and \
the latency percentile spectrum; --compare A.json B.json prints two runs side by side with B/A \
ratios. Ctrl-C ends the run and prints the report of what was done.";

/// Flags of `tlskit bench`.
#[derive(clap::Args, Debug)]
#[command(long_about = ABOUT)]
pub struct Args {
    /// URLs to request, round-robin (connections are spread over their servers)
    #[arg(value_name = "URL", required_unless_present = "compare")]
    urls: Vec<String>,
    /// Connections held open at once (connection slots)
    #[arg(short = 'c', long = "connections", default_value_t = 10, value_name = "N")]
    connections: usize,
    /// Worker threads, each with its own event loop (default: the cores, at most one per connection)
    #[arg(short = 't', long = "threads", value_name = "N")]
    threads: Option<usize>,
    /// How long to run (after the warm-up): 10s, 1m, …
    #[arg(short = 'd', long = "duration", value_name = "DURATION", value_parser = parse_duration,
          conflicts_with = "requests")]
    duration: Option<Duration>,
    /// Stop after N requests (completed or failed) instead of a duration
    #[arg(short = 'n', long = "requests", value_name = "N")]
    requests: Option<u64>,
    /// Run this long first, leaving it out of every figure
    #[arg(long = "warmup", value_name = "DURATION", value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Fixed arrival rate, requests per second in all (open model; latency from intended send times)
    #[arg(short = 'R', long = "rate", value_name = "R")]
    rate: Option<f64>,
    /// Request method
    #[arg(short = 'm', long = "method", default_value = "GET", value_name = "METHOD")]
    method: String,
    /// Extra header "Name: value" (repeatable; replaces ours of the same name)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request body: the text itself, or @FILE
    #[arg(long = "data", value_name = "BODY|@FILE")]
    data: Option<String>,
    /// HTTP/1.1 only (ALPN http/1.1)
    #[arg(long = "http1.1", conflicts_with = "http2")]
    http1_1: bool,
    /// HTTP/2 only (ALPN h2); default: offer both, speak what the server picks
    #[arg(long = "http2")]
    http2: bool,
    /// Concurrent HTTP/2 streams per connection, with keep-alive (h2load's -m)
    #[arg(long = "streams", default_value_t = 1, value_name = "N", conflicts_with = "http1_1")]
    streams: usize,
    /// Reuse each connection for request after request (the default)
    #[arg(long = "keep-alive", conflicts_with_all = ["new_conn", "resume"])]
    keep_alive: bool,
    /// A new TCP and TLS connection for every request, never resuming: all handshakes full
    #[arg(long = "new-conn", conflicts_with = "resume")]
    new_conn: bool,
    /// A new connection for every request, resuming the slot's previous session
    #[arg(long = "resume")]
    resume: bool,
    /// Time allowed for one request, its connection included when it needs one
    #[arg(long = "timeout", default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,
    /// Connect to ADDR when a URL names HOST:PORT (repeatable)
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    resolve: Vec<ResolveOverride>,
    #[command(flatten)]
    tls: TlsArgs,
    /// Print the report as one JSON document
    #[arg(long = "json")]
    json: bool,
    /// Draw req/s and p50/p99 over time and the latency spectrum into FILE (.svg or .html)
    #[arg(long = "plot", value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Print two saved --json reports side by side, with B/A ratios (no load is run)
    #[arg(long = "compare", num_args = 2, value_names = ["A.json", "B.json"], conflicts_with = "urls")]
    compare: Option<Vec<PathBuf>>,
    /// No progress display (it shows only when stdout is a terminal anyway)
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

/// `300ms`, `3s`, `1.5m`, `1h`; a bare number is seconds (as wrk takes it).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("{s:?}: expected a duration such as 300ms, 3s, 1m"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("{s:?}: unknown unit {other:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{s:?}: not a duration"))
}

fn body(data: &Option<String>) -> anyhow::Result<Vec<u8>> {
    match data {
        None => Ok(Vec::new()),
        Some(d) => match d.strip_prefix('@') {
            Some(path) => std::fs::read(path).with_context(|| format!("--data: reading {path}")),
            None => Ok(d.as_bytes().to_vec()),
        },
    }
}

/// The load the flags describe.
fn bench(args: &Args) -> anyhow::Result<Bench> {
    let mut load = Bench::new(args.tls.context(&[])?, args.urls.clone());
    load.method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .with_context(|| format!("-m: bad method {:?}", args.method))?;
    for h in &args.headers {
        let (name, value) = h.split_once(':').with_context(|| format!("-H {h:?}: expected \"Name: value\""))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).with_context(|| format!("-H {h:?}: bad name"))?;
        let value = HeaderValue::from_str(value.trim()).with_context(|| format!("-H {h:?}: bad value"))?;
        load.headers.append(name, value);
    }
    load.body = body(&args.data)?.into();
    load.protocol = match (args.http1_1, args.http2) {
        (true, _) => Protocol::Http1,
        (_, true) => Protocol::Http2,
        _ => Protocol::Auto,
    };
    load.streams = args.streams;
    if args.streams > 1 && (args.new_conn || args.resume) {
        bail!("--streams needs --keep-alive (one request per connection otherwise)");
    }
    load.connections = args.connections;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    load.threads = args.threads.unwrap_or(cores).min(args.connections.max(1));
    load.stop = match (args.duration, args.requests) {
        (_, Some(n)) => Stop::Requests(n),
        (Some(d), None) => Stop::After(d),
        (None, None) => Stop::After(Duration::from_secs(10)),
    };
    load.warmup = args.warmup.unwrap_or(Duration::ZERO);
    load.rate = args.rate;
    load.mode = match (args.new_conn, args.resume) {
        (true, _) => Mode::NewConnection,
        (_, true) => Mode::Resume,
        _ => Mode::KeepAlive,
    };
    load.timeout = args.timeout;
    load.resolve = args.resolve.clone();
    Ok(load)
}

/// A progress bar on stderr, only when stdout is a terminal and not --quiet.
fn progress_bar(args: &Args, load: &Bench) -> Option<ProgressBar> {
    if args.quiet || !std::io::stdout().is_terminal() {
        return None;
    }
    let (total, template) = match load.stop {
        Stop::After(d) => ((load.warmup + d).as_millis() as u64, "{spinner} {elapsed_precise} [{bar:24}] {msg}"),
        Stop::Requests(n) => (n, "{spinner} {elapsed_precise} [{bar:24}] {pos}/{len} {msg}"),
    };
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(5));
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    Some(bar)
}

/// Run the load on another thread; show progress and take Ctrl-C on this one.
fn run_load(args: &Args, load: Bench) -> anyhow::Result<Report> {
    let control = Arc::new(Control::new());
    let bar = progress_bar(args, &load);
    let by_count = matches!(load.stop, Stop::Requests(_));
    let worker = {
        let control = control.clone();
        std::thread::Builder::new().name("bench".into()).spawn(move || bench::run(&load, &control))?
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut last = (Duration::ZERO, 0u64);
        let mut interrupted = false;
        while !worker.is_finished() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = sigint.recv() => {
                    if interrupted {
                        // A second Ctrl-C: the user does not want the report.
                        std::process::exit(130);
                    }
                    interrupted = true;
                    control.stop();
                }
            }
            if let Some(bar) = &bar {
                let p = control.progress();
                let rate = (p.requests.saturating_sub(last.1)) as f64
                    / (p.elapsed.saturating_sub(last.0)).as_secs_f64().max(1e-3);
                last = (p.elapsed, p.requests);
                bar.set_position(if by_count { p.requests + p.errors } else { p.elapsed.as_millis() as u64 });
                let phase = if p.measuring { "" } else { "warming up, " };
                bar.set_message(format!(
                    "{phase}{} req, {rate:.0}/s, handshakes {} full / {} resumed, {} errors",
                    p.requests, p.full, p.resumed, p.errors
                ));
            }
        }
        Ok::<(), std::io::Error>(())
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    worker.join().map_err(|_| anyhow::anyhow!("the load generator thread panicked"))?.map_err(Into::into)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(files) = &args.compare {
        let mut out = std::io::stdout().lock();
        compare::print(&mut out, &files[0], &files[1])?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.plot {
        plot::check_extension(path)?;
    }
    let load = bench(&args)?;
    let report = run_load(&args, load)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        text::write(&mut out, &report)?;
    }
    if let Some(path) = &args.plot {
        plot::write(path, &report).with_context(|| format!("--plot {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_wrk() {
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("s").is_err());
    }
}
