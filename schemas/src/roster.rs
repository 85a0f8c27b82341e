//! The signed roster: the network's genesis fact.

use crate::bytes::Hash32;
use crate::codes::{self, Refusal};
use crate::crypto::{self, Domain, Keypair};
use crate::encoding;
use crate::limits;
use crate::model::{HexBytes, Roster, SignedRoster};
use std::collections::HashSet;

/// The chair signs a roster: its canonical bytes, signed behind the
/// `kpledger/v1/roster\0` prefix, with the readable copy beside them.
pub fn sign(roster: Roster, chair: &Keypair) -> SignedRoster {
    let bytes = encoding::encode(&roster);
    let signature = chair.sign(Domain::Roster, &bytes);
    SignedRoster { roster, bytes: HexBytes(bytes), signature }
}

/// Check a roster file: canonical bytes, the readable copy equal to them,
/// bounds, unique members, and the chair's signature. Returns the roster and
/// its hash.
pub fn verify(s: &SignedRoster) -> Result<(Roster, Hash32), Refusal> {
    let roster: Roster =
        encoding::decode(&s.bytes.0).map_err(|e| Refusal::new(e.code(), format!("roster bytes: {e}")))?;
    if roster != s.roster {
        return Err(Refusal::new(codes::R1_ROSTER_MISMATCH, "the readable roster differs from the signed bytes"));
    }
    limits::check_roster(&roster)?;
    let mut participants = HashSet::new();
    let mut keys = HashSet::from([roster.chair]);
    for p in &roster.participants {
        if !participants.insert(p.code.as_str()) || !keys.insert(p.authority) {
            return Err(Refusal::new(codes::R9_DUPLICATE_MEMBER, format!("participant {} is listed twice", p.code)));
        }
    }
    for m in &roster.monitors {
        if !keys.insert(m.key) {
            return Err(Refusal::new(codes::R9_DUPLICATE_MEMBER, format!("monitor {} reuses a key", m.id)));
        }
    }
    for key in &keys {
        crypto::check_key(key).map_err(|e| Refusal::new(e.code(), format!("roster key {key}: {e}")))?;
    }
    crypto::verify(Domain::Roster, &roster.chair, &s.bytes.0, &s.signature)
        .map_err(|e| Refusal::new(e.code(), format!("roster signature: {e}")))?;
    Ok((roster, crypto::roster_hash(&s.bytes.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Participant;

    fn roster(chair: &Keypair) -> Roster {
        Roster {
            network: "kp-test".into(),
            version: 1,
            chair: chair.public(),
            participants: vec![Participant {
                code: "CF".into(),
                name: "Central African Republic".into(),
                authority: Keypair::from_seed([2; 32]).public(),
                zone_regime: true,
                nodes: vec![],
            }],
            monitors: vec![],
            observers: vec![],
        }
    }

    #[test]
    fn signed_roster_verifies_and_tampering_fails() {
        let chair = Keypair::from_seed([1; 32]);
        let signed = sign(roster(&chair), &chair);
        assert!(verify(&signed).is_ok());

        let mut other = signed.clone();
        other.roster.network = "other".into();
        assert_eq!(verify(&other).unwrap_err().code, codes::R1_ROSTER_MISMATCH);

        let mut forged = sign(roster(&chair), &Keypair::from_seed([9; 32]));
        assert_eq!(verify(&forged).unwrap_err().code, codes::R1_BAD_SIGNATURE);
        forged.bytes.0.push(0);
        assert_eq!(verify(&forged).unwrap_err().code, codes::R9_TRAILING_BYTES);
    }
}
