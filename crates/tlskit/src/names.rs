//! The names tlskit prints for protocol values: TLS versions, cipher suites, groups and alerts from the
//! wire crate's tables (the ones `tlskit dump` and the live trace print), and HTTP versions. A session
//! page, an access line, an error and a decoded capture therefore spell each value alike.
//!
//! They take the wire crate's typed protocol numbers (re-exported here), so a program needs no rustls
//! type to ask for a name:
//!
//! ```
//! use tlskit::names::{self, AlertDescription, CipherSuiteId, NamedGroup, ProtocolVersion};
//!
//! assert_eq!(names::suite_name(CipherSuiteId::new(0x1301)), "TLS_AES_128_GCM_SHA256");
//! assert_eq!(names::group_name(NamedGroup::X25519), "x25519");
//! assert_eq!(names::protocol_version_name(ProtocolVersion::new(0x0304)), "TLSv1.3");
//! assert_eq!(names::alert_name(AlertDescription::new(112)), "unrecognized_name");
//! assert_eq!(names::http_version(http::Version::HTTP_2), "HTTP/2");
//! ```

pub use tlskit_wire::alert::AlertDescription;
pub use tlskit_wire::cipher::CipherSuiteId;
pub use tlskit_wire::extensions::NamedGroup;
pub use tlskit_wire::record::ProtocolVersion;

use tlskit_wire::cipher::CipherSuite;

/// The IANA name of a cipher suite (`TLS_AES_128_GCM_SHA256`, not rustls's `TLS13_AES_128_GCM_SHA256`),
/// or `0x1234` for one the registry does not name.
pub fn suite_name(suite: CipherSuiteId) -> String {
    CipherSuite::lookup(suite).map_or_else(|| format!("0x{:04x}", suite.value()), |s| s.name.to_string())
}

/// The IANA name of a key exchange group (`x25519`, `secp256r1`, `X25519MLKEM768`), or `0x1234`.
pub fn group_name(group: NamedGroup) -> String {
    match group {
        NamedGroup::Unknown(id) => format!("0x{id:04x}"),
        named => named.name().to_string(),
    }
}

/// `TLSv1.2`, `TLSv1.3` (as OpenSSL and Wireshark print them), or `0x1234`.
pub fn protocol_version_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::Unknown(id) => format!("0x{id:04x}"),
        named => named.name().to_string(),
    }
}

/// The RFC name of an alert (`certificate_required`, `unrecognized_name`), or `unknown (200)`.
pub fn alert_name(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::Unknown(description) => format!("unknown ({description})"),
        named => named.name().to_string(),
    }
}

/// rustls's numbers as the wire crate's: the one crossing from rustls's types to ours.
pub(crate) mod from_rustls {
    use super::*;

    pub(crate) fn suite(suite: rustls::CipherSuite) -> CipherSuiteId {
        CipherSuiteId::new(u16::from(suite))
    }

    pub(crate) fn group(group: rustls::NamedGroup) -> NamedGroup {
        NamedGroup::new(u16::from(group))
    }

    pub(crate) fn version(version: rustls::ProtocolVersion) -> ProtocolVersion {
        ProtocolVersion::new(u16::from(version))
    }

    pub(crate) fn alert(alert: rustls::AlertDescription) -> AlertDescription {
        AlertDescription::new(u8::from(alert))
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
    use super::from_rustls::{alert, group, suite, version};
    use super::*;
    use rustls::{AlertDescription as Alert, CipherSuite as Suite, NamedGroup as Group, ProtocolVersion as Version};

    fn suite_name(s: Suite) -> String {
        super::suite_name(suite(s))
    }
    fn group_name(g: Group) -> String {
        super::group_name(group(g))
    }
    fn protocol_version_name(v: Version) -> String {
        super::protocol_version_name(version(v))
    }
    fn alert_name(a: Alert) -> String {
        super::alert_name(alert(a))
    }

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
        assert_eq!(group_name(Group::X25519), "x25519");
        assert_eq!(group_name(Group::secp256r1), "secp256r1");
        assert_eq!(group_name(Group::X25519MLKEM768), "X25519MLKEM768");
        assert_eq!(group_name(Group::Unknown(0x7777)), "0x7777");
        for group in crate::context::provider().kx_groups {
            assert!(!group_name(group.name()).starts_with("0x"), "{:?} has no name", group.name());
        }
        assert_eq!(protocol_version_name(Version::TLSv1_3), "TLSv1.3");
        assert_eq!(protocol_version_name(Version::TLSv1_2), "TLSv1.2");
    }

    #[test]
    fn alert_names_are_the_rfc_names() {
        assert_eq!(alert_name(Alert::CertificateRequired), "certificate_required");
        assert_eq!(alert_name(Alert::UnknownCA), "unknown_ca");
        assert_eq!(alert_name(Alert::UnknownPSKIdentity), "unknown_psk_identity");
        assert_eq!(alert_name(Alert::HandshakeFailure), "handshake_failure");
        // Where rustls's Debug spelling and the RFCs part ways.
        assert_eq!(alert_name(Alert::UnrecognisedName), "unrecognized_name");
        assert_eq!(alert_name(Alert::EncryptedClientHelloRequired), "ech_required");
        assert_eq!(alert_name(Alert::Unknown(200)), "unknown (200)");
    }

    #[test]
    fn http_versions() {
        assert_eq!(http_version(http::Version::HTTP_11), "HTTP/1.1");
        assert_eq!(http_version(http::Version::HTTP_2), "HTTP/2");
        assert_eq!(http_version(http::Version::HTTP_10), "HTTP/1.0");
    }
}
