//! The pages in a real browser: headless Chromium (Debian package `chromium`, installed by this suite)
//! loads the listing (and follows one of its sort links), `/_tls`, the `/_reneg_` explanation, the error
//! pages (404, the 403 of a client-certificate prefix, 405), a `tlskit dump --html` report and the ladder
//! `tlskit get --html` draws, each with no
//! console message and no Content-Security-Policy violation in Chromium's log; `--dump-dom` has the
//! expected elements; and a screenshot of each (light, dark, phone width) is written under
//! `target/tmp/browser-screenshots/` for a person to look at.
//!
//! Chromium trusts the test CA properly: an NSS database (certutil, from libnss3-tools) in the HOME it is
//! given, so the pages load over verified HTTPS to `localhost`.

mod common;
#[path = "../../wire/tests/support/captures.rs"]
mod support_captures;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::peers::tlskit;
use common::serve::{curl, Serve};
use support_captures::captures_dir;

/// A desktop window, and a phone's.
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// One headless Chromium setup: a HOME whose NSS database trusts the test CA.
struct Chromium {
    home: tempfile::TempDir,
}

/// What one Chromium run printed.
struct Run {
    stdout: String,
    log: String,
}

impl Chromium {
    fn new(ca: &Path) -> Chromium {
        common::require_packages(&["chromium", "libnss3-tools"]);
        let home = tempfile::tempdir().unwrap();
        let db = home.path().join(".pki/nssdb");
        std::fs::create_dir_all(&db).unwrap();
        let db_arg = format!("sql:{}", db.display());
        let certutil = |args: &[&str]| {
            let out = Command::new("certutil").args(args).output().expect("certutil runs");
            assert!(out.status.success(), "certutil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        certutil(&["-N", "-d", &db_arg, "--empty-password"]);
        certutil(&["-A", "-d", &db_arg, "-n", "tlskit test CA", "-t", "C,,", "-i", ca.to_str().unwrap()]);
        Chromium { home }
    }

    /// `chromium --headless … ARGS URL`, with a fresh profile, killed after 90 s.
    fn run(&self, args: &[String], url: &str) -> Run {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let out = child.wait_with_output();
            let _ = tx.send(());
            out
        });
        if rx.recv_timeout(Duration::from_secs(90)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("chromium did not finish {url} within 90 s");
        }
        let out = waiter.join().unwrap().expect("chromium output");
        assert!(out.status.success(), "chromium {url}: {}", String::from_utf8_lossy(&out.stderr));
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The page's DOM after load; fails on any console message or CSP violation.
    fn dom(&self, url: &str) -> String {
        let run = self.run(&["--dump-dom".into()], url);
        assert_clean(&run.log, url);
        run.stdout
    }

    /// A screenshot `name.png` under target/ at `size` (dark: `prefers-color-scheme: dark`); returns its path.
    fn screenshot(&self, url: &str, name: &str, size: (u32, u32), dark: bool) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&path);
        let mut args = vec![format!("--screenshot={}", path.display()), format!("--window-size={},{}", size.0, size.1)];
        if dark {
            args.push("--force-dark-mode".into());
        }
        let run = self.run(&args, url);
        assert_clean(&run.log, url);
        let (width, height, corner) = png_facts(&path);
        assert_eq!((width, height), size, "{name}: screenshot size");
        // The page background: dark in the dark theme, light otherwise.
        let luma = (u32::from(corner[0]) * 3 + u32::from(corner[1]) * 6 + u32::from(corner[2])) / 10;
        assert!(if dark { luma < 60 } else { luma > 200 }, "{name}: background {corner:?} (dark: {dark})");
        path
    }

    /// The page in the three views a person checks: desktop light, desktop dark, phone.
    fn screenshots(&self, url: &str, name: &str) {
        self.screenshot(url, name, DESKTOP, false);
        self.screenshot(url, &format!("{name}-dark"), DESKTOP, true);
        self.screenshot(url, &format!("{name}-phone"), PHONE, false);
    }
}

/// Chromium's log lines that are the page's problems: console messages (our pages run no script, so any
/// is an error or a blocked load) and CSP violations.
fn page_problems(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Content Security Policy") || l.contains("Refused to"))
        .collect()
}

fn assert_clean(log: &str, url: &str) {
    let problems = page_problems(log);
    assert!(problems.is_empty(), "{url}:\n{}", problems.join("\n"));
}

/// Width, height and the top-left pixel (RGB) of a PNG.
fn png_facts(path: &Path) -> (u32, u32, [u8; 3]) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("screenshot written")));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let frame = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = frame.color_type.samples();
    assert!(frame.bit_depth == png::BitDepth::Eight && channels >= 3, "{:?}", frame.color_type);
    (frame.width, frame.height, [buf[0], buf[1], buf[2]])
}

/// `&amp;` back to `&` in an attribute value.
fn unescape(attr: &str) -> String {
    attr.replace("&amp;", "&")
}

/// The sizes (from `title="N bytes"`) of a listing's file rows, in order.
fn file_sizes(dom: &str) -> Vec<u64> {
    dom.split("<td class=\"size\" title=\"").skip(1).map(|s| s.split(' ').next().unwrap().parse().unwrap()).collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_detector_sees_a_csp_violation() {
    // A control: if Chromium's log format changed, the other tests would pass for nothing.
    let (_d, pki) = common::pki();
    let chromium = Chromium::new(&pki.ca);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
         <p>x</p><script>document.title = 'ran'</script>",
    )
    .unwrap();
    let run = chromium.run(&["--dump-dom".into()], &format!("file://{}", page.display()));
    let problems = page_problems(&run.log);
    assert!(problems.iter().any(|l| l.contains("inline script")), "no violation seen in:\n{}", run.log);
    assert!(!run.stdout.contains("<title>ran</title>"), "the script was blocked");
}

#[test]
fn served_pages_load_clean_look_right_and_sort() {
    let (_d, pki) = common::pki();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("docs/guides")).unwrap();
    std::fs::create_dir_all(r.join("private")).unwrap();
    std::fs::write(r.join("private/secret.txt"), "for certificate holders\n").unwrap();
    std::fs::write(r.join("README.txt"), "tlskit serves this directory\n").unwrap();
    std::fs::write(r.join("docs/guides/intro.md"), "# intro\n").unwrap();
    for (name, size) in [("notes.txt", 1_234u64), ("archive.tar.gz", 7_340_032), ("photo.jpg", 245_760), ("tiny", 3)] {
        std::fs::write(r.join("docs").join(name), vec![b'x'; size as usize]).unwrap();
    }
    std::fs::write(r.join("docs/<odd> & 'quoted' name.txt"), "x").unwrap();
    let server = Serve::start(
        r,
        &[
            "--cert",
            p(&pki.server),
            "--key",
            p(&pki.server_key),
            "--client-ca",
            p(&pki.ca),
            "--client-auth",
            "optional",
            "--require-client-cert",
            "/private/",
        ],
    );
    let chromium = Chromium::new(&pki.ca);

    // The listing: breadcrumbs, sort links in the header, sizes with exact bytes.
    let docs = server.url_for("docs/");
    let dom = chromium.dom(&docs);
    assert!(dom.contains("<title>Index of /docs/</title>"), "the trusted page, not an interstitial: {dom}");
    assert!(dom.contains("<nav class=\"crumbs\" aria-label=\"Breadcrumbs\"><a href=\"../\">root</a>"), "{dom}");
    assert!(dom.contains("<a href=\"../\">Parent directory</a>"));
    assert!(dom.contains("&lt;odd&gt; &amp; 'quoted' name.txt"), "names escaped: {dom}");
    assert!(dom.contains("<td class=\"size\" title=\"7340032 bytes\">7.0 MiB</td>"));
    assert_eq!(file_sizes(&dom), [1, 7_340_032, 1_234, 245_760, 3], "name order (byte order: '<' < 'a')");
    chromium.screenshots(&docs, "listing");

    // Follow the Size header's link as a person would click it, and check the order it gives.
    let size_href = dom.split("<th class=\"size\"><a href=\"").nth(1).unwrap().split('"').next().unwrap();
    let sorted_url = format!("{docs}{}", unescape(size_href));
    assert!(sorted_url.ends_with("?sort=size&order=desc"), "{sorted_url}");
    let sorted = chromium.dom(&sorted_url);
    assert_eq!(file_sizes(&sorted), [7_340_032, 245_760, 1_234, 3, 1], "largest first");
    assert!(sorted.contains("<th class=\"size\" aria-sort=\"descending\">"));
    // ... and its link again: the other way round.
    let again = sorted.split("aria-sort=\"descending\"><a href=\"").nth(1).unwrap().split('"').next().unwrap();
    let ascending = chromium.dom(&format!("{docs}{}", unescape(again)));
    assert_eq!(file_sizes(&ascending), [1, 3, 1_234, 245_760, 7_340_032], "smallest first");
    chromium.screenshot(&sorted_url, "listing-by-size", DESKTOP, false);
    // The order follows into a subdirectory: its link carries the query.
    assert!(sorted.contains("<a href=\"guides/?sort=size&amp;order=desc\">guides/</a>"), "{sorted}");

    // /_tls: this connection, seen by the browser that made it.
    let tls = chromium.dom(&server.url_for("_tls"));
    assert!(tls.contains("<h1>This connection</h1>") && tls.contains("<td>TLSv1.3</td>"), "{tls}");
    assert!(tls.contains("<td>localhost</td>"), "Chromium sent SNI: {tls}");
    // ... and what Chromium offered in its ClientHello: GREASE among its suites, and its fingerprints.
    assert!(tls.contains("What your client offered (its ClientHello)"), "{tls}");
    assert!(
        tls.contains("<th>cipher suites</th><td><ol class=\"offered\"><li><em>GREASE</em>"),
        "Chromium's GREASE first: {tls}"
    );
    assert!(tls.contains("TLS_AES_128_GCM_SHA256 <small>0x1301</small>"), "{tls}");
    assert!(tls.contains("<th>JA4</th><td><code>t13d"), "{tls}");
    assert!(tls.contains("<th>JA4S</th><td><code>t13"), "{tls}");
    chromium.screenshots(&server.url_for("_tls"), "tls");

    // The magic URL: the explanation, and a listing served after the KeyUpdate.
    let reneg = chromium.dom(&server.url_for("_reneg_"));
    assert!(reneg.contains("<h1>KeyUpdate</h1>") && reneg.contains("/_reneg_/PATH"), "{reneg}");
    let reneg_listing = chromium.dom(&server.url_for("_reneg_/docs/"));
    assert!(reneg_listing.contains("<title>Index of /docs/</title>"));
    chromium.screenshot(&server.url_for("_reneg_"), "reneg", DESKTOP, false);

    // Error pages: 404, and the 403 of a prefix that needs a client certificate (Chromium has none).
    let missing = chromium.dom(&server.url_for("no/such/file"));
    assert!(missing.contains("<h1>404 Not Found</h1>"), "{missing}");
    chromium.screenshots(&server.url_for("no/such/file"), "error-404");
    let forbidden = chromium.dom(&server.url_for("private/secret.txt"));
    assert!(forbidden.contains("<h1>403 Forbidden</h1>") && forbidden.contains("client certificate"), "{forbidden}");
    assert!(!forbidden.contains("for certificate holders"));
    chromium.screenshots(&server.url_for("private/secret.txt"), "error-403");

    // 405: a browser navigates with GET only, so the page curl gets for a POST is loaded from a file, under
    // the policy the server sent with it (as a meta element; frame-ancestors has no meaning there).
    let (ok, page, err) = curl(&["-X", "POST", "--cacert", p(&pki.ca), "--resolve", &server.resolve(), &docs]);
    assert!(ok, "{err}");
    let (ok, head, err) = curl(&[
        "-X",
        "POST",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "--cacert",
        p(&pki.ca),
        "--resolve",
        &server.resolve(),
        &docs,
    ]);
    assert!(ok, "{err}");
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/2 405") && head.contains("allow: get, head"), "{head}");
    let csp = head.lines().find_map(|l| l.strip_prefix("content-security-policy: ")).expect("the page's CSP").trim();
    let meta_csp = csp.split(';').map(str::trim).filter(|d| !d.starts_with("frame-ancestors")).collect::<Vec<_>>();
    let page = String::from_utf8(page).unwrap().replacen(
        "<meta charset=\"utf-8\">",
        &format!(
            "<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            meta_csp.join("; ")
        ),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("405.html");
    std::fs::write(&file, page).unwrap();
    let url = format!("file://{}", file.display());
    let not_allowed = chromium.dom(&url);
    assert!(not_allowed.contains("<h1>405 Method Not Allowed</h1>"), "{not_allowed}");
    chromium.screenshot(&url, "error-405", DESKTOP, false);
}

#[test]
fn a_dump_report_loads_clean_with_a_ladder_per_connection() {
    let (_d, pki) = common::pki();
    let chromium = Chromium::new(&pki.ca);
    let c = captures_dir();
    let out = tempfile::tempdir().unwrap();
    for (name, args, capture, connections) in [
        ("report-tls12-tls13", vec![], c.join("derived-dsb/tls_nss_example-dsb.pcapng"), 2),
        (
            "report-0rtt",
            vec!["-l".to_owned(), c.join("wireshark-tls13-rfc8446/tls13-rfc8446.keys").display().to_string()],
            c.join("wireshark-tls13-rfc8446/tls13-rfc8446.pcap"),
            2,
        ),
        ("report-no-keys", vec![], c.join("ssldump-samples/tls1.3_curl_google.pcap"), 1),
    ] {
        let report = out.path().join(format!("{name}.html"));
        let run = tlskit(
            ["dump".to_owned(), "--html".to_owned(), report.display().to_string()]
                .into_iter()
                .chain(args)
                .chain([capture.display().to_string()]),
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let url = format!("file://{}", report.display());
        let dom = chromium.dom(&url);
        assert_eq!(dom.matches("<section class=\"ladder\"").count(), connections, "{name}: one ladder each");
        assert_eq!(dom.matches("<tr id=\"row-").count(), connections, "{name}: one row each");
        assert!(dom.matches("<li class=\"step ").count() >= 8 * connections, "{name}: arrows");
        match name {
            "report-tls12-tls13" => {
                assert_eq!(dom.matches("<li class=\"step s2c alert dec\">").count(), 2, "{name}: red, decrypted");
                assert!(dom.contains("Finished<span class=\"badge dec\">decrypted</span>"));
            }
            "report-0rtt" => {
                assert!(dom.contains("0-RTT data<span class=\"badge dec\">decrypted</span>"), "{name}");
                assert!(dom.contains("the server accepted the 0-RTT data"));
            }
            _ => {
                assert!(dom.contains("<span class=\"badge enc\">encrypted</span>"), "{name}");
                assert!(!dom.contains("<span class=\"badge dec\">decrypted</span></span>"), "{name}");
            }
        }
        chromium.screenshots(&url, name);
    }
}

#[test]
fn a_get_ladder_loads_clean() {
    let (_d, pki) = common::pki();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
    let server = Serve::start(root.path(), &["--cert", p(&pki.server), "--key", p(&pki.server_key), "--quiet"]);
    let chromium = Chromium::new(&pki.ca);
    let out = tempfile::tempdir().unwrap();
    let ladder = out.path().join("get.html");
    let url = server.url_for("hello.txt");
    let run = tlskit(["get", "-v", "--cacert", p(&pki.ca), "--html", p(&ladder), &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let file = format!("file://{}", ladder.display());
    let dom = chromium.dom(&file);
    assert_eq!(dom.matches("<section class=\"ladder\"").count(), 1, "{dom}");
    assert!(dom.contains("Certificate<span class=\"badge dec\">decrypted</span>"), "{dom}");
    chromium.screenshots(&file, "get-ladder");
}
