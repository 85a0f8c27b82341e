//! The acceptance rules R2-R8 as one pure, deterministic function over the
//! ledger state. R1 (signatures) and R9 (bounds) run before, when the entry is
//! parsed and verified; see [`crate::entry`].
//!
//! Every node that sees the same entries reaches the same verdict: the rules
//! read only the state that earlier entries built and the entries that this
//! one names by hash. A read of that state that fails reaches none
//! ([`JudgeError::Read`]): it is never taken for an absent lot, licensee or
//! entry, so never turned into a refusal or a missing dependency.

use crate::bytes::{Hash32, PublicKey};
use crate::codes;
use crate::crypto::{self, Domain};
use crate::entry::Verified;
use crate::model::*;
use crate::state::*;
use crate::zone::{self, ZoneKey};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Refusals and their codes are defined in [`crate::codes`]; the verdicts
/// here return them.
pub use crate::codes::Refusal;
use crate::view::ReadResult;
/// What the rules read, and why a verdict may not be reached.
pub use crate::view::{JudgeError, LedgerView};

fn refuse<T, E: From<Refusal>>(code: &str, message: impl Into<String>) -> Result<T, E> {
    Err(Refusal::new(code, message).into())
}

/// Where a log freezes on evidence that names `position` (R3): on the
/// position before it. An equivocation names the position both entries
/// claim; a false checkpoint names its size, since the two views it
/// proves part somewhere at or before it.
pub fn freeze_before(position: u64) -> u64 {
    position.saturating_sub(1)
}

/// What judging with the view `V` returns.
type Judged<T, V> = Result<T, JudgeError<<V as LedgerView>::Error>>;

/// A derived-state write caused by an accepted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A lot created, or one whose remaining weight an input took.
    Lot(LotState),
    /// A certificate issued, or confirmed.
    Cert(CertState),
    /// A licensee registered, or revoked.
    Licensee(LicenseeState),
    /// A zone status declared: the zone's chain in its monitor's log moves
    /// to it.
    Zone(ZoneRecord),
    /// A licensee record a participant's log now holds.
    Record(String, Hash32),
    /// The network as a governance entry leaves it.
    Network(NetworkState),
    /// An attestation or a laboratory finding recorded.
    Attestation(AttestationRecord),
    /// An object a void entry would have created.
    Void(VoidKey),
    /// A zone estimate recorded.
    Estimate(EstimateRecord),
}

/// An entry accepted into its log, with what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The entry's id.
    pub hash: Hash32,
    /// Key of its author: the log it extends.
    pub author: PublicKey,
    /// The log's head once the entry is in it.
    pub head: Head,
    /// The derived state to write, in order.
    pub changes: Vec<Change>,
    /// Accepted but worth a look, for example an R7 weight mismatch.
    pub flags: Vec<String>,
    /// Why the entry is void: it reads an entry withdrawn from a frozen
    /// log, or an object a void entry made. It keeps its place in its log
    /// and changes nothing but the void objects it would have created.
    pub void: Option<String>,
}

/// A signed entry of a frozen log beyond its freeze point (R3): kept as
/// evidence, never part of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Withdrawn {
    /// Key of the frozen log's writer, who signed the entry.
    pub author: PublicKey,
    /// The entry's position, beyond the log's freeze point.
    pub seq: u64,
    /// The entry's id.
    pub hash: Hash32,
}

impl Withdrawn {
    /// What a writer that submitted it is told.
    pub fn refusal(&self) -> Refusal {
        Refusal::new(
            codes::R3_LOG_FROZEN,
            format!(
                "this log is frozen before entry {}: its writer equivocated or signed a false checkpoint, or \
                 its key was replaced (a key rotation closed the log); the entry is kept as evidence only",
                self.seq
            ),
        )
    }
}

/// Two different signed entries at one position of one log (R3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Equivocation {
    /// Key of the writer that signed both.
    pub author: PublicKey,
    /// The position both claim; the log freezes before it.
    pub seq: u64,
    /// Id of the entry the ledger holds at that position.
    pub existing: Hash32,
    /// Id of the other entry, signed by the same writer for the same
    /// position.
    pub conflicting: Hash32,
}

/// What [`judge`] decides about an entry that is not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The entry takes the next position of its log (perhaps as void), with
    /// the changes to write.
    Accepted(Accepted),
    /// Already in the log: nothing to do.
    Duplicate(Hash32),
    /// Keep both as evidence and freeze the log.
    Equivocation(Equivocation),
    /// Beyond the freeze point of its frozen log: kept as evidence only.
    Withdrawn(Withdrawn),
}

/// Judge one verified entry against the state. A read of the state that
/// fails is [`JudgeError::Read`], whatever the entry.
pub fn judge<V: LedgerView>(view: &V, v: &Verified) -> Result<Verdict, JudgeError<V::Error>> {
    let signed = &v.entry;
    let e = signed.entry();
    let hash = signed.hash();
    let genesis = view.genesis();
    if e.network != genesis.network {
        return refuse(
            codes::R2_WRONG_NETWORK,
            format!("entry is for network `{}`, this is `{}`", e.network, genesis.network),
        );
    }

    // R3: the chain first, so that equivocation is caught whatever else the
    // entry names, even from an author who may no longer write.
    let head = view.head(&e.author).read()?;
    let (next, prev, last_ts) = match &head {
        Some(h) => (h.seq + 1, h.hash, h.timestamp_ms),
        None => (1, Hash32::ZERO, 0),
    };
    if e.seq < next {
        return match view.entry_hash_at(&e.author, e.seq).read()? {
            Some(existing) if existing == hash => Ok(Verdict::Duplicate(hash)),
            Some(existing) => {
                Ok(Verdict::Equivocation(Equivocation { author: e.author, seq: e.seq, existing, conflicting: hash }))
            }
            None => refuse(codes::R3_GAP, format!("entry {} of this log is missing here", e.seq)),
        };
    }
    let freeze = view.freeze_point(&e.author);
    if let Some(f) = freeze
        && e.seq > f
    {
        return Ok(Verdict::Withdrawn(Withdrawn { author: e.author, seq: e.seq, hash }));
    }
    if e.seq > next {
        return refuse(codes::R3_GAP, format!("entry {} arrived before entry {next} of its log", e.seq));
    }
    if e.prev != prev {
        return refuse(codes::R3_BAD_PREV, format!("entry {} does not name the hash of entry {}", e.seq, e.seq - 1));
    }
    if e.timestamp_ms < last_ts {
        return refuse(codes::R3_TIMESTAMP_REGRESSED, "timestamp is earlier than the previous entry's");
    }

    // Everything of other logs that the verdict reads is named in the
    // context: the network as of one governance entry, zone statuses, the
    // entry that created an attestation's subject.
    let context = Context::resolve(view, &e.context)?;
    let head = Head { seq: e.seq, hash, timestamp_ms: e.timestamp_ms, frozen: freeze.is_some() };
    if let Some(why) = &context.void {
        return void_entry(view, v, head, why.clone());
    }
    let snapshot = match &context.governance {
        Some(g) => Some(view.network_at(g).read()?.ok_or_else(|| {
            Refusal::new(codes::R3_MISSING_DEPENDENCY, format!("governance entry {g} is not known here"))
        })?),
        None => None,
    };
    let net: &NetworkState = snapshot.as_deref().unwrap_or(genesis);
    let Some(role) = net.role_of(&e.author) else {
        if let Some(r) = net.retired(&e.author) {
            return refuse(
                codes::R2_KEY_RETIRED,
                format!("this key was {}'s; it was replaced after position {} of its log", r.holder, r.last),
            );
        }
        return refuse(codes::R2_UNKNOWN_AUTHOR, format!("author {} is not in the roster", e.author));
    };
    // A holder's log under a new key goes on from its old key's log: an
    // entry of it may spend what the old log made, so it waits until this
    // node holds the old log to the position the rotation kept (or to its
    // freeze point, which then freezes this log too).
    for p in net.predecessors(&e.author) {
        let need = view.freeze_point(&p.key).map_or(p.last, |f| f.min(p.last));
        let held = view.head(&p.key).read()?.map_or(0, |h| h.seq);
        if held < need {
            return refuse(
                codes::R3_MISSING_DEPENDENCY,
                format!("{}'s log under its previous key must be held up to entry {need} first", p.holder),
            );
        }
    }
    // The chair's log is the network's history: each of its entries reads
    // the network its own previous entry made.
    if matches!(role, AuthorRole::Chair) && e.seq > 1 && context.governance != Some(e.prev) {
        return refuse(codes::R3_BAD_CONTEXT, "a governance entry names its own log's previous entry in its context");
    }

    let mut out =
        Accepted { hash, author: e.author, head: head.clone(), changes: Vec::new(), flags: Vec::new(), void: None };
    let ctx = Ctx {
        view,
        net,
        hash,
        author: e.author,
        timestamp_ms: e.timestamp_ms,
        seq: e.seq,
        context,
        read: RefCell::new(BTreeSet::new()),
        read_entries: RefCell::new(BTreeSet::new()),
        void: RefCell::new(None),
    };
    let judged = ctx.body(v, role, &mut out);
    if let Some(why) = ctx.void.take() {
        return void_entry(view, v, head, why);
    }
    judged?;
    // A context is exactly what the verdict read: nothing else, so that one
    // entry has one canonical context.
    if let Some((p, z)) = ctx.context.zones.keys().find(|k| !ctx.read.borrow().contains(*k)) {
        return refuse(
            codes::R3_BAD_CONTEXT,
            format!("the context names a status of zone {z} of {p}, which this entry's verdict does not read"),
        );
    }
    if let Some(h) = ctx.context.entries.iter().find(|h| !ctx.read_entries.borrow().contains(*h)) {
        return refuse(
            codes::R3_BAD_CONTEXT,
            format!("the context names entry {h}, which this entry's verdict does not read"),
        );
    }
    Ok(Verdict::Accepted(out))
}

/// Accept an entry as void (R3): it takes its place in its log, so the log
/// goes on, and changes nothing but the objects it would have created,
/// which exist as void. Its author must still be one the network knows.
fn void_entry<V: LedgerView>(view: &V, v: &Verified, head: Head, why: String) -> Result<Verdict, JudgeError<V::Error>> {
    let e = v.entry.entry();
    if view.network().role_of(&e.author).is_none() && view.genesis().role_of(&e.author).is_none() {
        return refuse(codes::R2_UNKNOWN_AUTHOR, format!("author {} is not in the roster", e.author));
    }
    let mut changes: Vec<Change> = would_create(e.author, v, view).into_iter().map(Change::Void).collect();
    changes.push(Change::Void(VoidKey::Entry { hash: head.hash }));
    Ok(Verdict::Accepted(Accepted {
        hash: head.hash,
        author: e.author,
        head,
        changes,
        flags: vec![format!("R3: void: {why}")],
        void: Some(why),
    }))
}

/// The objects an entry creates when accepted: what a void entry leaves as
/// void, so that every entry reading one is void too.
fn would_create<V: LedgerView>(author: PublicKey, v: &Verified, view: &V) -> Vec<VoidKey> {
    let code = [view.network(), view.genesis()].into_iter().find_map(|n| match n.role_of(&author) {
        Some(AuthorRole::Authority(p)) => Some(p.participant.code.clone()),
        _ => None,
    });
    let Some(code) = code else { return Vec::new() };
    let lot = |lot: &str| VoidKey::Lot { participant: code.clone(), lot: lot.to_string() };
    match (&v.entry.entry().body, v.record.as_ref().map(|r| &r.body)) {
        (Body::RegisterLicensee(r), _) => vec![VoidKey::Licensee { participant: code.clone(), key: r.licensee }],
        (Body::ImportConfirmation(c), _) => vec![lot(&c.lot)],
        (Body::Countersigned(_), Some(RecordBody::Production(x))) => vec![lot(&x.lot)],
        (Body::Countersigned(_), Some(RecordBody::Transfer(x))) => x.outputs.iter().map(|o| lot(&o.lot)).collect(),
        (Body::Countersigned(_), Some(RecordBody::Export(x))) => {
            vec![VoidKey::Cert { number: x.certificate.clone() }]
        }
        _ => Vec::new(),
    }
}

impl<V: LedgerView> Ctx<'_, V> {
    fn body(&self, v: &Verified, role: AuthorRole<'_>, out: &mut Accepted) -> Judged<(), V> {
        let ctx = self;
        let e = v.entry.entry();
        match (&e.body, role) {
            (Body::Governance(g), AuthorRole::Chair) => ctx.governance(g, out)?,
            (Body::ZoneStatus(z), AuthorRole::Monitor(m)) => ctx.zone_status(m, z, out)?,
            (Body::Attestation(a), AuthorRole::Monitor(_)) => ctx.attestation(None, a, out)?,
            (Body::ZoneEstimate(z), AuthorRole::Monitor(m)) => ctx.zone_estimate(m, z, out)?,
            (body, AuthorRole::Authority(p)) => {
                if p.suspended_at(e.seq) {
                    return refuse(
                        codes::R2_AUTHOR_SUSPENDED,
                        format!("participant {} is suspended from entry {} of its log", p.participant.code, e.seq),
                    );
                }
                let code = p.participant.code.as_str();
                match body {
                    Body::RegisterLicensee(r) => ctx.register(code, r, out)?,
                    Body::RevokeLicensee(r) => ctx.revoke(code, r, out)?,
                    Body::Countersigned(c) => {
                        let record = v.record.as_ref().ok_or_else(|| {
                            Refusal::new(codes::R1_UNVERIFIED_RECORD, "countersigned record was not verified")
                        })?;
                        if let (RecordBody::Export(_), Some(first)) = (&record.body, p.conditions.first()) {
                            return refuse(
                                codes::R2_CONDITIONAL_ADMISSION,
                                format!(
                                    "{code} was admitted under conditions the chair has not lifted ({first}): its \
                                     exports are refused until then"
                                ),
                            );
                        }
                        ctx.record(p, record, &crypto::record_hash(&c.record.0), out)?
                    }
                    Body::ImportConfirmation(c) => ctx.confirm(code, c, out)?,
                    Body::Attestation(a) => ctx.attestation(Some(code), a, out)?,
                    Body::ZoneStatus(_) | Body::ZoneEstimate(_) | Body::Governance(_) => {
                        return not_allowed(body, "a participant authority");
                    }
                }
            }
            (body, AuthorRole::Chair) => return not_allowed(body, "the chair"),
            (body, AuthorRole::Monitor(_)) => return not_allowed(body, "a monitor"),
        }
        Ok(())
    }
}

/// An entry's context, sorted by what each named entry is. Each must be
/// known here (R3); a monitor's chain of a zone is named once, and the
/// network by one governance entry at most.
struct Context {
    zones: BTreeMap<ZoneKey, Vec<Hash32>>,
    governance: Option<Hash32>,
    entries: BTreeSet<Hash32>,
    /// The context names an entry withdrawn from a frozen log.
    void: Option<String>,
}

impl Context {
    fn resolve<V: LedgerView>(view: &V, context: &[Hash32]) -> Judged<Self, V> {
        let mut out = Context { zones: BTreeMap::new(), governance: None, entries: BTreeSet::new(), void: None };
        let mut chains = BTreeSet::new();
        for h in context {
            // Governance first: nearly every entry names one, and it is held
            // in memory, where a zone status is a store read.
            if view.network_at(h).read()?.is_some() {
                if out.governance.replace(*h).is_some() {
                    return refuse(codes::R3_BAD_CONTEXT, "the context names two governance entries");
                }
            } else if let Some(rec) = view.zone(h).read()? {
                let (p, z) = (rec.status.participant, rec.status.zone);
                if !chains.insert((rec.monitor, p.clone(), z.clone())) {
                    return refuse(
                        codes::R3_BAD_CONTEXT,
                        format!("the context names two statuses of zone {z} of {p} by one monitor"),
                    );
                }
                out.zones.entry((p, z)).or_default().push(*h);
            } else if view.entry_known(h).read()? {
                // A void zone status or governance entry made nothing to
                // read: what names it is void too.
                if view.void(&VoidKey::Entry { hash: *h }).read()? {
                    out.void.get_or_insert(format!("its context names entry {h}, which is void"));
                }
                out.entries.insert(*h);
            } else if view.withdrawn(h).read()? {
                out.void.get_or_insert(format!("its context names entry {h}, withdrawn from a frozen log"));
            } else {
                return refuse(codes::R3_MISSING_DEPENDENCY, format!("context entry {h} is not known here"));
            }
        }
        Ok(out)
    }
}

fn not_allowed<T, E: From<Refusal>>(body: &Body, who: &str) -> Result<T, E> {
    refuse(codes::R2_NOT_ALLOWED, format!("{who} may not write a {} entry", body.kind()))
}

struct Ctx<'a, V> {
    view: &'a V,
    /// The network as the entry's context names it.
    net: &'a NetworkState,
    hash: Hash32,
    author: PublicKey,
    timestamp_ms: u64,
    seq: u64,
    context: Context,
    /// The zones the verdict read.
    read: RefCell<BTreeSet<ZoneKey>>,
    /// The other entries of the context the verdict read.
    read_entries: RefCell<BTreeSet<Hash32>>,
    /// Set when the verdict reads a void object: the entry is void, whatever
    /// else the rules say.
    void: RefCell<Option<String>>,
}

/// What [`Ctx::spend`] takes from its input lots.
struct Spent {
    lots: Vec<LotState>,
    total: Weight,
    nature: Nature,
    compliant: bool,
    zones: Vec<ZoneMark>,
}

impl<V: LedgerView> Ctx<'_, V> {
    /// A zone's history as the entry's context names it (R6).
    fn zone_history(&self, participant: &str, zone: &str) -> Judged<Vec<ZoneRecord>, V> {
        let key = (participant.to_string(), zone.to_string());
        let heads = self.context.zones.get(&key).map(Vec::as_slice).unwrap_or_default();
        self.read.borrow_mut().insert(key);
        zone::history(self.view, heads)
    }

    /// Whether weight mined in a zone up to `mark.date` may still leave; the
    /// reason if not.
    fn mark_problem(&self, mark: &ZoneMark) -> Judged<Option<String>, V> {
        let history = self.zone_history(&mark.participant, &mark.zone)?;
        Ok(match zone::in_force(&history, &mark.date) {
            Some(z) if z.status.status == ZoneState::Compliant => None,
            Some(z) => Some(format!(
                "zone {} of {} is {} from {}, on or before production there on {}",
                mark.zone,
                mark.participant,
                z.status.status.as_str(),
                z.status.effective,
                mark.date
            )),
            None => Some(format!(
                "no status of zone {} of {} that was in force on {} is named in the entry's context",
                mark.zone, mark.participant, mark.date
            )),
        })
    }

    fn register(&self, code: &str, r: &LicenseeRegistration, out: &mut Accepted) -> Judged<(), V> {
        crypto::check_key(&r.licensee).map_err(|e| Refusal::new(e.code(), format!("licensee key: {e}")))?;
        if let Some(l) = self.view.licensee(code, &r.licensee).read()? {
            return refuse(codes::R2_LICENSEE_EXISTS, format!("key is already registered by {} as {}", code, l.name));
        }
        if self.view.void(&VoidKey::Licensee { participant: code.into(), key: r.licensee }).read()? {
            return refuse(codes::R2_LICENSEE_EXISTS, format!("key is already registered by {code}, by a void entry"));
        }
        let roles: BTreeSet<Role> = r.roles.iter().copied().collect();
        out.changes.push(Change::Licensee(LicenseeState {
            key: r.licensee,
            participant: code.to_string(),
            name: r.name.clone(),
            roles: roles.into_iter().collect(),
            active: true,
            registered_by: self.hash,
        }));
        Ok(())
    }

    fn revoke(&self, code: &str, r: &LicenseeRevocation, out: &mut Accepted) -> Judged<(), V> {
        let mut l = self.own_licensee(code, &r.licensee)?;
        if !l.active {
            return refuse(codes::R2_LICENSEE_REVOKED, "licensee is already revoked");
        }
        l.active = false;
        out.changes.push(Change::Licensee(l));
        Ok(())
    }

    /// Mark the entry void if the object it did not find is a void one.
    /// Returns the refusal to give meanwhile: `judge` turns it into a void
    /// acceptance.
    fn absent(&self, key: VoidKey) -> Judged<bool, V> {
        if self.view.void(&key).read()? {
            self.void.borrow_mut().get_or_insert(format!("it reads {key}, made by a void entry"));
            return Ok(true);
        }
        Ok(false)
    }

    fn own_licensee(&self, code: &str, key: &PublicKey) -> Judged<LicenseeState, V> {
        match self.view.licensee(code, key).read()? {
            Some(l) => Ok(l),
            None if self.absent(VoidKey::Licensee { participant: code.into(), key: *key })? => {
                refuse(codes::R3_MISSING_DEPENDENCY, "void")
            }
            None => refuse(codes::R2_UNKNOWN_LICENSEE, format!("key {key} is not a licensee registered by {code}")),
        }
    }

    fn active_holder(&self, code: &str, key: &PublicKey) -> Judged<LicenseeState, V> {
        let l = match self.own_licensee(code, key) {
            Err(JudgeError::Refused(r)) => {
                return refuse(codes::R2_UNKNOWN_HOLDER, format!("new holder: {}", r.message));
            }
            l => l?,
        };
        if !l.active {
            return refuse(codes::R2_UNKNOWN_HOLDER, format!("new holder {} is revoked", l.name));
        }
        Ok(l)
    }

    fn record(&self, p: &ParticipantState, r: &Record, rhash: &Hash32, out: &mut Accepted) -> Judged<(), V> {
        let code = p.participant.code.as_str();
        if r.network != self.net.network {
            return refuse(codes::R2_WRONG_NETWORK, "record is for another network");
        }
        if self.view.record_seen(code, rhash).read()? {
            return refuse(codes::R3_DUPLICATE_RECORD, "this signed record is already in the ledger");
        }
        let licensee = self.own_licensee(code, &r.licensee)?;
        if !licensee.active {
            return refuse(codes::R2_LICENSEE_REVOKED, format!("licensee {} is revoked", licensee.name));
        }
        let needs: &[Role] = match &r.body {
            RecordBody::Production(_) => &[Role::Miner],
            RecordBody::Transfer(_) => &[Role::Miner, Role::Trader, Role::Exporter, Role::Importer],
            RecordBody::Export(_) => &[Role::Exporter],
            RecordBody::LabResult(_) => &[Role::Laboratory],
        };
        if !needs.iter().any(|n| licensee.roles.contains(n)) {
            let names: Vec<_> = needs.iter().map(|r| r.as_str()).collect();
            return refuse(
                codes::R2_ROLE,
                format!(
                    "a {} record needs the role {}; {} has none of them",
                    r.body.kind(),
                    names.join(" or "),
                    licensee.name
                ),
            );
        }
        out.changes.push(Change::Record(code.to_string(), *rhash));
        match &r.body {
            RecordBody::Production(x) => self.production(p, &licensee, x, out),
            RecordBody::Transfer(x) => self.transfer(code, &licensee, x, out),
            RecordBody::Export(x) => self.export(code, &licensee, x, out),
            RecordBody::LabResult(x) => {
                self.existing_lot(code, &x.lot)?;
                out.changes.push(Change::Attestation(AttestationRecord {
                    entry: self.hash,
                    author: licensee.key,
                    timestamp_ms: self.timestamp_ms,
                    seq: self.seq,
                    subject: Subject::Lot { participant: code.into(), lot: x.lot.clone() },
                    kind: AttestationKind::Note,
                    note: x.note.clone(),
                    finding: Some(x.finding),
                    report_hash: Some(x.report_hash),
                }));
                Ok(())
            }
        }
    }

    fn existing_lot(&self, code: &str, lot: &str) -> Judged<LotState, V> {
        match self.view.lot(code, lot).read()? {
            Some(l) => Ok(l),
            None if self.absent(VoidKey::Lot { participant: code.into(), lot: lot.into() })? => {
                refuse(codes::R3_MISSING_DEPENDENCY, "void")
            }
            None => refuse(codes::R4_UNKNOWN_LOT, format!("lot {lot} does not exist in {code}")),
        }
    }

    fn new_lot_id(&self, code: &str, lot: &str, seen: &mut BTreeSet<String>) -> Judged<(), V> {
        if self.view.lot(code, lot).read()?.is_some()
            || self.view.void(&VoidKey::Lot { participant: code.into(), lot: lot.into() }).read()?
            || !seen.insert(lot.to_string())
        {
            return refuse(codes::R4_LOT_EXISTS, format!("lot {lot} already exists in {code}"));
        }
        Ok(())
    }

    fn production(&self, p: &ParticipantState, l: &LicenseeState, x: &Production, out: &mut Accepted) -> Judged<(), V> {
        let code = p.participant.code.as_str();
        self.new_lot_id(code, &x.lot, &mut BTreeSet::new())?;
        let mut compliant = !p.participant.zone_regime;
        let mut reason = "no zone named".to_string();
        match &x.zone {
            None if p.participant.zone_regime => {
                return refuse(
                    codes::R6_ZONE_REQUIRED,
                    format!("{code} is under the zone regime: production must name its zone"),
                );
            }
            None => {}
            Some(z) => {
                // The zone's status on the production date comes from the
                // newest statuses the writer held (its context), not from
                // the one the miner names: a miner cannot pick an older one.
                let history = self.zone_history(code, &z.zone)?;
                if let Some(status_hash) = &z.status_entry {
                    if self.view.withdrawn(status_hash).read()?
                        || self.view.void(&VoidKey::Entry { hash: *status_hash }).read()?
                    {
                        let why = format!("it names zone status {status_hash}, withdrawn from a frozen log or void");
                        self.void.borrow_mut().get_or_insert(why);
                        return refuse(codes::R3_MISSING_DEPENDENCY, "void");
                    }
                    let rec = self.view.zone(status_hash).read()?.ok_or_else(|| {
                        Refusal::new(
                            codes::R3_MISSING_DEPENDENCY,
                            format!("zone-status entry {status_hash} is not known here"),
                        )
                    })?;
                    if rec.status.participant != code || rec.status.zone != z.zone {
                        return refuse(
                            codes::R6_ZONE_MISMATCH,
                            format!(
                                "status entry is for zone {} of {}, not {} of {code}",
                                rec.status.zone, rec.status.participant, z.zone
                            ),
                        );
                    }
                    if !history.iter().any(|h| h.entry == *status_hash) {
                        return refuse(
                            codes::R3_BAD_CONTEXT,
                            "the entry's context does not reach the zone status the record relies on",
                        );
                    }
                }
                if p.participant.zone_regime {
                    compliant = zone::compliant_on(&history, &x.date);
                    if !compliant {
                        let why = match zone::in_force(&history, &x.date) {
                            Some(s) => format!("{} from {}", s.status.status.as_str(), s.status.effective),
                            None => "never declared compliant".to_string(),
                        };
                        reason = format!("zone {} was {why}", z.zone);
                    }
                }
            }
        }
        out.changes.push(Change::Lot(LotState {
            participant: code.into(),
            lot: x.lot.clone(),
            holder: l.key,
            weight: x.weight,
            remaining: x.weight,
            nature: x.nature,
            compliant,
            created_by: self.hash,
            date: x.date.clone(),
            origin: LotOrigin::Production {
                site: x.site.clone(),
                zone: x.zone.as_ref().map(|z| z.zone.clone()),
                zone_status: x.zone.as_ref().and_then(|z| z.status_entry),
                stones: x.stones,
                value_cents: x.value_cents,
            },
            zones: match (&x.zone, p.participant.zone_regime && compliant) {
                (Some(z), true) => {
                    vec![ZoneMark { participant: code.into(), zone: z.zone.clone(), date: x.date.clone() }]
                }
                _ => Vec::new(),
            },
        }));
        if !compliant {
            out.flags.push(format!("R6: lot {} is non-compliant: on {} {reason}", x.lot, x.date));
        }
        Ok(())
    }

    /// Take weight from input lots (R4, R5, R8).
    fn spend(&self, code: &str, holder: &LicenseeState, takes: &[Take]) -> Judged<Spent, V> {
        let mut lots: BTreeMap<&str, LotState> = BTreeMap::new();
        let mut total: Weight = 0;
        let mut nature = None;
        let mut compliant = true;
        for t in takes {
            if lots.contains_key(t.lot.as_str()) {
                return refuse(codes::R5_DUPLICATE_INPUT, format!("lot {} is named twice as an input", t.lot));
            }
            let mut lot = self.existing_lot(code, &t.lot)?;
            if lot.holder != holder.key {
                return refuse(codes::R4_NOT_HOLDER, format!("lot {} is not held by {}", t.lot, holder.name));
            }
            if lot.remaining == 0 {
                return refuse(codes::R5_ALREADY_SPENT, format!("lot {} is already spent", t.lot));
            }
            if t.weight > lot.remaining {
                return refuse(
                    codes::R5_OVERSPEND,
                    format!("lot {} has {} left, {} was taken", t.lot, fmt_ct(lot.remaining), fmt_ct(t.weight)),
                );
            }
            if *nature.get_or_insert(lot.nature) != lot.nature {
                return refuse(codes::R8_MIXED_NATURE, "natural and synthetic lots never mix");
            }
            lot.remaining -= t.weight;
            compliant &= lot.compliant;
            total += t.weight;
            lots.insert(t.lot.as_str(), lot);
        }
        let nature = nature.ok_or_else(|| Refusal::new(codes::R9_EMPTY, "no inputs"))?;
        // A non-compliant lot never leaves, whatever its zones: it needs none.
        let zones = if compliant { merge_marks(lots.values().flat_map(|l| &l.zones)) } else { Vec::new() };
        Ok(Spent { lots: lots.into_values().collect(), total, nature, compliant, zones })
    }

    fn transfer(&self, code: &str, l: &LicenseeState, x: &Transfer, out: &mut Accepted) -> Judged<(), V> {
        let Spent { lots: inputs, total: taken, nature, compliant, zones } = self.spend(code, l, &x.inputs)?;
        let mut seen = BTreeSet::new();
        let mut produced: Weight = 0;
        let mut outputs = Vec::with_capacity(x.outputs.len());
        for o in &x.outputs {
            self.new_lot_id(code, &o.lot, &mut seen)?;
            self.active_holder(code, &o.holder)?;
            produced += o.weight;
            outputs.push(LotState {
                participant: code.into(),
                lot: o.lot.clone(),
                holder: o.holder,
                weight: o.weight,
                remaining: o.weight,
                nature,
                compliant,
                created_by: self.hash,
                date: x.date.clone(),
                origin: LotOrigin::Transfer { inputs: x.inputs.clone() },
                zones: zones.clone(),
            });
        }
        if produced != taken {
            return refuse(
                codes::R5_UNBALANCED,
                format!("outputs weigh {} but inputs took {}", fmt_ct(produced), fmt_ct(taken)),
            );
        }
        out.changes.extend(inputs.into_iter().map(Change::Lot));
        out.changes.extend(outputs.into_iter().map(Change::Lot));
        Ok(())
    }

    fn export(&self, code: &str, l: &LicenseeState, x: &Export, out: &mut Accepted) -> Judged<(), V> {
        if certificate_participant(&x.certificate) != Some(code) {
            return refuse(
                codes::R7_BAD_CERTIFICATE_NUMBER,
                format!("certificate number `{}` must be `{code}-<digits>`", x.certificate),
            );
        }
        if self.view.certificate(&x.certificate).read()?.is_some()
            || self.view.void(&VoidKey::Cert { number: x.certificate.clone() }).read()?
        {
            return refuse(codes::R7_DUPLICATE_CERTIFICATE, format!("certificate {} already exists", x.certificate));
        }
        if x.importer == code || self.net.participant(&x.importer).is_none() {
            return refuse(
                codes::R7_UNKNOWN_IMPORTER,
                format!("{} is not another participant of this network", x.importer),
            );
        }
        if x.expires.as_str() < x.issued.as_str() {
            return refuse(codes::R7_BAD_EXPIRY, "certificate expires before it is issued");
        }
        // R6 first: a non-compliant lot can never leave, whatever else is
        // wrong; nor can a lot whose zone was suspended, by the statuses the
        // context names, on or before a production behind it.
        for t in &x.inputs {
            let Some(lot) = self.view.lot(code, &t.lot).read()? else { continue };
            if !lot.compliant {
                return refuse(
                    codes::R6_NON_COMPLIANT_LOT,
                    format!("lot {} takes weight from a non-compliant zone and cannot be exported", t.lot),
                );
            }
            for mark in &lot.zones {
                if let Some(why) = self.mark_problem(mark)? {
                    return refuse(codes::R6_ZONE_SUSPENDED, format!("lot {} cannot be exported: {why}", t.lot));
                }
            }
        }
        let Spent { lots: inputs, total: taken, nature, zones, .. } = self.spend(code, l, &x.inputs)?;
        let mut declared: Weight = 0;
        let mut value: Cents = 0;
        for line in &x.lines {
            match hs_nature(&line.code) {
                None => {
                    return refuse(
                        codes::R8_UNKNOWN_HS_CODE,
                        format!("HS code {} is not a rough-diamond code", line.code),
                    );
                }
                Some(n) if n != nature => {
                    let what = match nature {
                        Nature::Natural => "natural stones cannot leave under a synthetic HS code",
                        Nature::Synthetic => "synthetic stones cannot leave under a KP rough HS code",
                    };
                    return refuse(codes::R8_NATURE_MISMATCH, format!("HS {}: {what}", line.code));
                }
                Some(_) => {}
            }
            declared += line.weight;
            value += line.value_cents;
        }
        if declared != taken {
            return refuse(
                codes::R5_UNBALANCED,
                format!("HS lines weigh {} but inputs took {}", fmt_ct(declared), fmt_ct(taken)),
            );
        }
        out.changes.extend(inputs.into_iter().map(Change::Lot));
        out.changes.push(Change::Cert(CertState {
            number: x.certificate.clone(),
            exporter: code.into(),
            importer: x.importer.clone(),
            exporter_licensee: l.key,
            consignee: x.consignee.clone(),
            entry: self.hash,
            seq: self.seq,
            inputs: x.inputs.clone(),
            lines: x.lines.clone(),
            weight: taken,
            value_cents: value,
            parcels: x.parcels,
            issued: x.issued.clone(),
            expires: x.expires.clone(),
            nature,
            zones,
            confirmation: None,
        }));
        Ok(())
    }

    fn confirm(&self, code: &str, c: &ImportConfirmation, out: &mut Accepted) -> Judged<(), V> {
        if self.view.withdrawn(&c.certificate_entry).read()? {
            let why = format!("it confirms entry {}, withdrawn from a frozen log", c.certificate_entry);
            self.void.borrow_mut().get_or_insert(why);
            return refuse(codes::R3_MISSING_DEPENDENCY, "void");
        }
        let mut cert = match self.view.certificate(&c.certificate).read()? {
            Some(cert) if cert.exporter == c.exporter => cert,
            None if self.absent(VoidKey::Cert { number: c.certificate.clone() })? => {
                return refuse(codes::R3_MISSING_DEPENDENCY, "void");
            }
            _ => {
                return refuse(
                    codes::R3_MISSING_DEPENDENCY,
                    format!("certificate {} of {} is not known here", c.certificate, c.exporter),
                );
            }
        };
        if cert.entry != c.certificate_entry {
            return refuse(
                codes::R7_CERTIFICATE_ENTRY_MISMATCH,
                "the confirmation names another entry than the certificate's",
            );
        }
        if cert.importer != code {
            return refuse(
                codes::R7_WRONG_IMPORTER,
                format!("certificate {} is addressed to {}, not {code}", cert.number, cert.importer),
            );
        }
        if let Some(prev) = &cert.confirmation {
            return refuse(
                codes::R7_ALREADY_CONFIRMED,
                format!("certificate {} was confirmed by entry {}", cert.number, prev.entry),
            );
        }
        self.new_lot_id(code, &c.lot, &mut BTreeSet::new())?;
        self.active_holder(code, &c.holder)?;
        let mismatch = c.weight != cert.weight || c.parcels != cert.parcels;
        if mismatch {
            out.flags.push(format!(
                "R7: received {} in {} parcels, certificate says {} in {}",
                fmt_ct(c.weight),
                c.parcels,
                fmt_ct(cert.weight),
                cert.parcels
            ));
        }
        let after_expiry = c.date.as_str() > cert.expires.as_str();
        if after_expiry {
            out.flags.push(format!(
                "R7: certificate {} was confirmed on {}, after it expired on {}",
                cert.number, c.date, cert.expires
            ));
        }
        // Only compliant lots leave (R6), but a suspension recorded since, and
        // effective on or before a production behind the shipment, reaches
        // it here: the shipment is recorded, and its lot cannot leave again.
        let mut compliant = true;
        // An exporter whose own log names a network before its suspension
        // still writes; the importer, naming the network it holds, stops
        // what it issued from the suspended position on at the border.
        if self.net.participant(&cert.exporter).is_some_and(|p| p.suspended_at(cert.seq)) {
            compliant = false;
            out.flags.push(format!(
                "R2: {} was suspended from before entry {} of its log, which issued certificate {}: lot {} is non-compliant",
                cert.exporter, cert.seq, cert.number, c.lot
            ));
        }
        for mark in &cert.zones {
            if let Some(why) = self.mark_problem(mark)? {
                compliant = false;
                out.flags.push(format!("R6: lot {} is non-compliant: {why}", c.lot));
            }
        }
        cert.confirmation = Some(Confirmation {
            entry: self.hash,
            weight: c.weight,
            parcels: c.parcels,
            lot: c.lot.clone(),
            date: c.date.clone(),
            mismatch,
            after_expiry,
        });
        out.changes.push(Change::Lot(LotState {
            participant: code.into(),
            lot: c.lot.clone(),
            holder: c.holder,
            weight: c.weight,
            remaining: c.weight,
            nature: cert.nature,
            compliant,
            created_by: self.hash,
            date: c.date.clone(),
            origin: LotOrigin::Import { certificate: cert.number.clone() },
            zones: if compliant { cert.zones.clone() } else { Vec::new() },
        }));
        out.changes.push(Change::Cert(cert));
        Ok(())
    }

    fn zone_status(&self, m: &Monitor, z: &ZoneStatus, out: &mut Accepted) -> Judged<(), V> {
        if self.net.participant(&z.participant).is_none() {
            return refuse(codes::R2_UNKNOWN_PARTICIPANT, format!("{} is not a participant", z.participant));
        }
        if !m.scope.contains(&z.participant) {
            return refuse(codes::R2_OUT_OF_SCOPE, format!("{} may not declare zones of {}", m.id, z.participant));
        }
        let previous = self.view.zone_head(&m.key, &z.participant, &z.zone).read()?;
        if z.previous != previous {
            let name = |h: Option<Hash32>| h.map_or("none".to_string(), |h| h.to_string());
            return refuse(
                codes::R3_ZONE_CHAIN,
                format!(
                    "the status names {} as the previous status of zone {} of {}; {}'s log holds {}",
                    name(z.previous),
                    z.zone,
                    z.participant,
                    m.id,
                    name(previous)
                ),
            );
        }
        out.changes.push(Change::Zone(ZoneRecord { entry: self.hash, monitor: m.key, status: z.clone() }));
        Ok(())
    }

    fn zone_estimate(&self, m: &Monitor, z: &ZoneEstimate, out: &mut Accepted) -> Judged<(), V> {
        if self.net.participant(&z.participant).is_none() {
            return refuse(codes::R2_UNKNOWN_PARTICIPANT, format!("{} is not a participant", z.participant));
        }
        if !m.scope.contains(&z.participant) {
            return refuse(codes::R2_OUT_OF_SCOPE, format!("{} may not estimate zones of {}", m.id, z.participant));
        }
        out.changes.push(Change::Estimate(EstimateRecord {
            entry: self.hash,
            monitor: m.key,
            timestamp_ms: self.timestamp_ms,
            seq: self.seq,
            estimate: z.clone(),
        }));
        Ok(())
    }

    fn attestation(&self, authority: Option<&str>, a: &Attestation, out: &mut Accepted) -> Judged<(), V> {
        match &a.subject {
            Subject::Lot { participant, lot } => {
                if authority.is_some_and(|code| code != participant) {
                    return refuse(
                        codes::R2_OUT_OF_SCOPE,
                        "an authority attests only about lots of its own participant",
                    );
                }
                let l = self.existing_lot(participant, lot)?;
                self.names(&l.created_by, &format!("lot {lot} of {participant}"))?;
            }
            Subject::Certificate { number } => {
                let Some(c) = self.view.certificate(number).read()? else {
                    if self.absent(VoidKey::Cert { number: number.clone() })? {
                        return refuse(codes::R3_MISSING_DEPENDENCY, "void");
                    }
                    return refuse(codes::R7_UNKNOWN_CERTIFICATE, format!("certificate {number} is not known here"));
                };
                self.names(&c.entry, &format!("certificate {number}"))?;
            }
        }
        out.changes.push(Change::Attestation(AttestationRecord {
            entry: self.hash,
            author: self.author,
            timestamp_ms: self.timestamp_ms,
            seq: self.seq,
            subject: a.subject.clone(),
            kind: a.kind.clone(),
            note: a.note.clone(),
            finding: None,
            report_hash: None,
        }));
        Ok(())
    }

    /// The subject of an attestation exists by the entry that created it,
    /// which the context must name (R3): a monitor's attestation about
    /// another participant's lot then waits for that entry wherever it
    /// arrives first.
    fn names(&self, creator: &Hash32, what: &str) -> Judged<(), V> {
        if !self.context.entries.contains(creator) {
            return refuse(
                codes::R3_BAD_CONTEXT,
                format!("the context must name entry {creator}, which created {what}"),
            );
        }
        self.read_entries.borrow_mut().insert(*creator);
        Ok(())
    }

    fn governance(&self, g: &Governance, out: &mut Accepted) -> Judged<(), V> {
        let mut net = self.net.clone();
        // One key, one role, as the roster demands: a log is named by its
        // author's key, and a key answers to the first role found for it
        // (chair, then authorities, then monitors), so a key given a second
        // role would put two authors in one log and write as the first only.
        // A replaced key is never given a role again: its old log is closed.
        let key_in_use = |net: &NetworkState, key: &PublicKey, what: &str| -> Result<(), Refusal> {
            crypto::check_key(key).map_err(|e| Refusal::new(e.code(), format!("{what}: {e}")))?;
            if let Some(r) = net.retired(key) {
                return refuse(codes::R2_KEY_IN_USE, format!("{what} {key} was {}'s, and was replaced", r.holder));
            }
            match net.role_of(key) {
                Some(_) => refuse(
                    codes::R2_KEY_IN_USE,
                    format!("{what} {key} is already in use: {} signs with it", net.author_name(key)),
                ),
                None => Ok(()),
            }
        };
        let admit = |net: &mut NetworkState, p: &Participant, conditions: &[String]| -> Result<(), Refusal> {
            if net.participants.contains_key(&p.code) {
                return refuse(codes::R2_PARTICIPANT_EXISTS, format!("{} is already a participant", p.code));
            }
            key_in_use(net, &p.authority, "authority key")?;
            nodes_free(net, &p.code, &p.nodes)?;
            net.participants.insert(p.code.clone(), ParticipantState::admitted(p.clone(), conditions.to_vec()));
            Ok(())
        };
        match g {
            Governance::AdmitParticipant(p) => admit(&mut net, p, &[])?,
            Governance::AdmitConditionally { participant, conditions } => admit(&mut net, participant, conditions)?,
            Governance::LiftConditions { code, .. } => {
                let p = net.participants.get_mut(code).ok_or_else(|| unknown_participant(code))?;
                if p.conditions.is_empty() {
                    return refuse(
                        codes::R2_NO_CHANGE,
                        format!("{code} was admitted without conditions, or they are lifted already"),
                    );
                }
                p.conditions.clear();
            }
            Governance::SuspendParticipant { code, from, .. } | Governance::ReinstateParticipant { code, from } => {
                let suspend = matches!(g, Governance::SuspendParticipant { .. });
                let p = net.participants.get_mut(code).ok_or_else(|| unknown_participant(code))?;
                if p.suspended == suspend {
                    let now = if suspend { "suspended" } else { "not suspended" };
                    return refuse(codes::R2_NO_CHANGE, format!("{code} is {now} already"));
                }
                if suspend {
                    p.suspensions.push(SuspensionSpan { from: *from, until: None });
                } else {
                    let Some(span) = p.suspensions.last_mut() else {
                        return refuse(codes::R2_NO_CHANGE, format!("{code} has no suspension to end"));
                    };
                    if *from < span.from {
                        return refuse(
                            codes::R2_BAD_POSITION,
                            format!("{code} is suspended from entry {}; it cannot be reinstated before it", span.from),
                        );
                    }
                    span.until = Some(*from);
                }
                p.suspended = suspend;
            }
            Governance::ChairHandover { new_chair } => {
                key_in_use(&net, new_chair, "new chair key")?;
                net.retired.push(RetiredKey { key: net.chair, holder: CHAIR.into(), last: self.seq });
                net.chair = *new_chair;
            }
            Governance::SetNodes { holder, nodes } => {
                nodes_free(&net, holder, nodes)?;
                if let Some(p) = net.participants.get_mut(holder) {
                    p.participant.nodes = nodes.clone();
                } else if let Some(m) = net.monitors.iter_mut().find(|m| m.id == *holder) {
                    m.nodes = nodes.clone();
                } else {
                    return Err(unknown_participant(holder).into());
                }
            }
            Governance::RotateKey { holder, new_key, last, statement } => {
                key_in_use(&net, new_key, "new key")?;
                let old = if let Some(p) = net.participants.get_mut(holder) {
                    let old = p.participant.authority;
                    p.participant.authority = *new_key;
                    // Positions name the new log from here: a suspension
                    // goes on from its first entry.
                    p.suspensions =
                        if p.suspended { vec![SuspensionSpan { from: 1, until: None }] } else { Vec::new() };
                    old
                } else if let Some(m) = net.monitors.iter_mut().find(|m| m.id == *holder) {
                    std::mem::replace(&mut m.key, *new_key)
                } else {
                    return Err(unknown_participant(holder).into());
                };
                if let Some(sig) = statement {
                    let rotation = KeyRotation {
                        network: net.network.clone(),
                        holder: holder.clone(),
                        old_key: old,
                        new_key: *new_key,
                        last: *last,
                    };
                    crypto::verify(Domain::KeyRotation, &old, &crate::encoding::encode(&rotation), sig).map_err(
                        |e| {
                            Refusal::new(
                                e.code(),
                                format!("the rotation statement is not signed by {holder}'s key: {e}"),
                            )
                        },
                    )?;
                }
                net.retired.push(RetiredKey { key: old, holder: holder.clone(), last: *last });
            }
        }
        net.previous = Some(self.net.version_hash());
        net.version = self.net.version + 1;
        net.decided_by = Some(self.hash);
        out.changes.push(Change::Network(net));
        Ok(())
    }
}

fn unknown_participant(code: &str) -> Refusal {
    Refusal::new(codes::R2_UNKNOWN_PARTICIPANT, format!("{code} is neither a participant nor a monitor of the network"))
}

/// A participant's node is its own: a peer id listed for two participants
/// would let one's machine speak for the other. A monitor's node may be a
/// participant's (the CF node runs the MT-CF monitor), which is what keeps
/// that participant from witnessing the monitor's log.
fn nodes_free(net: &NetworkState, holder: &str, nodes: &[NodeInfo]) -> Result<(), Refusal> {
    if net.monitors.iter().any(|m| m.id == holder) {
        return Ok(());
    }
    for n in nodes {
        let other = net
            .participants
            .values()
            .find(|p| p.participant.code != holder && p.participant.nodes.iter().any(|x| x.peer_id == n.peer_id));
        if let Some(other) = other {
            let code = &other.participant.code;
            return Err(Refusal::new(codes::R2_NODE_IN_USE, format!("node {} is listed for {code}", n.peer_id)));
        }
    }
    Ok(())
}

/// Hundredths of a carat as `12.34 ct`.
pub fn fmt_ct(w: Weight) -> String {
    format!("{}.{:02} ct", w / 100, w % 100)
}

/// US cents as `USD 1234.56`, as messages, reports and `kp` print them.
pub fn fmt_usd(c: Cents) -> String {
    format!("USD {}.{:02}", c / 100, c % 100)
}
