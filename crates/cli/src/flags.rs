//! The library names its options in errors (`ServerOptions::require_client_cert`, `Context::trust`); the
//! user typed flags. Each command's table says which flag sets which option, and errors are printed
//! through it, so a message names what the user can change.

/// `tlskit serve`.
pub const SERVE: &[(&str, &str)] = &[
    ("ServerOptions::require_client_cert", "--require-client-cert"),
    ("ServerOptions::hsts", "--hsts"),
    ("ServerOptions::key_log", "--keylog"),
    ("Context::client_auth", "--client-auth"),
    ("Context::cipher_suites", "--ciphers"),
    ("Context::versions", "--tls-versions"),
    ("Context::identity", "--cert/--key"),
    ("Context::crls", "--crl"),
    ("Context::trust", "--client-ca"),
];

/// `tlskit get` and `tlskit post`.
pub const GET: &[(&str, &str)] = &[
    ("Context::trust_system_roots", "the system roots"),
    ("Context::trust", "--cacert"),
    ("Context::cipher_suites", "--ciphers"),
    ("Context::key_exchange_groups", "--groups"),
    ("Context::versions", "--tlsv1.2/--tlsv1.3/--tls-max"),
    ("Context::identity", "--cert/--key"),
    ("Context::crls", "--crlfile"),
    ("Context::pin_spki_sha256", "--pinnedpubkey"),
];

/// `tlskit cert`.
pub const CERT: &[(&str, &str)] = &[("Trust::roots", "--cacert"), ("Trust::system_roots", "the system roots")];

/// `tlskit bench`: the TLS flags are get's.
pub const BENCH: &[(&str, &str)] = GET;

/// `tlskit dump`: the library's options do not reach its messages.
pub const DUMP: &[(&str, &str)] = &[];

/// `message` with each option of `table` named by its flag (longer option names first, so
/// `Context::trust_system_roots` is not read as `Context::trust`).
pub fn named(message: &str, table: &[(&str, &str)]) -> String {
    let mut entries: Vec<&(&str, &str)> = table.iter().collect();
    entries.sort_by_key(|(option, _)| std::cmp::Reverse(option.len()));
    let mut out = message.to_string();
    for (option, flag) in entries {
        if out.contains(option) {
            out = out.replace(option, flag);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_flags() {
        let lib = "ServerOptions::require_client_cert needs client authentication (Context::trust with \
                   Context::client_auth optional)";
        assert_eq!(
            named(lib, SERVE),
            "--require-client-cert needs client authentication (--client-ca with --client-auth optional)"
        );
        assert_eq!(
            named("no CA (Context::trust or Context::trust_system_roots)", GET),
            "no CA (--cacert or the system roots)"
        );
        assert_eq!(named("nothing to map", DUMP), "nothing to map");
    }

    #[test]
    fn every_option_named_in_a_table_is_one_the_library_has() {
        // The options are the library's public names: a renamed one would silently stop mapping.
        let sources = [
            include_str!("../../tlskit/src/server/mod.rs"),
            include_str!("../../tlskit/src/context/mod.rs"),
            include_str!("../../tlskit/src/pki/verify.rs"),
        ]
        .concat();
        for (option, _) in SERVE.iter().chain(GET).chain(CERT) {
            let (owner, name) = option.split_once("::").unwrap();
            let field = format!("pub {name}:");
            let method = [format!("pub fn {name}("), format!("pub fn {name}<")];
            assert!(sources.contains(&format!("pub struct {owner}")), "{option}: no {owner}");
            let found = sources.contains(&field) || method.iter().any(|m| sources.contains(m.as_str()));
            assert!(found, "{option}: no field or method {name}");
        }
    }
}
