//! The trail of a lot or a certificate: the graph back to every production
//! entry, the share of weight per country of mining origin, and compliance
//! with reasons. A derived view: it reads state and never changes it.

use crate::bytes::{Hash32, PublicKey};
use crate::codes;
use crate::model::*;
use crate::rules::fmt_ct;
use crate::state::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;

/// What the trail reads. A read that fails returns [`TrailSource::Error`],
/// and the trail is then [`TrailError::Read`]: never a trail with a lot, a
/// name, a zone status or an attestation left out, nor an unknown lot.
pub trait TrailSource {
    /// A read that failed. A source held in memory never fails
    /// ([`Infallible`]).
    type Error: std::fmt::Debug + std::fmt::Display;
    /// A lot of a participant, none if it does not exist.
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Self::Error>;
    /// A certificate, none if it does not exist.
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Self::Error>;
    /// Every status entry of a zone held, from every monitor: the trail
    /// reads all of them, not only those a verdict named.
    fn zone_history(&self, participant: &str, zone: &str) -> Result<Vec<ZoneRecord>, Self::Error>;
    /// Every attestation about a subject, laboratory findings included.
    fn attestations(&self, subject: &Subject) -> Result<Vec<AttestationRecord>, Self::Error>;
    /// The name a licensee of `participant` was registered under, if it is
    /// one.
    fn licensee_name(&self, participant: &str, key: &PublicKey) -> Result<Option<String>, Self::Error>;
}

/// `GET /v1/trail/...`: where a lot's or a certificate's carats come from,
/// and whether it is compliant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trail {
    /// The lot or certificate asked about.
    pub subject: Subject,
    /// The subject's node; its inputs go back, hop by hop, to productions.
    pub root: TrailNode,
    /// Share of the subject's weight per country of mining origin.
    pub origins: Vec<OriginShare>,
    /// The verdict on the whole trail, with its reasons.
    pub compliance: Compliance,
    /// Distinct production entries behind the subject.
    pub productions: usize,
    /// Longest chain of hops from the subject to a production.
    pub depth: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
/// What a trail node stands for: the entry that created it.
pub enum NodeKind {
    /// A lot produced at a mine: a leaf of the trail.
    Production,
    /// A lot created by a transfer; its inputs are the lots it took from.
    Transfer,
    /// A lot created by an import confirmation; its one input is the
    /// certificate.
    Import,
    /// A certificate; its inputs are the lots exported.
    Export,
}

/// One lot or certificate of a trail, with the nodes it was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrailNode {
    /// What created it.
    pub kind: NodeKind,
    /// Code of the participant the lot is in, or the exporter of a
    /// certificate.
    pub participant: String,
    /// Lot id, or certificate number for an export.
    pub id: String,
    /// Id of the creating entry (the export entry for a certificate).
    pub entry: Hash32,
    /// Date of the creating record; a certificate's date of issue.
    pub date: String,
    /// Hundredths of a carat at creation (exported, for a certificate).
    pub weight: Weight,
    /// Weight the node above took from this one (absent at the root).
    pub taken: Option<Weight>,
    /// The lot's holder, or the exporter licensee of a certificate.
    pub holder: Option<PublicKey>,
    /// The holder's registered name, if known.
    pub holder_name: Option<String>,
    /// The lot's own R6 verdict; always true for a certificate, which the
    /// rules let leave only from compliant lots.
    pub compliant: bool,
    /// For a production: the mine or site.
    pub site: Option<String>,
    /// For a production: the zone named, if any.
    pub zone: Option<String>,
    /// For a production: the zone's name, from its status held with the
    /// latest effective date.
    pub zone_name: Option<String>,
    /// Set where this node appears again elsewhere in the tree; its inputs
    /// are listed once, at its first appearance.
    pub repeated: bool,
    /// The nodes this one took weight from; none for a production or a
    /// repeated node.
    pub inputs: Vec<TrailNode>,
}

/// The part of a trail's subject mined in one country, mixed in proportion
/// to the weight taken at every hop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OriginShare {
    /// Participant code of the producing participant (`CF`, `BW`).
    pub country: String,
    /// Parts of one, summing to 1 over all countries.
    pub share: f64,
    /// Hundredths of a carat of the subject's weight mined there.
    pub weight: f64,
}

/// A trail's compliance: the subject is compliant when no problem was
/// found anywhere on its trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Compliance {
    /// True when `problems` is empty.
    pub compliant: bool,
    /// Why it is not compliant.
    pub problems: Vec<String>,
    /// Facts worth knowing that do not change the verdict.
    pub notes: Vec<String>,
}

/// Why there is no trail. `E` is the source's read error: a source held in
/// memory has none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailError<E = Infallible> {
    /// The lot asked about, or one on its trail, does not exist
    /// (`R4.unknown_lot`).
    #[error("lot {lot} of {participant} does not exist")]
    UnknownLot {
        /// The participant code.
        participant: String,
        /// The lot id.
        lot: String,
    },
    /// The certificate asked about, or one on the trail, does not exist
    /// (`R7.unknown_certificate`); carries its number.
    #[error("certificate {0} does not exist")]
    UnknownCertificate(String),
    /// The trail is more than [`MAX_DEPTH`] hops deep (`R9.too_deep`).
    #[error("trail is deeper than {MAX_DEPTH} hops")]
    TooDeep,
    /// A read of the state failed: the trail is not known, rather than
    /// shorter than it is.
    #[error("the state could not be read: {0}")]
    Read(E),
}

impl<E> TrailError<E> {
    /// Stable, from [`codes`]: the rule code for a lot or certificate that
    /// does not exist, a query code for a trail too deep to walk, and
    /// `api.storage` (what the node's API answers) for a read that failed.
    pub fn code(&self) -> &'static str {
        match self {
            TrailError::UnknownLot { .. } => codes::R4_UNKNOWN_LOT,
            TrailError::UnknownCertificate(_) => codes::R7_UNKNOWN_CERTIFICATE,
            TrailError::TooDeep => codes::R9_TOO_DEEP,
            TrailError::Read(_) => codes::API_STORAGE,
        }
    }
}

/// Bounds the walk; real trails are a few dozen hops at most.
pub const MAX_DEPTH: usize = 512;

type Key = (NodeKind, String, String);
type Shares = BTreeMap<String, f64>;

struct Walk<'a, S> {
    src: &'a S,
    today: &'a str,
    shares: HashMap<Key, Shares>,
    expanded: HashSet<Key>,
    productions: HashSet<Hash32>,
    problems: Vec<String>,
    notes: Vec<String>,
    depth: usize,
}

/// The trail of a lot. `today` (`YYYY-MM-DD`) decides which certificates are
/// past expiry.
pub fn lot_trail<S: TrailSource>(
    src: &S,
    participant: &str,
    lot: &str,
    today: &str,
) -> Result<Trail, TrailError<S::Error>> {
    let subject = Subject::Lot { participant: participant.into(), lot: lot.into() };
    let mut w = Walk::new(src, today);
    let (root, shares) = w.lot(participant, lot, None, 0)?;
    Ok(w.finish(subject, root, shares))
}

/// The trail of a certificate: its exported lots and everything behind
/// them. `today` (`YYYY-MM-DD`) decides which certificates are past expiry.
pub fn certificate_trail<S: TrailSource>(src: &S, number: &str, today: &str) -> Result<Trail, TrailError<S::Error>> {
    let subject = Subject::Certificate { number: number.into() };
    let mut w = Walk::new(src, today);
    let (root, shares) = w.cert(number, None, 0)?;
    Ok(w.finish(subject, root, shares))
}

impl<'a, S: TrailSource> Walk<'a, S> {
    fn new(src: &'a S, today: &'a str) -> Self {
        Self {
            src,
            today,
            shares: HashMap::new(),
            expanded: HashSet::new(),
            productions: HashSet::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            depth: 0,
        }
    }

    fn finish(mut self, subject: Subject, root: TrailNode, shares: Shares) -> Trail {
        let origins = shares
            .into_iter()
            .map(|(country, share)| OriginShare { country, share, weight: share * root.weight as f64 })
            .collect();
        self.problems.dedup();
        self.notes.dedup();
        Trail {
            subject,
            origins,
            compliance: Compliance { compliant: self.problems.is_empty(), problems: self.problems, notes: self.notes },
            productions: self.productions.len(),
            depth: self.depth,
            root,
        }
    }

    fn lot(
        &mut self,
        participant: &str,
        id: &str,
        taken: Option<Weight>,
        depth: usize,
    ) -> Result<(TrailNode, Shares), TrailError<S::Error>> {
        if depth > MAX_DEPTH {
            return Err(TrailError::TooDeep);
        }
        self.depth = self.depth.max(depth);
        let lot = self
            .src
            .lot(participant, id)
            .map_err(TrailError::Read)?
            .ok_or_else(|| TrailError::UnknownLot { participant: participant.into(), lot: id.into() })?;
        let kind = match lot.origin {
            LotOrigin::Production { .. } => NodeKind::Production,
            LotOrigin::Transfer { .. } => NodeKind::Transfer,
            LotOrigin::Import { .. } => NodeKind::Import,
        };
        let key = (kind, participant.to_string(), id.to_string());
        let mut node = TrailNode {
            kind,
            participant: participant.into(),
            id: id.into(),
            entry: lot.created_by,
            date: lot.date.clone(),
            weight: lot.weight,
            taken,
            holder: Some(lot.holder),
            holder_name: self.src.licensee_name(participant, &lot.holder).map_err(TrailError::Read)?,
            compliant: lot.compliant,
            site: None,
            zone: None,
            zone_name: None,
            repeated: false,
            inputs: Vec::new(),
        };
        if !self.expanded.insert(key.clone()) {
            node.repeated = true;
            return Ok((node, self.shares[&key].clone()));
        }
        self.lot_attestations(&lot)?;
        if !lot.compliant && matches!(lot.origin, LotOrigin::Import { .. }) {
            self.problems.push(format!(
                "lot {id} of {participant} was recorded non-compliant when the shipment was confirmed (see the confirmation's flags)"
            ));
        }
        let shares = match &lot.origin {
            LotOrigin::Production { site, zone, .. } => {
                self.productions.insert(lot.created_by);
                node.site = Some(site.clone());
                node.zone = zone.clone();
                if let Some(z) = zone {
                    node.zone_name = self.zone_facts(&lot, z)?;
                }
                if !lot.compliant {
                    self.problems.push(format!(
                        "R6: lot {id} of {participant} was produced in zone {} while it was not compliant",
                        zone.as_deref().unwrap_or("(none)")
                    ));
                }
                Shares::from([(participant.to_string(), 1.0)])
            }
            LotOrigin::Transfer { inputs } => {
                // A transfer with several outputs took its inputs for all of
                // them; this lot's part of each is in proportion to its weight.
                let total: u128 = inputs.iter().map(|t| u128::from(t.weight)).sum();
                let part = |w: Weight| (u128::from(w) * u128::from(lot.weight)).div_ceil(total.max(1)) as Weight;
                let mut parts = Vec::with_capacity(inputs.len());
                for t in inputs {
                    let (child, s) = self.lot(participant, &t.lot, Some(part(t.weight)), depth + 1)?;
                    node.inputs.push(child);
                    parts.push((t.weight, s));
                }
                mix(&parts)
            }
            LotOrigin::Import { certificate } => {
                let (child, s) = self.cert(certificate, Some(lot.weight), depth + 1)?;
                node.inputs.push(child);
                s
            }
        };
        self.shares.insert(key, shares.clone());
        Ok((node, shares))
    }

    fn cert(
        &mut self,
        number: &str,
        taken: Option<Weight>,
        depth: usize,
    ) -> Result<(TrailNode, Shares), TrailError<S::Error>> {
        if depth > MAX_DEPTH {
            return Err(TrailError::TooDeep);
        }
        self.depth = self.depth.max(depth);
        let cert = self
            .src
            .certificate(number)
            .map_err(TrailError::Read)?
            .ok_or_else(|| TrailError::UnknownCertificate(number.into()))?;
        let key = (NodeKind::Export, cert.exporter.clone(), number.to_string());
        let mut node = TrailNode {
            kind: NodeKind::Export,
            participant: cert.exporter.clone(),
            id: number.into(),
            entry: cert.entry,
            date: cert.issued.clone(),
            weight: cert.weight,
            taken,
            holder: Some(cert.exporter_licensee),
            holder_name: self.src.licensee_name(&cert.exporter, &cert.exporter_licensee).map_err(TrailError::Read)?,
            compliant: true,
            site: None,
            zone: None,
            zone_name: None,
            repeated: false,
            inputs: Vec::new(),
        };
        if !self.expanded.insert(key.clone()) {
            node.repeated = true;
            return Ok((node, self.shares[&key].clone()));
        }
        self.cert_facts(&cert)?;
        let mut parts = Vec::with_capacity(cert.inputs.len());
        for t in &cert.inputs {
            let (child, s) = self.lot(&cert.exporter, &t.lot, Some(t.weight), depth + 1)?;
            node.inputs.push(child);
            parts.push((t.weight, s));
        }
        let shares = mix(&parts);
        self.shares.insert(key, shares.clone());
        Ok((node, shares))
    }

    /// Zone facts known now, which may postdate the production entry: a
    /// status recorded later but in force on the production date stops the
    /// lot as the rules do (R6).
    fn zone_facts(&mut self, lot: &LotState, zone: &str) -> Result<Option<String>, TrailError<S::Error>> {
        let mut history = self.src.zone_history(&lot.participant, zone).map_err(TrailError::Read)?;
        history.sort_by(|a, b| (&a.status.effective, a.entry).cmp(&(&b.status.effective, b.entry)));
        let name = history.last().map(|z| z.status.name.clone());
        // A lot with zone marks was compliant when produced under the regime.
        if !lot.zones.is_empty()
            && let Some(z) = crate::zone::in_force(&history, &lot.date)
            && z.status.status != ZoneState::Compliant
        {
            self.problems.push(format!(
                "R6: zone {zone} was {} from {}, on or before lot {} was produced on {}: no weight of it may leave",
                z.status.status.as_str(),
                z.status.effective,
                lot.lot,
                lot.date
            ));
        }
        for z in history.iter().filter(|z| z.status.effective > lot.date && z.status.status != ZoneState::Compliant) {
            self.notes.push(format!(
                "zone {zone} was {} from {}, after lot {} was produced: the lot stays compliant",
                z.status.status.as_str(),
                z.status.effective,
                lot.lot
            ));
        }
        Ok(name)
    }

    fn lot_attestations(&mut self, lot: &LotState) -> Result<(), TrailError<S::Error>> {
        let subject = Subject::Lot { participant: lot.participant.clone(), lot: lot.lot.clone() };
        let mut all = self.src.attestations(&subject).map_err(TrailError::Read)?;
        sort_attestations(&mut all);
        let held = on_hold(&all);
        for a in all {
            if a.kind == AttestationKind::Seizure {
                self.problems.push(format!("lot {} was seized: {}", lot.lot, a.note));
            }
            if let Some(finding) = a.finding {
                if finding != lot.nature {
                    self.problems.push(format!(
                        "R8: a laboratory found lot {} {:?}, but it is recorded {:?}",
                        lot.lot, finding, lot.nature
                    ));
                } else {
                    self.notes.push(format!("a laboratory confirmed lot {} is {:?}", lot.lot, finding));
                }
            }
        }
        if held {
            self.problems.push(format!("lot {} is on hold", lot.lot));
        }
        Ok(())
    }

    fn cert_facts(&mut self, cert: &CertState) -> Result<(), TrailError<S::Error>> {
        let subject = Subject::Certificate { number: cert.number.clone() };
        for a in self.src.attestations(&subject).map_err(TrailError::Read)? {
            if a.kind == AttestationKind::ForgedCertificate {
                self.problems.push(format!("certificate {} was reported forged: {}", cert.number, a.note));
            }
        }
        match &cert.confirmation {
            None if cert.expires.as_str() < self.today => self.problems.push(format!(
                "R7: certificate {} expired on {} without an import confirmation",
                cert.number, cert.expires
            )),
            None => self.notes.push(format!("certificate {} is not yet confirmed by {}", cert.number, cert.importer)),

            Some(c) if c.mismatch => self.notes.push(format!(
                "R7: {} confirmed {} in {} parcels against {} in {} on certificate {}",
                cert.importer,
                fmt_ct(c.weight),
                c.parcels,
                fmt_ct(cert.weight),
                cert.parcels,
                cert.number
            )),
            Some(_) => {}
        }
        if let Some(c) = cert.confirmation.as_ref().filter(|c| c.after_expiry) {
            self.problems.push(format!(
                "R7: {} confirmed certificate {} on {}, after it expired on {}",
                cert.importer, cert.number, c.date, cert.expires
            ));
        }
        Ok(())
    }
}

/// Weighted mix of the inputs' origin shares.
fn mix(parts: &[(Weight, Shares)]) -> Shares {
    let total: f64 = parts.iter().map(|(w, _)| *w as f64).sum();
    let mut out = Shares::new();
    if total == 0.0 {
        return out;
    }
    for (w, s) in parts {
        for (country, share) in s {
            *out.entry(country.clone()).or_default() += share * (*w as f64) / total;
        }
    }
    out
}
