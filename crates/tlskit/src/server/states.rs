//! Connections counted by state (handshaking, idle, active) against the caps of
//! [`Limits`](super::Limits): the accept loop asks for room, each connection
//! reports its state changes, and when a cap is reached the oldest connection
//! of that state is asked to close (a *kick*) rather than new clients refused.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::Limits;

/// Connections that were kicked but have not closed yet; past this many the
/// accept loop waits instead of kicking more.
const MAX_LEAVING: usize = 64;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// TCP accepted, TLS handshake not finished.
    Handshaking,
    /// No response in flight.
    Idle,
    /// At least one response in flight.
    Active,
}

/// A request to a connection to close as soon as it has nothing in flight.
#[derive(Debug, Default)]
pub(crate) struct Kick {
    kicked: AtomicBool,
    notify: Notify,
}

impl Kick {
    fn kick(&self) {
        self.kicked.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Whether this connection was asked to close.
    pub(crate) fn is_kicked(&self) -> bool {
        self.kicked.load(Ordering::Acquire)
    }

    /// Resolves once the connection is asked to close.
    pub(crate) async fn kicked(&self) {
        while !self.is_kicked() {
            self.notify.notified().await;
        }
    }
}

struct Entry {
    state: ConnState,
    kick: Arc<Kick>,
    /// Key in the idle or handshaking index (order of entering that state).
    order: u64,
}

#[derive(Default)]
struct Table {
    next: u64,
    entries: BTreeMap<u64, Entry>,
    handshaking: BTreeMap<u64, u64>,
    idle: BTreeMap<u64, u64>,
    active: usize,
    leaving: usize,
}

impl Table {
    fn index(&mut self, state: ConnState) -> Option<&mut BTreeMap<u64, u64>> {
        match state {
            ConnState::Handshaking => Some(&mut self.handshaking),
            ConnState::Idle => Some(&mut self.idle),
            ConnState::Active => None,
        }
    }

    /// Kick the oldest connection in `state` (handshaking or idle) other than `except`.
    fn kick_oldest(&mut self, state: ConnState, except: u64) -> bool {
        let Some(index) = self.index(state) else { return false };
        let Some(id) = index.values().copied().find(|&id| id != except) else { return false };
        let Some(entry) = self.entries.get(&id) else { return false };
        entry.kick.kick();
        let order = entry.order;
        if let Some(index) = self.index(state) {
            index.remove(&order);
        }
        self.leaving += 1;
        true
    }
}

/// Every open connection, by state.
pub(crate) struct ConnTable {
    caps: Limits,
    table: Mutex<Table>,
    /// A connection closed or stopped being active: the accept loop may look again.
    freed: Notify,
}

/// A snapshot of the counts.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) total: usize,
    pub(crate) handshaking: usize,
    pub(crate) idle: usize,
    pub(crate) active: usize,
}

impl ConnTable {
    pub(crate) fn new(caps: &Limits) -> Arc<ConnTable> {
        Arc::new(ConnTable { caps: caps.clone(), table: Mutex::new(Table::default()), freed: Notify::new() })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    pub(crate) fn counts(&self) -> Counts {
        let t = self.lock();
        Counts { total: t.entries.len(), handshaking: t.handshaking.len(), idle: t.idle.len(), active: t.active }
    }

    /// Wait until a new connection may be accepted: below the total and active
    /// caps, making room at the total cap by kicking the oldest idle connection.
    pub(crate) async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            {
                let mut t = self.lock();
                let total = t.entries.len();
                if t.active < self.caps.max_active.max(1) {
                    if total.saturating_sub(t.leaving) < self.caps.max_connections.max(1)
                        && total < self.caps.max_connections.max(1) + MAX_LEAVING
                    {
                        return;
                    }
                    if t.leaving < MAX_LEAVING && t.kick_oldest(ConnState::Idle, u64::MAX) {
                        return;
                    }
                }
            }
            freed.await;
        }
    }

    /// Resolves once every connection has closed.
    pub(crate) async fn all_closed(&self) {
        loop {
            let freed = self.freed.notified();
            if self.lock().entries.is_empty() {
                return;
            }
            freed.await;
        }
    }

    /// Register a just-accepted connection (handshaking); at the handshake cap the oldest handshake is kicked.
    pub(crate) fn open(self: &Arc<Self>) -> Slot {
        let kick = Arc::new(Kick::default());
        let mut t = self.lock();
        let id = t.next;
        t.next += 1;
        t.entries.insert(id, Entry { state: ConnState::Handshaking, kick: kick.clone(), order: id });
        t.handshaking.insert(id, id);
        if t.handshaking.len() > self.caps.max_handshakes.max(1) {
            t.kick_oldest(ConnState::Handshaking, id);
        }
        drop(t);
        Slot { table: self.clone(), id, kick }
    }

    fn set(&self, id: u64, state: ConnState) {
        let mut t = self.lock();
        let Some(entry) = t.entries.get(&id) else { return };
        let (old, order, kicked) = (entry.state, entry.order, entry.kick.is_kicked());
        if old == state {
            return;
        }
        if let Some(index) = t.index(old) {
            index.remove(&order);
        }
        if old == ConnState::Active {
            t.active -= 1;
            self.freed.notify_one();
        }
        let order = t.next;
        t.next += 1;
        match state {
            ConnState::Active => t.active += 1,
            // A kicked connection stays out of the indexes: it is already leaving.
            _ if kicked => {}
            other => {
                if let Some(index) = t.index(other) {
                    index.insert(order, id);
                }
            }
        }
        if let Some(entry) = t.entries.get_mut(&id) {
            entry.state = state;
            entry.order = order;
        }
        if state == ConnState::Idle && !kicked && t.idle.len() > self.caps.max_idle.max(1) {
            t.kick_oldest(ConnState::Idle, id);
        }
    }

    fn close(&self, id: u64) {
        let mut t = self.lock();
        if let Some(entry) = t.entries.remove(&id) {
            if let Some(index) = t.index(entry.state) {
                index.remove(&entry.order);
            }
            if entry.state == ConnState::Active {
                t.active -= 1;
            }
            if entry.kick.is_kicked() {
                t.leaving = t.leaving.saturating_sub(1);
            }
        }
        drop(t);
        self.freed.notify_one();
    }
}

/// Files open for responses, against a cap (a plain counter: taking a place never waits).
#[derive(Debug)]
pub(crate) struct OpenFiles {
    open: AtomicUsize,
    cap: usize,
}

impl OpenFiles {
    pub(crate) fn new(cap: usize) -> Self {
        OpenFiles { open: AtomicUsize::new(0), cap: cap.max(1) }
    }

    /// Take a place; false (and nothing taken) at the cap.
    pub(crate) fn acquire(&self) -> bool {
        let taken = self.open.fetch_add(1, Ordering::AcqRel);
        if taken >= self.cap {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    pub(crate) fn release(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One connection's place in the table; dropping it closes the place.
pub(crate) struct Slot {
    table: Arc<ConnTable>,
    id: u64,
    kick: Arc<Kick>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("id", &self.id).finish()
    }
}

impl Slot {
    /// The connection entered `state`.
    pub(crate) fn set(&self, state: ConnState) {
        self.table.set(self.id, state);
    }

    /// The close request of this connection.
    pub(crate) fn kick(&self) -> &Kick {
        &self.kick
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.close(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(total: usize, handshakes: usize, idle: usize, active: usize) -> Limits {
        Limits {
            max_connections: total,
            max_handshakes: handshakes,
            max_idle: idle,
            max_active: active,
            ..Limits::default()
        }
    }

    #[test]
    fn open_files_stop_at_their_cap() {
        let files = OpenFiles::new(2);
        assert!(files.acquire() && files.acquire());
        assert!(!files.acquire());
        files.release();
        assert!(files.acquire());
    }

    #[test]
    fn the_oldest_handshake_is_kicked_at_the_handshake_cap() {
        let table = ConnTable::new(&caps(100, 2, 50, 100));
        let a = table.open();
        let b = table.open();
        assert!(!a.kick().is_kicked());
        let c = table.open();
        assert!(a.kick().is_kicked() && !b.kick().is_kicked() && !c.kick().is_kicked());
        assert_eq!(table.counts().handshaking, 2);
        drop(a);
        assert_eq!(table.counts().total, 2);
    }

    #[test]
    fn the_oldest_idle_connection_is_kicked_at_the_idle_cap_and_active_ones_never() {
        let table = ConnTable::new(&caps(100, 10, 2, 100));
        let slots: Vec<Slot> = (0..4).map(|_| table.open()).collect();
        slots[0].set(ConnState::Active);
        slots[1].set(ConnState::Idle);
        slots[2].set(ConnState::Idle);
        assert!(slots.iter().all(|s| !s.kick().is_kicked()));
        slots[3].set(ConnState::Idle);
        assert!(slots[1].kick().is_kicked());
        assert!(!slots[0].kick().is_kicked() && !slots[2].kick().is_kicked() && !slots[3].kick().is_kicked());
        assert_eq!(table.counts(), Counts { total: 4, handshaking: 0, idle: 2, active: 1 });
        // A connection that was idle the longest is the oldest, whatever its age.
        slots[2].set(ConnState::Active);
        slots[2].set(ConnState::Idle);
        slots[0].set(ConnState::Idle);
        assert!(slots[3].kick().is_kicked() && !slots[2].kick().is_kicked());
    }

    #[tokio::test]
    async fn room_at_the_total_cap_is_made_by_kicking_an_idle_connection() {
        let table = ConnTable::new(&caps(2, 2, 2, 2));
        let a = table.open();
        let b = table.open();
        a.set(ConnState::Idle);
        b.set(ConnState::Active);
        table.room().await;
        assert!(a.kick().is_kicked() && !b.kick().is_kicked());
        // Nothing idle left to kick and the cap is reached: wait until one closes.
        let c = table.open();
        c.set(ConnState::Active);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), table.room()).await;
        assert!(waiting.is_err(), "room while every connection is active");
        drop(a);
        drop(c);
        tokio::time::timeout(std::time::Duration::from_secs(5), table.room()).await.expect("room after closes");
    }
}
