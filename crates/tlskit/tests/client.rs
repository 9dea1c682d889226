//! The library client against a real tlskit server on 127.0.0.1: redirects followed by the client.

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
