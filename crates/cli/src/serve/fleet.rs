//! serve's fleet flags: the session store and ticket keys shared with other servers (docs/fleet.md), and
//! what the start-up line says of them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use tlskit::store::{StoreOptions, Stores};

use super::Args;

/// The stores' settings from the flags; the default server id is HOSTNAME:PORT.
pub(super) fn store_options(args: &Args, listen: SocketAddr) -> anyhow::Result<StoreOptions> {
    let session_store = args.session_store.clone().filter(|url| url != "memory");
    if !(args.store_timeout.is_finite() && args.store_timeout >= 0.0) {
        bail!("--store-timeout: {} is not a number of milliseconds", args.store_timeout);
    }
    let server_id = match &args.server_id {
        Some(id) => id.clone(),
        None => default_server_id(listen),
    };
    if server_id.is_empty() || server_id.len() > 64 || !server_id.chars().all(|c| c.is_ascii_graphic()) {
        bail!("--server-id {server_id:?}: 1 to 64 printable characters, no spaces");
    }
    Ok(StoreOptions {
        session_store,
        store_cacert: args.store_cacert.clone(),
        store_cert: args.store_cert.clone(),
        store_key: args.store_key.clone(),
        prefix: args.store_prefix.clone(),
        ticket_rotation: Duration::from_secs(args.ticket_rotation),
        ticket_key_files: args.ticket_key_file.clone(),
        store_timeout: Duration::from_secs_f64(args.store_timeout / 1000.0),
        server_id,
    })
}

/// HOSTNAME:PORT, or HOSTNAME-RANDOM when the port is picked at start-up.
fn default_server_id(listen: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "tlskit".into());
    if listen.port() != 0 {
        return format!("{host}:{}", listen.port());
    }
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{host}-{:06x}", (nanos ^ std::process::id()) & 0xff_ffff)
}

/// `session store: …` for the start-up line (no password).
pub(super) fn store_summary(options: &StoreOptions) -> String {
    match &options.session_store {
        Some(url) => format!("session store: {} (prefix {})", tlskit::store::shown_url(url), options.prefix),
        None => "session store: memory".into(),
    }
}

/// SIGHUP re-reads the ticket key files (as nginx reloads); the stores report the outcome.
pub(super) async fn reload_on_hangup(stores: Arc<Stores>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else { return };
    while hangup.recv().await.is_some() {
        let _ = stores.reload_key_files();
    }
}
