//! A blocking client for the node's HTTP API (`docs/API.md`), one typed
//! method per route.

use crate::ClientError;
use kp_schemas::api::{
    Action, ApiError, CheckpointView, ConsistencyProof, EntryView, FraudView, HeadView, InclusionProof, LogPage,
    LotView, RosterChain, Status, SubmitEntry, SubmitRecord, Submitted,
};
use kp_schemas::codes;
use kp_schemas::model::{Body, HexBytes, SignedRoster, Subject};
use kp_schemas::rules::Equivocation;
use kp_schemas::state::{CertState, LicenseeState, ZoneRecord};
use kp_schemas::trail::Trail;
use kp_schemas::{Hash32, PublicKey, SignedRecord};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;

/// Where `kp` looks for a node when neither `--node` nor `KP_NODE` is given.
pub const DEFAULT_NODE: &str = "http://127.0.0.1:7070";

/// Answers are read whole; a page of 500 large entries in hex stays far
/// below this, and a hostile or broken server cannot exhaust memory.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// A client of one node. Cheap to clone: clones share a connection pool.
#[derive(Clone)]
pub struct Client {
    /// The node's base URL, for example `http://127.0.0.1:7070`, without a
    /// trailing slash.
    pub base: String,
    /// The node's cookie, sent as a bearer token with actions only.
    pub cookie: Option<String>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cookie is a credential: never print it.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("cookie", &self.cookie.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Read a node cookie file (`<data dir>/.cookie`): its text, trimmed.
pub fn read_cookie(path: &Path) -> Result<String, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ClientError::input(format!("cannot read cookie file {}: {e}", path.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ClientError::input(format!("cookie file {} is empty", path.display())));
    }
    Ok(token.to_string())
}

impl Client {
    /// A client of the node at `base`, with a 10 s connect timeout and a
    /// 120 s timeout per request.
    pub fn new(base: impl Into<String>) -> Self {
        Self::with_timeout(base, Duration::from_secs(120))
    }

    /// A client of the node at `base` whose requests time out after
    /// `timeout` (connecting after 10 s at most).
    pub fn with_timeout(base: impl Into<String>, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            // Error statuses carry an ApiError body that we want to read.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10).min(timeout)))
            .timeout_global(Some(timeout))
            .user_agent(concat!("kp/", env!("CARGO_PKG_VERSION")))
            .build();
        let base = base.into().trim_end_matches('/').to_string();
        Self { base, cookie: None, agent: config.into() }
    }

    /// The same client, sending `cookie` with actions.
    pub fn with_cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookie = Some(cookie.into());
        self
    }

    // ------------------------------------------------------------ reading

    /// `GET /healthz`: `ok` while the node serves.
    pub fn healthz(&self) -> Result<String, ClientError> {
        self.get_text("/healthz")
    }

    /// `GET /metrics`: Prometheus text.
    pub fn metrics(&self) -> Result<String, ClientError> {
        self.get_text("/metrics")
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<Status, ClientError> {
        self.get("/v1/status", &[])
    }

    /// `GET /v1/roster/genesis`: the signed genesis roster, the file a
    /// verifier trusts.
    pub fn roster(&self) -> Result<SignedRoster, ClientError> {
        self.get("/v1/roster/genesis", &[])
    }

    /// `GET /v1/roster`: every roster version from the genesis, checked to
    /// be one chain from it ([`RosterChain::check`]); a broken one is a bad
    /// answer.
    pub fn roster_chain(&self) -> Result<RosterChain, ClientError> {
        let chain: RosterChain = self.get("/v1/roster", &[])?;
        chain.check().map_err(|e| ClientError::BadResponse(format!("GET /v1/roster: {e}")))?;
        Ok(chain)
    }

    /// `GET /v1/logs`: the head of every log.
    pub fn logs(&self) -> Result<Vec<HeadView>, ClientError> {
        self.get("/v1/logs", &[])
    }

    /// `GET /v1/logs/{author}?from=N&limit=M`. The node's defaults apply to
    /// what is left out (from the first entry, 100 entries).
    pub fn log_page(&self, author: &PublicKey, from: Option<u64>, limit: Option<u32>) -> Result<LogPage, ClientError> {
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(("from", from.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        self.get(&format!("/v1/logs/{author}"), &query)
    }

    /// `GET /v1/entries/{hash}`.
    pub fn entry(&self, hash: &Hash32) -> Result<EntryView, ClientError> {
        self.get(&format!("/v1/entries/{hash}"), &[])
    }

    /// `GET /v1/lots/{participant}/{lot}`; the lot id may contain `/`.
    pub fn lot(&self, participant: &str, lot: &str) -> Result<LotView, ClientError> {
        self.get(&format!("/v1/lots/{}/{}", segment(participant, false), segment(lot, true)), &[])
    }

    /// `GET /v1/certificates/{number}`.
    pub fn certificate(&self, number: &str) -> Result<CertState, ClientError> {
        self.get(&format!("/v1/certificates/{}", segment(number, false)), &[])
    }

    /// `GET /v1/certificates/{number}/check?...`: the verdict on a paper
    /// certificate; only the fields of `paper` given are compared.
    pub fn cert_check(
        &self,
        number: &str,
        paper: &kp_schemas::check::PaperCertificate,
        today: Option<&str>,
    ) -> Result<kp_schemas::check::CertCheck, ClientError> {
        let mut query = today_query(today);
        let fields = [
            ("exporter", &paper.exporter),
            ("importer", &paper.importer),
            ("carats", &paper.carats),
            ("value", &paper.value),
            ("parcels", &paper.parcels),
            ("issued", &paper.issued),
            ("expires", &paper.expires),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        self.get(&format!("/v1/certificates/{}/check", segment(number, false)), &query)
    }

    /// `GET /v1/attestations/certificate/{number}`.
    pub fn cert_attestations(&self, number: &str) -> Result<Vec<kp_schemas::state::AttestationRecord>, ClientError> {
        self.get(&format!("/v1/attestations/certificate/{}", segment(number, false)), &[])
    }

    /// `GET /certificates/{number}/print`: the printable certificate, HTML
    /// with its QR code, as the node renders it.
    pub fn cert_print(&self, number: &str) -> Result<String, ClientError> {
        // The certificate first, so an unknown number is the API's 404.
        self.certificate(number)?;
        self.get_text(&format!("/certificates/{}/print", segment(number, false)))
    }

    /// `GET /v1/licensees/{key}`.
    pub fn licensee(&self, key: &PublicKey) -> Result<LicenseeState, ClientError> {
        self.get(&format!("/v1/licensees/{key}"), &[])
    }

    /// `GET /v1/zones[?participant=XX]`: zone-status records.
    pub fn zones(&self, participant: Option<&str>) -> Result<Vec<ZoneRecord>, ClientError> {
        let query: Vec<_> = participant.map(|p| ("participant", p.to_string())).into_iter().collect();
        self.get("/v1/zones", &query)
    }

    /// `GET /v1/trail/lot/{participant}/{lot}[?today=YYYY-MM-DD]`.
    pub fn lot_trail(&self, participant: &str, lot: &str, today: Option<&str>) -> Result<Trail, ClientError> {
        let path = format!("/v1/trail/lot/{}/{}", segment(participant, false), segment(lot, true));
        self.get(&path, &today_query(today))
    }

    /// `GET /v1/trail/certificate/{number}[?today=YYYY-MM-DD]`.
    pub fn cert_trail(&self, number: &str, today: Option<&str>) -> Result<Trail, ClientError> {
        self.get(&format!("/v1/trail/certificate/{}", segment(number, false)), &today_query(today))
    }

    /// `GET /v1/stats`: statistics by participant; `query` as the API takes it.
    pub fn stats(&self, query: &[(&str, String)]) -> Result<kp_schemas::stats::StatsAnswer, ClientError> {
        self.get("/v1/stats", query)
    }

    /// `GET /v1/stats/mirror`: mirror statistics.
    pub fn mirror(&self, query: &[(&str, String)]) -> Result<kp_schemas::stats::MirrorAnswer, ClientError> {
        self.get("/v1/stats/mirror", query)
    }

    /// `GET /v1/stats/entries`: the entries behind a figure.
    pub fn figure_entries(&self, query: &[(&str, String)]) -> Result<kp_schemas::stats::FigureEntries, ClientError> {
        self.get("/v1/stats/entries", query)
    }

    /// `GET /v1/reports/{participant}`: a country analysis report.
    pub fn report(
        &self,
        participant: &str,
        query: &[(&str, String)],
    ) -> Result<kp_schemas::stats::Report, ClientError> {
        self.get(&format!("/v1/reports/{}", segment(participant, false)), query)
    }

    /// `GET /v1/reports/{participant}?format=text|markdown`, as the node
    /// renders it.
    pub fn report_rendered(&self, participant: &str, query: &[(&str, String)]) -> Result<String, ClientError> {
        let mut req = self.agent.get(self.url(&format!("/v1/reports/{}", segment(participant, false))));
        for (k, v) in query {
            req = req.query(*k, v);
        }
        let (status, bytes) = self.finish(req.call())?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes));
        }
        String::from_utf8(bytes).map_err(|_| ClientError::BadResponse("the report is not UTF-8 text".into()))
    }

    /// `GET /v1/anomalies`: the anomaly checks' findings.
    pub fn anomalies(&self, query: &[(&str, String)]) -> Result<kp_schemas::stats::AnomalyAnswer, ClientError> {
        self.get("/v1/anomalies", query)
    }

    /// `GET /v1/evidence`: equivocations seen by the node.
    pub fn evidence(&self) -> Result<Vec<Equivocation>, ClientError> {
        self.get("/v1/evidence", &[])
    }

    /// `GET /v1/peers`: the node's peer-to-peer status.
    pub fn peers(&self) -> Result<kp_schemas::api::PeerStatus, ClientError> {
        self.get("/v1/peers", &[])
    }

    // ------------------------------------------------------------ writing

    /// `POST /v1/records`: a licensee-signed record, for the node to
    /// countersign into its authority's log.
    pub fn submit_record(&self, record: &SignedRecord) -> Result<Submitted, ClientError> {
        let body = SubmitRecord { record: HexBytes(record.bytes().to_vec()), signature: record.signature() };
        self.post("/v1/records", &body, false)
    }

    /// `POST /v1/entries`: wire bytes of an entry signed by its author.
    pub fn submit_entry(&self, wire_bytes: &[u8]) -> Result<Submitted, ClientError> {
        self.post("/v1/entries", &SubmitEntry { entry: HexBytes(wire_bytes.to_vec()) }, false)
    }

    /// `POST /v1/actions` with the cookie: the node signs `body` with the
    /// key named by `as_author` (a participant code, a monitor id or
    /// `chair`; `None` lets the node pick its only key that may write it).
    pub fn action(&self, as_author: Option<&str>, body: Body) -> Result<Submitted, ClientError> {
        let action = Action { as_author: as_author.map(str::to_string), body };
        self.post("/v1/actions", &action, true)
    }

    // ------------------------------------------------------------ plumbing

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Fraud evidence against log writers: inconsistent checkpoints.
    pub fn checkpoint_evidence(&self) -> Result<Vec<FraudView>, ClientError> {
        self.get("/v1/evidence/checkpoints", &[])
    }

    /// A log's newest checkpoints with their cosignatures, newest first.
    pub fn checkpoints(&self, log: &PublicKey, limit: Option<u32>) -> Result<Vec<CheckpointView>, ClientError> {
        let q: Vec<_> = limit.map(|l| ("limit", l.to_string())).into_iter().collect();
        self.get(&format!("/v1/logs/{log}/checkpoints"), &q)
    }

    /// An entry's inclusion proof at `size`, by default at the newest
    /// witnessed checkpoint that covers it.
    pub fn inclusion_proof(&self, entry: &Hash32, size: Option<u64>) -> Result<InclusionProof, ClientError> {
        let mut q = vec![("entry", entry.to_hex())];
        q.extend(size.map(|s| ("size", s.to_string())));
        self.get("/v1/proofs/inclusion", &q)
    }

    /// A consistency proof between two sizes of a log (`to`: its size now).
    pub fn consistency_proof(
        &self,
        log: &PublicKey,
        from: u64,
        to: Option<u64>,
    ) -> Result<ConsistencyProof, ClientError> {
        let mut q = vec![("log", log.to_hex()), ("from", from.to_string())];
        q.extend(to.map(|t| ("to", t.to_string())));
        self.get("/v1/proofs/consistency", &q)
    }

    /// A bundle's bytes exactly as the node wrote them: a verifier refuses
    /// any other bytes, so they are not parsed and written again here.
    pub fn bundle(&self, subject: &Subject) -> Result<Vec<u8>, ClientError> {
        let path = match subject {
            Subject::Certificate { number } => format!("/v1/bundles/certificate/{number}"),
            Subject::Lot { participant, lot } => format!("/v1/bundles/lot/{participant}/{lot}"),
        };
        let (status, bytes) = self.finish(self.agent.get(self.url(&path)).call())?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes));
        }
        Ok(bytes)
    }

    fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, ClientError> {
        let mut req = self.agent.get(self.url(path));
        for (k, v) in query {
            req = req.query(*k, v);
        }
        let (status, bytes) = self.finish(req.call())?;
        decode(status, &bytes, "GET", path)
    }

    fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, bytes) = self.finish(self.agent.get(self.url(path)).call())?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes));
        }
        String::from_utf8(bytes).map_err(|_| ClientError::BadResponse(format!("GET {path}: answer is not UTF-8 text")))
    }

    fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        auth: bool,
    ) -> Result<T, ClientError> {
        let mut req = self.agent.post(self.url(path));
        if let (true, Some(cookie)) = (auth, &self.cookie) {
            req = req.header("Authorization", format!("Bearer {cookie}"));
        }
        let (status, bytes) = self.finish(req.send_json(body))?;
        decode(status, &bytes, "POST", path)
    }

    fn finish(
        &self,
        res: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut resp = res.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| self.transport_error(e))?;
        Ok((status, bytes))
    }

    fn transport_error(&self, e: ureq::Error) -> ClientError {
        match e {
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
                ClientError::input(format!("node URL `{}` is not usable: {e}", self.base))
            }
            ureq::Error::Protocol(_) | ureq::Error::BodyExceedsLimit(_) | ureq::Error::Decompress(..) => {
                ClientError::BadResponse(format!("{}: {e}", self.base))
            }
            e => ClientError::Unreachable(format!("{}: {e}", self.base)),
        }
    }
}

fn today_query(today: Option<&str>) -> Vec<(&'static str, String)> {
    today.map(|t| ("today", t.to_string())).into_iter().collect()
}

fn decode<T: DeserializeOwned>(status: u16, bytes: &[u8], method: &str, path: &str) -> Result<T, ClientError> {
    if !(200..300).contains(&status) {
        return Err(api_error(status, bytes));
    }
    serde_json::from_slice(bytes).map_err(|e| ClientError::BadResponse(format!("{method} {path}: {e}")))
}

/// An error answer as an [`ApiError`]. A body that is not one (a proxy's
/// page, an empty 502) still yields a code that tells the status.
fn api_error(status: u16, bytes: &[u8]) -> ClientError {
    if let Ok(error) = serde_json::from_slice::<ApiError>(bytes) {
        return ClientError::Api { status, error };
    }
    let code = match status {
        400 => codes::API_BAD_REQUEST,
        401 => codes::API_UNAUTHORIZED,
        404 => codes::API_NOT_FOUND,
        413 => codes::API_TOO_LARGE,
        503 => codes::API_UNAVAILABLE,
        _ => codes::API_HTTP_ERROR,
    };
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let message = if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", text.chars().take(200).collect::<String>())
    };
    ClientError::Api { status, error: ApiError { code: code.into(), rule: None, message } }
}

/// One path segment (or, with `keep_slash`, a run of them for lot ids),
/// percent-encoded. Ids are restricted to `[A-Za-z0-9/-_.:]` by R9, so this
/// only matters for input the node will refuse anyway; it keeps such input
/// from changing which route is asked.
fn segment(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let parts: Vec<&str> = if keep_slash { s.split('/').collect() } else { vec![s] };
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        // `.` and `..` would be read as relative path steps.
        let dots = !part.is_empty() && part.bytes().all(|b| b == b'.');
        for b in part.bytes() {
            let plain = b.is_ascii_alphanumeric() || b"-_~:".contains(&b) || (b == b'.' && !dots);
            if plain {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_lot_ids_readable() {
        assert_eq!(segment("CF/BER/2017/00042", true), "CF/BER/2017/00042");
        assert_eq!(segment("CF-000001", false), "CF-000001");
        assert_eq!(segment("a/b", false), "a%2Fb");
        assert_eq!(segment("a b?c#", true), "a%20b%3Fc%23");
        assert_eq!(segment("x/../y", true), "x/%2E%2E/y");
        assert_eq!(segment("v1.2", true), "v1.2");
    }

    #[test]
    fn error_bodies_become_api_errors() {
        let body = br#"{"code": "R5.overspend", "rule": "R5", "message": "too much"}"#;
        let ClientError::Api { status, error } = api_error(422, body) else { panic!() };
        assert_eq!((status, error.code.as_str(), error.rule.as_deref()), (422, codes::R5_OVERSPEND, Some("R5")));

        let e = api_error(404, b"");
        assert_eq!(e.code(), codes::API_NOT_FOUND);
        assert_eq!(e.exit_code(), 4);
        let e = api_error(502, b"<html>bad gateway</html>");
        assert_eq!(e.exit_code(), 3);
        assert!(e.message().contains("bad gateway"));
    }

    #[test]
    fn base_url_is_normalised_and_cookie_is_hidden() {
        let c = Client::new("http://127.0.0.1:7070/").with_cookie("secret-token");
        assert_eq!(c.url("/v1/status"), "http://127.0.0.1:7070/v1/status");
        assert!(!format!("{c:?}").contains("secret-token"));
    }

    #[test]
    fn cookie_files_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        std::fs::write(&path, "abc123\n").unwrap();
        assert_eq!(read_cookie(&path).unwrap(), "abc123");
        std::fs::write(&path, "  \n").unwrap();
        assert_eq!(read_cookie(&path).unwrap_err().exit_code(), 2);
        assert_eq!(read_cookie(&dir.path().join("none")).unwrap_err().exit_code(), 2);
    }
}
