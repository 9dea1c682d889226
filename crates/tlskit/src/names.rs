//! The names tlskit prints for protocol values: TLS versions, cipher suites, groups and alerts from the
//! wire crate's tables (the ones `tlskit dump` and the live trace print), and HTTP versions. A session
//! page, an access line, an error and a decoded capture therefore spell each value alike.
//!
//! ```
//! use tlskit::names;
//!
//! assert_eq!(names::suite_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256), "TLS_AES_128_GCM_SHA256");
//! assert_eq!(names::group_name(rustls::NamedGroup::X25519), "x25519");
//! assert_eq!(names::alert_name(rustls::AlertDescription::UnrecognisedName), "unrecognized_name");
//! assert_eq!(names::http_version(http::Version::HTTP_2), "HTTP/2");
//! ```

use tlskit_wire::alert::AlertDescription;
use tlskit_wire::cipher::{CipherSuite, CipherSuiteId};
use tlskit_wire::extensions::NamedGroup;
use tlskit_wire::record::ProtocolVersion;

/// The IANA name of a cipher suite (`TLS_AES_128_GCM_SHA256`, not rustls's `TLS13_AES_128_GCM_SHA256`),
/// or `0x1234` for one the registry does not name.
pub fn suite_name(suite: rustls::CipherSuite) -> String {
    let id = u16::from(suite);
    CipherSuite::lookup(CipherSuiteId::from(id)).map_or_else(|| format!("0x{id:04x}"), |s| s.name.to_string())
}

/// The IANA name of a key exchange group (`x25519`, `secp256r1`, `X25519MLKEM768`), or `0x1234`.
pub fn group_name(group: rustls::NamedGroup) -> String {
    let id = u16::from(group);
    match NamedGroup::from(id) {
        NamedGroup::Unknown(_) => format!("0x{id:04x}"),
        named => named.name().to_string(),
    }
}

/// `TLSv1.2`, `TLSv1.3` (as OpenSSL and Wireshark print them), or `0x1234`.
pub fn protocol_version_name(version: rustls::ProtocolVersion) -> String {
    let id = u16::from(version);
    match ProtocolVersion::from(id) {
        ProtocolVersion::Unknown(_) => format!("0x{id:04x}"),
        named => named.name().to_string(),
    }
}

/// The RFC name of an alert (`certificate_required`, `unrecognized_name`), or `unknown (200)`.
pub fn alert_name(alert: rustls::AlertDescription) -> String {
    let description = u8::from(alert);
    match AlertDescription::from(description) {
        AlertDescription::Unknown(_) => format!("unknown ({description})"),
        named => named.name().to_string(),
    }
}

/// `HTTP/1.1`, `HTTP/2`: how curl prints a version, and how tlskit's access lines, pages and client do.
/// (`HTTP/2`, not nginx's `HTTP/2.0`: HTTP/2 has no minor version, RFC 9113.)
pub fn http_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{AlertDescription, CipherSuite as Suite, NamedGroup, ProtocolVersion};

    #[test]
    fn every_suite_rustls_offers_has_an_iana_name() {
        for suite in crate::context::provider().cipher_suites {
            let name = suite_name(suite.suite());
            assert!(name.starts_with("TLS_") && !name.starts_with("TLS13_"), "{name}");
        }
        assert_eq!(suite_name(Suite::TLS13_CHACHA20_POLY1305_SHA256), "TLS_CHACHA20_POLY1305_SHA256");
        assert_eq!(
            suite_name(Suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(suite_name(Suite::Unknown(0xfefe)), "0xfefe");
    }

    #[test]
    fn groups_and_versions_are_the_analyzer_s_names() {
        assert_eq!(group_name(NamedGroup::X25519), "x25519");
        assert_eq!(group_name(NamedGroup::secp256r1), "secp256r1");
        assert_eq!(group_name(NamedGroup::X25519MLKEM768), "X25519MLKEM768");
        assert_eq!(group_name(NamedGroup::Unknown(0x7777)), "0x7777");
        for group in crate::context::provider().kx_groups {
            assert!(!group_name(group.name()).starts_with("0x"), "{:?} has no name", group.name());
        }
        assert_eq!(protocol_version_name(ProtocolVersion::TLSv1_3), "TLSv1.3");
        assert_eq!(protocol_version_name(ProtocolVersion::TLSv1_2), "TLSv1.2");
    }

    #[test]
    fn alert_names_are_the_rfc_names() {
        assert_eq!(alert_name(AlertDescription::CertificateRequired), "certificate_required");
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(alert_name(AlertDescription::UnknownPSKIdentity), "unknown_psk_identity");
        assert_eq!(alert_name(AlertDescription::HandshakeFailure), "handshake_failure");
        // Where rustls's Debug spelling and the RFCs part ways.
        assert_eq!(alert_name(AlertDescription::UnrecognisedName), "unrecognized_name");
        assert_eq!(alert_name(AlertDescription::EncryptedClientHelloRequired), "ech_required");
        assert_eq!(alert_name(AlertDescription::Unknown(200)), "unknown (200)");
    }

    #[test]
    fn http_versions() {
        assert_eq!(http_version(http::Version::HTTP_11), "HTTP/1.1");
        assert_eq!(http_version(http::Version::HTTP_2), "HTTP/2");
        assert_eq!(http_version(http::Version::HTTP_10), "HTTP/1.0");
    }
}
