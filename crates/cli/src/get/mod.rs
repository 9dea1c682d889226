//! `tlskit get URL…` and `tlskit post URL`: a curl-style HTTPS client that shows
//! what each handshake did. Flag names are curl's.

mod output;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _};
use tlskit::client::{self, http, ClientError, Request, ResolveOverride};
use tlskit::context::Context;

use crate::tls_args::TlsArgs;

use crate::trace::{TraceLadders, TracePrinter};

/// Flags shared by `get` and `post`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// URLs to fetch, in order, over one client (so later ones resume the TLS session)
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,
    /// Send DATA as a form body (@FILE reads a file without its newlines, - reads stdin); implies POST
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Vec<String>,
    /// Send DATA exactly as given (@FILE and - as for --data); implies POST
    #[arg(long = "data-binary", value_name = "DATA")]
    data_binary: Vec<String>,
    /// Send DATA as JSON (Content-Type and Accept: application/json); implies POST
    #[arg(long = "json", value_name = "DATA")]
    json: Vec<String>,
    /// Extra header "Name: value" (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request method (default GET, or POST with a body)
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    request: Option<String>,
    /// Write the body to FILE instead of stdout (repeat for several URLs, in order)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Vec<PathBuf>,
    /// Include the response status line and headers in the output
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Send HEAD and show only the headers
    #[arg(short = 'I', long = "head")]
    head: bool,
    /// Follow redirects
    #[arg(short = 'L', long = "location")]
    location: bool,
    /// At most this many redirects with -L
    #[arg(long = "max-redirs", default_value_t = 50, value_name = "NUM")]
    max_redirs: u32,
    /// Fail (exit 22) on HTTP status 400 or more, printing no body
    #[arg(short = 'f', long = "fail")]
    fail: bool,
    /// Connect to ADDR when a URL names HOST:PORT (repeatable)
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    resolve: Vec<ResolveOverride>,
    /// Seconds allowed for connecting and the TLS handshake
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    connect_timeout: Option<f64>,
    /// Seconds allowed for each whole transfer
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS")]
    max_time: Option<f64>,
    /// Use HTTP/1.1 only (ALPN http/1.1)
    #[arg(long = "http1.1", conflicts_with = "http2")]
    http1_1: bool,
    /// Offer HTTP/2 first (ALPN h2, http/1.1; the default)
    #[arg(long = "http2")]
    http2: bool,
    #[command(flatten)]
    tls: TlsArgs,
    /// Do not resume TLS sessions between the URLs
    #[arg(long = "no-reuse")]
    no_reuse: bool,
    /// Show each connection's handshake, peer chain and session, and the headers, on stderr
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Write each connection's handshake as a ladder diagram to FILE (one self-contained HTML page, as
    /// `tlskit dump --html` draws a capture's), also when a transfer fails
    #[arg(long = "html", value_name = "FILE")]
    html: Option<PathBuf>,
    /// After each transfer print "json": the response facts and the TLS session as one JSON document
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    write_out: Option<String>,
    /// Quiet (accepted for curl compatibility; errors are still printed)
    #[arg(short = 's', long = "silent")]
    silent: bool,
}

/// Which subcommand ran: `post` sends POST even without a body.
pub enum Method {
    Get,
    Post,
}

/// curl's exit codes for the failures it shares with us.
fn exit_code(err: &ClientError) -> u8 {
    match err {
        ClientError::Url { .. } | ClientError::BadPin { .. } => 3,
        ClientError::Dns { .. } => 6,
        ClientError::Connect { .. } => 7,
        ClientError::Timeout { .. } => 28,
        ClientError::ClientCertificateRequired { .. } | ClientError::ClientCertificateRejected { .. } => 58,
        ClientError::UnknownIssuer { .. }
        | ClientError::Expired { .. }
        | ClientError::NameMismatch { .. }
        | ClientError::Revoked { .. }
        | ClientError::BadCertificate { .. } => 60,
        ClientError::PinMismatch { .. } => 90,
        ClientError::PeerAlert { .. }
        | ClientError::HandshakeEof
        | ClientError::NotTls(_)
        | ClientError::Tls(_)
        | ClientError::Context(_) => 35,
        ClientError::Io(_) | ClientError::Http(_) => 56,
        ClientError::TooManyRedirects { .. } => 47,
        ClientError::Runtime(_) => 2,
        _ => 1,
    }
}

fn seconds(flag: &str, value: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => bail!("{flag}: {s} is not a positive number of seconds"),
    }
}

/// The TLS policy the flags describe.
fn context(args: &Args) -> anyhow::Result<Context> {
    let alpn: &[&str] = if args.http1_1 { &["http/1.1"] } else { &["h2", "http/1.1"] };
    let mut ctx = args.tls.context(alpn)?;
    if args.no_reuse {
        ctx = ctx.session_cache(0).tickets(false);
    }
    Ok(ctx)
}

/// `@file`, `-` (stdin) or the text itself; curl's --data drops CR and LF from files.
fn read_data(value: &str, strip_newlines: bool, stdin_used: &mut bool) -> anyhow::Result<Vec<u8>> {
    let mut bytes = if value == "@-" || value == "-" && strip_newlines {
        read_stdin(stdin_used)?
    } else if let Some(path) = value.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("reading {path}"))?
    } else {
        return Ok(value.as_bytes().to_vec());
    };
    if strip_newlines {
        bytes.retain(|b| *b != b'\r' && *b != b'\n');
    }
    Ok(bytes)
}

fn read_stdin(stdin_used: &mut bool) -> anyhow::Result<Vec<u8>> {
    if std::mem::replace(stdin_used, true) {
        bail!("standard input can be read only once");
    }
    let mut buf = Vec::new();
    std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
    Ok(buf)
}

/// The body and its content type, from --data, --data-binary and --json.
fn body(args: &Args) -> anyhow::Result<Option<(Vec<u8>, &'static str)>> {
    let mut stdin_used = false;
    if !args.json.is_empty() {
        if !args.data.is_empty() || !args.data_binary.is_empty() {
            bail!("--json cannot be combined with --data");
        }
        let mut body = Vec::new();
        for part in &args.json {
            let value = if part == "-" { "@-" } else { part.as_str() };
            body.extend(read_data(value, false, &mut stdin_used)?);
        }
        return Ok(Some((body, "application/json")));
    }
    let mut parts = Vec::new();
    for d in &args.data {
        parts.push(read_data(d, true, &mut stdin_used)?);
    }
    for d in &args.data_binary {
        let value = if d == "-" { "@-" } else { d.as_str() };
        parts.push(read_data(value, false, &mut stdin_used)?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    // Several -d are joined with '&', as curl does.
    Ok(Some((parts.join(&b'&'), "application/x-www-form-urlencoded")))
}

/// Build the first request for `url` from the flags.
fn request(args: &Args, method: &Method, url: &str, body: &Option<(Vec<u8>, &'static str)>) -> anyhow::Result<Request> {
    let verb = match (&args.request, args.head, body, method) {
        (Some(m), _, _, _) => m.to_ascii_uppercase(),
        (None, true, _, _) => "HEAD".into(),
        (None, false, Some(_), _) | (None, false, None, Method::Post) => "POST".into(),
        (None, false, None, Method::Get) => "GET".into(),
    };
    let verb = http::Method::from_bytes(verb.as_bytes()).with_context(|| format!("-X: bad method {verb:?}"))?;
    let mut req = Request::new(verb, url);
    if let Some((bytes, content_type)) = body {
        req.body = bytes.clone().into();
        req = req.header("content-type", content_type)?;
        if *content_type == "application/json" {
            req = req.header("accept", "application/json")?;
        }
    }
    for h in &args.headers {
        let (name, value) = h.split_once(':').with_context(|| format!("-H {h:?}: expected \"Name: value\""))?;
        let name = name.trim();
        // A header the user gives replaces ours (Content-Type, Accept, User-Agent, Host).
        if let Ok(parsed) = http::HeaderName::from_bytes(name.as_bytes()) {
            req.headers.remove(parsed);
        }
        req = req.header(name, value.trim())?;
    }
    Ok(req)
}

/// Report a failed transfer: one line on stderr (and, with `-w json`, curl's exitcode and errormsg).
fn failed(args: &Args, url: &str, effective: &str, err: &ClientError) -> ExitCode {
    let message = crate::flags::named(&err.to_string(), crate::flags::GET);
    eprintln!("tlskit: {message}");
    let code = exit_code(err);
    if args.write_out.is_some() {
        let doc = serde_json::json!({ "url": url, "url_effective": effective, "exitcode": code, "errormsg": message });
        println!("{doc}");
    }
    ExitCode::from(code)
}

pub fn run(args: Args, method: Method) -> anyhow::Result<ExitCode> {
    if let Some(format) = &args.write_out {
        if !matches!(format.as_str(), "json" | "%{json}") {
            bail!("-w/--write-out: only \"json\" (or \"%{{json}}\") is supported, not {format:?}");
        }
    }
    let ctx = context(&args)?;
    let mut builder = client::Client::builder(&ctx)
        .connect_timeout(seconds("--connect-timeout", args.connect_timeout)?.or(Some(Duration::from_secs(30))))
        .timeout(seconds("--max-time", args.max_time)?);
    for rule in &args.resolve {
        builder = builder.resolve(rule.clone());
    }
    // SSLKEYLOGFILE, as curl honours it: the session secrets for Wireshark or `tlskit dump`.
    if let Some(path) = std::env::var_os("SSLKEYLOGFILE").filter(|p| !p.is_empty()) {
        let writer = tlskit::trace::KeyLogWriter::open(&path)
            .with_context(|| format!("SSLKEYLOGFILE {}", PathBuf::from(&path).display()))?;
        builder = builder.key_log(Arc::new(writer));
    }
    if let Some(path) = &args.html {
        // A path that cannot be written fails now, before any transfer, as curl's -o does.
        std::fs::File::create(path).with_context(|| format!("--html: writing {}", path.display()))?;
    }
    let ladders = args.html.as_ref().map(|path| {
        let title = format!("tlskit get {}", args.urls.join(" "));
        Arc::new(Mutex::new(TraceLadders::new(title, path.clone())))
    });
    if args.verbose || ladders.is_some() {
        // The handshake trace, live, in `tlskit dump`'s format (-v) and drawn (--html).
        let printer = args.verbose.then(|| Mutex::new(TracePrinter::new(false, false)));
        let ladders = ladders.clone();
        builder = builder.trace(Arc::new(move |event| {
            if let Some(printer) = &printer {
                let mut printer = printer.lock().unwrap_or_else(|e| e.into_inner());
                printer.render(&event, &mut |line| eprintln!("{line}"));
            }
            if let Some(ladders) = &ladders {
                ladders.lock().unwrap_or_else(|e| e.into_inner()).add(&event);
            }
        }));
    }
    if args.location {
        builder = builder.follow_redirects(args.max_redirs);
    }
    let client = client::blocking::Client::from_builder(builder)?;
    let result = transfers(&args, &method, &client);
    // Closing the connections ends their traces: then the ladders are whole.
    drop(client);
    if let Some(ladders) = ladders {
        ladders.lock().unwrap_or_else(|e| e.into_inner()).write()?;
    }
    result
}

/// Every URL in turn over one client; the exit code of the first failure, or success.
fn transfers(args: &Args, method: &Method, client: &client::blocking::Client) -> anyhow::Result<ExitCode> {
    let body = body(args)?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();

    for (index, url) in args.urls.iter().enumerate() {
        let req = request(args, method, url, &body)?;
        // The client follows -L's redirects; each hop's head is here to render.
        let mut reader = match client.send_streaming(req.clone()) {
            Ok(r) => r,
            Err(err) => return Ok(failed(args, url, &req.url, &err)),
        };
        if args.verbose {
            let head = reader.head();
            for hop in head.redirects.iter().chain([head]) {
                output::verbose(&mut stderr.lock(), hop)?;
            }
        }
        let redirects = reader.head().redirects.len() as u32;
        let effective = reader.head().url.clone();
        let status = reader.head().status.as_u16();
        if args.fail && status >= 400 {
            eprintln!("tlskit: the requested URL returned error: {status}");
            return Ok(ExitCode::from(22));
        }
        let mut out = stdout.lock();
        if args.include || args.head {
            output::status_and_headers(&mut out, reader.head())?;
        }
        // The body goes out as it arrives: a large download is never held in memory.
        let mut file = match args.output.get(index) {
            Some(path) => {
                Some((std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?, path))
            }
            None => None,
        };
        let (mut size, mut last_byte) = (0usize, None);
        loop {
            let chunk = match reader.chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(err) => {
                    out.flush()?;
                    return Ok(failed(args, url, &effective, &err));
                }
            };
            size += chunk.len();
            last_byte = chunk.last().copied();
            match &mut file {
                Some((f, path)) => f.write_all(&chunk).with_context(|| format!("writing {}", path.display()))?,
                None => out.write_all(&chunk)?,
            }
        }
        let response = reader.into_head();
        if args.write_out.is_some() {
            // The document starts on a line of its own, so `-w json` output splits by line.
            if file.is_none() && last_byte.is_some_and(|b| b != b'\n') {
                writeln!(out)?;
            }
            let doc = output::write_out_json(url, &response, redirects, size);
            writeln!(out, "{}", serde_json::to_string(&doc)?)?;
        }
        out.flush()?;
    }
    let _ = args.silent;
    Ok(ExitCode::SUCCESS)
}
