//! A whole test PKI written to a directory: CA, server, client, CRL and the
//! certificates that must fail (expired, wrong name, other CA, revoked).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use super::generate::{CertificateAuthority, IssuedCertificate, KeyType, LeafSpec, Role};
use super::PkiError;

/// What `tlskit cert init` makes.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Key type of every key made (both CAs and all leaves).
    pub key_type: KeyType,
    /// SANs for the server certificate besides localhost, 127.0.0.1 and ::1.
    pub extra_sans: Vec<String>,
    /// Common name of the client certificate.
    pub client_cn: String,
    /// Also write the client certificate and key as a PKCS#12 bundle (`client.p12`).
    pub pkcs12: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            key_type: KeyType::P256,
            extra_sans: Vec::new(),
            client_cn: "tlskit test client".into(),
            pkcs12: false,
        }
    }
}

/// Where [`init`] put each file.
#[derive(Clone, Debug)]
pub struct PkiFiles {
    /// The directory itself.
    pub dir: PathBuf,
    /// The CA certificate (`ca.pem`): what clients and servers trust.
    pub ca: PathBuf,
    /// The CA's private key.
    pub ca_key: PathBuf,
    /// A server certificate for localhost, 127.0.0.1 and ::1.
    pub server: PathBuf,
    /// The server certificate's key.
    pub server_key: PathBuf,
    /// A client certificate signed by the CA.
    pub client: PathBuf,
    /// The client certificate's key.
    pub client_key: PathBuf,
    /// A CRL of the CA revoking `revoked_client`.
    pub crl: PathBuf,
    /// A server certificate that has expired.
    pub expired: PathBuf,
    /// The expired certificate's key.
    pub expired_key: PathBuf,
    /// A server certificate for another name.
    pub wrong_name: PathBuf,
    /// The wrong-name certificate's key.
    pub wrong_name_key: PathBuf,
    /// A second CA, trusted by nobody.
    pub other_ca: PathBuf,
    /// The second CA's key.
    pub other_ca_key: PathBuf,
    /// A client certificate signed by the second CA.
    pub other_client: PathBuf,
    /// Its key.
    pub other_client_key: PathBuf,
    /// A client certificate the CRL revokes.
    pub revoked_client: PathBuf,
    /// Its key.
    pub revoked_client_key: PathBuf,
    /// `README.txt`: which file is which.
    pub readme: PathBuf,
    /// `client.p12`, when asked for.
    pub client_p12: Option<PathBuf>,
}

/// The password of `client.p12` (browsers and macOS refuse a bundle without one).
pub const PKCS12_PASSWORD: &str = "tlskit";

impl PkiFiles {
    /// The paths [`init`] uses in `dir` (nothing is created).
    pub fn in_dir(dir: &Path, pkcs12: bool) -> Self {
        let at = |name: &str| dir.join(name);
        PkiFiles {
            dir: dir.to_path_buf(),
            ca: at("ca.pem"),
            ca_key: at("ca-key.pem"),
            server: at("server.pem"),
            server_key: at("server-key.pem"),
            client: at("client.pem"),
            client_key: at("client-key.pem"),
            crl: at("crl.pem"),
            expired: at("expired.pem"),
            expired_key: at("expired-key.pem"),
            wrong_name: at("wrong-name.pem"),
            wrong_name_key: at("wrong-name-key.pem"),
            other_ca: at("other-ca.pem"),
            other_ca_key: at("other-ca-key.pem"),
            other_client: at("other-client.pem"),
            other_client_key: at("other-client-key.pem"),
            revoked_client: at("revoked-client.pem"),
            revoked_client_key: at("revoked-client-key.pem"),
            readme: at("README.txt"),
            client_p12: pkcs12.then(|| at("client.p12")),
        }
    }

    /// Every file, in the order they are listed in README.txt.
    pub fn all(&self) -> Vec<&Path> {
        let mut all: Vec<&Path> = vec![
            &self.ca,
            &self.ca_key,
            &self.server,
            &self.server_key,
            &self.client,
            &self.client_key,
            &self.crl,
            &self.expired,
            &self.expired_key,
            &self.wrong_name,
            &self.wrong_name_key,
            &self.other_ca,
            &self.other_ca_key,
            &self.other_client,
            &self.other_client_key,
            &self.revoked_client,
            &self.revoked_client_key,
            &self.readme,
        ];
        all.extend(self.client_p12.as_deref());
        all
    }

    /// Those of the files that already exist (what `tlskit cert init` refuses to overwrite).
    pub fn existing(&self) -> Vec<&Path> {
        self.all().into_iter().filter(|p| p.exists()).collect()
    }
}

/// Make a test PKI in `dir` (created if missing); existing files of the same names are overwritten.
///
/// The CA is a root, so each certificate file holds just its leaf. Private keys are
/// PKCS#8 PEM with mode 0600.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let pki = tlskit::pki::init(dir.path(), &Default::default())?;
/// let server = tlskit::pki::load_identity(&pki.server, Some(&pki.server_key))?;
/// let summary = tlskit::pki::describe(&server.chain[0])?;
/// assert!(summary.subject_alt_names.contains(&"DNS:localhost".to_string()));
/// assert!(std::fs::read_to_string(&pki.crl)?.starts_with("-----BEGIN X509 CRL-----"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn init(dir: &Path, opts: &InitOptions) -> Result<PkiFiles, PkiError> {
    let files = PkiFiles::in_dir(dir, opts.pkcs12);
    // Everything is made in memory first, so bad options leave no half-written directory.
    let mut out = Outputs::default();
    let kt = opts.key_type;

    // Eight keys; RSA ones take a second or more each, so they are made on every core at once.
    let mut keys = generate_keys(kt, 8)?.into_iter();
    let mut key = move || keys.next().ok_or_else(|| PkiError::Generate("ran out of keys".into()));
    let now = OffsetDateTime::now_utc();
    let (from, year) = (now - Duration::hours(1), now + Duration::days(365));

    let ca = CertificateAuthority::with_key(&format!("tlskit test CA {}", short_id()?), key()?, 3650)?;
    out.file(&files.ca, ca.cert_pem().as_bytes(), false);
    out.file(&files.ca_key, ca.key_pem().as_bytes(), true);

    let server = ca.sign(&LeafSpec::server(kt, &opts.extra_sans), from, year, key()?)?;
    out.leaf(&server, &files.server, &files.server_key);

    let client = ca.sign(&LeafSpec::client(kt, &opts.client_cn), from, year, key()?)?;
    out.leaf(&client, &files.client, &files.client_key);
    if let Some(p12) = &files.client_p12 {
        let bundle = super::pkcs12::client_bundle(&client, ca.cert_der(), &opts.client_cn, PKCS12_PASSWORD)?;
        out.file(p12, &bundle, true);
    }

    // Expired a month ago, after a year of validity.
    let expired = ca.sign(&LeafSpec::server(kt, &[]), now - Duration::days(395), now - Duration::days(30), key()?)?;
    out.leaf(&expired, &files.expired, &files.expired_key);

    let wrong_name_spec = LeafSpec {
        role: Role::Server,
        common_name: "wrong-name.invalid".into(),
        sans: vec!["wrong-name.invalid".into()],
        key_type: kt,
        days: 365,
    };
    let wrong_name = ca.sign(&wrong_name_spec, from, year, key()?)?;
    out.leaf(&wrong_name, &files.wrong_name, &files.wrong_name_key);

    let other_ca = CertificateAuthority::with_key(&format!("tlskit other test CA {}", short_id()?), key()?, 3650)?;
    out.file(&files.other_ca, other_ca.cert_pem().as_bytes(), false);
    out.file(&files.other_ca_key, other_ca.key_pem().as_bytes(), true);
    let other_client = other_ca.sign(&LeafSpec::client(kt, "tlskit client of the other CA"), from, year, key()?)?;
    out.leaf(&other_client, &files.other_client, &files.other_client_key);

    let revoked = ca.sign(&LeafSpec::client(kt, "tlskit revoked client"), from, year, key()?)?;
    out.leaf(&revoked, &files.revoked_client, &files.revoked_client_key);
    let crl = ca.crl(&[&revoked.serial], 365)?;
    out.file(&files.crl, crl.as_bytes(), false);

    out.file(&files.readme, readme(&files, opts).as_bytes(), false);
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io { path: dir.to_path_buf(), source })?;
    for (path, bytes, secret) in &out.0 {
        write_file(path, bytes, *secret)?;
    }
    Ok(files)
}

/// Files to write: path, contents, and whether it is a secret (mode 0600).
#[derive(Default)]
struct Outputs(Vec<(PathBuf, Vec<u8>, bool)>);

impl Outputs {
    fn file(&mut self, path: &Path, bytes: &[u8], secret: bool) {
        self.0.push((path.to_path_buf(), bytes.to_vec(), secret));
    }

    fn leaf(&mut self, issued: &IssuedCertificate, cert: &Path, key: &Path) {
        self.file(cert, issued.cert_pem.as_bytes(), false);
        self.file(key, issued.key_pem.as_bytes(), true);
    }
}

/// `count` keys of one type, made on as many threads as there are cores.
fn generate_keys(key_type: KeyType, count: usize) -> Result<Vec<rcgen::KeyPair>, PkiError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count);
    if threads <= 1 || !matches!(key_type, KeyType::Rsa2048 | KeyType::Rsa3072) {
        return (0..count).map(|_| key_type.generate()).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let share = count / threads + usize::from(t < count % threads);
                scope.spawn(move || (0..share).map(|_| key_type.generate()).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut keys = Vec::with_capacity(count);
        for worker in workers {
            let made = worker.join().map_err(|_| PkiError::Generate("key generation thread failed".into()))??;
            keys.extend(made);
        }
        Ok(keys)
    })
}

/// Write a file whole; a secret one (a private key) gets mode 0600 before any byte lands.
pub fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), PkiError> {
    let io = |source| PkiError::Io { path: path.to_path_buf(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(if secret { 0o600 } else { 0o644 });
        let mut file = options.open(path).map_err(io)?;
        // An existing file keeps its old mode through open(): set it explicitly.
        if secret {
            file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        file.write_all(bytes).map_err(io)
    }
    #[cfg(not(unix))]
    {
        let _ = secret;
        options.open(path).and_then(|mut f| f.write_all(bytes)).map_err(io)
    }
}

/// Four random hex digits, so two test CAs made on one machine have different names.
fn short_id() -> Result<String, PkiError> {
    let mut bytes = [0u8; 2];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| PkiError::Generate("no randomness".into()))?;
    Ok(hex::encode_upper(bytes))
}

fn readme(files: &PkiFiles, opts: &InitOptions) -> String {
    let mut sans = String::from("localhost, 127.0.0.1, ::1");
    for s in &opts.extra_sans {
        sans.push_str(", ");
        sans.push_str(s);
    }
    let p12 = match &files.client_p12 {
        Some(_) => format!(
            "client.p12           client certificate, key and CA as PKCS#12 (password \"{PKCS12_PASSWORD}\"), for browsers\n"
        ),
        None => String::new(),
    };
    format!(
        "\
A test PKI made by `tlskit cert init` (key type {kt}). For tests only: the keys are not protected.

Good certificates (signed by ca.pem):
ca.pem               the CA certificate: trust it (curl --cacert, tlskit get --cacert, openssl -CAfile)
ca-key.pem           the CA private key (tlskit cert issue --ca DIR signs more certificates with it)
server.pem           server certificate for {sans} (serverAuth), valid one year
server-key.pem       its private key
client.pem           client certificate, CN \"{cn}\" (clientAuth), valid one year
client-key.pem       its private key
{p12}crl.pem              CRL of ca.pem, lists revoked-client.pem

Certificates that must fail:
expired.pem          server certificate for localhost that expired 30 days ago (+ expired-key.pem)
wrong-name.pem       server certificate for wrong-name.invalid only: a name mismatch (+ wrong-name-key.pem)
other-ca.pem         a second, unrelated CA (+ other-ca-key.pem)
other-client.pem     client certificate signed by other-ca.pem: unknown CA to a server trusting ca.pem
                     (+ other-client-key.pem)
revoked-client.pem   client certificate signed by ca.pem but listed in crl.pem (+ revoked-client-key.pem)

Each certificate file holds the leaf followed by its chain up to, not including, the root;
the CAs here are roots, so each holds one certificate. Keys are PKCS#8 PEM, mode 0600.

Which flags take them:
  tlskit serve --cert server.pem --key server-key.pem [--client-ca ca.pem --client-auth required --crl crl.pem]
  tlskit get --cacert ca.pem [--cert client.pem --key client-key.pem] https://localhost:9443/
  tlskit cert show server.pem --cacert ca.pem;  tlskit cert show localhost:9443 --cacert ca.pem
  tlskit cert issue --ca DIR --server --san web.test --out web   (adds web.pem and web-key.pem)
  curl --cacert ca.pem [--cert client.pem --key client-key.pem] https://localhost:9443/
  openssl s_server -cert server.pem -key server-key.pem [-Verify 1 -CAfile ca.pem -CRL crl.pem -crl_check] -www
  openssl s_client -CAfile ca.pem -verify_return_error [-cert client.pem -key client-key.pem] -connect localhost:9443
  openssl verify -CAfile ca.pem server.pem client.pem
  openssl verify -CAfile ca.pem -CRLfile crl.pem -crl_check revoked-client.pem   (fails: revoked)
  python3: ssl.create_default_context(cafile=\"ca.pem\"); ctx.load_cert_chain(\"client.pem\", \"client-key.pem\")
",
        kt = opts.key_type,
        cn = opts.client_cn,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_every_file_with_private_keys_0600() {
        let dir = tempfile::tempdir().unwrap();
        let opts = InitOptions { pkcs12: true, ..Default::default() };
        let files = init(dir.path(), &opts).unwrap();
        assert_eq!(files.existing().len(), files.all().len());
        #[cfg(unix)]
        for key in [&files.ca_key, &files.server_key, &files.client_key, &files.revoked_client_key] {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600, "{key:?}");
        }
        assert_eq!(super::super::load_crls(&files.crl).unwrap().len(), 1);
        let client = super::super::load_certs(&files.client).unwrap();
        assert_eq!(super::super::describe(&client[0]).unwrap().subject, "O=tlskit test PKI, CN=tlskit test client");
    }
}
