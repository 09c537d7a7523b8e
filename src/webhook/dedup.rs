//! A bounded, TTL'd set of recently seen event ids: the in-isolate first line of defence
//! against redeliveries, in front of the durable dedup in the database.
//!
//! Built from a queue of slots in insertion order and a small open-addressing index (linear
//! probing, backward-shift deletion) instead of `std::collections::HashMap`, which costs about
//! twice the Wasm bytes.

use std::collections::VecDeque;

/// FNV-1a, 64-bit. Small and deterministic (no random keys in Wasm); the ids it hashes come
/// from deliveries whose signature was already verified, so they are not attacker-chosen.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Slot {
    key: Box<str>,
    hash: u64,
    at: i64,
    live: bool,
}

/// Recently seen event ids, at most `capacity` of them, each remembered for `ttl_ms` after it
/// was first seen.
///
/// [`check_and_insert`](Self::check_and_insert) is O(1) amortised. When full, the oldest id
/// is evicted; expired ids are dropped lazily from the old end on each call. A duplicate does
/// not extend its id's lifetime. An id is expired once `now_ms - first_seen >= ttl_ms`; clocks
/// may step backwards (an id found expired out of order is forgotten then). Memory is bounded
/// by `capacity` slots plus an index of fewer than four `u64`s per slot.
pub struct DedupWindow {
    capacity: usize,
    ttl_ms: i64,
    /// Insertion order, oldest first; forgotten ids leave dead slots until they reach the front.
    slots: VecDeque<Slot>,
    /// Sequence number of `slots[0]`; slot `i` has sequence `front_seq + i`.
    front_seq: u64,
    /// Open addressing: 0 is empty, otherwise the sequence number of a live slot.
    index: Vec<u64>,
    live: usize,
}

impl DedupWindow {
    /// A window holding at most `capacity` ids for `ttl_ms` each. A capacity of 0 or a TTL of
    /// 0 or less remembers nothing (every id is new).
    pub fn new(capacity: usize, ttl_ms: i64) -> Self {
        DedupWindow {
            capacity,
            ttl_ms,
            slots: VecDeque::new(),
            front_seq: 1,
            index: Vec::new(),
            live: 0,
        }
    }

    /// `true` when `id` was not seen within the TTL (it is now remembered), `false` for a
    /// duplicate.
    pub fn check_and_insert(&mut self, id: &str, now_ms: i64) -> bool {
        self.expire(now_ms);
        let hash = fnv(id);
        if let Some(i) = self.find(id, hash) {
            let pos = self.index[i].wrapping_sub(self.front_seq) as usize;
            if let Some(slot) = self.slots.get(pos) {
                if !self.expired(slot.at, now_ms) {
                    return false;
                }
            }
            // Expired but not at the front (the clock stepped back meanwhile): forget it.
            self.unindex(i);
            if let Some(slot) = self.slots.get_mut(pos) {
                slot.live = false;
                slot.key = Box::from("");
            }
        }
        if self.capacity == 0 || self.ttl_ms <= 0 {
            return true;
        }
        while self.slots.len() >= self.capacity {
            self.pop_front();
        }
        if (self.live + 1) * 2 > self.index.len() {
            self.rebuild_index((self.index.len() * 2).max(16));
        }
        let seq = self.front_seq + self.slots.len() as u64;
        self.slots.push_back(Slot {
            key: Box::from(id),
            hash,
            at: now_ms,
            live: true,
        });
        self.place(seq, hash);
        self.live += 1;
        true
    }

    /// Forgets `id` (e.g. when the durable claim behind the window failed, so a redelivery
    /// must be processed); returns whether it was held.
    pub fn forget(&mut self, id: &str) -> bool {
        let Some(i) = self.find(id, fnv(id)) else {
            return false;
        };
        let pos = self.index[i].wrapping_sub(self.front_seq) as usize;
        self.unindex(i);
        if let Some(slot) = self.slots.get_mut(pos) {
            slot.live = false;
            slot.key = Box::from("");
        }
        true
    }

    /// `true` when `id` is remembered and unexpired at `now_ms` (does not insert).
    pub fn contains(&self, id: &str, now_ms: i64) -> bool {
        self.find(id, fnv(id))
            .and_then(|i| self.slots.get(self.index[i].wrapping_sub(self.front_seq) as usize))
            .is_some_and(|slot| !self.expired(slot.at, now_ms))
    }

    /// Ids held, including expired ones not yet dropped.
    pub fn len(&self) -> usize {
        self.live
    }

    /// `true` when no id is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The most ids held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every id.
    pub fn clear(&mut self) {
        self.front_seq += self.slots.len() as u64;
        self.slots.clear();
        self.index.clear();
        self.live = 0;
    }

    fn expired(&self, at: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(at) >= self.ttl_ms
    }

    fn mask(&self) -> usize {
        self.index.len().wrapping_sub(1)
    }

    /// The index position holding `id`.
    fn find(&self, id: &str, hash: u64) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let seq = *self.index.get(i)?;
            if seq == 0 {
                return None;
            }
            let slot = self.slots.get(seq.wrapping_sub(self.front_seq) as usize)?;
            if slot.hash == hash && &*slot.key == id {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    fn place(&mut self, seq: u64, hash: u64) {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        while self.index[i] != 0 {
            i = (i + 1) & mask;
        }
        self.index[i] = seq;
    }

    fn hash_at(&self, seq: u64) -> u64 {
        self.slots
            .get(seq.wrapping_sub(self.front_seq) as usize)
            .map_or(0, |s| s.hash)
    }

    /// Empties index position `hole`, shifting later entries of the probe run back.
    fn unindex(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let seq = self.index[j];
            if seq == 0 {
                break;
            }
            let home = self.hash_at(seq) as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.index[hole] = seq;
                hole = j;
            }
        }
        self.index[hole] = 0;
        self.live -= 1;
    }

    fn rebuild_index(&mut self, size: usize) {
        self.index.clear();
        self.index.resize(size, 0);
        for p in 0..self.slots.len() {
            if let Some(&Slot { hash, live: true, .. }) = self.slots.get(p) {
                self.place(self.front_seq + p as u64, hash);
            }
        }
    }

    /// Drops the oldest slot (and its index entry when live).
    fn pop_front(&mut self) {
        if let Some(slot) = self.slots.front() {
            if slot.live {
                let mask = self.mask();
                let start = slot.hash as usize & mask;
                let found = (0..self.index.len())
                    .map(|k| (start + k) & mask)
                    .find(|&i| self.index[i] == self.front_seq);
                if let Some(i) = found {
                    self.unindex(i);
                }
            }
            self.slots.pop_front();
            self.front_seq += 1;
        }
    }

    /// Drops expired ids and dead slots from the front.
    fn expire(&mut self, now_ms: i64) {
        while let Some(slot) = self.slots.front() {
            if slot.live && !self.expired(slot.at, now_ms) {
                break;
            }
            self.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_within_ttl() {
        let mut w = DedupWindow::new(10, 1000);
        assert!(w.check_and_insert("a", 0));
        assert!(!w.check_and_insert("a", 999));
        assert!(w.check_and_insert("b", 500));
        assert!(w.check_and_insert("a", 1000), "expired after the TTL");
        assert!(!w.check_and_insert("b", 1499));
        assert!(!w.check_and_insert("a", 1500));
        assert!(w.check_and_insert("b", 1500));
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn eviction_of_the_oldest_when_full() {
        let mut w = DedupWindow::new(3, 1_000_000);
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(w.check_and_insert(id, i as i64));
        }
        assert_eq!(w.len(), 3);
        assert!(!w.contains("a", 10));
        assert!(w.contains("b", 10) && w.contains("c", 10) && w.contains("d", 10));
        assert!(w.check_and_insert("a", 10), "evicted, so new again");
        assert!(!w.contains("b", 10));
    }

    #[test]
    fn lazy_expiry_drops_entries() {
        let mut w = DedupWindow::new(100, 100);
        for i in 0..50 {
            w.check_and_insert(&i.to_string(), i);
        }
        assert_eq!(w.len(), 50);
        w.check_and_insert("x", 200);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn clock_stepping_back() {
        let mut w = DedupWindow::new(4, 100);
        assert!(w.check_and_insert("a", 1000));
        assert!(w.check_and_insert("b", 500)); // clock stepped back
        assert!(!w.check_and_insert("a", 900));
        assert!(w.check_and_insert("b", 650), "b expired though a, before it, has not");
        assert!(!w.check_and_insert("b", 700));
        for i in 0..1000 {
            w.check_and_insert(&(i % 7).to_string(), if i % 2 == 0 { i * 10 } else { 0 });
            assert!(w.len() <= 4);
            assert!(w.slots.len() <= 4);
        }
    }

    #[test]
    fn zero_capacity_or_ttl_remembers_nothing() {
        let mut w = DedupWindow::new(0, 1000);
        assert!(w.check_and_insert("a", 0) && w.check_and_insert("a", 0));
        let mut w = DedupWindow::new(10, 0);
        assert!(w.check_and_insert("a", 0) && w.check_and_insert("a", 0));
        assert!(w.is_empty());
    }
}
