//! `tlskit dump`: decode and decrypt the TLS in a capture file, ssldump-style.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::dissect::{Direction, Event, Summary};
use tlskit_wire::keys::{KeyLog, RsaKey};
use tlskit_wire::record::ProtocolVersion;
use tlskit_wire::render::html::{HtmlOptions, HtmlReport, DEFAULT_LADDERS};
use tlskit_wire::render::{self, Connection, TextOptions, TextRenderer};
use tlskit_wire::text::escape_json_controls;

#[derive(clap::Args)]
pub struct Args {
    /// Capture file (pcap or pcapng, optionally gzip-compressed)
    file: Option<PathBuf>,
    /// NSS key log file (as written by SSLKEYLOGFILE)
    #[arg(short = 'l', long = "keylog", env = "SSLKEYLOGFILE")]
    keylog: Option<PathBuf>,
    /// Server RSA private key (PEM) for RSA key exchange
    #[arg(short = 'k', long = "key")]
    key: Option<PathBuf>,
    /// Pre-shared key (hex) for plain-PSK suites
    #[arg(long)]
    psk: Option<String>,
    /// Show each record in hex
    #[arg(short = 'x')]
    hex: bool,
    /// Show decrypted application data
    #[arg(short = 'd')]
    data: bool,
    /// Print only the reassembled plaintext of connection N
    #[arg(long, value_name = "N")]
    follow: Option<u64>,
    /// Write each connection's plaintext to DIR/<id>-c2s.bin, DIR/<id>-s2c.bin, plus DIR/index.json
    #[arg(long, value_name = "DIR")]
    extract: Option<PathBuf>,
    /// One JSON object per line (docs/dump-json.md)
    #[arg(long)]
    json: bool,
    /// A summary of every connection at the end
    #[arg(long)]
    summary: bool,
    /// Write a self-contained HTML report (a table of every connection, a ladder per handshake) to REPORT
    /// instead of the text output; `-` is standard output
    #[arg(long, value_name = "REPORT", conflicts_with_all = ["json", "follow"])]
    html: Option<PathBuf>,
    /// With --html: draw the ladders of the first N connections (the table lists all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LADDERS, requires = "html")]
    html_connections: usize,
    /// Capture live from an interface (needs a build with `--features live`); FILE is then a BPF filter
    #[arg(short = 'i', value_name = "IFACE")]
    interface: Option<String>,
    /// With -i: the rest of the command line is a capture filter, as for tcpdump (`tcp port 443`)
    #[arg(trailing_var_arg = true, hide = true)]
    filter: Vec<String>,
}

/// Plaintext being written for `--extract`, per connection.
struct Extracted {
    files: [BufWriter<File>; 2],
    /// 0-RTT data held until the server accepts or rejects it.
    early: Vec<u8>,
}

struct Output {
    out: BufWriter<std::io::Stdout>,
    text: TextRenderer,
    json: bool,
    data: bool,
    follow: Option<u64>,
    summary: bool,
    extract_dir: Option<PathBuf>,
    extracted: BTreeMap<u64, Extracted>,
    index: Vec<serde_json::Value>,
    summaries: Vec<(Connection, Summary)>,
    html: Option<HtmlOutput>,
    error: Option<std::io::Error>,
}

/// The report of `--html` while it is written: rows and ladders go to two unlinked temporary files, so a
/// capture of any size is reported in bounded memory; [`HtmlOutput::assemble`] puts the page together.
struct HtmlOutput {
    report: HtmlReport,
    rows: BufWriter<File>,
    ladders: BufWriter<File>,
}

impl HtmlOutput {
    fn new(options: HtmlOptions) -> anyhow::Result<Self> {
        Ok(Self {
            report: HtmlReport::new(options),
            rows: BufWriter::with_capacity(1 << 16, scratch_file("rows")?),
            ladders: BufWriter::with_capacity(1 << 16, scratch_file("ladders")?),
        })
    }

    /// Head (with the totals), rows, middle, ladders, tail, into `out`.
    fn assemble(self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut rows = self.rows.into_inner().map_err(|e| e.into_error())?;
        let mut ladders = self.ladders.into_inner().map_err(|e| e.into_error())?;
        self.report.head(out)?;
        rows.rewind()?;
        std::io::copy(&mut rows, out)?;
        self.report.middle(out)?;
        ladders.rewind()?;
        std::io::copy(&mut ladders, out)?;
        self.report.tail(out)?;
        out.flush()
    }
}

/// A temporary file that is already unlinked: nothing is left behind, however the process ends.
fn scratch_file(what: &str) -> anyhow::Result<File> {
    let dir = std::env::temp_dir();
    for attempt in 0..100u32 {
        let path = dir.join(format!(".tlskit-report-{}-{what}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                return Ok(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating a temporary file in {}", dir.display())),
        }
    }
    anyhow::bail!("no free temporary file name in {}", dir.display())
}

impl Output {
    fn check(&mut self, r: std::io::Result<()>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    /// No text or JSON output: `--follow` prints only plaintext, `--html` writes only the report.
    fn quiet(&self) -> bool {
        self.follow.is_some() || self.html.is_some()
    }
}

impl Handler for Output {
    fn connection_start(&mut self, conn: &Connection) {
        if let Some(dir) = &self.extract_dir {
            let open = |d: &str| File::create(dir.join(format!("{}-{d}.bin", conn.id))).map(BufWriter::new);
            match (open("c2s"), open("s2c")) {
                (Ok(c), Ok(s)) => {
                    self.extracted.insert(conn.id, Extracted { files: [c, s], early: Vec::new() });
                }
                (Err(e), _) | (_, Err(e)) => self.check(Err(e)),
            }
        }
        if let Some(html) = &mut self.html {
            html.report.connection_start(conn);
        }
        if self.quiet() {
            return;
        }
        let r = if self.json {
            writeln!(self.out, "{}", escape_json_controls(&render::connection_json(conn, None).to_string()))
        } else {
            self.text.connection_start(&mut self.out, conn)
        };
        self.check(r);
    }

    fn event(&mut self, conn: &Connection, event: &Event<'_>) {
        if let Some(x) = self.extracted.get_mut(&conn.id) {
            let r = match event {
                Event::ApplicationData { dir: Direction::ClientToServer, data, early: true, .. } => {
                    x.early.extend_from_slice(data);
                    Ok(())
                }
                Event::ApplicationData { dir, data, .. } => x.files[dir.index()].write_all(data),
                Event::EarlyData { accepted } => {
                    let early = std::mem::take(&mut x.early);
                    if *accepted {
                        x.files[0].write_all(&early)
                    } else {
                        Ok(())
                    }
                }
                _ => Ok(()),
            };
            self.check(r);
        }
        if let Some(html) = &mut self.html {
            html.report.event(conn, event);
            return;
        }
        if let Some(n) = self.follow {
            if n == conn.id {
                if let Event::ApplicationData { data, .. } = event {
                    let r = self.out.write_all(data);
                    self.check(r);
                }
            }
            return;
        }
        let r = if self.json {
            match render::event_json(conn, event, self.data) {
                // DEL and C1 controls a peer sent are escaped too, as in the text form.
                Some(v) => writeln!(self.out, "{}", escape_json_controls(&v.to_string())),
                None => Ok(()),
            }
        } else {
            self.text.event(&mut self.out, conn.id, event)
        };
        self.check(r);
    }

    fn connection_end(&mut self, conn: &Connection, summary: &Summary) {
        if let Some(mut x) = self.extracted.remove(&conn.id) {
            // 0-RTT data the server never answered about is not known to be accepted: left out.
            let r = x.files[0].flush().and_then(|_| x.files[1].flush());
            self.check(r);
            self.index.push(serde_json::json!({
                "id": conn.id,
                "client": conn.client.to_string(),
                "server": conn.server.to_string(),
                "version": summary.version.map(ProtocolVersion::name),
                "cipher_suite": summary.cipher_suite.map(|c| c.to_string()),
                "c2s": format!("{}-c2s.bin", conn.id),
                "s2c": format!("{}-s2c.bin", conn.id),
            }));
        }
        if self.summary {
            self.summaries.push((*conn, summary.clone()));
        }
        if let Some(html) = &mut self.html {
            let r = html.report.connection_end(&mut html.rows, &mut html.ladders, conn, summary);
            self.check(r);
        }
        if self.quiet() {
            return;
        }
        let r = if self.json {
            writeln!(self.out, "{}", escape_json_controls(&render::connection_json(conn, Some(summary)).to_string()))
        } else {
            self.text.connection_end(&mut self.out, conn, summary)
        };
        self.check(r);
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.interface.is_none() && !args.filter.is_empty() {
        anyhow::bail!("unexpected arguments: {}", args.filter.join(" "));
    }
    let keylog = Arc::new(RwLock::new(KeyLog::new()));
    // How much of the key log is read: a live capture follows what is appended later.
    let mut keylog_read = 0u64;
    if let Some(file) = &args.keylog {
        let text = std::fs::read(file).with_context(|| format!("reading key log {}", file.display()))?;
        keylog_read = text.len() as u64;
        let (log, problems) = KeyLog::parse_bytes(&text);
        if let Some(p) = problems.first() {
            eprintln!("tlskit: {}: {} line(s) not used, first: {p}", file.display(), problems.len());
        }
        keylog.write().map_err(|_| anyhow::anyhow!("key log lock"))?.merge(log);
    }
    let rsa = match &args.key {
        Some(file) => {
            let pem = std::fs::read_to_string(file).with_context(|| format!("reading key {}", file.display()))?;
            Some(Arc::new(RsaKey::from_pem(&pem).with_context(|| format!("{}", file.display()))?))
        }
        None => None,
    };
    let psk = match &args.psk {
        Some(h) => Some(hex_decode(h).context("--psk must be hex")?),
        None => None,
    };
    if let Some(dir) = &args.extract {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let html = match &args.html {
        Some(report) => {
            let title = match (&args.interface, &args.file) {
                (Some(iface), _) => format!("live capture on {iface}"),
                (None, Some(file)) => file.file_name().unwrap_or(file.as_os_str()).to_string_lossy().into_owned(),
                (None, None) => String::new(),
            };
            let options = HtmlOptions { title, ladders: args.html_connections, ..HtmlOptions::default() };
            Some((report.clone(), HtmlOutput::new(options)?))
        }
        None => None,
    };
    let (html_path, html) = html.map_or((None, None), |(path, output)| (Some(path), Some(output)));
    let mut analyzer = Analyzer::new(keylog.clone()).with_rsa_key(rsa).with_psk(psk);
    let mut output = Output {
        out: BufWriter::with_capacity(1 << 20, std::io::stdout()),
        text: TextRenderer::new(TextOptions { hex: args.hex, data: args.data, ..TextOptions::default() }),
        json: args.json,
        data: args.data,
        follow: args.follow,
        summary: args.summary,
        extract_dir: args.extract.clone(),
        extracted: BTreeMap::new(),
        index: Vec::new(),
        summaries: Vec::new(),
        html,
        error: None,
    };
    let (report, path) = match &args.interface {
        Some(iface) => {
            // With -i, the positional FILE is the first word of the filter.
            let filter: Vec<String> =
                args.file.iter().map(|f| f.display().to_string()).chain(args.filter.iter().cloned()).collect();
            let follow = args.keylog.as_ref().map(|path| (path.clone(), keylog_read, keylog.clone()));
            (live::run(iface, &filter.join(" "), follow, &mut analyzer, &mut output)?, PathBuf::from(iface))
        }
        None => {
            let Some(path) = args.file.clone() else { anyhow::bail!("give a capture file (or -i IFACE)") };
            let mut reader = CaptureReader::open(&path).with_context(|| format!("{}", path.display()))?;
            let report = capture::run(
                &mut reader,
                &mut analyzer,
                &mut |text| {
                    if let Ok(mut log) = keylog.write() {
                        log.merge(KeyLog::parse_bytes(text).0);
                    }
                },
                &mut output,
            );
            (report, path)
        }
    };
    if output.summary {
        let r = write_summary(&mut output, analyzer.malformed_frames());
        output.check(r);
    }
    let flushed = output.out.flush();
    output.check(flushed);
    if let (Some(path), Some(html)) = (&html_path, output.html.take()) {
        write_report(path, html)?;
    }
    if let Some(dir) = &args.extract {
        let index = serde_json::json!({ "connections": output.index });
        std::fs::write(dir.join("index.json"), serde_json::to_vec_pretty(&index)?)
            .with_context(|| format!("writing {}", dir.join("index.json").display()))?;
    }
    if let Some(e) = output.error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing output");
        }
    }
    if let Some(e) = report.error {
        eprintln!("tlskit: {}: {e} (after {} packets; what came before is shown)", path.display(), report.packets);
        if report.packets == 0 {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--summary`: the totals of every connection, then one line per connection; with `--json` one `summary`
/// object (each connection's own facts are in its `connection_end`). `malformed` is the analyzer's count of
/// frames it could not read, and the last reason.
fn write_summary(output: &mut Output, malformed: (u64, Option<&'static str>)) -> std::io::Result<()> {
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    let mut suites: BTreeMap<String, u64> = BTreeMap::new();
    let (mut bytes, mut failed, mut undecrypted, mut resumed) = (0u64, 0u64, 0u64, 0u64);
    for (_, s) in &output.summaries {
        *versions.entry(s.version.map_or("-", ProtocolVersion::name).to_string()).or_default() += 1;
        *suites.entry(s.cipher_suite.map_or_else(|| "-".to_string(), |c| c.to_string())).or_default() += 1;
        bytes += s.stats.plaintext_bytes[0] + s.stats.plaintext_bytes[1];
        failed += s.stats.failed_records;
        undecrypted += s.stats.undecrypted_records;
        resumed += u64::from(s.resumed);
    }
    let out = &mut output.out;
    if output.json {
        let summary = serde_json::json!({
            "conn": null, "event": "summary", "dir": null, "ts": null,
            "connections": output.summaries.len(), "resumed_connections": resumed,
            "versions": versions, "cipher_suites": suites,
            "plaintext_bytes": bytes, "failed_records": failed, "undecrypted_records": undecrypted,
            "malformed_frames": malformed.0, "last_malformed": malformed.1,
        });
        return writeln!(out, "{summary}");
    }
    let tally = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| format!("{k} x{v}")).collect::<Vec<_>>().join(", ");
    writeln!(out, "Summary: {} TLS connection(s), {resumed} resumed", output.summaries.len())?;
    writeln!(out, "  versions: {}", tally(&versions))?;
    writeln!(out, "  cipher suites: {}", tally(&suites))?;
    writeln!(
        out,
        "  decrypted: {bytes} bytes; records failed authentication: {failed}; left encrypted: {undecrypted}"
    )?;
    if let (n @ 1.., last) = malformed {
        writeln!(out, "  malformed frames: {n} (last: {})", last.unwrap_or("-"))?;
    }
    for (c, s) in &output.summaries {
        writeln!(out, "  #{} {} -> {} {}", c.id, c.client, c.server, render::summary_line(s))?;
    }
    Ok(())
}

/// Puts the report together at `path` (`-`: standard output) and says so on standard error.
fn write_report(path: &Path, html: HtmlOutput) -> anyhow::Result<()> {
    let (connections, ladders) = html.report.counts();
    if path == Path::new("-") {
        let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        html.assemble(&mut out).context("writing the report to standard output")?;
    } else {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        html.assemble(&mut out).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "tlskit dump: report written to {} ({connections} connection(s), {ladders} ladder(s))",
            path.display()
        );
    }
    Ok(())
}

fn hex_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    let s = s.trim();
    anyhow::ensure!(s.len().is_multiple_of(2), "odd number of hex digits");
    (0..s.len()).step_by(2).map(|i| Ok(u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16)?)).collect()
}

#[cfg(feature = "live")]
mod live {
    //! `-i IFACE [FILTER]`: frames from libpcap into the same analyzer.

    use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
    use std::path::PathBuf;
    use std::sync::{Arc, RwLock};

    use tlskit_wire::capture::{Analyzer, ReadReport, Timestamp};
    use tlskit_wire::keys::KeyLog;

    use super::Output;

    /// A key log file being appended to while we capture (a server's or a browser's SSLKEYLOGFILE): lines
    /// written after start are merged as they appear, so the connections they belong to still decrypt.
    struct KeyLogTail {
        path: PathBuf,
        /// Bytes of the file already read.
        read: u64,
        /// The start of a line whose newline has not been written yet.
        partial: Vec<u8>,
        log: Arc<RwLock<KeyLog>>,
    }

    impl KeyLogTail {
        /// Merges whatever complete lines were appended since the last call. Cheap when nothing changed
        /// (one stat); a file that shrank (rotated) is read again from the start.
        fn poll(&mut self) {
            let Ok(len) = std::fs::metadata(&self.path).map(|m| m.len()) else { return };
            if len < self.read {
                (self.read, self.partial) = (0, Vec::new());
            }
            if len == self.read {
                return;
            }
            let Ok(mut file) = std::fs::File::open(&self.path) else { return };
            let mut new = Vec::new();
            if file.seek(SeekFrom::Start(self.read)).is_err() || file.read_to_end(&mut new).is_err() {
                return;
            }
            self.read += new.len() as u64;
            self.partial.extend_from_slice(&new);
            let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else { return };
            let lines: Vec<u8> = self.partial.drain(..=end).collect();
            if let Ok(mut log) = self.log.write() {
                log.merge(KeyLog::parse_bytes(&lines).0);
            }
        }
    }

    /// Captures on `iface` until interrupted; `keylog` (path, bytes already read, the log) is followed.
    pub fn run(
        iface: &str,
        filter: &str,
        keylog: Option<(PathBuf, u64, Arc<RwLock<KeyLog>>)>,
        analyzer: &mut Analyzer,
        output: &mut Output,
    ) -> anyhow::Result<ReadReport> {
        use anyhow::Context as _;
        let mut tail = keylog.map(|(path, read, log)| KeyLogTail { path, read, partial: Vec::new(), log });
        let mut cap = pcap::Capture::from_device(iface)
            .with_context(|| format!("interface {iface}"))?
            .immediate_mode(true)
            .snaplen(262_144)
            .timeout(500)
            .open()
            .with_context(|| format!("capturing on {iface} (needs CAP_NET_RAW)"))?;
        if !filter.is_empty() {
            cap.filter(filter, true).with_context(|| format!("capture filter `{filter}`"))?;
        }
        let linktype = cap.get_datalink().0 as u32;
        // As tcpdump does: from here on no packet is missed (scripts and tests wait for this line).
        eprintln!("tlskit dump: listening on {iface}, link type {linktype}, filter `{filter}`");
        let mut report = ReadReport::default();
        loop {
            let packet = cap.next_packet();
            // Keys are written before the records they open are sent: read them before the packet.
            if let Some(tail) = &mut tail {
                tail.poll();
            }
            match packet {
                Ok(packet) => {
                    let ts = packet.header.ts;
                    let nanos = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_usec as u64 * 1000;
                    report.packets += 1;
                    analyzer.packet(linktype, Timestamp(nanos), packet.data, output);
                    // Live output is read as it comes: flush after each packet.
                    let r = output.out.flush();
                    output.check(r);
                    if output.error.is_some() {
                        break;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {}
                Err(e) => return Err(e).context("reading packets"),
            }
        }
        analyzer.finish(output);
        Ok(report)
    }
}

#[cfg(not(feature = "live"))]
mod live {
    use std::path::PathBuf;
    use std::sync::{Arc, RwLock};

    use tlskit_wire::capture::{Analyzer, ReadReport};
    use tlskit_wire::keys::KeyLog;

    use super::Output;

    pub fn run(
        iface: &str,
        _: &str,
        _: Option<(PathBuf, u64, Arc<RwLock<KeyLog>>)>,
        _: &mut Analyzer,
        _: &mut Output,
    ) -> anyhow::Result<ReadReport> {
        anyhow::bail!("live capture on {iface} needs a tlskit built with `--features live` (libpcap)")
    }
}
