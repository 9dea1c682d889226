//! Alerts: the two-byte message and the registries of its level and description.

use crate::codec::{enum_builder, Reader};

enum_builder! {
    /// An alert's level.
    pub enum AlertLevel: u8 (unknown "unknown") {
        /// warning (1)
        Warning = 1 => "warning",
        /// fatal (2)
        Fatal = 2 => "fatal",
    }
}

enum_builder! {
    /// An alert's description (IANA TLS Alerts), named as the RFCs spell it.
    pub enum AlertDescription: u8 (unknown "unknown") {
        /// close_notify
        CloseNotify = 0 => "close_notify",
        /// unexpected_message
        UnexpectedMessage = 10 => "unexpected_message",
        /// bad_record_mac
        BadRecordMac = 20 => "bad_record_mac",
        /// decryption_failed (reserved since TLS 1.1)
        DecryptionFailed = 21 => "decryption_failed",
        /// record_overflow
        RecordOverflow = 22 => "record_overflow",
        /// decompression_failure (reserved since TLS 1.3)
        DecompressionFailure = 30 => "decompression_failure",
        /// handshake_failure
        HandshakeFailure = 40 => "handshake_failure",
        /// no_certificate (SSL 3.0 only)
        NoCertificate = 41 => "no_certificate",
        /// bad_certificate
        BadCertificate = 42 => "bad_certificate",
        /// unsupported_certificate
        UnsupportedCertificate = 43 => "unsupported_certificate",
        /// certificate_revoked
        CertificateRevoked = 44 => "certificate_revoked",
        /// certificate_expired
        CertificateExpired = 45 => "certificate_expired",
        /// certificate_unknown
        CertificateUnknown = 46 => "certificate_unknown",
        /// illegal_parameter
        IllegalParameter = 47 => "illegal_parameter",
        /// unknown_ca
        UnknownCa = 48 => "unknown_ca",
        /// access_denied
        AccessDenied = 49 => "access_denied",
        /// decode_error
        DecodeError = 50 => "decode_error",
        /// decrypt_error
        DecryptError = 51 => "decrypt_error",
        /// export_restriction (reserved)
        ExportRestriction = 60 => "export_restriction",
        /// protocol_version
        ProtocolVersion = 70 => "protocol_version",
        /// insufficient_security
        InsufficientSecurity = 71 => "insufficient_security",
        /// internal_error
        InternalError = 80 => "internal_error",
        /// inappropriate_fallback
        InappropriateFallback = 86 => "inappropriate_fallback",
        /// user_canceled
        UserCanceled = 90 => "user_canceled",
        /// no_renegotiation (reserved since TLS 1.3)
        NoRenegotiation = 100 => "no_renegotiation",
        /// missing_extension
        MissingExtension = 109 => "missing_extension",
        /// unsupported_extension
        UnsupportedExtension = 110 => "unsupported_extension",
        /// certificate_unobtainable (reserved)
        CertificateUnobtainable = 111 => "certificate_unobtainable",
        /// unrecognized_name
        UnrecognizedName = 112 => "unrecognized_name",
        /// bad_certificate_status_response
        BadCertificateStatusResponse = 113 => "bad_certificate_status_response",
        /// bad_certificate_hash_value (reserved)
        BadCertificateHashValue = 114 => "bad_certificate_hash_value",
        /// unknown_psk_identity
        UnknownPskIdentity = 115 => "unknown_psk_identity",
        /// certificate_required
        CertificateRequired = 116 => "certificate_required",
        /// no_application_protocol
        NoApplicationProtocol = 120 => "no_application_protocol",
        /// ech_required
        EchRequired = 121 => "ech_required",
    }
}

/// An alert's two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// Warning or fatal.
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// Reads an alert from a (plaintext) alert record fragment.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        Some(Self { level: AlertLevel::new(r.u8()?), description: AlertDescription::new(r.u8()?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let a = Alert::parse(&[2, 40]).unwrap();
        assert_eq!((a.level, a.description), (AlertLevel::Fatal, AlertDescription::HandshakeFailure));
        assert_eq!((a.level.name(), a.description.name()), ("fatal", "handshake_failure"));
        assert_eq!(AlertDescription::from(116).to_string(), "certificate_required");
        assert_eq!(AlertDescription::from(200).name(), "unknown");
        assert!(Alert::parse(&[1]).is_none());
    }
}
