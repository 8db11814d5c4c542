//! The connection table (5-tuple → connection, least recently active first
//! out) and the short memory of recently closed connections.

use super::hash::FastMap;
use crate::capture::packet::Timestamp;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

/// A connection's 5-tuple (the protocol is always TCP), the same for both
/// directions: the two endpoints in address order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FlowKey {
    lo: SocketAddr,
    hi: SocketAddr,
}

/// Hashes each endpoint as one or three words (the hash is coarser than
/// equality, which also compares IPv6 flow labels and scopes: equal keys
/// still hash alike).
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for a in [self.lo, self.hi] {
            match a {
                SocketAddr::V4(v4) => {
                    state.write_u64(u64::from(v4.ip().to_bits()) << 16 | u64::from(v4.port()))
                }
                SocketAddr::V6(v6) => {
                    let ip = v6.ip().to_bits();
                    state.write_u64(ip as u64);
                    state.write_u64((ip >> 64) as u64);
                    state.write_u64(1 << 63 | u64::from(v6.port()));
                }
            }
        }
    }
}

impl FlowKey {
    /// The key of the connection between `a` and `b`, whichever sent.
    pub(super) fn new(a: SocketAddr, b: SocketAddr) -> FlowKey {
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
    }
}

/// "No slot" in the recency links.
const NIL: usize = usize::MAX;

/// One slot of the table: an entry and its neighbours in recency order.
struct Slot<K, V> {
    entry: Option<(K, V)>,
    newer: usize,
    older: usize,
}

/// A hash table whose entries live in reusable slots linked from the most
/// to the least recently touched, so that finding, touching, inserting,
/// removing and finding the oldest entry are all O(1).
pub(super) struct LruTable<K, V> {
    index: FastMap<K, usize>,
    slots: Vec<Slot<K, V>>,
    free: Vec<usize>,
    newest: usize,
    oldest: usize,
}

impl<K: Hash + Eq + Copy, V> LruTable<K, V> {
    /// An empty table.
    pub(super) fn new() -> Self {
        LruTable {
            index: FastMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
        }
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot holding `key`.
    pub(super) fn find(&self, key: &K) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The value in slot `idx`.
    pub(super) fn get(&self, idx: usize) -> Option<&V> {
        self.slots.get(idx)?.entry.as_ref().map(|(_, v)| v)
    }

    /// The value in slot `idx`, mutably.
    pub(super) fn get_mut(&mut self, idx: usize) -> Option<&mut V> {
        self.slots.get_mut(idx)?.entry.as_mut().map(|(_, v)| v)
    }

    /// The least recently touched slot.
    pub(super) fn oldest(&self) -> Option<usize> {
        (self.oldest != NIL).then_some(self.oldest)
    }

    /// All occupied slots, least recently touched first.
    pub(super) fn oldest_first(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.len());
        let mut idx = self.oldest;
        while let Some(slot) = self.slots.get(idx) {
            if order.len() >= self.len() {
                break;
            }
            order.push(idx);
            idx = slot.newer;
        }
        order
    }

    /// Adds `key` (which must be absent) as the most recent entry; returns
    /// its slot.
    pub(super) fn insert(&mut self, key: K, value: V) -> usize {
        if let Some(idx) = self.find(&key) {
            self.remove(idx);
        }
        let slot = Slot {
            entry: Some((key, value)),
            newer: NIL,
            older: NIL,
        };
        let idx = match self.free.pop() {
            Some(idx) if idx < self.slots.len() => {
                if let Some(s) = self.slots.get_mut(idx) {
                    *s = slot;
                }
                idx
            }
            _ => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.index.insert(key, idx);
        self.link_newest(idx);
        idx
    }

    /// Slots allocated (occupied or free).
    #[cfg(test)]
    pub(super) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Marks slot `idx` as the most recently active.
    pub(super) fn touch(&mut self, idx: usize) {
        if idx != self.newest && self.get(idx).is_some() {
            self.unlink(idx);
            self.link_newest(idx);
        }
    }

    /// Removes the entry in slot `idx`.
    pub(super) fn remove(&mut self, idx: usize) -> Option<(K, V)> {
        let (key, value) = self.slots.get_mut(idx)?.entry.take()?;
        self.unlink(idx);
        self.index.remove(&key);
        self.free.push(idx);
        Some((key, value))
    }

    /// Takes slot `idx` out of the recency chain.
    fn unlink(&mut self, idx: usize) {
        let Some(slot) = self.slots.get(idx) else {
            return;
        };
        let (newer, older) = (slot.newer, slot.older);
        match self.slots.get_mut(older) {
            Some(s) => s.newer = newer,
            None => self.oldest = newer,
        }
        match self.slots.get_mut(newer) {
            Some(s) => s.older = older,
            None => self.newest = older,
        }
    }

    /// Puts slot `idx` at the recent end of the chain.
    fn link_newest(&mut self, idx: usize) {
        let previous = self.newest;
        if let Some(s) = self.slots.get_mut(idx) {
            s.older = previous;
            s.newer = NIL;
        }
        match self.slots.get_mut(previous) {
            Some(s) => s.newer = idx,
            None => self.oldest = idx,
        }
        self.newest = idx;
    }
}

/// What is remembered of a connection closed by FIN or RST: where each
/// side's sequence space ended.
struct Tombstone {
    serial: u64,
    closed_at: Timestamp,
    /// Each endpoint and the sequence number after the last byte it sent
    /// (if its sequence space was known).
    ends: [(SocketAddr, Option<u32>); 2],
}

/// Sequence numbers this close to where a closed connection's direction
/// ended are taken as belonging to it.
const STRAGGLER_WINDOW: i64 = 1 << 24;

/// Recently closed connections, so that the segments still in flight after
/// a RST or retransmitted after the FINs (stragglers) do not open bogus
/// mid-stream connections. Bounded: oldest forgotten first.
pub(super) struct Tombstones {
    map: FastMap<FlowKey, Tombstone>,
    order: VecDeque<(FlowKey, u64)>,
    serial: u64,
}

impl Tombstones {
    /// An empty memory.
    pub(super) fn new() -> Self {
        Tombstones {
            map: FastMap::default(),
            order: VecDeque::new(),
            serial: 0,
        }
    }

    /// Remembers that the connection on `key` closed at `ts`, keeping at
    /// most `capacity` closed connections.
    pub(super) fn remember(
        &mut self,
        key: FlowKey,
        ends: [(SocketAddr, Option<u32>); 2],
        ts: Timestamp,
        capacity: usize,
    ) {
        if capacity == 0 {
            return;
        }
        self.serial += 1;
        let serial = self.serial;
        self.map.insert(
            key,
            Tombstone {
                serial,
                closed_at: ts,
                ends,
            },
        );
        self.order.push_back((key, serial));
        while self.order.len() > capacity {
            let Some((old, old_serial)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|t| t.serial == old_serial) {
                self.map.remove(&old);
            }
        }
    }

    /// Forgets the closed connection on `key` (a new one took the 5-tuple).
    pub(super) fn forget(&mut self, key: &FlowKey) {
        if !self.map.is_empty() {
            self.map.remove(key);
        }
    }

    /// Closed connections remembered, and entries in the forgetting queue.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize) {
        (self.map.len(), self.order.len())
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    /// True if a segment from `src` with sequence number `seq` at `ts`
    /// belongs to the connection that closed on `key` at most
    /// `linger_secs` earlier.
    pub(super) fn is_straggler(
        &mut self,
        key: &FlowKey,
        src: SocketAddr,
        seq: u32,
        ts: Timestamp,
        linger_secs: f64,
    ) -> bool {
        let Some(tomb) = self.map.get(key) else {
            return false;
        };
        if ts.since(tomb.closed_at) > linger_secs {
            self.map.remove(key);
            return false;
        }
        tomb.ends.iter().any(|&(addr, end)| {
            addr == src
                && end.is_some_and(|end| {
                    i64::from(seq.wrapping_sub(end) as i32).abs() <= STRAGGLER_WINDOW
                })
        })
    }
}
