//! Alerts: level and description names.

/// An alert's two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// The AlertDescription.
    pub description: u8,
}

impl Alert {
    /// Reads an alert from a (plaintext) alert record fragment.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [level, description, ..] => Some(Self { level: *level, description: *description }),
            _ => None,
        }
    }

    /// `warning`, `fatal` or `unknown`.
    pub fn level_name(&self) -> &'static str {
        match self.level {
            1 => "warning",
            2 => "fatal",
            _ => "unknown",
        }
    }

    /// The RFC name of the description (`close_notify`, `handshake_failure`, ...).
    pub fn description_name(&self) -> &'static str {
        match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            21 => "decryption_failed",
            22 => "record_overflow",
            30 => "decompression_failure",
            40 => "handshake_failure",
            41 => "no_certificate",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            60 => "export_restriction",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            100 => "no_renegotiation",
            109 => "missing_extension",
            110 => "unsupported_extension",
            111 => "certificate_unobtainable",
            112 => "unrecognized_name",
            113 => "bad_certificate_status_response",
            114 => "bad_certificate_hash_value",
            115 => "unknown_psk_identity",
            116 => "certificate_required",
            120 => "no_application_protocol",
            121 => "ech_required",
            _ => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let a = Alert::parse(&[2, 40]).unwrap();
        assert_eq!((a.level_name(), a.description_name()), ("fatal", "handshake_failure"));
        assert!(Alert::parse(&[1]).is_none());
    }
}
