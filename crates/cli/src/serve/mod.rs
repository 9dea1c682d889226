//! `tlskit serve [DIR]`: the HTTPS file server of the HOWTO.
//!
//! Prints the URL first (tests read it), then one access line per request with
//! the connection's TLS facts; `--trace` adds each handshake, message by message.
//! No line is ever waited for: access and trace lines go through a bounded
//! queue to a printer thread, warnings and errors through stderr's (output.rs),
//! and what a client chose (target, SNI, ALPN, names) is printed escaped.

mod fleet;
mod printer;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tlskit::context::{ClientAuth, Context, TlsVersion};
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{Limits, Model, Server, ServerEvent, ServerOptions};
use tlskit::store::{StoreEventSink, Stores};

use crate::output::{Lines, TracingWriter};
use fleet::{reload_on_hangup, store_options, store_summary};
use printer::Printer;

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
    /// Connections open at once, in any state (threads: one thread each); at the cap the oldest idle one is
    /// closed to make room, else new clients wait in the listen backlog [default: from the open-file limit,
    /// which is raised to its hard limit: 2 descriptors per connection]
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// TLS handshakes in progress at once; at the cap the oldest is closed [default: a quarter of
    /// --max-connections]
    #[arg(long, value_name = "N")]
    max_handshakes: Option<usize>,
    /// Idle keep-alive connections (nothing in flight); at the cap the oldest is closed [default: half of
    /// --max-connections]
    #[arg(long, value_name = "N")]
    max_idle_connections: Option<usize>,
    /// Connections with a response in flight; at the cap new clients wait in the backlog [default:
    /// --max-connections]
    #[arg(long, value_name = "N")]
    max_active_connections: Option<usize>,
    /// Server session cache entries (0 = off)
    #[arg(long, default_value_t = 4096, value_name = "SIZE")]
    session_cache: usize,
    /// Session tickets: on or off
    #[arg(long, default_value = "on", value_name = "on|off", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    tickets: bool,
    /// How long a session ticket (or a stored session) is accepted, in seconds; tickets advertise at most
    /// --ticket-rotation
    #[arg(long, default_value_t = 86_400, value_name = "SECS")]
    ticket_lifetime: u32,
    /// Where sessions and ticket keys are shared with the other servers of a fleet:
    /// redis://[USER:PASS@]HOST:PORT[/DB] or rediss://… (TLS); default: memory (this process only)
    #[arg(long, value_name = "URL", env = "TLSKIT_SESSION_STORE")]
    session_store: Option<String>,
    /// CA certificate(s) (PEM) for a rediss:// session store; default: the system's
    #[arg(long, value_name = "FILE", requires = "session_store")]
    store_cacert: Option<PathBuf>,
    /// Client certificate (PEM) for a rediss:// session store that requires one (Redis's tls-auth-clients)
    #[arg(long, value_name = "FILE", requires = "session_store")]
    store_cert: Option<PathBuf>,
    /// Private key of --store-cert (PEM); default: looked for in the --store-cert file
    #[arg(long, value_name = "FILE", requires = "store_cert")]
    store_key: Option<PathBuf>,
    /// Prefix of every key this server keeps in the session store
    #[arg(long, default_value = "tlskit:", value_name = "PREFIX")]
    store_prefix: String,
    /// How long a handshake waits for the session store before it goes on as a full handshake, in milliseconds
    #[arg(long, default_value_t = 20.0, value_name = "MS")]
    store_timeout: f64,
    /// Seconds a ticket key encrypts before the next one takes over (it decrypts for as long again)
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    ticket_rotation: u64,
    /// Ticket keys from an nginx ssl_session_ticket_key file (80 or 48 bytes; repeatable: the first encrypts,
    /// the others decrypt); re-read on SIGHUP or when it changes
    #[arg(long, value_name = "FILE")]
    ticket_key_file: Vec<PathBuf>,
    /// This server's name in the sessions it issues (shown where another server resumes them);
    /// default: HOSTNAME:PORT
    #[arg(long, value_name = "ID")]
    server_id: Option<String>,
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
    /// Seconds for a request header to arrive (HTTP/1.1, where it also ends idle keep-alive, and HTTP/2)
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    header_timeout: f64,
    /// Seconds a connection may sit with no request in flight and no response progress (HTTP/2 PINGs do not count)
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    idle_timeout: f64,
    /// Seconds a response may make no progress (a client that stops reading) before it is aborted: its
    /// HTTP/1.1 connection closed, its HTTP/2 stream reset
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    send_timeout: f64,
    /// Seconds in-flight responses get to finish after SIGINT/SIGTERM (idle connections close at once; a
    /// second signal exits at once)
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    shutdown_grace: f64,
    /// Lines held for stdout (access, trace) and for stderr while they do not drain; past that they are
    /// dropped and counted, never waited for
    #[arg(long, default_value_t = 65_536, value_name = "LINES")]
    log_queue: usize,
    /// Access lines as JSON objects, one per line
    #[arg(long)]
    json_log: bool,
    /// No access lines and no warnings (errors and the start-up lines still print)
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

/// Where the start-up certificate's CA goes: a new directory of our own under the temp dir (random name,
/// mode 0700), removed when the server stops. A name made from the PID could be a stale directory of another
/// user's killed server (PIDs are reused) or one planted in the shared temp dir.
fn ephemeral_ca_dir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().prefix("tlskit-serve-").permissions(std::fs::Permissions::from_mode(0o700)).tempdir()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let errors = Lines::spawn(args.log_queue.clamp(1, 4096))?;
    init_logging(args.quiet, &errors);
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
    let mut ca_dir = None;
    let (identity, fingerprint) = match &args.cert {
        Some(cert) => {
            let identity = tlskit::pki::load_identity(cert, args.key.as_deref())?;
            let leaf = identity.chain.first().context("--cert holds no certificate")?;
            let fingerprint = tlskit::pki::describe(leaf)?.sha256_fingerprint;
            (identity, fingerprint)
        }
        None => {
            let eph = tlskit::pki::ephemeral_server(&args.san)?;
            let dir = ephemeral_ca_dir().context("creating a directory for the start-up CA")?;
            let path = dir.path().join("ca.pem");
            std::fs::write(&path, eph.ca_pem.as_bytes())
                .with_context(|| format!("writing the start-up CA to {}", path.display()))?;
            ca_path = Some(path);
            ca_dir = Some(dir);
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
    let (mut limits, fd_note) = connection_caps(&args);
    limits.handshake_timeout = seconds("handshake-timeout", args.handshake_timeout)?;
    limits.header_timeout = seconds("header-timeout", args.header_timeout)?;
    limits.idle_timeout = seconds("idle-timeout", args.idle_timeout)?;
    limits.send_timeout = seconds("send-timeout", args.send_timeout)?;
    limits.shutdown_grace = seconds("shutdown-grace", args.shutdown_grace)?;
    if let Some(note) = fd_note {
        errors.line(note);
    }
    let store_options = store_options(&args, listen)?;
    return_freed_memory();
    let (events, log) =
        Printer { json: args.json_log, quiet: args.quiet, errors: errors.clone() }.spawn(args.log_queue.max(1))?;
    let store_events: StoreEventSink = {
        let events = events.clone();
        Arc::new(move |event| events(ServerEvent::Store(event)))
    };
    let context_for_stores = context.clone();
    let mut options = ServerOptions::new(listen, context, files, events);
    options.model = args.model;
    options.limits = limits;
    options.require_client_cert = args.require_client_cert.clone();
    options.hsts = args.hsts;
    options.trace = args.trace;
    options.key_log = key_log;

    let runtime = match args.model {
        Model::Async => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
        // The acceptor and the reactor; each connection gets its own thread, which polls it.
        Model::Threads => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    let ca_shown = ca_path.clone();
    let signal_errors = errors.clone();
    let result = runtime.block_on(async move {
        let shown_store = store_summary(&store_options);
        let stores = Stores::start(store_options, &context_for_stores, store_events).await?;
        options.stores = Some(stores.clone());
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
        writeln!(out, "{shown_store}, ticket keys: {}, server id {}", stores.key_source(), stores.server_id())?;
        if let Some(ca) = &ca_shown {
            writeln!(out, "start-up CA written to {}", ca.display())?;
            writeln!(out, "try: curl --cacert {} https://localhost:{}/", ca.display(), addr.port())?;
        }
        out.flush()?;
        drop(out);
        if stores.key_source() == tlskit::store::KeySource::Files {
            tokio::spawn(reload_on_hangup(stores.clone()));
        }
        server.run(shutdown_signal(signal_errors)).await?;
        anyhow::Ok(())
    });
    drop(ca_dir);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let stopped = result.map(|()| "tlskit serve: stopped".to_string());
    if let Ok(line) = &stopped {
        log.line(line.clone());
    }
    // Bounded: a stuck stdout or stderr must not keep the process from exiting.
    log.flush(Duration::from_secs(2));
    errors.flush(Duration::from_secs(1));
    stopped?;
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

/// The caps by state: defaults sized from the open-file limit (raised to its hard
/// limit first), flags over them, and one line when the limit is too low for them.
fn connection_caps(args: &Args) -> (Limits, Option<String>) {
    let fd = tlskit::server::raise_fd_limit().ok();
    let fds = fd.map_or(1024, |f| f.soft);
    let sized = Limits::for_fds(fds, args.model);
    let mut total = args.max_connections.unwrap_or(sized.max_connections).max(1);
    let mut note = None;
    let within = Limits::connections_within(fds);
    if total > within {
        let hard = fd.map_or(fds, |f| f.hard);
        note = Some(format!(
            "tlskit serve: the open-file limit ({hard}, hard) allows {within} connections at {} descriptors each, \
             not {total}: serving at most {within} (raise it with ulimit -Hn)",
            tlskit::server::FDS_PER_CONNECTION
        ));
        total = within;
    }
    let limits = Limits {
        max_connections: total,
        max_handshakes: args.max_handshakes.unwrap_or(total / 4).clamp(1, total),
        max_idle: args.max_idle_connections.unwrap_or(total / 2).clamp(1, total),
        max_active: args.max_active_connections.unwrap_or(total).clamp(1, total),
        ..sized
    };
    (limits, note)
}

/// glibc keeps memory freed on worker threads in their arenas: after an attack
/// that held many responses, the process would stay at its peak. Every 10 s the
/// free pages go back to the system (cheap when there is little to give back).
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let _ = std::thread::Builder::new().name("tlskit trim".into()).spawn(|| loop {
        std::thread::sleep(Duration::from_secs(10));
        // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
        unsafe { libc::malloc_trim(0) };
    });
}

/// Library warnings (rustls logs through `log`, routed into `tracing`) go to the
/// rate-limited stderr queue, filtered by RUST_LOG (default: warnings, but only errors
/// from rustls; `-q`: errors only).
///
/// rustls warns once per connection about what a client did (an IP address as SNI, as
/// wrk and many scripts send; a warning alert): in a server that is a line per client,
/// at the client's choosing, and the handshake's outcome is in the access line anyway.
fn init_logging(quiet: bool, errors: &Arc<Lines>) {
    use tracing_subscriber::EnvFilter;
    let filter = match (quiet, EnvFilter::try_from_default_env()) {
        (true, _) => EnvFilter::new("error"),
        (false, Ok(filter)) => filter,
        (false, Err(_)) => EnvFilter::new("warn,rustls=error"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(TracingWriter(errors.clone()))
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// Resolves on SIGINT or SIGTERM; a second one exits at once.
async fn shutdown_signal(errors: Arc<Lines>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    errors.line("tlskit serve: shutting down; in-flight responses finish (a second signal exits now)".into());
    let last = errors.clone();
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = int.recv() => 128 + libc::SIGINT,
            _ = term.recv() => 128 + libc::SIGTERM,
        };
        last.line("tlskit serve: second signal: exiting now".into());
        last.flush(Duration::from_millis(200));
        std::process::exit(code);
    });
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_accepts_port_only_and_v6() {
        assert_eq!(resolve_listen("127.0.0.1:0").unwrap().port(), 0);
        assert_eq!(resolve_listen(":8443").unwrap(), "127.0.0.1:8443".parse().unwrap());
        assert!(resolve_listen("[::1]:0").unwrap().is_ipv6());
        assert!(resolve_listen("nonsense").is_err());
    }
}
