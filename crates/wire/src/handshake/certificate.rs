//! The Certificate message (TLS 1.2 and 1.3 forms) as a borrowed list of DER certificates, and the summary of a
//! certificate that every rendering in the project shows.

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::codec::Reader;

/// The certificates of a Certificate message, borrowed: its framing is checked by [`Certificates::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certificates<'a> {
    list: &'a [u8],
    tls13: bool,
}

impl<'a> Certificates<'a> {
    /// Parses a Certificate body; TLS 1.3's has a request context and extensions per entry.
    pub fn parse(body: &'a [u8], tls13: bool) -> Option<Self> {
        let mut r = Reader::new(body);
        if tls13 {
            r.vec8()?; // certificate_request_context
        }
        let certificates = Self { list: r.vec24()?, tls13 };
        let mut check = Reader::new(certificates.list);
        while !check.is_empty() {
            certificates.entry(&mut check)?;
        }
        Some(certificates)
    }

    fn entry(&self, r: &mut Reader<'a>) -> Option<&'a [u8]> {
        let der = r.vec24()?;
        if self.tls13 {
            r.vec16()?; // per-entry extensions
        }
        Some(der)
    }

    /// The DER certificates, leaf first.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let this = *self;
        let mut r = Reader::new(self.list);
        std::iter::from_fn(move || this.entry(&mut r))
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the message carries no certificate (a client without one).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// What every rendering of a certificate shows, in one spelling: `tlskit dump`'s Certificate lines and the
/// tlskit library's certificate description (which adds what it knows beyond these) are built from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CertSummary {
    /// Subject distinguished name (RFC 4514), e.g. `CN=localhost, O=tlskit test`.
    pub subject: String,
    /// Issuer distinguished name (RFC 4514).
    pub issuer: String,
    /// notBefore, RFC 3339 in UTC (`2026-01-01T00:00:00Z`).
    pub not_before: String,
    /// notAfter, RFC 3339 in UTC.
    pub not_after: String,
    /// The subjectAltName entries, typed as OpenSSL prints them: `DNS:localhost`, `IP:127.0.0.1`, `email:…`,
    /// `URI:…`, `DirName:…`, `RID:…`, `othername:…`.
    pub subject_alt_names: Vec<String>,
}

impl CertSummary {
    /// Summarises a DER certificate; `None` if it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Some(Self::from_x509(&cert))
    }

    /// Summarises a certificate already parsed by x509-parser.
    pub fn from_x509(cert: &X509Certificate<'_>) -> Self {
        let mut subject_alt_names = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            subject_alt_names.extend(ext.value.general_names.iter().map(general_name));
        }
        let validity = cert.validity();
        Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: crate::time::rfc3339(validity.not_before.timestamp()),
            not_after: crate::time::rfc3339(validity.not_after.timestamp()),
            subject_alt_names,
        }
    }
}

/// One subjectAltName entry, with OpenSSL's type prefix.
fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(n) => format!("DNS:{n}"),
        GeneralName::IPAddress(ip) => match *ip {
            [a, b, c, d] => format!("IP:{}", std::net::Ipv4Addr::new(*a, *b, *c, *d)),
            _ => match <[u8; 16]>::try_from(*ip) {
                Ok(v6) => format!("IP:{}", std::net::Ipv6Addr::from(v6)),
                Err(_) => format!("IP:{}", hex::encode(ip)),
            },
        },
        GeneralName::RFC822Name(n) => format!("email:{n}"),
        GeneralName::URI(n) => format!("URI:{n}"),
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        GeneralName::RegisteredID(oid) => format!("RID:{oid}"),
        GeneralName::OtherName(oid, _) => format!("othername:{oid}"),
        GeneralName::X400Address(_) => "X400Name:<unsupported>".into(),
        GeneralName::EDIPartyName(_) => "EdiPartyName:<unsupported>".into(),
        GeneralName::Invalid(tag, _) => format!("invalid:[{tag:?}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls13_certificate_list() {
        // context len 0, list len 9: cert len 2, ext len 2 + 2 bytes
        let body = [0, 0, 0, 9, 0, 0, 2, 0xaa, 0xbb, 0, 2, 0, 0];
        let certs = Certificates::parse(&body, true).unwrap();
        assert_eq!(certs.iter().collect::<Vec<_>>(), [&[0xaa, 0xbb][..]]);
        assert!(Certificates::parse(&body[..12], true).is_none());
        assert!(Certificates::parse(&[0, 0, 0], false).unwrap().is_empty());
    }
}
