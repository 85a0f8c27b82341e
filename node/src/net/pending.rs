//! Entries that arrived before what they depend on, waiting for a retry.
//! Bounded: past the limit the oldest is dropped, and sync fetches it again.

use kp_schemas::{Hash32, crypto};
use std::collections::{HashSet, VecDeque};

pub const MAX_PENDING: usize = 10_000;

pub struct Pending {
    queue: VecDeque<(Hash32, Vec<u8>)>,
    seen: HashSet<Hash32>,
    max: usize,
}

impl Pending {
    pub fn new(max: usize) -> Self {
        Self { queue: VecDeque::new(), seen: HashSet::new(), max }
    }

    pub fn insert(&mut self, bytes: Vec<u8>) {
        let h = crypto::entry_hash(&bytes);
        if !self.seen.insert(h) {
            return;
        }
        if self.queue.len() == self.max
            && let Some((old, _)) = self.queue.pop_front()
        {
            self.seen.remove(&old);
        }
        self.queue.push_back((h, bytes));
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Everything, oldest first; entries still waiting are inserted again.
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        self.seen.clear();
        self.queue.drain(..).map(|(_, b)| b).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_deduplicated_fifo() {
        let mut p = Pending::new(2);
        p.insert(vec![1]);
        p.insert(vec![1]);
        assert_eq!(p.len(), 1);
        p.insert(vec![2]);
        p.insert(vec![3]);
        assert_eq!(p.drain(), vec![vec![2], vec![3]]);
        assert!(p.is_empty());
        p.insert(vec![2]);
        assert_eq!(p.len(), 1, "drained entries may come back");
    }
}
