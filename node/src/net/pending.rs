//! Entries that arrived before what they depend on, waiting for a retry.
//! Bounded in count and in bytes: past either limit the oldest is dropped,
//! and sync fetches it again. Only entries that could now be taken are
//! handed back: one at the next position of its log (or at one already
//! held, to be judged a duplicate or evidence). The others wait without
//! their signatures being checked again.

use kp_schemas::{Hash32, PublicKey, SignedEntry, crypto};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

pub const MAX_PENDING: usize = 10_000;
/// Sixteen entries at the R9 size bound per slot would be 640 MiB: the
/// bytes bound is what keeps a pool of large entries small.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

struct Waiting {
    hash: Hash32,
    bytes: Vec<u8>,
    author: PublicKey,
    seq: u64,
}

pub struct Pending {
    queue: VecDeque<Waiting>,
    seen: HashSet<Hash32>,
    bytes: usize,
    max: usize,
    max_bytes: usize,
}

impl Pending {
    pub fn new(max: usize, max_bytes: usize) -> Self {
        Self { queue: VecDeque::new(), seen: HashSet::new(), bytes: 0, max, max_bytes }
    }

    /// Keep an entry; bytes that do not parse are dropped (the writer refused
    /// them for that already).
    pub fn insert(&mut self, bytes: Vec<u8>) {
        let h = crypto::entry_hash(&bytes);
        if self.seen.contains(&h) {
            return;
        }
        let Ok(e) = SignedEntry::parse(bytes) else { return };
        let (author, seq) = (e.entry().author, e.entry().seq);
        let bytes = e.into_bytes();
        self.seen.insert(h);
        self.bytes += bytes.len();
        self.queue.push_back(Waiting { hash: h, bytes, author, seq });
        while self.queue.len() > self.max || (self.bytes > self.max_bytes && self.queue.len() > 1) {
            let Some(old) = self.queue.pop_front() else { break };
            self.bytes -= old.bytes.len();
            self.seen.remove(&old.hash);
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Take the entries that could be taken now, oldest first, given each
    /// log's head here; those still waiting are inserted again by the caller.
    ///
    /// An entry can be taken if its log's positions from the head up to it
    /// are all here: a run of a log is handed back whole, in the order of
    /// its positions, each in the place of the pool that one of them held,
    /// so that other logs' entries keep their order of arrival (which is
    /// the order of what depends on what).
    pub fn ready(&mut self, head: impl Fn(&PublicKey) -> u64) -> Vec<Vec<u8>> {
        let mut positions: HashMap<PublicKey, BTreeSet<u64>> = HashMap::new();
        for w in &self.queue {
            positions.entry(w.author).or_default().insert(w.seq);
        }
        // Per log, the first position not reachable from its head.
        let reach: HashMap<PublicKey, u64> = positions
            .into_iter()
            .map(|(a, seqs)| {
                let mut next = head(&a).saturating_add(1);
                for s in seqs {
                    if s > next {
                        break;
                    }
                    next = next.max(s.saturating_add(1));
                }
                (a, next)
            })
            .collect();
        let mut taken: Vec<Waiting> = Vec::new();
        let mut keep = VecDeque::with_capacity(self.queue.len());
        for w in self.queue.drain(..) {
            if w.seq < reach[&w.author] {
                self.bytes -= w.bytes.len();
                self.seen.remove(&w.hash);
                taken.push(w);
            } else {
                keep.push_back(w);
            }
        }
        self.queue = keep;
        let mut by_author: HashMap<PublicKey, VecDeque<Waiting>> = HashMap::new();
        let slots: Vec<PublicKey> = taken.iter().map(|w| w.author).collect();
        for w in taken {
            by_author.entry(w.author).or_default().push_back(w);
        }
        for q in by_author.values_mut() {
            q.make_contiguous().sort_by_key(|w| w.seq);
        }
        slots.iter().filter_map(|a| by_author.get_mut(a).and_then(VecDeque::pop_front)).map(|w| w.bytes).collect()
    }
}

/// A signed entry at `seq` of `key`'s log, for the pool's and the sync
/// machine's tests: only its author and position matter to them.
#[cfg(test)]
pub(super) fn entry(key: &kp_schemas::Keypair, seq: u64, name: &str) -> Vec<u8> {
    use kp_schemas::Keypair;
    use kp_schemas::model::{Body, Entry, LicenseeRegistration, Role};
    let body = Body::RegisterLicensee(LicenseeRegistration {
        licensee: Keypair::from_seed([9; 32]).public(),
        name: name.into(),
        roles: vec![Role::Trader],
    });
    let e = Entry {
        network: "kp-test".into(),
        author: key.public(),
        seq,
        prev: Hash32::ZERO,
        timestamp_ms: 1,
        context: vec![],
        body,
    };
    SignedEntry::sign(e, key).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::Keypair;

    #[test]
    fn bounded_in_count_and_bytes_deduplicated_oldest_dropped() {
        let k = Keypair::from_seed([1; 32]);
        let (a, b, c) = (entry(&k, 1, "a"), entry(&k, 2, "b"), entry(&k, 3, "c"));
        let mut p = Pending::new(2, usize::MAX);
        p.insert(a.clone());
        p.insert(a.clone());
        assert_eq!(p.len(), 1);
        p.insert(b.clone());
        p.insert(c.clone());
        assert_eq!(p.ready(|_| 10), vec![b.clone(), c.clone()]);
        assert!(p.is_empty());
        p.insert(b.clone());
        assert_eq!(p.len(), 1, "taken entries may come back");
        p.insert(vec![1, 2, 3]);
        assert_eq!(p.len(), 1, "bytes that do not parse are not kept");

        let mut p = Pending::new(100, a.len() * 2);
        for e in [&a, &b, &c] {
            p.insert(e.clone());
        }
        assert_eq!(p.len(), 2, "the bytes bound dropped the oldest");
        assert_eq!(p.ready(|_| 10), vec![b, c]);
    }

    #[test]
    fn only_entries_at_the_next_position_of_their_log_are_handed_back() {
        let (k, other) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let mut p = Pending::new(100, usize::MAX);
        let (two, five, one) = (entry(&k, 2, "two"), entry(&k, 5, "five"), entry(&other, 1, "one"));
        for e in [&two, &five, &one] {
            p.insert(e.clone());
        }
        let head = |a: &PublicKey| if *a == k.public() { 1 } else { 0 };
        assert_eq!(p.ready(head), vec![two.clone(), one], "entry 5 still waits for 3 and 4");
        assert_eq!(p.len(), 1);
        assert_eq!(p.ready(|_| 4), vec![five.clone()]);
        // A run arrived backwards comes back in the order of its positions.
        let (three, four) = (entry(&k, 3, "three"), entry(&k, 4, "four"));
        for e in [&five, &four, &three, &two] {
            p.insert(e.clone());
        }
        assert_eq!(p.ready(|_| 1), vec![two, three, four, five]);
    }
}
