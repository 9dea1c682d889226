//! Shared by the file-service tests: a served tree with secrets beside it, and request helpers.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use tempfile::TempDir;
use tlskit::files::{Body, FileOptions, FileService};

/// Content of files placed outside the served root: no response may ever contain it.
pub const CANARY: &str = "CANARY-outside-the-root-5d41402abc4b2a76";
pub const HELLO: &str = "hello world\n";

/// A served tree `root/` beside secrets in its parent directory.
pub struct Site {
    pub outer: TempDir,
}

impl Site {
    pub fn new() -> Self {
        let outer = tempfile::tempdir().expect("tempdir");
        let o = outer.path();
        fs::write(o.join("secret.txt"), CANARY).unwrap();
        fs::create_dir(o.join("secretdir")).unwrap();
        fs::write(o.join("secretdir/inner.txt"), CANARY).unwrap();
        fs::write(o.join("secretdir/index.html"), CANARY).unwrap();

        let r = o.join("root");
        fs::create_dir(&r).unwrap();
        fs::write(r.join("hello.txt"), HELLO).unwrap();
        fs::write(r.join("empty.txt"), "").unwrap();
        fs::write(r.join("ca.der"), [0x30u8, 0x82, 0x01, 0x00]).unwrap();
        fs::write(r.join("ca.crt"), [0x30u8, 0x82]).unwrap();
        fs::write(r.join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        fs::write(r.join("page.html"), "<p>hi</p>").unwrap();
        fs::write(r.join("big.bin"), big_content()).unwrap();
        fs::write(r.join(".hidden"), CANARY).unwrap();
        fs::create_dir(r.join(".hiddendir")).unwrap();
        fs::write(r.join(".hiddendir/x.txt"), CANARY).unwrap();
        fs::create_dir_all(r.join("sub/inner")).unwrap();
        fs::write(r.join("sub/a b.txt"), "spaced").unwrap();
        fs::write(r.join("sub/<script>.txt"), "tag").unwrap();
        fs::write(r.join("sub/zeta.txt"), "z").unwrap();
        fs::write(r.join("sub/.secret"), CANARY).unwrap();
        fs::create_dir(r.join("withindex")).unwrap();
        fs::write(r.join("withindex/index.html"), "<h1>index</h1>").unwrap();
        fs::create_dir(r.join("badindex")).unwrap();
        fs::write(r.join("badindex/listed.txt"), "x").unwrap();
        symlink(o.join("secretdir/index.html"), r.join("badindex/index.html")).unwrap();
        symlink("../secret.txt", r.join("escape")).unwrap();
        symlink(o.join("secret.txt"), r.join("escape_abs.txt")).unwrap();
        symlink("../secretdir", r.join("escapedir")).unwrap();
        symlink("sub/../../secret.txt", r.join("escape_via_sub")).unwrap();
        symlink("hello.txt", r.join("inlink.txt")).unwrap();
        symlink(".hidden", r.join("hiddenlink")).unwrap();
        symlink("/etc/passwd", r.join("passwd")).unwrap();
        Site { outer }
    }

    pub fn root(&self) -> std::path::PathBuf {
        self.outer.path().join("root")
    }

    pub fn service(&self) -> FileService {
        FileService::new(self.root(), FileOptions::default()).expect("service")
    }

    pub fn service_with(&self, options: FileOptions) -> FileService {
        FileService::new(self.root(), options).expect("service")
    }
}

/// 1 MiB of deterministic, non-repeating-looking bytes.
pub fn big_content() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn collect(body: Body) -> Bytes {
    body.collect().await.expect("body reads").to_bytes()
}

pub async fn send(service: &FileService, method: Method, uri: &str, headers: &[(HeaderName, &str)]) -> Reply {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    let request = builder.body(()).expect("request builds");
    let response = service.respond(&request).await;
    let (parts, body) = response.into_parts();
    Reply { status: parts.status, headers: parts.headers, body: collect(body).await }
}

pub async fn get(service: &FileService, uri: &str) -> Reply {
    send(service, Method::GET, uri, &[]).await
}
