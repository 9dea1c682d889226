//! `tlskit cert`: make a test PKI, issue one more certificate, show certificates and CRLs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use serde::Serialize;
use tlskit::pki::{
    self, CertificateDer, CertificateSummary, CrlSummary, InitOptions, KeyType, LeafSpec, Purpose, Role, Trust,
};

/// One line into the output buffer (writing to a String cannot fail).
macro_rules! out {
    ($o:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($arg)*);
    }};
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a test PKI in DIR: CA, server, client, CRL and certificates that must fail
    Init(InitArgs),
    /// Sign one more server or client certificate with the CA of a `cert init` directory
    Issue(IssueArgs),
    /// Show a certificate file, a CRL, or the chain a server sends (HOST:PORT)
    ///
    /// With --cacert (and always for HOST:PORT) the chain is also verified and the verdict printed;
    /// the exit status is 0 either way (see "verification" in --json).
    Show(ShowArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// Directory to write (created if missing)
    #[arg(default_value = "tlskit-pki")]
    dir: PathBuf,
    /// Key type of every key: rsa2048, rsa3072, p256, p384, ed25519
    #[arg(long, default_value = "p256", value_name = "TYPE")]
    key_type: KeyType,
    /// Extra DNS name or IP address for the server certificate (repeatable)
    #[arg(long, value_name = "NAME")]
    san: Vec<String>,
    /// Common name of the client certificate
    #[arg(long, default_value = "tlskit test client", value_name = "CN")]
    cn: String,
    /// Also write the client certificate as PKCS#12 (client.p12) for browsers
    #[arg(long)]
    pkcs12: bool,
    /// Overwrite files that already exist
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("role").required(true).args(["server", "client"])))]
pub struct IssueArgs {
    /// Directory holding ca.pem and ca-key.pem (as `tlskit cert init` writes them)
    #[arg(long, value_name = "DIR")]
    ca: PathBuf,
    /// A server certificate (serverAuth)
    #[arg(long)]
    server: bool,
    /// A client certificate (clientAuth)
    #[arg(long)]
    client: bool,
    /// Subject common name (default: the first --san for a server, "tlskit client" for a client)
    #[arg(long, value_name = "CN")]
    cn: Option<String>,
    /// DNS name or IP address (repeatable; a server without any gets localhost, 127.0.0.1, ::1)
    #[arg(long, value_name = "NAME")]
    san: Vec<String>,
    /// Days of validity
    #[arg(long, default_value_t = 365, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36500))]
    days: u32,
    /// Key type: rsa2048, rsa3072, p256, p384, ed25519
    #[arg(long, default_value = "p256", value_name = "TYPE")]
    key_type: KeyType,
    /// Write PREFIX.pem and PREFIX-key.pem
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// A PEM or DER certificate (chain) or CRL file, or HOST:PORT of a TLS server
    target: String,
    /// Verify against the CA certificates in FILE instead of the system roots
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Also check revocation against this CRL (with --cacert)
    #[arg(long, value_name = "FILE", requires = "cacert")]
    crl: Option<PathBuf>,
    /// Server name to send (SNI) and verify, for HOST:PORT (default: HOST)
    #[arg(long, value_name = "NAME")]
    servername: Option<String>,
    /// Seconds to wait for the connection and handshake
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    connect_timeout: u64,
    /// One JSON document instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Init(args) => init(args),
        Command::Issue(args) => issue(args),
        Command::Show(args) => show(args),
    }
}

fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let planned = pki::PkiFiles::in_dir(&args.dir, args.pkcs12);
    let existing = planned.existing();
    if !existing.is_empty() && !args.force {
        let mut names: Vec<String> = existing.iter().take(3).map(|p| p.display().to_string()).collect();
        if existing.len() > 3 {
            names.push(format!("and {} more", existing.len() - 3));
        }
        bail!("refusing to overwrite existing files: {} (use --force to replace them)", names.join(", "));
    }
    let opts = InitOptions { key_type: args.key_type, extra_sans: args.san, client_cn: args.cn, pkcs12: args.pkcs12 };
    let files = pki::init(&args.dir, &opts)?;
    out!(o, "Test PKI ({}) written to {}:", opts.key_type, files.dir.display());
    for path in files.all() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out!(o, "  {name}");
    }
    out!(o, "See {} for which file is which and the flags that take them.", files.readme.display());
    emit(&o)
}

fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let ca_cert = args.ca.join("ca.pem");
    let ca_key = args.ca.join("ca-key.pem");
    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("{}", p.display()));
    let ca = pki::CertificateAuthority::from_pem(&read(&ca_cert)?, &read(&ca_key)?)
        .with_context(|| format!("CA in {}", args.ca.display()))?;
    let role = if args.server { Role::Server } else { Role::Client };
    let sans = match role {
        Role::Server if args.san.is_empty() => pki::LOCAL_NAMES.iter().map(|n| n.to_string()).collect(),
        _ => args.san.clone(),
    };
    let default_cn = match (role, sans.first()) {
        (Role::Server, Some(first)) => first.trim_start_matches("DNS:").trim_start_matches("IP:").to_string(),
        _ => "tlskit client".to_string(),
    };
    let spec =
        LeafSpec { role, common_name: args.cn.unwrap_or(default_cn), sans, key_type: args.key_type, days: args.days };
    let cert_path = with_suffix(&args.out, ".pem");
    let key_path = with_suffix(&args.out, "-key.pem");
    for path in [&cert_path, &key_path] {
        if path.exists() && !args.force {
            bail!("refusing to overwrite {} (use --force to replace it)", path.display());
        }
    }
    let issued = ca.issue(&spec)?;
    pki::write_file(&cert_path, issued.cert_pem.as_bytes(), false)?;
    pki::write_file(&key_path, issued.key_pem.as_bytes(), true)?;
    let summary = pki::describe(&issued.der)?;
    out!(o, "Wrote {} and {}:", cert_path.display(), key_path.display());
    print_certificate(&mut o, &summary, now_unix());
    emit(&o)
}

/// `out` with `suffix` appended to its file name (`certs/web` -> `certs/web.pem`).
fn with_suffix(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// One certificate as `--json` shows it: the summary plus time to expiry.
#[derive(Serialize)]
struct CertificateJson<'a> {
    #[serde(flatten)]
    summary: &'a CertificateSummary,
    seconds_until_expiry: i64,
    expiry: String,
}

#[derive(Serialize)]
struct Verification {
    verified: bool,
    against: String,
    error: Option<String>,
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let path = Path::new(&args.target);
    if path.exists() {
        return show_file(path, &args);
    }
    let Some((host, port)) = pki::split_host_port(&args.target) else {
        bail!("{}: no such file, and not HOST:PORT", args.target);
    };
    show_server(host, port, &args)
}

fn trust(args: &ShowArgs) -> anyhow::Result<(Trust, String)> {
    let mut trust = Trust::default();
    let against = match &args.cacert {
        Some(file) => {
            trust.roots = pki::load_certs(file)?;
            if let Some(crl) = &args.crl {
                trust.crls = pki::load_crls(crl)?;
            }
            file.display().to_string()
        }
        None => {
            trust.system_roots = true;
            "the system roots".to_string()
        }
    };
    Ok((trust, against))
}

fn verification(chain: &[CertificateDer<'static>], purpose: &Purpose, args: &ShowArgs) -> anyhow::Result<Verification> {
    let (trust, against) = trust(args)?;
    Ok(match pki::verify_chain(chain, &trust, purpose) {
        Ok(()) => Verification { verified: true, against, error: None },
        Err(e) => Verification {
            verified: false,
            against,
            error: Some(crate::flags::named(&e.to_string(), crate::flags::CERT)),
        },
    })
}

fn show_file(path: &Path, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    let is_crl = if text.contains("-----BEGIN ") {
        text.contains("-----BEGIN X509 CRL-----") && !text.contains("-----BEGIN CERTIFICATE-----")
    } else {
        pki::describe(&bytes).is_err() && pki::describe_crl(&bytes).is_ok()
    };
    if is_crl {
        return show_crl(path, args);
    }
    let chain = pki::load_certs(path)?;
    let summaries: Vec<CertificateSummary> = chain
        .iter()
        .map(|der| pki::describe(der))
        .collect::<Result<_, _>>()
        .with_context(|| path.display().to_string())?;
    // A file has no name to check: verify the chain for its own purpose, only when asked.
    let verification = match (&args.cacert, summaries.first()) {
        (Some(_), Some(leaf)) if leaf.is_ca => Some(root_check(&chain, args)?),
        (Some(_), Some(leaf)) => Some(verification(&chain, &purpose_of(leaf), args)?),
        _ => None,
    };
    let now = now_unix();
    if args.json {
        let doc = serde_json::json!({
            "file": path.display().to_string(),
            "certificates": summaries.iter().map(|s| certificate_json(s, now)).collect::<Vec<_>>(),
            "verification": verification,
        });
        out!(o, "{}", serde_json::to_string_pretty(&doc)?);
        return emit(&o);
    }
    out!(o, "{}: {}", path.display(), count(summaries.len(), "certificate"));
    print_chain(&mut o, &summaries, now);
    if let Some(v) = &verification {
        print_verification(&mut o, v);
    }
    emit(&o)
}

/// A CA certificate is judged by whether it is one of the trusted roots itself.
fn root_check(chain: &[CertificateDer<'static>], args: &ShowArgs) -> anyhow::Result<Verification> {
    let (trust, against) = trust(args)?;
    let trusted = chain.first().is_some_and(|ca| trust.roots.contains(ca));
    let error = (!trusted).then(|| "a CA certificate that is not one of the trusted roots".to_string());
    Ok(Verification { verified: trusted, against, error })
}

/// A leaf that is only for clients is checked as a client certificate, anything else as a server's.
fn purpose_of(leaf: &CertificateSummary) -> Purpose {
    let client = leaf.extended_key_usage.iter().any(|e| e == "TLS Web Client Authentication");
    let server = leaf.extended_key_usage.iter().any(|e| e == "TLS Web Server Authentication");
    if client && !server {
        return Purpose::Client;
    }
    // Checked for its own first name, so that the name-aware path (which also takes CRLs) is used.
    let own_name = leaf
        .subject_alt_names
        .iter()
        .find_map(|san| san.strip_prefix("DNS:").or_else(|| san.strip_prefix("IP:")))
        .filter(|name| !name.contains('*'))
        .map(str::to_string);
    Purpose::Server(own_name)
}

fn show_crl(path: &Path, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let crls = pki::load_crls(path)?;
    let summaries: Vec<CrlSummary> = crls
        .iter()
        .map(|der| pki::describe_crl(der))
        .collect::<Result<_, _>>()
        .with_context(|| path.display().to_string())?;
    if args.json {
        let doc = serde_json::json!({ "file": path.display().to_string(), "crls": summaries });
        out!(o, "{}", serde_json::to_string_pretty(&doc)?);
        return emit(&o);
    }
    let now = now_unix();
    out!(o, "{}: {}", path.display(), count(summaries.len(), "CRL"));
    for crl in &summaries {
        out!(o, "  Issuer:          {}", crl.issuer);
        out!(o, "  This update:     {}", crl.this_update);
        match (&crl.next_update, crl.next_update_unix) {
            (Some(next), Some(unix)) => out!(o, "  Next update:     {next} ({})", due(unix - now, "due")),
            _ => out!(o, "  Next update:     (none)"),
        }
        if let Some(n) = &crl.crl_number {
            out!(o, "  CRL number:      {n}");
        }
        out!(o, "  Signature:       {}", crl.signature_algorithm);
        if crl.revoked.is_empty() {
            out!(o, "  Revoked:         none");
        } else {
            out!(o, "  Revoked:         {}", count(crl.revoked.len(), "certificate"));
            for r in &crl.revoked {
                let reason = r.reason.as_deref().map(|r| format!(", {r}")).unwrap_or_default();
                out!(o, "    {} (since {}{reason})", r.serial, r.revoked_at);
            }
        }
    }
    emit(&o)
}

fn show_server(host: &str, port: u16, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let timeout = Duration::from_secs(args.connect_timeout.max(1));
    let fetched = pki::fetch_chain(host, port, args.servername.as_deref(), timeout)?;
    let summaries: Vec<CertificateSummary> = fetched
        .chain
        .iter()
        .map(|der| pki::describe(der).unwrap_or_else(|_| CertificateSummary::unparsable(der)))
        .collect();
    let name = args.servername.clone().unwrap_or_else(|| host.to_string());
    let verification = verification(&fetched.chain, &Purpose::Server(Some(name.clone())), args)?;
    let now = now_unix();
    let session = &fetched.session;
    if args.json {
        let doc = serde_json::json!({
            "host": host,
            "port": port,
            "address": fetched.peer.to_string(),
            "server_name": name,
            "tls_version": session.version,
            "cipher_suite": session.cipher_suite,
            "key_exchange_group": session.key_exchange_group,
            "certificates": summaries.iter().map(|s| certificate_json(s, now)).collect::<Vec<_>>(),
            "verification": verification,
        });
        out!(o, "{}", serde_json::to_string_pretty(&doc)?);
        return emit(&o);
    }
    let group = session.key_exchange_group.as_deref().map(|g| format!(", {g}")).unwrap_or_default();
    out!(o, "{host}:{port} ({}): {}, {}{group}", fetched.peer, session.version, session.cipher_suite);
    out!(o, "Chain sent by the server: {}", count(summaries.len(), "certificate"));
    print_chain(&mut o, &summaries, now);
    print_verification(&mut o, &verification);
    emit(&o)
}

fn certificate_json(summary: &CertificateSummary, now: i64) -> CertificateJson<'_> {
    let left = summary.not_after_unix - now;
    CertificateJson { summary, seconds_until_expiry: left, expiry: expiry(summary, now) }
}

fn print_chain(o: &mut String, chain: &[CertificateSummary], now: i64) {
    for (i, cert) in chain.iter().enumerate() {
        out!(o, "[{i}]");
        print_certificate(o, cert, now);
    }
}

fn print_certificate(o: &mut String, c: &CertificateSummary, now: i64) {
    let list = |v: &[String]| if v.is_empty() { "(none)".to_string() } else { v.join(", ") };
    out!(o, "  Subject:         {}", c.subject);
    out!(o, "  Issuer:          {}", c.issuer);
    out!(o, "  Serial:          {}", c.serial);
    out!(o, "  Not before:      {}", c.not_before);
    out!(o, "  Not after:       {} ({})", c.not_after, expiry(c, now));
    out!(o, "  SANs:            {}", list(&c.subject_alt_names));
    out!(o, "  Key:             {}", c.key);
    out!(o, "  Signature:       {}", c.signature_algorithm);
    out!(o, "  Key usage:       {}", list(&c.key_usage));
    out!(o, "  Extended usage:  {}", list(&c.extended_key_usage));
    out!(o, "  CA:              {}", if c.is_ca { "yes" } else { "no" });
    out!(o, "  SHA-256:         {}", c.sha256_fingerprint);
    out!(o, "  SPKI pin:        {}", c.spki_pin);
}

fn print_verification(o: &mut String, v: &Verification) {
    match &v.error {
        None => out!(o, "Verification: OK (against {})", v.against),
        Some(e) => out!(o, "Verification: FAILED against {}: {e}", v.against),
    }
}

/// "expires in 364 days", "expired 30 days ago", "not valid yet (starts in 2 hours)".
fn expiry(c: &CertificateSummary, now: i64) -> String {
    if c.not_before_unix > now {
        return format!("not valid yet: {}", due(c.not_before_unix - now, "starts"));
    }
    due(c.not_after_unix - now, "expires")
}

/// `verb in N units` for the future, `verb-ed N units ago` for the past.
fn due(seconds: i64, verb: &str) -> String {
    let span = |s: i64| {
        let s = s.abs();
        match s {
            s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
            s if s >= 2 * 3600 => format!("{} hours", s / 3600),
            s if s >= 120 => format!("{} minutes", s / 60),
            s => count(s as usize, "second"),
        }
    };
    let past = match verb {
        "expires" => "expired",
        "starts" => "started",
        other => other,
    };
    if seconds >= 0 {
        format!("{verb} in {}", span(seconds))
    } else if verb == "due" {
        format!("overdue by {}", span(seconds))
    } else {
        format!("{past} {} ago", span(seconds))
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Print the whole output at once; a reader that went away (`| head`) is not an error.
fn emit(o: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(o.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_read_naturally() {
        assert_eq!(due(364 * 86_400 + 5, "expires"), "expires in 364 days");
        assert_eq!(due(-30 * 86_400, "expires"), "expired 30 days ago");
        assert_eq!(due(3 * 3600, "expires"), "expires in 3 hours");
        assert_eq!(due(1, "expires"), "expires in 1 second");
        assert_eq!(due(-5 * 86_400, "due"), "overdue by 5 days");
    }
}
