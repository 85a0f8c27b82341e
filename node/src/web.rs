//! The read-only web viewer (docs/API.md, "The viewer"): pages for
//! monitors and customs officers, served on the HTTP port. The pages are one
//! static HTML shell with a script and a style sheet embedded in the binary;
//! the script reads the documented `/v1/...` routes and renders them as
//! text (never as markup). The printable certificate is rendered here, with
//! its QR code, so that `kp cert print` can save it as it is.
//!
//! Also here, the routes only the viewer and the customs check added to the
//! API: the check of a paper certificate, the attestations about a subject,
//! and the trail as SVG.

use crate::api::{ApiErr, AppState};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kp_schemas::check::{self, CertCheck, PaperCertificate};
use kp_schemas::model::{Subject, is_date, today_utc};
use kp_schemas::rules::fmt_ct;
use kp_schemas::state::{AttestationRecord, CertState};
use kp_schemas::trail::{OriginShare, Trail};
use kp_schemas::trail_svg::{escape, fmt_share};
use serde::Deserialize;

const SHELL: &str = include_str!("../web/index.html");
const SCRIPT: &str = include_str!("../web/viewer.js");
const STYLE: &str = include_str!("../web/viewer.css");
const PRINT_STYLE: &str = include_str!("../web/print.css");

/// Longest certificate number or query the viewer's routes read; longer is
/// answered as not found, with a clear page.
pub const MAX_QUERY: usize = 256;

/// The viewer's pages and assets, and its API routes (merged into
/// [`crate::api::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(shell))
        .route("/check", get(shell))
        .route("/network", get(shell))
        .route("/certificates/{number}", get(shell))
        .route("/certificates/{number}/trail", get(shell))
        .route("/certificates/{number}/print", get(print))
        .route("/lots/{participant}/{*lot}", get(shell))
        .route("/entries/{hash}", get(shell))
        .route("/zones/{participant}/{zone}", get(shell))
        .route("/assets/viewer.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/assets/viewer.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/v1/certificates/{number}/check", get(check_certificate))
        .route("/v1/attestations/certificate/{number}", get(certificate_attestations))
        .route("/v1/attestations/lot/{participant}/{*lot}", get(lot_attestations))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// Every page is the same shell; its script reads the address.
async fn shell() -> Response {
    asset("text/html; charset=utf-8", SHELL)
}

fn storage(e: crate::store::StoreError) -> ApiErr {
    e.into()
}

#[derive(Deserialize, Default)]
struct CheckQuery {
    exporter: Option<String>,
    importer: Option<String>,
    carats: Option<String>,
    value: Option<String>,
    parcels: Option<String>,
    issued: Option<String>,
    expires: Option<String>,
    today: Option<String>,
}

fn today(q: Option<String>) -> Result<String, ApiErr> {
    match q {
        Some(d) if is_date(&d) => Ok(d),
        Some(d) => {
            Err(ApiErr::bad(format!("today `{}` is not a YYYY-MM-DD date", d.chars().take(40).collect::<String>())))
        }
        None => Ok(today_utc()),
    }
}

/// The verdict on a paper certificate: always 200 with a `CertCheck`, an
/// unknown number included (its `result` says so).
async fn check_certificate(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Query(q): Query<CheckQuery>,
) -> Result<axum::Json<CertCheck>, ApiErr> {
    let today = today(q.today)?;
    let paper = PaperCertificate {
        exporter: q.exporter,
        importer: q.importer,
        carats: q.carats,
        value: q.value,
        parcels: q.parcels,
        issued: q.issued,
        expires: q.expires,
    };
    if [&paper.exporter, &paper.importer, &paper.carats, &paper.value, &paper.parcels, &paper.issued, &paper.expires]
        .iter()
        .any(|f| f.as_ref().is_some_and(|v| v.len() > MAX_QUERY))
    {
        return Err(ApiErr::bad(format!("a field of the paper is longer than {MAX_QUERY} characters")));
    }
    let number = number.trim().to_string();
    let (cert, name, reports) = if number.len() > MAX_QUERY {
        (None, None, Vec::new())
    } else {
        let cert = s.ledger.certificate(&number).map_err(storage)?;
        let name = match &cert {
            Some(c) => s.ledger.licensee(&c.exporter, &c.exporter_licensee).map_err(storage)?.map(|l| l.name),
            None => None,
        };
        let reports = s.ledger.attestations(&Subject::Certificate { number: number.clone() }).map_err(storage)?;
        (cert, name, reports)
    };
    let shown: String = number.chars().take(MAX_QUERY).collect();
    Ok(axum::Json(check::check(&shown, cert.as_ref(), name.as_deref(), &reports, &paper, &today)))
}

async fn certificate_attestations(
    State(s): State<AppState>,
    Path(number): Path<String>,
) -> Result<axum::Json<Vec<AttestationRecord>>, ApiErr> {
    Ok(axum::Json(s.ledger.attestations(&Subject::Certificate { number }).map_err(storage)?))
}

async fn lot_attestations(
    State(s): State<AppState>,
    Path((participant, lot)): Path<(String, String)>,
) -> Result<axum::Json<Vec<AttestationRecord>>, ApiErr> {
    Ok(axum::Json(s.ledger.attestations(&Subject::Lot { participant, lot }).map_err(storage)?))
}

/// The node's address as the browser or client reached it, for the QR
/// code; anything odd in the Host header falls back to the loopback name.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    format!("http://{}", if ok { host } else { "localhost" })
}

/// `GET /certificates/{number}/print`: the printable certificate, as HTML
/// with the QR code inline; a clear page (404) for an unknown number.
async fn print(State(s): State<AppState>, Path(number): Path<String>, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let l = s.ledger.clone();
    let shown: String = number.chars().take(MAX_QUERY).collect();
    let found = tokio::task::spawn_blocking(move || -> Result<Option<Printable>, String> {
        if number.len() > MAX_QUERY {
            return Ok(None);
        }
        let Some(cert) = l.certificate(&number).map_err(|e| e.to_string())? else { return Ok(None) };
        let exporter_name =
            l.licensee(&cert.exporter, &cert.exporter_licensee).map_err(|e| e.to_string())?.map(|x| x.name);
        let trail: Option<Trail> = kp_schemas::trail::certificate_trail(l.as_ref(), &number, &today_utc()).ok();
        Ok(Some(Printable { cert, exporter_name, trail, network: l.network().network.clone() }))
    })
    .await;
    let html = |status: StatusCode, body: String| {
        (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    };
    match found {
        Ok(Ok(Some(p))) => html(StatusCode::OK, print_page(&p, &base)),
        Ok(Ok(None)) => html(
            StatusCode::NOT_FOUND,
            message_page("Unknown certificate", &format!("No certificate numbered “{shown}” is held on this ledger.")),
        ),
        Ok(Err(e)) => html(StatusCode::INTERNAL_SERVER_ERROR, message_page("The node could not read its store", &e)),
        Err(e) => html(StatusCode::INTERNAL_SERVER_ERROR, message_page("The node failed", &e.to_string())),
    }
}

/// What the printable certificate shows.
pub struct Printable {
    /// The certificate.
    pub cert: CertState,
    /// The exporter licensee's registered name.
    pub exporter_name: Option<String>,
    /// Its trail, for the countries of origin and the verdict; none if it
    /// could not be walked.
    pub trail: Option<Trail>,
    /// The network's name.
    pub network: String,
}

/// What the QR code of a printed certificate encodes: the address of its
/// certificate page on the node, with the number in the path and the export
/// entry's hash in the query. The bundle is at
/// `{base}/v1/bundles/certificate/{number}`.
pub fn qr_content(base: &str, cert: &CertState) -> String {
    format!("{base}/certificates/{}?entry={}", kp_schemas::trail_svg::encode_path(&cert.number, false), cert.entry)
}

/// The QR code of `content` as an inline SVG element.
pub fn qr_svg(content: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(content.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build();
            // The renderer starts with an XML declaration: not for inline use.
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(e) => format!("<p>QR code unavailable: {}</p>", escape(&e.to_string())),
    }
}

fn usd(c: u64) -> String {
    check::fmt_usd(c)
}

fn row(out: &mut String, n: &str, label: &str, value: &str) {
    out.push_str(&format!(
        "<tr><th><span class=\"box\">{}</span> {}</th><td>{}</td></tr>",
        escape(n),
        escape(label),
        value
    ));
}

/// The printable certificate: the fields of the KP Core Document's
/// certificate (Annex I), every country of mining origin with its share, and
/// a QR code to the certificate's page on the node at `base`.
pub fn print_page(p: &Printable, base: &str) -> String {
    let c = &p.cert;
    let qr = qr_content(base, c);
    let mut t = String::new();
    row(&mut t, "1", "Unique certificate number", &format!("<strong class=\"number\">{}</strong>", escape(&c.number)));
    row(
        &mut t,
        "2",
        "Issuing authority",
        &format!("KP authority of {} (participant {})", escape(&c.exporter), escape(&c.exporter)),
    );
    row(&mut t, "3", "Country of export", &escape(&c.exporter));
    let exporter = match &p.exporter_name {
        Some(n) => format!("{}<br><small>licensee key {}</small>", escape(n), c.exporter_licensee),
        None => format!("licensee key {}", c.exporter_licensee),
    };
    row(&mut t, "4", "Exporter", &exporter);
    row(&mut t, "5", "Country of destination (importing participant)", &escape(&c.importer));
    row(&mut t, "6", "Importer / consignee", &escape(&c.consignee));
    let origins = match &p.trail {
        Some(tr) if !tr.origins.is_empty() => origin_list(&tr.origins),
        _ => "<em>not known: the trail could not be walked</em>".into(),
    };
    row(&mut t, "7", "Country of origin (every country of mining origin, share by weight)", &origins);
    row(&mut t, "8", "Number of parcels", &c.parcels.to_string());
    let mut lines =
        String::from("<table class=\"lines\"><tr><th>HS code</th><th>Carat weight</th><th>Value (USD)</th></tr>");
    for l in &c.lines {
        lines.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&l.code),
            escape(&fmt_ct(l.weight)),
            escape(&usd(l.value_cents))
        ));
    }
    lines.push_str(&format!(
        "<tr class=\"total\"><td>Total</td><td>{}</td><td>{}</td></tr></table>",
        escape(&fmt_ct(c.weight)),
        escape(&usd(c.value_cents))
    ));
    row(&mut t, "9", "Description of goods: HS lines, carats and value", &lines);
    row(&mut t, "10", "Date of issue", &escape(&c.issued));
    row(&mut t, "11", "Date of expiry", &escape(&c.expires));
    row(
        &mut t,
        "12",
        "Validation by the exporting authority",
        &format!("entry {} of the {} authority's log (position {})", c.entry, escape(&c.exporter), c.seq),
    );
    let verdict = match &p.trail {
        Some(tr) if tr.compliance.compliant => {
            "<span class=\"ok\">COMPLIANT</span>: every carat chains back to recorded production in compliant zones"
                .to_string()
        }
        Some(tr) => format!(
            "<span class=\"bad\">NOT COMPLIANT</span>: {}",
            tr.compliance.problems.iter().map(|x| escape(x)).collect::<Vec<_>>().join("; ")
        ),
        None => "unknown".into(),
    };
    row(&mut t, "13", "Trail verdict (kpledger)", &verdict);
    let confirmation = match &c.confirmation {
        Some(x) => format!(
            "confirmed by {} on {}{}",
            escape(&c.importer),
            escape(&x.date),
            if x.mismatch { " (with a weight or parcel mismatch)" } else { "" }
        ),
        None => "not yet confirmed".into(),
    };
    row(&mut t, "14", "Import confirmation", &confirmation);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>KP certificate {num}</title><style>{PRINT_STYLE}</style></head><body>\
<div class=\"sheet\"><header><div><h1>Kimberley Process Certificate</h1><p class=\"sub\">Rough diamonds, Kimberley Process Certification Scheme. Recorded on kpledger network {net}.</p></div>\
<figure class=\"qr\" id=\"qr\">{svg}<figcaption>Scan to check this certificate on the ledger:<br><a href=\"{href}\">{href_text}</a><br>Bundle for <code>kp verify</code>: {bundle}</figcaption></figure></header>\
<table class=\"fields\">{t}</table>\
<p class=\"foot\">The rough diamonds herein have been handled in accordance with the provisions of the Kimberley Process Certification Scheme. This print is a rendering of the ledger's record; the ledger, not the paper, is authoritative.</p></div></body></html>\n",
        num = escape(&c.number),
        net = escape(&p.network),
        svg = qr_svg(&qr),
        href = escape(&qr),
        href_text = escape(&qr),
        bundle =
            escape(&format!("{base}/v1/bundles/certificate/{}", kp_schemas::trail_svg::encode_path(&c.number, false))),
    )
}

fn origin_list(origins: &[OriginShare]) -> String {
    let mut s = String::from("<ul class=\"origins\">");
    for o in origins {
        s.push_str(&format!(
            "<li><strong>{}</strong> {} ({})</li>",
            escape(&o.country),
            escape(&fmt_share(o.share)),
            escape(&fmt_ct(o.weight.round() as u64))
        ));
    }
    s.push_str("</ul>");
    s
}

/// An unknown address: 404 `api.not_found` as JSON, or, for a browser
/// asking for a page outside `/v1`, a page that says so.
pub async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let html = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if html && !uri.path().starts_with("/v1/") {
        let body = message_page("No such page", "The viewer has no page at this address.");
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    }
    ApiErr::not_found("no such route; see docs/API.md").into_response()
}

/// A plain page with a heading and one message.
pub fn message_page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><link rel=\"stylesheet\" href=\"/assets/viewer.css\"></head><body><main><h1>{t}</h1><p class=\"error\">{m}</p><p><a href=\"/\">Search the ledger</a></p></main></body></html>\n",
        t = escape(title),
        m = escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::model::{HsLine, Nature};
    use kp_schemas::{Hash32, PublicKey};

    fn cert() -> CertState {
        CertState {
            number: "CF-000001".into(),
            exporter: "CF".into(),
            importer: "EU".into(),
            exporter_licensee: PublicKey([7; 32]),
            consignee: "Antwerp <Rough>".into(),
            entry: Hash32([1; 32]),
            seq: 12,
            inputs: Vec::new(),
            lines: vec![
                HsLine { code: "7102.31".into(), weight: 80_000, value_cents: 1_200_000 },
                HsLine { code: "7102.21".into(), weight: 20_000, value_cents: 40_000 },
            ],
            weight: 100_000,
            value_cents: 1_240_000,
            parcels: 2,
            issued: "2017-04-02".into(),
            expires: "2018-04-02".into(),
            nature: Nature::Natural,
            zones: Vec::new(),
            confirmation: None,
        }
    }

    #[test]
    fn the_print_names_every_field_and_escapes_text() {
        let p = Printable {
            cert: cert(),
            exporter_name: Some("CF Exporter & Sons".into()),
            trail: None,
            network: "kp-demo".into(),
        };
        let html = print_page(&p, "http://127.0.0.1:7070");
        for want in [
            "CF-000001",
            "CF Exporter &amp; Sons",
            "Antwerp &lt;Rough&gt;",
            "7102.31",
            "800.00 ct",
            "12400.00 USD",
            "1000.00 ct",
            "2017-04-02",
            "2018-04-02",
            "Number of parcels",
            "http://127.0.0.1:7070/certificates/CF-000001?entry=0101",
            "http://127.0.0.1:7070/v1/bundles/certificate/CF-000001",
            "<svg",
        ] {
            assert!(html.contains(want), "print lacks {want}");
        }
        assert!(!html.contains("<Rough>"));
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("http://127.0.0.1:7070/certificates/CF-000001?entry=00");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(!svg.contains("<?xml"));
    }

    #[test]
    fn an_odd_host_header_is_not_echoed() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "evil\"><script>".parse().unwrap());
        assert_eq!(base_url(&h), "http://localhost");
        h.insert(header::HOST, "127.0.0.1:7070".parse().unwrap());
        assert_eq!(base_url(&h), "http://127.0.0.1:7070");
    }
}
