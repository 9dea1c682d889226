//! The library client against real servers on 127.0.0.1: redirects followed by the client, the
//! post-connection check, and read timeouts against a server that completes the handshake and goes silent.

use std::path::Path;
use std::sync::Arc;

use tlskit::client::{Client, ClientBuilder, ClientError};
use tlskit::context::Context;
use tlskit::server::{Server, ServerOptions};

/// A server of `root` on a free port; the context that trusts it and the base URL.
async fn serve(root: &Path) -> (Context, String) {
    let pki = tlskit::pki::ephemeral_server(&[]).expect("ephemeral PKI");
    let files = tlskit::files::FileService::new(root, Default::default()).expect("file service");
    let context = Context::new().identity(pki.identity.clone());
    let options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), context, files, Arc::new(|_| {}));
    let server = Server::bind(options).expect("bind");
    let url = format!("https://localhost:{}", server.local_addr().port());
    tokio::spawn(server.run(std::future::pending()));
    let ca = root.join("..").join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    (Context::new().trust(tlskit::pki::load_certs(&ca).unwrap()), url)
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root/sub")).unwrap();
    std::fs::write(dir.path().join("root/sub/index.html"), "in sub\n").unwrap();
    dir
}

fn builder(ctx: &Context) -> ClientBuilder {
    Client::builder(ctx).timeout(Some(std::time::Duration::from_secs(30)))
}

#[tokio::test]
async fn follow_redirects_returns_the_final_response_and_the_hops() {
    let dir = site();
    let (ctx, base) = serve(&dir.path().join("root")).await;

    // Off by default: the 301 is the response.
    let plain = builder(&ctx).build().unwrap().get(&format!("{base}/sub")).await.unwrap();
    assert_eq!(plain.status.as_u16(), 301);
    assert!(plain.redirects.is_empty());

    let client = builder(&ctx).follow_redirects(3).build().unwrap();
    let followed = client.get(&format!("{base}/sub")).await.unwrap();
    assert_eq!((followed.status.as_u16(), followed.text().as_str()), (200, "in sub\n"));
    assert_eq!(followed.url, format!("{base}/sub/"));
    let hops: Vec<_> = followed.redirects.iter().map(|r| (r.status.as_u16(), r.url.clone())).collect();
    assert_eq!(hops, [(301, format!("{base}/sub"))]);
    // The second connection resumed the first one's session.
    assert!(followed.session.resumed);

    // One redirect more than allowed is its own error.
    let strict = builder(&ctx).follow_redirects(0).build().unwrap();
    match strict.get(&format!("{base}/sub")).await {
        Err(ClientError::TooManyRedirects { max: 0 }) => {}
        other => panic!("expected TooManyRedirects, got {other:?}"),
    }
}

#[tokio::test]
async fn the_post_connection_check_sees_the_session_and_its_verdict_is_final() {
    let dir = site();
    let (ctx, base) = serve(&dir.path().join("root")).await;
    let url = format!("{base}/sub/");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = seen.clone();
    let client = builder(&ctx)
        .check(move |session| {
            noted.lock().unwrap().push((session.version.clone(), session.sni.clone()));
            Ok(())
        })
        .build()
        .unwrap();
    assert_eq!(client.get(&url).await.unwrap().status.as_u16(), 200);
    assert_eq!(*seen.lock().unwrap(), [("TLSv1.3".to_string(), Some("localhost".to_string()))]);

    let refusing = builder(&ctx).check(|_| Err("not on my list".into())).build().unwrap();
    match refusing.get(&url).await {
        Err(ClientError::CheckFailed { host, reason }) => {
            assert_eq!((host.as_str(), reason.as_str()), ("localhost", "not on my list"))
        }
        other => panic!("expected CheckFailed, got {other:?}"),
    }
}

/// A TLS server that completes every handshake and then never answers; its URL and the context trusting it.
async fn silent_server() -> (Context, String) {
    let pki = tlskit::pki::ephemeral_server(&[]).expect("ephemeral PKI");
    let config = tlskit::context::raw::server_config(&Context::new().identity(pki.identity.clone())).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}/", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(tls) = acceptor.accept(tcp).await {
                held.push(tls);
            }
        }
    });
    let ca = tlskit::pki::parse_certs(pki.ca_pem.into_bytes(), "ephemeral CA".as_ref()).unwrap();
    (Context::new().trust(ca), url)
}

#[tokio::test]
async fn a_read_timeout_ends_a_request_the_server_never_answers() {
    use std::time::{Duration, Instant};
    use tlskit::client::Phase;
    let (ctx, url) = silent_server().await;
    let client = builder(&ctx).read_timeout(Some(Duration::from_millis(300))).build().unwrap();
    let started = Instant::now();
    match client.get(&url).await {
        Err(ClientError::Timeout { phase: Phase::Read, after }) => assert_eq!(after, Duration::from_millis(300)),
        other => panic!("expected a read timeout, got {other:?}"),
    }
    // Well before the 30 s transfer limit of `builder`.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_handshake_alone_shows_the_session_and_the_chain_under_the_clients_verification() {
    let dir = site();
    let (ctx, base) = serve(&dir.path().join("root")).await;
    let shaken = builder(&ctx).build().unwrap().handshake(&base).await.unwrap();
    assert_eq!(shaken.chain.len(), 1);
    assert_eq!(shaken.session.version, "TLSv1.3");
    assert_eq!(
        shaken.session.peer_certificates[0].sha256_fingerprint,
        tlskit::pki::describe(&shaken.chain[0]).unwrap().sha256_fingerprint
    );
    assert_eq!(shaken.remote_addr.ip().to_string(), "127.0.0.1");
    // A context that trusts nothing of this server's refuses it: the handshake is verified like a request.
    let stranger = Context::new().trust(
        tlskit::pki::parse_certs(tlskit::pki::ephemeral_server(&[]).unwrap().ca_pem.into_bytes(), "other CA".as_ref())
            .unwrap(),
    );
    match builder(&stranger).build().unwrap().handshake(&base).await {
        Err(ClientError::BadCertificate { .. }) => {}
        other => panic!("expected BadCertificate, got {other:?}"),
    }
}
