//! The one-line text of a handshake message: what the text form prints under its record, and the JSON form
//! carries as `text`.

use std::fmt::Write as _;

use crate::cipher::CipherSuiteId;

use crate::dissect::HandshakeDetail;
use crate::extensions::{ExtensionType, NamedGroup, PskKeyExchangeMode};
use crate::handshake::HandshakeType;
use crate::record::ProtocolVersion;
use crate::text::escape_untrusted;

/// Appends `label` and the names of `items` joined by `,` (no String per item, and no formatting for a name
/// that is a `&'static str`).
fn push_names<T: Copy>(out: &mut String, label: &str, items: &[T], name: impl Fn(T) -> &'static str) {
    out.push_str(label);
    for (i, &item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name(item));
    }
}

/// Appends `label` and peer-chosen `items`, each escaped, joined by `,`.
fn push_escaped(out: &mut String, label: &str, items: &[String]) {
    out.push_str(label);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&escape_untrusted(item));
    }
}

/// [`push_names`] for cipher suites, whose unnamed ids show as their number.
fn push_suites(out: &mut String, label: &str, suites: &[CipherSuiteId]) {
    out.push_str(label);
    for (i, &suite) in suites.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match suite {
            CipherSuiteId::Unknown(_) => {
                let _ = write!(out, "{suite}");
            }
            known => out.push_str(known.name()),
        }
    }
}

/// The text of one handshake message line (a Certificate message's certificates on lines of their own).
pub fn handshake_line(msg_type: HandshakeType, length: usize, detail: &HandshakeDetail) -> String {
    handshake_text(msg_type, length, detail, true)
}

/// [`handshake_line`], with or without the certificates of a Certificate message.
pub(super) fn handshake_text(
    msg_type: HandshakeType,
    length: usize,
    detail: &HandshakeDetail,
    certificates: bool,
) -> String {
    match detail {
        HandshakeDetail::ClientHello {
            version,
            sslv2,
            cipher_suites,
            extensions,
            server_name,
            alpn,
            versions,
            key_share,
            psk_modes,
            early_data,
            ..
        } => {
            let mut s = format!("ClientHello{} {version}", if *sslv2 { " (SSLv2 format)" } else { "" });
            if let Some(n) = server_name {
                s += &format!(" sni={}", escape_untrusted(n));
            }
            if !alpn.is_empty() {
                push_escaped(&mut s, " alpn=", alpn);
            }
            if !versions.is_empty() {
                push_names(&mut s, " versions=", versions, ProtocolVersion::name);
            }
            if !key_share.is_empty() {
                push_names(&mut s, " key_share=", key_share, NamedGroup::name);
            }
            if !psk_modes.is_empty() {
                push_names(&mut s, " psk_modes=", psk_modes, PskKeyExchangeMode::name);
            }
            if *early_data {
                s += " early_data";
            }
            push_suites(&mut s, " suites=", cipher_suites);
            push_names(&mut s, " extensions=", extensions, ExtensionType::name);
            s
        }
        HandshakeDetail::ServerHello { retry, version, cipher_suite, extensions, key_share, alpn, resumed, .. } => {
            let message = if *retry { HandshakeType::HelloRetryRequest } else { HandshakeType::ServerHello };
            let mut s = format!("{message} {version} {cipher_suite}");
            if let Some(g) = key_share {
                let _ = write!(s, " key_share={g}");
            }
            if let Some(a) = alpn {
                s += &format!(" alpn={}", escape_untrusted(a));
            }
            if *resumed {
                s += " resumed";
            }
            push_names(&mut s, " extensions=", extensions, ExtensionType::name);
            s
        }
        HandshakeDetail::Certificate { certificates: chain, count } => {
            let mut s = format!("Certificate ({count} certificates)");
            for c in chain.iter().filter(|_| certificates) {
                s += &format!(
                    "\n        subject={} issuer={} valid={}..{}",
                    escape_untrusted(&c.subject),
                    escape_untrusted(&c.issuer),
                    c.not_before,
                    c.not_after
                );
                if !c.subject_alt_names.is_empty() {
                    push_escaped(&mut s, " san=", &c.subject_alt_names);
                }
            }
            s
        }
        HandshakeDetail::EncryptedExtensions { extensions, early_data, alpn } => {
            let mut s = String::from("EncryptedExtensions");
            push_names(&mut s, " extensions=", extensions, ExtensionType::name);
            if let Some(a) = alpn {
                s += &format!(" alpn={}", escape_untrusted(a));
            }
            if *early_data {
                s += " early_data";
            }
            s
        }
        HandshakeDetail::NewSessionTicket { lifetime, ticket_len, max_early_data } => {
            let mut s = format!("NewSessionTicket lifetime={lifetime}s ticket={ticket_len} bytes");
            if let Some(m) = max_early_data {
                s += &format!(" max_early_data={m}");
            }
            s
        }
        HandshakeDetail::KeyUpdate { update_requested } => {
            format!("KeyUpdate{}", if *update_requested { " update_requested" } else { "" })
        }
        HandshakeDetail::CertificateVerify { scheme } => {
            format!("CertificateVerify {scheme}")
        }
        HandshakeDetail::Finished { verify_data } => format!("Finished verify_data={}", hex::encode(verify_data)),
        HandshakeDetail::Other => format!("{msg_type} len={length}"),
    }
}
