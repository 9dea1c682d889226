//! Before the TLS accept: from the ClientHello the server peeked (without consuming it), the entries of
//! the shared store it names, fetched so that rustls's synchronous `get`/`take` find them in memory
//! ([`super::sessions`] says why this is safe).

use tlskit_wire::handshake::ClientHello;
use tlskit_wire::record::ProtocolVersion;

use super::redis::Fetch;
/// At most this many PSK identities are looked up (clients offer one).
const MAX_IDENTITIES: usize = 4;
/// The length of the ids rustls makes: TLS 1.2 session IDs and TLS 1.3 stateful tickets.
const ID_LEN: usize = 32;

/// What the server would resume with, and so what a ClientHello makes worth fetching.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resumption {
    pub(crate) tls13: bool,
    pub(crate) tls12: bool,
    /// Tickets are on: TLS 1.3 PSKs and TLS 1.2 tickets are decrypted, not looked up.
    pub(crate) tickets: bool,
}

/// The store entries a ClientHello names, as rustls will ask for them:
/// TLS 1.3 stateful tickets (pre_shared_key identities) are taken, a TLS 1.2
/// session ID is read. A TLS 1.3 client's legacy session ID is random and never looked up.
pub(crate) fn lookups(hello: &ClientHello<'_>, server: Resumption) -> Vec<(Vec<u8>, Fetch)> {
    let offers13 = hello.versions().any(|v| v == ProtocolVersion::TLSv1_3);
    if offers13 && server.tls13 {
        if server.tickets {
            return Vec::new();
        }
        return hello
            .psk_identities()
            .filter(|id| id.len() == ID_LEN)
            .take(MAX_IDENTITIES)
            .map(|id| (id.to_vec(), Fetch::Take))
            .collect();
    }
    // TLS 1.2: rustls tries an offered ticket and then does not look the session ID up.
    let offers_ticket = hello.session_ticket().is_some_and(|t| !t.is_empty());
    if server.tls12 && !offers_ticket && hello.session_id.len() == ID_LEN {
        return vec![(hello.session_id.to_vec(), Fetch::Get)];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body with the given session id and extensions.
    fn hello(session_id: &[u8], extensions: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([7u8; 32]);
        body.push(session_id.len() as u8);
        body.extend_from_slice(session_id);
        body.extend([0, 2, 0x13, 0x01, 1, 0]);
        body.extend((extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(extensions);
        body
    }

    const TLS13: [u8; 7] = [0, 43, 0, 3, 2, 3, 4];

    fn psk(identity: &[u8]) -> Vec<u8> {
        let mut ids = (identity.len() as u16).to_be_bytes().to_vec();
        ids.extend_from_slice(identity);
        ids.extend([0, 0, 0, 1]);
        let mut body = (ids.len() as u16).to_be_bytes().to_vec();
        body.extend(ids);
        body.extend([0, 0]);
        let mut ext = vec![0, 41];
        ext.extend((body.len() as u16).to_be_bytes());
        ext.extend(body);
        ext
    }

    const ALL: Resumption = Resumption { tls13: true, tls12: true, tickets: false };

    #[test]
    fn tls13_stateful_tickets_are_taken_and_legacy_ids_ignored() {
        let mut exts = TLS13.to_vec();
        exts.extend(psk(&[5u8; 32]));
        let body = hello(&[9u8; 32], &exts);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(lookups(&ch, ALL), vec![(vec![5u8; 32], Fetch::Take)]);
        assert!(lookups(&ch, Resumption { tickets: true, ..ALL }).is_empty(), "tickets are decrypted, not fetched");
        // A full TLS 1.3 handshake asks the store for nothing.
        let body = hello(&[9u8; 32], &TLS13);
        assert!(lookups(&ClientHello::parse(&body).unwrap(), ALL).is_empty());
    }

    #[test]
    fn tls12_session_ids_are_read_unless_a_ticket_is_offered() {
        let body = hello(&[9u8; 32], &[]);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(lookups(&ch, ALL), vec![(vec![9u8; 32], Fetch::Get)]);
        // A TLS 1.3 client on a TLS 1.2-only server: its session ID is looked up.
        let body13 = hello(&[9u8; 32], &TLS13);
        let tls12_only = Resumption { tls13: false, ..ALL };
        assert_eq!(lookups(&ClientHello::parse(&body13).unwrap(), tls12_only).len(), 1);
        let with_ticket = hello(&[9u8; 32], &[0, 35, 0, 2, 0xaa, 0xbb]);
        assert!(lookups(&ClientHello::parse(&with_ticket).unwrap(), ALL).is_empty());
        let asks_ticket = hello(&[9u8; 32], &[0, 35, 0, 0]);
        assert_eq!(lookups(&ClientHello::parse(&asks_ticket).unwrap(), ALL).len(), 1);
        assert!(lookups(&ClientHello::parse(&hello(&[1; 8], &[])).unwrap(), ALL).is_empty(), "not an id of ours");
    }
}
