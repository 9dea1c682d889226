//! What tlskit wraps around rustls's session value before it leaves rustls,
//! in a ticket or in the shared store: when it was issued, by which server, and
//! under which client-authentication policy.
//!
//! rustls warns that servers sharing a store or ticketer must share their
//! client verifier, or a session made without a client certificate could be
//! resumed where one is required. The policy tag (a hash of the client-auth
//! mode and the CAs and CRLs it verifies against, [`PolicyTag`]) travels with
//! every session, and a session whose tag is not this server's is not resumed.

/// A hash of a server's client-authentication policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyTag(pub [u8; 32]);

const VERSION: u8 = 1;

/// The facts around a session value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub(crate) issued_at: u64,
    pub(crate) server_id: &'a str,
    pub(crate) value: &'a [u8],
}

/// `version | issued_at (u64) | id length (u8) | server id | policy tag (32) | value`.
pub(crate) fn seal(issued_at: u64, server_id: &str, policy: &PolicyTag, value: &[u8]) -> Vec<u8> {
    let id = &server_id.as_bytes()[..server_id.len().min(255)];
    let mut out = Vec::with_capacity(1 + 8 + 1 + id.len() + 32 + value.len());
    out.push(VERSION);
    out.extend_from_slice(&issued_at.to_be_bytes());
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out.extend_from_slice(&policy.0);
    out.extend_from_slice(value);
    out
}

/// The envelope, if it is well formed and was made under `policy`.
pub(crate) fn open<'a>(bytes: &'a [u8], policy: &PolicyTag) -> Option<Envelope<'a>> {
    let (&version, rest) = bytes.split_first()?;
    if version != VERSION {
        return None;
    }
    let issued_at = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let (&id_len, rest) = rest.get(8..)?.split_first()?;
    let id = rest.get(..id_len as usize)?;
    let rest = &rest[id_len as usize..];
    let tag = rest.get(..32)?;
    if tag != policy.0 {
        return None;
    }
    let server_id = std::str::from_utf8(id).ok()?;
    Some(Envelope { issued_at, server_id, value: &rest[32..] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_policy_mismatch() {
        let policy = PolicyTag([1; 32]);
        let sealed = seal(42, "web-1", &policy, b"value");
        assert_eq!(open(&sealed, &policy), Some(Envelope { issued_at: 42, server_id: "web-1", value: b"value" }));
        assert_eq!(open(&sealed, &PolicyTag([2; 32])), None, "another client-auth policy");
        for cut in 0..sealed.len() - 5 {
            assert_eq!(open(&sealed[..cut], &policy), None, "truncated at {cut}");
        }
    }
}
