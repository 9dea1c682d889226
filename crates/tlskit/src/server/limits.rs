//! How many connections the server holds in each state, how long it waits for
//! a peer, and the file-descriptor budget the defaults are sized from.
//!
//! Each connection costs at most two descriptors (its socket, and the file it
//! is sending) in both execution models, so the default caps follow from
//! `RLIMIT_NOFILE`, which [`raise_fd_limit`] lifts to its hard limit first.

use std::time::Duration;

use super::Model;

/// Descriptors budgeted per connection: its socket and one open file (responses
/// that hold a file are capped at `max_connections` in all, whatever the
/// number of HTTP/2 streams; past it a file response is a 503).
pub const FDS_PER_CONNECTION: u64 = 2;

/// Descriptors kept for everything else: the listener, the runtime, stdio, key log, certificates.
pub const RESERVED_FDS: u64 = 64;

/// The default total cap never goes above this, however many descriptors there are
/// (an idle async connection costs ~30 KB of memory, a thread-model one a thread).
const CEILING: [usize; 2] = [65_536, 16_384];

/// Bounds on connections, by state, and how long the server waits for a peer.
///
/// A connection is *handshaking* from TCP accept to the end of the TLS
/// handshake, *active* while at least one response is in flight, and *idle*
/// otherwise (an HTTP/1.1 keep-alive connection between requests, an HTTP/2
/// connection with no open request, or one whose next request header is still
/// arriving).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once, in any state. At the cap the oldest idle
    /// connection is closed to make room; when none is idle, new connections
    /// wait in the listen backlog.
    pub max_connections: usize,
    /// TLS handshakes in progress. At the cap the oldest one is closed
    /// (a slow or silent client) and the new connection is taken.
    pub max_handshakes: usize,
    /// Idle connections. At the cap the oldest idle one is closed.
    pub max_idle: usize,
    /// Active connections. At the cap no new connection is accepted until a
    /// response finishes (they wait in the listen backlog).
    pub max_active: usize,
    /// From TCP accept to the end of the TLS handshake.
    pub handshake_timeout: Duration,
    /// For a request's header to arrive: HTTP/1.1 (where it also bounds idle
    /// keep-alive) and HTTP/2 (from a HEADERS frame to its END_HEADERS).
    pub header_timeout: Duration,
    /// A connection with no request in flight and no response progress is
    /// closed after this (HTTP/2 PINGs and SETTINGS do not count as progress).
    pub idle_timeout: Duration,
    /// A response that makes no progress for this long is aborted: its HTTP/1.1
    /// connection closed, or its HTTP/2 stream reset (the connection goes on).
    pub send_timeout: Duration,
    /// After the shutdown signal, how long in-flight responses may take (idle
    /// connections are closed at once).
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    /// Caps for 1024 descriptors (the common soft limit); see [`Limits::for_fds`].
    fn default() -> Self {
        Limits::for_fds(1024, Model::Async)
    }
}

impl Limits {
    /// Defaults sized for `fds` open descriptors in `model`: all connections at
    /// two descriptors each, a quarter of them handshaking, half of them idle.
    pub fn for_fds(fds: u64, model: Model) -> Limits {
        let budget = fds.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION;
        let ceiling = match model {
            Model::Async => CEILING[0],
            Model::Threads => CEILING[1].min(thread_ceiling()),
        };
        let total = (budget.min(ceiling as u64) as usize).max(1);
        Limits {
            max_connections: total,
            max_handshakes: (total / 4).max(1),
            max_idle: (total / 2).max(1),
            max_active: total,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
        }
    }

    /// Descriptors these caps can need at once.
    pub fn fds_needed(&self) -> u64 {
        self.max_connections as u64 * FDS_PER_CONNECTION + RESERVED_FDS
    }

    /// The largest `max_connections` that `fds` descriptors allow.
    pub fn connections_within(fds: u64) -> usize {
        (fds.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION).max(1) as usize
    }
}

/// Threads the kernel lets one process have in practice: each thread's stack is
/// two memory mappings, and both `threads-max` and `max_map_count` bound them.
fn thread_ceiling() -> usize {
    let read = |path: &str| std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<usize>().ok());
    let maps = read("/proc/sys/vm/max_map_count").map_or(usize::MAX, |m| m / 4);
    let threads = read("/proc/sys/kernel/threads-max").map_or(usize::MAX, |t| t / 2);
    maps.min(threads).max(1)
}

/// The process's open-file limit before and after [`raise_fd_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit found at start-up.
    pub was: u64,
    /// The soft limit now in force.
    pub soft: u64,
    /// The hard limit (the most an unprivileged process can raise to).
    pub hard: u64,
}

/// Raise `RLIMIT_NOFILE`'s soft limit to its hard limit (as nginx's
/// `worker_rlimit_nofile` would be set by hand) and report both. An unlimited
/// hard limit is taken as the kernel's `nr_open`.
// rlim_t is u64 here but u32 on 32-bit targets: the conversions are needed there.
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
pub fn raise_fd_limit() -> std::io::Result<FdLimit> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let was = u64::from(lim.rlim_cur);
    let mut hard = u64::from(lim.rlim_max);
    if lim.rlim_max == libc::RLIM_INFINITY {
        hard =
            std::fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1 << 20);
    }
    if was >= hard {
        return Ok(FdLimit { was, soft: was, hard });
    }
    let raised =
        libc::rlimit { rlim_cur: libc::rlim_t::try_from(hard).unwrap_or(lim.rlim_max), rlim_max: lim.rlim_max };
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Ok(FdLimit { was, soft: was, hard });
    }
    Ok(FdLimit { was, soft: hard, hard })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_descriptor_budget() {
        let l = Limits::for_fds(1024, Model::Async);
        assert_eq!(l.max_connections, 480);
        assert_eq!((l.max_handshakes, l.max_idle, l.max_active), (120, 240, 480));
        assert!(l.fds_needed() <= 1024);
        assert_eq!(Limits::for_fds(10, Model::Async).max_connections, 1);
        assert_eq!(Limits::for_fds(1 << 30, Model::Async).max_connections, CEILING[0]);
        assert!(Limits::for_fds(1 << 30, Model::Threads).max_connections <= CEILING[1]);
        assert_eq!(Limits::connections_within(1024), 480);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let lim = raise_fd_limit().unwrap();
        assert_eq!(lim.soft, lim.hard.max(lim.was));
        assert!(raise_fd_limit().unwrap().was >= lim.soft.min(lim.hard));
    }
}
