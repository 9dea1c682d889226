//! `tlskit serve [DIR]`: the HTTPS file server of the HOWTO.
//!
//! Prints the URL first (tests read it), then one access line per request with
//! the connection's TLS facts; `--trace` adds each handshake, message by message.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use tlskit::context::{ClientAuth, Context, TlsVersion};
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{AccessRecord, Limits, Model, Server, ServerEvent, ServerOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Directory to serve
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Address and port to listen on (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:9443", value_name = "ADDR:PORT")]
    listen: String,
    /// Certificate chain (PEM, leaf first); without it a throwaway CA and leaf are made at start-up
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Private key of --cert (PEM); default: looked for in the --cert file
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Extra DNS names or IPs for the start-up certificate (repeatable)
    #[arg(long, value_name = "NAME", conflicts_with = "cert")]
    san: Vec<String>,
    /// Execution model: async (tokio tasks) or threads (one OS thread per connection)
    #[arg(long, default_value = "async", value_name = "MODEL")]
    model: Model,
    /// Connections served at once (threads: at most this many threads)
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Server session cache entries (0 = off)
    #[arg(long, default_value_t = 4096, value_name = "SIZE")]
    session_cache: usize,
    /// Session tickets: on or off
    #[arg(long, default_value = "on", value_name = "on|off", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    tickets: bool,
    /// How long a session ticket is accepted, in seconds
    #[arg(long, default_value_t = 86_400, value_name = "SECS")]
    ticket_lifetime: u32,
    /// Protocol versions, comma-separated: 1.2, 1.3
    #[arg(long, default_value = "1.3,1.2", value_name = "LIST")]
    tls_versions: String,
    /// Cipher suites in our preference order (rustls, IANA or OpenSSL names; comma or colon separated;
    /// default: AES-128-GCM first, then AES-256-GCM, then ChaCha20-Poly1305)
    #[arg(long, value_name = "LIST")]
    ciphers: Option<String>,
    /// Append session secrets to FILE (NSS key log format); default: $SSLKEYLOGFILE if set
    #[arg(long, value_name = "FILE")]
    keylog: Option<PathBuf>,
    /// Send Strict-Transport-Security: max-age=SECS on every response
    #[arg(long, value_name = "SECS")]
    hsts: Option<u64>,
    /// Serve and list dot-files
    #[arg(long)]
    hidden: bool,
    /// Print each handshake as it happens, record by record
    #[arg(long)]
    trace: bool,
    /// CA certificate(s) that client certificates must chain to (PEM)
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Client certificates: required (handshake fails without one) or optional
    #[arg(long, value_name = "MODE", requires = "client_ca")]
    client_auth: Option<ClientAuth>,
    /// Certificate revocation list for client certificates (PEM or DER; repeatable)
    #[arg(long, value_name = "FILE", requires = "client_ca")]
    crl: Vec<PathBuf>,
    /// Paths under PREFIX need a verified client certificate, else 403 (repeatable; implies optional client auth)
    #[arg(long, value_name = "PREFIX", requires = "client_ca")]
    require_client_cert: Vec<String>,
    /// Seconds from TCP accept to the end of the TLS handshake
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    handshake_timeout: f64,
    /// Seconds for a request header to arrive (HTTP/1.1; also ends idle keep-alive there)
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    header_timeout: f64,
    /// Seconds a connection may sit idle with no request in flight
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    idle_timeout: f64,
    /// Seconds in-flight responses get to finish after SIGINT/SIGTERM
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    shutdown_grace: f64,
    /// Access lines as JSON objects, one per line
    #[arg(long)]
    json_log: bool,
    /// No access lines (errors and the start-up lines still print)
    #[arg(long, short)]
    quiet: bool,
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("expected on or off, not {s:?}")),
    }
}

fn seconds(name: &str, secs: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| anyhow::anyhow!("--{name}: {secs} is not a duration in seconds"))
}

/// Where the start-up certificate's CA goes: a per-process directory under the temp dir.
fn ephemeral_ca_path() -> PathBuf {
    std::env::temp_dir().join(format!("tlskit-serve-{}", std::process::id())).join("ca.pem")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let listen = resolve_listen(&args.listen)?;
    let versions = args
        .tls_versions
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::parse::<TlsVersion>)
        .collect::<Result<Vec<_>, _>>()?;
    if versions.is_empty() {
        bail!("--tls-versions: no version given");
    }
    let mut context = Context::new()
        .versions(&versions)
        .session_cache(args.session_cache)
        .tickets(args.tickets)
        .ticket_lifetime(args.ticket_lifetime)
        .alpn(&["h2", "http/1.1"])
        .server_cipher_order(true);
    context = match &args.ciphers {
        Some(list) => {
            let names: Vec<&str> = list.split([',', ':', ' ']).filter(|s| !s.is_empty()).collect();
            context.cipher_suites(&names)?
        }
        None => context.cipher_suites(tlskit::server::DEFAULT_CIPHER_SUITES)?,
    };

    // Our certificate: given, or made now with a throwaway CA whose PEM we write for curl --cacert.
    let mut ca_path = None;
    let (identity, fingerprint) = match &args.cert {
        Some(cert) => {
            let identity = tlskit::pki::load_identity(cert, args.key.as_deref())?;
            let leaf = identity.chain.first().context("--cert holds no certificate")?;
            let fingerprint = tlskit::pki::describe(leaf)?.sha256_fingerprint;
            (identity, fingerprint)
        }
        None => {
            let eph = tlskit::pki::ephemeral_server(&args.san)?;
            let path = ephemeral_ca_path();
            write_private(&path, eph.ca_pem.as_bytes())
                .with_context(|| format!("writing the start-up CA to {}", path.display()))?;
            ca_path = Some(path);
            (eph.identity, eph.leaf_sha256)
        }
    };
    context = context.identity(identity);

    if let Some(ca) = &args.client_ca {
        context = context.trust(tlskit::pki::load_certs(ca)?);
        let mode = match args.client_auth {
            Some(mode) => mode,
            None if !args.require_client_cert.is_empty() => ClientAuth::Optional,
            None => ClientAuth::Required,
        };
        if mode == ClientAuth::Required && !args.require_client_cert.is_empty() {
            bail!("--require-client-cert needs --client-auth optional (with required every path needs a certificate)");
        }
        context = context.client_auth(mode);
        for crl in &args.crl {
            context = context.crls(tlskit::pki::load_crls(crl)?);
        }
    }

    let key_log: Option<tlskit::trace::SharedKeyLog> = match args
        .keylog
        .clone()
        .or_else(|| std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty()).map(PathBuf::from))
    {
        Some(path) => Some(Arc::new(
            tlskit::trace::KeyLogWriter::open(&path).with_context(|| format!("opening key log {}", path.display()))?,
        )),
        None => None,
    };

    let files = FileService::new(&args.dir, FileOptions { show_hidden: args.hidden, ..FileOptions::default() })
        .with_context(|| format!("cannot serve {}", args.dir.display()))?;
    let root = files.root().to_path_buf();
    let limits = Limits {
        max_connections: args.max_connections.max(1),
        handshake_timeout: seconds("handshake-timeout", args.handshake_timeout)?,
        header_timeout: seconds("header-timeout", args.header_timeout)?,
        idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
        shutdown_grace: seconds("shutdown-grace", args.shutdown_grace)?,
    };
    let (events, log) = Printer { json: args.json_log, quiet: args.quiet }.spawn()?;
    let mut options = ServerOptions::new(listen, context, files, events);
    options.model = args.model;
    options.limits = limits;
    options.require_client_cert = args.require_client_cert.clone();
    options.hsts = args.hsts;
    options.trace = args.trace;
    options.key_log = key_log;

    let runtime = match args.model {
        Model::Async => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
        // The acceptor only; each connection gets its own thread and runtime.
        Model::Threads => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    let ca_shown = ca_path.clone();
    let result = runtime.block_on(async move {
        let server = Server::bind(options)?;
        let addr = server.local_addr();
        let host = url_host(addr.ip());
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "tlskit serve: https://{host}:{}/ serving {} (model {}, {})",
            addr.port(),
            root.display(),
            server.model(),
            versions.iter().map(|v| v.name()).collect::<Vec<_>>().join(" ")
        )?;
        writeln!(out, "certificate SHA-256: {fingerprint}")?;
        if let Some(ca) = &ca_shown {
            writeln!(out, "start-up CA written to {}", ca.display())?;
            writeln!(out, "try: curl --cacert {} https://localhost:{}/", ca.display(), addr.port())?;
        }
        out.flush()?;
        drop(out);
        server.run(shutdown_signal()).await?;
        anyhow::Ok(())
    });
    if let Some(ca) = &ca_path {
        if let Some(dir) = ca.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    flush_log(&log);
    result?;
    println!("tlskit serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// `host:port`, `[v6]:port` or a name that resolves (the first address wins).
fn resolve_listen(spec: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(port) = spec.trim_start_matches(':').parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    spec.to_socket_addrs()
        .with_context(|| format!("--listen {spec:?}: expected ADDR:PORT"))?
        .next()
        .with_context(|| format!("--listen {spec:?}: no address"))
}

fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".into(),
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".into(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, data)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("tlskit serve: shutting down; in-flight responses finish");
}

/// How events look: access lines and trace lines on stdout, errors on stderr.
#[derive(Clone, Copy)]
struct Printer {
    json: bool,
    quiet: bool,
}

/// What the printer thread receives.
enum LogMessage {
    Event(ServerEvent),
    /// Everything before this is written: say so.
    Flush(std::sync::mpsc::Sender<()>),
}

impl Printer {
    /// The printer runs on its own thread so no connection ever waits on the
    /// terminal. A lone line is written as soon as it arrives; under load lines
    /// gather for at most a few milliseconds and leave in one write.
    fn spawn(self) -> anyhow::Result<(tlskit::server::EventSink, std::sync::mpsc::SyncSender<LogMessage>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<LogMessage>(65_536);
        std::thread::Builder::new().name("tlskit log".into()).spawn(move || {
            let mut batch = String::with_capacity(64 * 1024);
            while let Ok(first) = rx.recv() {
                let mut acks = Vec::new();
                let mut next = Some(first);
                let mut count = 0usize;
                while let Some(message) = next.take() {
                    count += 1;
                    match message {
                        LogMessage::Event(event) => self.format(event, &mut batch),
                        LogMessage::Flush(ack) => acks.push(ack),
                    }
                    if batch.len() < 60 * 1024 {
                        next = rx.try_recv().ok();
                    }
                }
                if !batch.is_empty() {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(batch.as_bytes());
                    let _ = out.flush();
                    batch.clear();
                }
                for ack in acks {
                    let _ = ack.send(());
                }
                if count > 1 {
                    // Under load: let lines gather for a moment instead of being woken for each one.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        })?;
        let sender = tx.clone();
        let sink: tlskit::server::EventSink = Arc::new(move |event| {
            let _ = sender.send(LogMessage::Event(event));
        });
        Ok((sink, tx))
    }

    /// Append the event's stdout line to `batch`; errors go to stderr at once.
    fn format(&self, event: ServerEvent, batch: &mut String) {
        match event {
            ServerEvent::Access(record) => {
                if !self.quiet {
                    batch.push_str(&if self.json { access_json(&record) } else { access_line(&record) });
                    batch.push('\n');
                }
            }
            ServerEvent::Trace { peer, line } => {
                batch.push_str(&format!("trace {peer} {line}\n"));
            }
            ServerEvent::Connection { peer, stage, error } => {
                eprintln!("tlskit serve: {peer}: {stage}: {error}");
            }
        }
    }
}

/// Wait (briefly) until the printer has written everything sent before.
fn flush_log(log: &std::sync::mpsc::SyncSender<LogMessage>) {
    let (ack_tx, ack_rx) = std::sync::mpsc::channel();
    if log.send(LogMessage::Flush(ack_tx)).is_ok() {
        let _ = ack_rx.recv_timeout(Duration::from_secs(2));
    }
}

fn access_line(r: &AccessRecord) -> String {
    let s = &r.session;
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let mut line = format!(
        "{} {} \"{} {} {}\" {} {} {:.3}ms {} {} {} sni={} alpn={} {}",
        utc_timestamp(r.time),
        r.peer,
        r.method,
        r.target,
        r.http_version,
        r.status,
        r.bytes,
        r.duration.as_secs_f64() * 1000.0,
        s.version,
        s.cipher_suite,
        s.key_exchange_group.as_deref().unwrap_or("-"),
        dash(&s.sni),
        dash(&s.alpn),
        if s.resumed { "resumed" } else { "full" },
    );
    if let Some(subject) = r.client_subject() {
        line.push_str(&format!(" client=\"{}\" issuer=\"{}\"", subject, r.client_issuer().unwrap_or("")));
    }
    // The magic URL: the session before and after the KeyUpdate, as the HOWTO's server printed it.
    if let Some(k) = &r.key_update {
        line.push_str(&format!(" key_update={}->{}", k.generation_before, k.generation_after));
        line.push_str(&format!(
            "\n  session before KeyUpdate: {}, server traffic keys generation {}",
            session_brief(&k.before),
            k.generation_before
        ));
        match &k.after {
            Some(after) => line.push_str(&format!(
                "\n  session after KeyUpdate: {}, server traffic keys generation {}",
                session_brief(after),
                k.generation_after
            )),
            None => line.push_str("\n  session after KeyUpdate: none sent (the connection ended first)"),
        }
    }
    line
}

/// A session on one line: `TLSv1.3 TLS_AES_128_GCM_SHA256 X25519 sni=localhost alpn=h2 full`.
fn session_brief(s: &tlskit::session::SessionInfo) -> String {
    format!(
        "{} {} {} sni={} alpn={} {}",
        s.version,
        s.cipher_suite,
        s.key_exchange_group.as_deref().unwrap_or("-"),
        s.sni.as_deref().unwrap_or("-"),
        s.alpn.as_deref().unwrap_or("-"),
        if s.resumed { "resumed" } else { "full" }
    )
}

fn access_json(r: &AccessRecord) -> String {
    let s = &r.session;
    let mut v = serde_json::json!({
        "time": utc_timestamp(r.time),
        "client": r.peer.to_string(),
        "method": r.method,
        "target": r.target,
        "http_version": r.http_version,
        "status": r.status,
        "bytes": r.bytes,
        "duration_ms": r.duration.as_secs_f64() * 1000.0,
        "tls_version": s.version,
        "cipher_suite": s.cipher_suite,
        "group": s.key_exchange_group,
        "sni": s.sni,
        "alpn": s.alpn,
        "resumed": s.resumed,
        "client_subject": r.client_subject(),
        "client_issuer": r.client_issuer(),
    });
    // Only the magic URL's lines carry it: the session before and after the KeyUpdate.
    if let Some(k) = &r.key_update {
        v["key_update"] = serde_json::json!({
            "generation_before": k.generation_before,
            "generation_after": k.generation_after,
            "before": &*k.before,
            "after": k.after.as_deref(),
        });
    }
    v.to_string()
}

/// `2026-11-28T21:04:16Z` (UTC, seconds), without a date crate.
fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_795_900_000)), "2026-11-28T21:06:40Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn listen_accepts_port_only_and_v6() {
        assert_eq!(resolve_listen("127.0.0.1:0").unwrap().port(), 0);
        assert_eq!(resolve_listen(":8443").unwrap(), "127.0.0.1:8443".parse().unwrap());
        assert!(resolve_listen("[::1]:0").unwrap().is_ipv6());
        assert!(resolve_listen("nonsense").is_err());
    }
}
