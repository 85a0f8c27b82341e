//! Which of its own logs a node may not sign into yet. A log's key may move
//! to a new machine, or a machine may come back from a backup: its store
//! then ends before the log does, and signing the next position it sees
//! would sign a position the network already holds another entry at, which
//! freezes the log everywhere (R3). Such a log is written again only once a
//! peer has said how far it goes and this node holds that far.
//!
//! [`CatchUp`] is the rule, with no I/O; [`Gate`] shares it between the
//! network loop, which hears peers' heads, and the writer, which asks it
//! before it signs.

use kp_schemas::PublicKey;
use libp2p::PeerId;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How far a log waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// No peer has answered yet.
    Unheard,
    /// A peer holds the log this far.
    Head {
        /// The log's head at the peer.
        seq: u64,
        /// The peer that reported it.
        peer: PeerId,
    },
}

impl Target {
    /// The head to reach, once a peer answered.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Target::Unheard => None,
            Target::Head { seq, .. } => Some(*seq),
        }
    }
}

/// The rule: each log listed waits for one peer's heads, then for this
/// node to hold the log as far as that peer reported. A log the peer holds
/// nothing of has nothing to wait for. Once free, a log stays free.
#[derive(Debug, Default)]
pub struct CatchUp {
    logs: BTreeMap<PublicKey, Target>,
}

impl CatchUp {
    /// These logs wait for a peer's heads.
    pub fn new(logs: impl IntoIterator<Item = PublicKey>) -> Self {
        Self { logs: logs.into_iter().map(|k| (k, Target::Unheard)).collect() }
    }

    /// No log waits.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// A peer answered with its heads (`head` of a log, none for a log it
    /// holds nothing of). Logs that had no answer yet take this one;
    /// `held` is how far this node holds each log now.
    pub fn heard(&mut self, peer: PeerId, head: impl Fn(&PublicKey) -> Option<u64>, held: impl Fn(&PublicKey) -> u64) {
        self.logs.retain(|log, target| {
            if *target != Target::Unheard {
                return true;
            }
            let seq = head(log).unwrap_or(0);
            *target = Target::Head { seq, peer };
            held(log) < seq
        });
    }

    /// A peer is gone: logs still short of the head it reported wait for
    /// another peer's answer. A peer that reported a head it then never
    /// served (it went away, or was dropped for wasting sync rounds) does
    /// not keep the log waiting for ever.
    pub fn gone(&mut self, peer: &PeerId) {
        for t in self.logs.values_mut() {
            if matches!(t, Target::Head { peer: p, .. } if p == peer) {
                *t = Target::Unheard;
            }
        }
    }

    /// Whether `log` may be signed into, with `held` its head here: `Err`
    /// with what it waits for if not. A log that reached its target is
    /// free from then on.
    pub fn may_write(&mut self, log: &PublicKey, held: u64) -> Result<(), Target> {
        match self.logs.get(log) {
            None => Ok(()),
            Some(Target::Head { seq, .. }) if held >= *seq => {
                self.logs.remove(log);
                Ok(())
            }
            Some(t) => Err(*t),
        }
    }

    /// The logs that still wait, with their targets; those that reached
    /// theirs are let go.
    pub fn waiting(&mut self, held: impl Fn(&PublicKey) -> u64) -> Vec<(PublicKey, Target)> {
        self.logs.retain(|log, t| t.seq().is_none_or(|seq| held(log) < seq));
        self.logs.iter().map(|(k, t)| (*k, *t)).collect()
    }
}

/// [`CatchUp`] shared by the network loop and the writer.
#[derive(Debug, Default)]
pub struct Gate(Mutex<CatchUp>);

impl Gate {
    /// A gate that holds these logs.
    pub fn new(logs: impl IntoIterator<Item = PublicKey>) -> Self {
        Self(Mutex::new(CatchUp::new(logs)))
    }

    /// A gate that holds nothing: a node alone, or one that need not wait.
    pub fn open() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CatchUp> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// No log waits: the usual case once a node has heard from a peer.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// See [`CatchUp::heard`].
    pub fn heard(&self, peer: PeerId, head: impl Fn(&PublicKey) -> Option<u64>, held: impl Fn(&PublicKey) -> u64) {
        let mut c = self.lock();
        if !c.is_empty() {
            c.heard(peer, head, held);
        }
    }

    /// See [`CatchUp::gone`].
    pub fn gone(&self, peer: &PeerId) {
        self.lock().gone(peer)
    }

    /// See [`CatchUp::may_write`].
    pub fn may_write(&self, log: &PublicKey, held: u64) -> Result<(), Target> {
        self.lock().may_write(log, held)
    }

    /// See [`CatchUp::waiting`].
    pub fn waiting(&self, held: impl Fn(&PublicKey) -> u64) -> Vec<(PublicKey, Target)> {
        self.lock().waiting(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    #[test]
    fn a_log_waits_for_a_peers_heads_then_for_the_head_that_peer_reported() {
        let (a, b, c) = (key(1), key(2), key(3));
        let mut gate = CatchUp::new([a, b, c]);
        let held: HashMap<PublicKey, u64> = [(a, 0), (b, 2)].into();
        let at = |k: &PublicKey| held.get(k).copied().unwrap_or(0);
        assert_eq!(gate.may_write(&a, 0), Err(Target::Unheard));
        assert_eq!(gate.may_write(&key(9), 0), Ok(()), "a log not listed never waits");
        let p = PeerId::random();
        // The peer holds a up to 5, b up to 2 (as here), c not at all.
        let reported: HashMap<PublicKey, u64> = [(a, 5), (b, 2)].into();
        gate.heard(p, |k| reported.get(k).copied(), at);
        assert_eq!(gate.waiting(at), vec![(a, Target::Head { seq: 5, peer: p })]);
        assert_eq!(gate.may_write(&b, 2), Ok(()));
        assert_eq!(gate.may_write(&c, 0), Ok(()), "nothing reported: nothing to wait for");
        // Another peer's answer changes nothing: one answer is enough.
        gate.heard(PeerId::random(), |_| Some(50), at);
        assert_eq!(gate.may_write(&a, 4), Err(Target::Head { seq: 5, peer: p }));
        assert_eq!(gate.may_write(&a, 5), Ok(()));
        assert!(gate.is_empty());
        // Once free, free for good.
        gate.heard(PeerId::random(), |_| Some(50), |_| 0);
        assert_eq!(gate.may_write(&a, 5), Ok(()));
    }

    #[test]
    fn a_peer_that_leaves_before_the_log_reached_its_head_lets_the_next_answer_decide() {
        let a = key(1);
        let mut gate = CatchUp::new([a]);
        let (liar, honest) = (PeerId::random(), PeerId::random());
        gate.heard(liar, |_| Some(1_000_000), |_| 0);
        gate.gone(&honest);
        assert_eq!(gate.may_write(&a, 3), Err(Target::Head { seq: 1_000_000, peer: liar }));
        gate.gone(&liar);
        assert_eq!(gate.may_write(&a, 3), Err(Target::Unheard));
        gate.heard(honest, |_| Some(3), |_| 3);
        assert_eq!(gate.may_write(&a, 3), Ok(()));
    }

    #[test]
    fn waiting_lets_go_of_logs_that_reached_their_target() {
        let (a, b) = (key(1), key(2));
        let mut gate = CatchUp::new([a, b]);
        let p = PeerId::random();
        gate.heard(p, |_| Some(4), |_| 0);
        assert_eq!(gate.waiting(|_| 0).len(), 2);
        assert_eq!(gate.waiting(|k| if *k == a { 4 } else { 3 }), vec![(b, Target::Head { seq: 4, peer: p })]);
        assert_eq!(gate.may_write(&a, 0), Ok(()), "let go of for good");
    }
}
