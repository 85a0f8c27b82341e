//! How far a peer's sync answers can be trusted to make progress. Every
//! answer no honest peer gives (the wrong type, an error, no answer in time,
//! a page that is not the log asked for) counts against the peer; one that
//! brings entries counts for it. A peer that keeps doing so is dropped for a
//! while, so that it can neither make this node loop nor hold a log or a
//! catch-up it asked for.

use libp2p::PeerId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Wasted rounds, net of useful ones, before a peer is dropped.
pub const MAX_FAULTS: u32 = 8;
/// How long a dropped peer is neither dialled nor let back in.
pub const COOLDOWN: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Scores {
    faults: HashMap<PeerId, u32>,
    cooling: HashMap<PeerId, Instant>,
}

impl Scores {
    /// Count a wasted round; `true` when the peer is to be dropped now.
    pub fn fault(&mut self, peer: PeerId, now: Instant) -> bool {
        let n = self.faults.entry(peer).or_default();
        *n += 1;
        if *n < MAX_FAULTS {
            return false;
        }
        self.faults.remove(&peer);
        self.cooling.insert(peer, now + COOLDOWN);
        true
    }

    /// An answer that brought something new.
    pub fn useful(&mut self, peer: PeerId) {
        if let Some(n) = self.faults.get_mut(&peer) {
            *n = n.saturating_sub(1);
        }
    }

    /// Whether the peer was dropped and its time is not up.
    pub fn cooling(&mut self, peer: &PeerId, now: Instant) -> bool {
        match self.cooling.get(peer) {
            Some(until) if *until > now => true,
            Some(_) => {
                self.cooling.remove(peer);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_that_keeps_wasting_rounds_is_dropped_for_a_while() {
        let (mut s, p, q, t) = (Scores::default(), PeerId::random(), PeerId::random(), Instant::now());
        for _ in 1..MAX_FAULTS {
            assert!(!s.fault(p, t));
        }
        // Useful answers make up for wasted ones.
        s.useful(p);
        assert!(!s.fault(p, t));
        assert!(s.fault(p, t), "the last straw");
        assert!(s.cooling(&p, t + COOLDOWN / 2));
        assert!(!s.cooling(&q, t), "another peer is not affected");
        assert!(!s.cooling(&p, t + COOLDOWN), "let back in");
        assert!(!s.fault(p, t + COOLDOWN), "and counted afresh");
    }
}
