//! The HTTP API (see docs/API.md). Every error is a JSON `ApiError` with a
//! stable code; a refused submission changes nothing.

use crate::ingest::{Submission, WriterHandle};
use crate::ledger::{Evidence, Ledger};
use crate::metrics::Metrics;
use crate::outcome::{Outcome, SubmitError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kp_schemas::api::*;
use kp_schemas::entry::SignedEntry;
use kp_schemas::model::{Body, HexBytes, Record};
use kp_schemas::state::{CertState, LicenseeState, ZoneRecord};
use kp_schemas::trail::{self, Trail};
use kp_schemas::{Hash32, PublicKey, codes, encoding};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY: usize = 256 * 1024;
/// Most entries in one log page.
pub const MAX_PAGE: usize = 500;

/// What the handlers share; cloned for each request.
#[derive(Clone)]
pub struct AppState {
    /// The ledger the handlers read. They never write it: submissions go
    /// to `writer`.
    pub ledger: Arc<Ledger>,
    /// The writer thread, which judges every entry, record and action
    /// submitted here exactly as it judges gossip.
    pub writer: WriterHandle,
    /// The node's metrics, rendered at `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// The secret of the node's `.cookie` file, written fresh at each start:
    /// `POST /v1/actions` needs it as `Authorization: Bearer` (else 401
    /// `api.unauthorized`).
    pub cookie: Arc<String>,
    /// The keys this node signs with: `GET /v1/status` names the logs
    /// they write as of the newest network, which may give a key a role
    /// after start or take it away.
    pub keys: Arc<crate::keys::Keyring>,
    /// Own logs the writer holds until they are caught up from a peer.
    pub catch_up: Arc<crate::catchup::Gate>,
    /// The network loop, for `GET /v1/peers`; `None` for a node without
    /// peer-to-peer networking, which answers an empty status.
    pub net: Option<crate::net::NetHandle>,
    /// The witness, whose stored checkpoints and cosignatures the
    /// checkpoint list, inclusion proofs and bundles show.
    pub witness: Arc<crate::witness::Witness>,
}

/// An error as the API answers it: an HTTP status and the JSON `ApiError`
/// body (`code`, `rule`, `message`). Every failure of a handler becomes
/// one, so no error reaches a client as the framework's plain text.
pub struct ApiErr(StatusCode, ApiError);

impl ApiErr {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self(status, ApiError::new(code, message))
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::API_NOT_FOUND, message)
    }
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::API_BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<kp_schemas::Refusal> for ApiErr {
    fn from(r: kp_schemas::Refusal) -> Self {
        SubmitError::Refused(r).into()
    }
}

/// The status, code and message of a node error are its own
/// ([`SubmitError::status`], [`SubmitError::code`]).
impl From<SubmitError> for ApiErr {
    fn from(e: SubmitError) -> Self {
        Self::new(e.status(), e.code(), e.message())
    }
}

impl From<crate::store::StoreError> for ApiErr {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!("read failed: {e}");
        SubmitError::from(e).into()
    }
}

type ApiResult<T> = Result<T, ApiErr>;

/// JSON bodies are read as bytes and parsed here, so that every malformed
/// body gets an `ApiError` rather than the framework's plain text.
fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let body = body.map_err(|r| {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE { codes::API_TOO_LARGE } else { codes::API_BAD_REQUEST };
        ApiErr::new(status, code, r.body_text())
    })?;
    serde_json::from_slice(&body).map_err(|e| ApiErr::bad(format!("malformed JSON body: {e}")))
}

/// Every route of the API (docs/API.md), over `state`. Bodies over
/// [`MAX_BODY`] are refused (413 `api.too_large`), and an unknown route is
/// 404 `api.not_found`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/v1/status", get(status))
        .route("/v1/roster", get(roster))
        .route("/v1/roster/genesis", get(genesis_roster))
        .route("/v1/records", post(submit_record))
        .route("/v1/entries", post(submit_entry))
        .route("/v1/actions", post(action))
        .route("/v1/entries/{hash}", get(entry))
        .route("/v1/logs", get(logs))
        .route("/v1/logs/{author}", get(log_page))
        .route("/v1/lots/{participant}/{*lot}", get(lot))
        .route("/v1/certificates/{number}", get(certificate))
        .route("/v1/licensees/{key}", get(licensee))
        .route("/v1/zones", get(zones))
        .route("/v1/trail/lot/{participant}/{*lot}", get(lot_trail))
        .route("/v1/trail/certificate/{number}", get(certificate_trail))
        .route("/v1/evidence", get(evidence))
        .route("/v1/evidence/checkpoints", get(fraud_evidence))
        .route("/v1/logs/{author}/checkpoints", get(checkpoints))
        .route("/v1/proofs/inclusion", get(inclusion_proof))
        .route("/v1/proofs/consistency", get(consistency_proof))
        .route("/v1/bundles/certificate/{number}", get(certificate_bundle))
        .route("/v1/bundles/lot/{participant}/{*lot}", get(lot_bundle))
        .route("/v1/peers", get(peers))
        .merge(crate::stats_api::routes())
        .merge(crate::web::routes())
        .fallback(crate::web::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    ([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.render())
}

async fn status(State(s): State<AppState>) -> ApiResult<Json<Status>> {
    let net = s.ledger.network();
    let logs = head_views(&s.ledger)?;
    let evidence = s.ledger.evidence()?.into_iter().map(|e| e.equivocation).collect();
    let held = |k: &PublicKey| s.ledger.head(k).ok().flatten().map_or(0, |h| h.seq);
    // A log never signed again (replaced, frozen) has nothing to wait for.
    let done = |k: &PublicKey| net.retired(k).is_some() || s.ledger.freeze_point(k).is_some();
    let catching_up = s
        .catch_up
        .waiting(|k| if done(k) { u64::MAX } else { held(k) })
        .into_iter()
        .filter(|(k, _)| !done(k))
        .map(|(author, t)| CatchingUpView {
            author,
            name: net.author_name(&author),
            held: held(&author),
            target: t.seq(),
        })
        .collect();
    Ok(Json(Status {
        network: net.network.clone(),
        roster_hash: net.roster_hash,
        version: env!("CARGO_PKG_VERSION").into(),
        writes: s.keys.writes(&net),
        logs,
        entries: s.ledger.entries_held(),
        evidence,
        catching_up,
    }))
}

fn head_views(l: &Ledger) -> ApiResult<Vec<HeadView>> {
    let net = l.network();
    Ok(l.heads()?.into_iter().map(|(author, head)| HeadView { author, name: net.author_name(&author), head }).collect())
}

async fn genesis_roster(State(s): State<AppState>) -> Json<kp_schemas::model::SignedRoster> {
    Json(s.ledger.roster().clone())
}

/// The roster versions, each with the governance entry that made it.
async fn roster(State(s): State<AppState>) -> ApiResult<Json<RosterChain>> {
    let mut versions = Vec::new();
    for network in s.ledger.roster_versions() {
        let decided = match &network.decided_by {
            Some(h) => Some(s.ledger.entry_by_hash(h)?.ok_or_else(|| {
                crate::store::StoreError::Corrupt(format!("governance entry {h} made a roster version, not stored"))
            })?),
            None => None,
        };
        let (change, timestamp_ms) = match decided.as_ref().map(|e| e.entry()) {
            Some(e) => match &e.body {
                Body::Governance(g) => (Some(g.clone()), Some(e.timestamp_ms)),
                _ => (None, Some(e.timestamp_ms)),
            },
            None => (None, None),
        };
        versions.push(RosterVersion {
            version: network.version,
            hash: network.version_hash(),
            previous: network.previous,
            decided_by: network.decided_by,
            change,
            timestamp_ms,
            network,
        });
    }
    Ok(Json(RosterChain { genesis: s.ledger.roster().clone(), versions }))
}

async fn submit(s: &AppState, sub: Submission) -> ApiResult<(StatusCode, Json<Submitted>)> {
    let outcome = s.writer.submit(sub).await?;
    let status = if matches!(outcome, Outcome::Duplicate(_)) { StatusCode::OK } else { StatusCode::CREATED };
    // Evidence is answered as the refusal of its entry, which is not stored.
    Ok((status, Json(outcome.into_reply()?)))
}

async fn submit_record(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Submitted>)> {
    let req: SubmitRecord = parse_json(body)?;
    submit(&s, Submission::Record { record: req.record.0, signature: req.signature }).await
}

async fn submit_entry(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Submitted>)> {
    let req: SubmitEntry = parse_json(body)?;
    submit(&s, Submission::Entry(req.entry.0)).await
}

fn authorised(s: &AppState, headers: &HeaderMap) -> bool {
    let Some(given) =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Constant time, so the cookie cannot be guessed byte by byte.
    let (a, b) = (given.trim().as_bytes(), s.cookie.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn action(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Submitted>)> {
    if !authorised(&s, &headers) {
        return Err(ApiErr::new(
            StatusCode::UNAUTHORIZED,
            codes::API_UNAUTHORIZED,
            "actions need `Authorization: Bearer <cookie>`, the content of the node's .cookie file",
        ));
    }
    let req: Action = parse_json(body)?;
    submit(&s, Submission::Action { as_author: req.as_author, body: req.body }).await
}

fn parse_hash(s: &str) -> ApiResult<Hash32> {
    Hash32::from_hex(s).map_err(|e| ApiErr::bad(e.to_string()))
}

fn parse_key(s: &str) -> ApiResult<PublicKey> {
    PublicKey::from_hex(s).map_err(|e| ApiErr::bad(e.to_string()))
}

/// An entry as the API shows it: its fields, its author's name, the
/// licensee's record decoded when the entry countersigns one, and its wire
/// bytes, from which anyone can check its signatures and its id.
pub fn entry_view(l: &Ledger, e: &SignedEntry) -> EntryView {
    let x = e.entry();
    let record = match &x.body {
        Body::Countersigned(c) => encoding::decode::<Record>(&c.record.0).ok(),
        _ => None,
    };
    EntryView {
        hash: e.hash(),
        author: x.author,
        author_name: l.network().author_name(&x.author),
        seq: x.seq,
        prev: x.prev,
        timestamp_ms: x.timestamp_ms,
        body: x.body.clone(),
        record,
        bytes: HexBytes(e.bytes().to_vec()),
    }
}

async fn entry(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<Json<EntryView>> {
    let h = parse_hash(&hash)?;
    let e = s.ledger.entry_by_hash(&h)?.ok_or_else(|| ApiErr::not_found(format!("no entry {h}")))?;
    Ok(Json(entry_view(&s.ledger, &e)))
}

async fn logs(State(s): State<AppState>) -> ApiResult<Json<Vec<HeadView>>> {
    head_views(&s.ledger).map(Json)
}

#[derive(Deserialize)]
struct PageQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn log_page(
    State(s): State<AppState>,
    Path(author): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<LogPage>> {
    let author = parse_key(&author)?;
    let from = q.from.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let entries = s.ledger.log_page(&author, from, limit)?;
    let next = (entries.len() == limit).then(|| entries.last().map(|e| e.entry().seq + 1)).flatten();
    Ok(Json(LogPage { author, entries: entries.iter().map(|e| entry_view(&s.ledger, e)).collect(), next }))
}

async fn lot(State(s): State<AppState>, Path((participant, lot)): Path<(String, String)>) -> ApiResult<Json<LotView>> {
    let l = s
        .ledger
        .lot(&participant, &lot)?
        .ok_or_else(|| ApiErr::not_found(format!("lot {lot} does not exist in {participant}")))?;
    let holder_name = s.ledger.licensee(&participant, &l.holder)?.map(|x| x.name);
    Ok(Json(LotView { lot: l, holder_name }))
}

async fn certificate(State(s): State<AppState>, Path(number): Path<String>) -> ApiResult<Json<CertState>> {
    s.ledger
        .certificate(&number)?
        .map(Json)
        .ok_or_else(|| ApiErr::not_found(format!("certificate {number} does not exist")))
}

async fn licensee(State(s): State<AppState>, Path(key): Path<String>) -> ApiResult<Json<LicenseeState>> {
    let k = parse_key(&key)?;
    // A key registered by several participants: the first registration.
    s.ledger
        .registrations(&k)?
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| ApiErr::not_found(format!("no licensee {k}")))
}

#[derive(Deserialize)]
struct ZoneQuery {
    participant: Option<String>,
}

async fn zones(State(s): State<AppState>, Query(q): Query<ZoneQuery>) -> ApiResult<Json<Vec<ZoneRecord>>> {
    let mut z = s.ledger.zones()?;
    if let Some(p) = q.participant {
        z.retain(|r| r.status.participant == p);
    }
    z.sort_by(|a, b| {
        (&a.status.participant, &a.status.zone, &a.status.effective).cmp(&(
            &b.status.participant,
            &b.status.zone,
            &b.status.effective,
        ))
    });
    Ok(Json(z))
}

#[derive(Deserialize)]
struct TrailQuery {
    today: Option<String>,
    /// `json` (the default) or `svg`: the trail as a picture.
    format: Option<String>,
}

/// Whether the trail is asked for as SVG (`format=svg`); any other format
/// than `json` or `svg` is a bad request.
fn wants_svg(q: &TrailQuery) -> ApiResult<bool> {
    match q.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("svg") => Ok(true),
        Some(f) => {
            Err(ApiErr::bad(format!("format `{}` is not `json` or `svg`", f.chars().take(40).collect::<String>())))
        }
    }
}

fn today_or(q: TrailQuery) -> ApiResult<String> {
    match q.today {
        Some(d) if kp_schemas::model::is_date(&d) => Ok(d),
        Some(d) => Err(ApiErr::bad(format!("today `{d}` is not a YYYY-MM-DD date"))),
        None => Ok(kp_schemas::model::today_utc()),
    }
}

/// A read that fails is `api.storage`, never an unknown lot. The trail
/// is answered as JSON, or as the SVG picture of `trail_svg` with `svg`.
fn trail_result(r: Result<Trail, trail::TrailError<crate::store::StoreError>>, svg: bool) -> ApiResult<Response> {
    let t = r.map_err(|e| match e {
        trail::TrailError::Read(s) => s.into(),
        trail::TrailError::TooDeep => ApiErr::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string()),
        e => ApiErr::new(StatusCode::NOT_FOUND, e.code(), e.to_string()),
    })?;
    if svg {
        let body = kp_schemas::trail_svg::trail_svg(&t, "");
        Ok(([("content-type", "image/svg+xml; charset=utf-8")], body).into_response())
    } else {
        Ok(Json(t).into_response())
    }
}

async fn lot_trail(
    State(s): State<AppState>,
    Path((participant, lot)): Path<(String, String)>,
    Query(q): Query<TrailQuery>,
) -> ApiResult<Response> {
    let svg = wants_svg(&q)?;
    let today = today_or(q)?;
    let l = s.ledger.clone();
    let r = tokio::task::spawn_blocking(move || trail::lot_trail(l.as_ref(), &participant, &lot, &today))
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, codes::API_INTERNAL, e.to_string()))?;
    trail_result(r, svg)
}

async fn certificate_trail(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Query(q): Query<TrailQuery>,
) -> ApiResult<Response> {
    let svg = wants_svg(&q)?;
    let today = today_or(q)?;
    let l = s.ledger.clone();
    let r = tokio::task::spawn_blocking(move || trail::certificate_trail(l.as_ref(), &number, &today))
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, codes::API_INTERNAL, e.to_string()))?;
    trail_result(r, svg)
}

async fn evidence(State(s): State<AppState>) -> ApiResult<Json<Vec<kp_schemas::rules::Equivocation>>> {
    Ok(Json(s.ledger.evidence()?.into_iter().map(|e: Evidence| e.equivocation).collect()))
}

async fn peers(State(s): State<AppState>) -> ApiResult<Json<PeerStatus>> {
    match &s.net {
        Some(n) => n.status().await.map(Json).ok_or_else(|| {
            ApiErr::new(StatusCode::SERVICE_UNAVAILABLE, codes::API_UNAVAILABLE, "the network loop has stopped")
        }),
        None => Ok(Json(PeerStatus::default())),
    }
}

fn internal(e: impl std::fmt::Display) -> ApiErr {
    ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, codes::API_INTERNAL, e.to_string())
}

/// Run a blocking read off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}

impl From<crate::tree::ProofError> for ApiErr {
    fn from(e: crate::tree::ProofError) -> Self {
        match e {
            crate::tree::ProofError::OutOfRange(m) => ApiErr::new(StatusCode::NOT_FOUND, "merkle.out_of_range", m),
            crate::tree::ProofError::BadRange(m) => ApiErr::new(StatusCode::BAD_REQUEST, "merkle.bad_sizes", m),
            crate::tree::ProofError::Store(s) => s.into(),
        }
    }
}

async fn fraud_evidence(State(s): State<AppState>) -> ApiResult<Json<Vec<FraudView>>> {
    let net = s.ledger.network();
    Ok(Json(
        s.ledger
            .frauds()?
            .into_iter()
            .map(|f| FraudView { id: f.fraud.id(), log: f.log, log_name: net.author_name(&f.log), fraud: f.fraud })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<usize>,
}

async fn checkpoints(
    State(s): State<AppState>,
    Path(author): Path<String>,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Vec<CheckpointView>>> {
    let log = parse_key(&author)?;
    let limit = q.limit.unwrap_or(10).clamp(1, MAX_PAGE);
    blocking(move || {
        let w = &s.witness;
        let views = w.latest(&log, limit)?.iter().map(|c| crate::witness::view(w, c)).collect::<Result<_, _>>()?;
        Ok(Json(views))
    })
    .await
}

#[derive(Deserialize)]
struct InclusionQuery {
    entry: String,
    size: Option<u64>,
}

async fn inclusion_proof(
    State(s): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    let hash = parse_hash(&q.entry)?;
    blocking(move || {
        let l = &s.ledger;
        let e = l.entry_by_hash(&hash)?.ok_or_else(|| ApiErr::not_found(format!("no entry {hash}")))?;
        let (log, seq) = (e.entry().author, e.entry().seq);
        let log_size = l.log_size(&log)?;
        // By default, the newest witnessed checkpoint that covers the entry,
        // so the proof can be checked against signatures; else the log now.
        let (size, checkpoint) = match q.size {
            Some(n) => (n, s.witness.stored(&log, n)?),
            None => match s.witness.witnessed_covering(&log, seq)? {
                Some(c) => (c.signed()?.checkpoint().size, Some(c)),
                None => (log_size, s.witness.stored(&log, log_size)?),
            },
        };
        let proof = l.tree(&log).inclusion(seq, size, log_size)?;
        let checkpoint = checkpoint.map(|c| crate::witness::view(&s.witness, &c)).transpose()?;
        Ok(Json(InclusionProof {
            log,
            log_name: l.network().author_name(&log),
            entry: hash,
            seq,
            leaf_index: seq - 1,
            tree_size: size,
            root: l.tree(&log).root(size)?,
            proof,
            checkpoint,
        }))
    })
    .await
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    log: String,
    from: u64,
    to: Option<u64>,
}

async fn consistency_proof(
    State(s): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    let log = parse_key(&q.log)?;
    blocking(move || {
        let l = &s.ledger;
        let log_size = l.log_size(&log)?;
        let to = q.to.unwrap_or(log_size);
        let tree = l.tree(&log);
        let proof = tree.consistency(q.from, to, log_size)?;
        Ok(Json(ConsistencyProof {
            log,
            log_name: l.network().author_name(&log),
            size1: q.from,
            size2: to,
            root1: tree.root(q.from)?,
            root2: tree.root(to)?,
            proof,
        }))
    })
    .await
}

async fn bundle_response(s: AppState, subject: kp_schemas::model::Subject) -> ApiResult<Response> {
    let bytes = blocking(move || {
        crate::export::export(&s.ledger, &s.witness, &subject).map(|b| b.to_json()).map_err(|e| match e {
            crate::export::ExportError::NotFound(t) => ApiErr::new(StatusCode::NOT_FOUND, t.code(), t.to_string()),
            crate::export::ExportError::Unwitnessed(m) => ApiErr::new(StatusCode::CONFLICT, "bundle.unwitnessed", m),
            crate::export::ExportError::Store(e) => e.into(),
        })
    })
    .await?;
    Ok(([("content-type", "application/json")], bytes).into_response())
}

async fn certificate_bundle(State(s): State<AppState>, Path(number): Path<String>) -> ApiResult<Response> {
    bundle_response(s, kp_schemas::model::Subject::Certificate { number }).await
}

async fn lot_bundle(
    State(s): State<AppState>,
    Path((participant, lot)): Path<(String, String)>,
) -> ApiResult<Response> {
    bundle_response(s, kp_schemas::model::Subject::Lot { participant, lot }).await
}
