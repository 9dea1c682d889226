//! Whether this test process may capture packets (tcpdump, `tlskit dump -i`). Tests that capture are named
//! `live_capture_…`: without the capability they fail with the reason, and `scripts/test` leaves them out
//! (`--skip live_capture`) and says so at the end of its run.

/// CAP_NET_RAW's bit in the capability masks of /proc/self/status.
const CAP_NET_RAW: u32 = 13;

/// Whether a process we start may capture: root keeps its effective capabilities across exec, anyone else
/// only the ambient ones (what `setpriv --ambient-caps +net_raw` or a CI container grants).
pub fn may_capture() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0)
    };
    let has = |m: u64| m & (1 << CAP_NET_RAW) != 0;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        has(mask("CapEff:"))
    } else {
        has(mask("CapAmb:"))
    }
}

/// Fails the test, with the reason, when it may not capture.
pub fn require_capture() {
    assert!(may_capture(), "live capture needs root or CAP_NET_RAW (scripts/test skips it and says so)");
}
