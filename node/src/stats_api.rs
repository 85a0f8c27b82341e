//! The statistics routes of the HTTP API (docs/API.md): statistics, mirror
//! statistics, the entries behind a figure, country reports and anomalies.
//! Each answer is a function of the logs held and the query.

use crate::api::{ApiErr, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kp_schemas::codes;
use kp_schemas::model::is_participant_code;
use kp_schemas::stats;
use kp_schemas::stats::query::{self, Query as StatsQuery};
use kp_schemas::stats::{
    AnomalyAnswer, AnomalyParams, FigureEntries, Flow, MirrorAnswer, Period, StatsAnswer, period, render,
};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiErr>;

/// The statistics routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/stats", get(stats_route))
        .route("/v1/stats/mirror", get(mirror_route))
        .route("/v1/stats/entries", get(entries_route))
        .route("/v1/reports/{participant}", get(report_route))
        .route("/v1/anomalies", get(anomalies_route))
}

/// The query parameters every statistics route takes (each route uses
/// those it needs, and refuses any other).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    period: Option<String>,
    participant: Option<String>,
    partner: Option<String>,
    hs: Option<String>,
    flow: Option<String>,
    zone: Option<String>,
    limit: Option<usize>,
    format: Option<String>,
    check: Option<String>,
    severity: Option<String>,
    as_of: Option<String>,
    mirror_tolerance_bp: Option<u64>,
    price_mads_tenths: Option<u64>,
    price_min_deviation_bp: Option<u64>,
    price_min_lines: Option<u64>,
    surge_factor_tenths: Option<u64>,
    surge_window: Option<u64>,
    capacity_tolerance_bp: Option<u64>,
}

fn params(q: Result<Query<Params>, QueryRejection>) -> ApiResult<Params> {
    q.map(|Query(p)| p).map_err(|e| ApiErr::bad(format!("bad query: {}", e.body_text())))
}

fn code(field: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v {
        Some(c) if !is_participant_code(&c) => {
            Err(ApiErr::bad(format!("{field} `{}` is not a participant code (two capital letters)", clip(&c))))
        }
        v => Ok(v),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn text_field(field: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v {
        Some(t) if t.is_empty() || t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') => {
            Err(ApiErr::bad(format!("{field} `{}` is not an id (letters, digits and dots, 32 at most)", clip(&t))))
        }
        v => Ok(v),
    }
}

impl AppState {
    fn participants(&self) -> Vec<String> {
        self.ledger.network().participants.keys().cloned().collect()
    }

    /// The period asked for, or the year of the newest entry held.
    fn period(&self, p: &Option<String>) -> ApiResult<Period> {
        match p {
            Some(s) => Period::parse(s).map_err(ApiErr::bad),
            None => {
                let today = self.ledger.with_book(|b| period::date_of_ms(b.newest_ms));
                Ok(Period::year(today[0..4].parse().unwrap_or(1970)))
            }
        }
    }

    fn known(&self, who: &Option<String>) -> ApiResult<()> {
        match who {
            Some(c) if !self.ledger.network().participants.contains_key(c) => {
                Err(ApiErr::not_found(format!("{c} is not a participant of this network")))
            }
            _ => Ok(()),
        }
    }
}

fn query(s: &AppState, p: &mut Params) -> ApiResult<StatsQuery> {
    let q = StatsQuery {
        period: s.period(&p.period)?,
        participant: code("participant", p.participant.take())?,
        partner: code("partner", p.partner.take())?,
        hs: text_field("hs", p.hs.take())?,
    };
    s.known(&q.participant)?;
    Ok(q)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, codes::API_INTERNAL, e.to_string()))
}

async fn stats_route(
    State(s): State<AppState>,
    q: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<StatsAnswer>> {
    let mut p = params(q)?;
    let q = query(&s, &mut p)?;
    let who = s.participants();
    let l = s.ledger.clone();
    Ok(Json(blocking(move || l.with_book(|b| query::stats(b, &who, &q))).await?))
}

async fn mirror_route(
    State(s): State<AppState>,
    q: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<MirrorAnswer>> {
    let mut p = params(q)?;
    let q = query(&s, &mut p)?;
    let l = s.ledger.clone();
    Ok(Json(blocking(move || l.with_book(|b| query::mirror(b, &q))).await?))
}

async fn entries_route(
    State(s): State<AppState>,
    q: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<FigureEntries>> {
    let mut p = params(q)?;
    let q = query(&s, &mut p)?;
    let flow_name = p.flow.take().unwrap_or_default();
    let flow = Flow::parse(&flow_name)
        .ok_or_else(|| ApiErr::bad(format!("flow `{}` is not production, export or import", clip(&flow_name))))?;
    let zone = text_field("zone", p.zone.take())?;
    let who = match &q.participant {
        Some(c) => vec![c.clone()],
        None => s.participants(),
    };
    let limit = p.limit.unwrap_or(10_000);
    if limit == 0 || limit > 100_000 {
        return Err(ApiErr::bad("limit must be 1..=100000"));
    }
    let l = s.ledger.clone();
    let period = q.period.clone();
    let mut entries = blocking(move || {
        l.with_book(|b| {
            query::entries(b, &who, flow, &q.period, q.partner.as_deref(), q.hs.as_deref(), zone.as_deref())
        })
    })
    .await?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    Ok(Json(FigureEntries { flow: flow.as_str().into(), period, entries, more }))
}

fn anomaly_params(s: &AppState, p: &mut Params) -> ApiResult<AnomalyParams> {
    let mut a = s.ledger.anomaly_defaults();
    if let Some(d) = p.as_of.take() {
        if period::parse_date(&d).is_none() {
            return Err(ApiErr::bad(format!("as_of `{}` is not a YYYY-MM-DD date", clip(&d))));
        }
        a.as_of = d;
    }
    let set = |slot: &mut u64, v: Option<u64>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut a.mirror_tolerance_bp, p.mirror_tolerance_bp);
    set(&mut a.price_mads_tenths, p.price_mads_tenths);
    set(&mut a.price_min_deviation_bp, p.price_min_deviation_bp);
    set(&mut a.price_min_lines, p.price_min_lines);
    set(&mut a.surge_factor_tenths, p.surge_factor_tenths);
    set(&mut a.surge_window, p.surge_window);
    set(&mut a.capacity_tolerance_bp, p.capacity_tolerance_bp);
    if a.surge_window == 0 || a.surge_window > 40 {
        return Err(ApiErr::bad("surge_window must be 1..=40 quarters"));
    }
    Ok(a)
}

async fn anomalies_route(
    State(s): State<AppState>,
    q: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<AnomalyAnswer>> {
    let mut p = params(q)?;
    let q = query(&s, &mut p)?;
    let a = anomaly_params(&s, &mut p)?;
    let check = p.check.take();
    if let Some(c) = &check
        && !stats::anomaly::checks::ALL.contains(&c.as_str())
    {
        return Err(ApiErr::bad(format!(
            "check `{}` is not one of {}",
            clip(c),
            stats::anomaly::checks::ALL.join(", ")
        )));
    }
    let severity = match p.severity.take().as_deref() {
        None => None,
        Some("low") => Some(stats::Severity::Low),
        Some("medium") => Some(stats::Severity::Medium),
        Some("high") => Some(stats::Severity::High),
        Some(x) => return Err(ApiErr::bad(format!("severity `{}` is not low, medium or high", clip(x)))),
    };
    let l = s.ledger.clone();
    let period = q.period.clone();
    let all = blocking(move || l.anomalies(&period, &a)).await?;
    let mut answer = (*all).clone();
    answer.anomalies.retain(|x| {
        let who = q.participant.as_ref().is_none_or(|w| *w == x.participant || x.partner.as_ref() == Some(w));
        let with = q.partner.as_ref().is_none_or(|w| *w == x.participant || x.partner.as_ref() == Some(w));
        who && with && check.as_ref().is_none_or(|c| *c == x.check) && severity.is_none_or(|s| x.severity >= s)
    });
    Ok(Json(answer))
}

async fn report_route(
    State(s): State<AppState>,
    Path(participant): Path<String>,
    q: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let mut p = params(q)?;
    let who = code("participant", Some(participant))?.expect("given");
    s.known(&Some(who.clone()))?;
    let period = s.period(&p.period.take())?;
    let a = anomaly_params(&s, &mut p)?;
    let format = p.format.take().unwrap_or_else(|| "json".into());
    if !["json", "text", "markdown"].contains(&format.as_str()) {
        return Err(ApiErr::bad(format!("format `{}` is not json, text or markdown", clip(&format))));
    }
    let net = s.ledger.network();
    let name = net.participants.get(&who).map(|p| p.participant.name.clone()).unwrap_or_default();
    let all = s.participants();
    let l = s.ledger.clone();
    let report = blocking(move || {
        let found = l.anomalies(&period, &a);
        l.with_book(|b| query::report(b, &all, &who, &name, &period, &found.anomalies))
    })
    .await?;
    Ok(match format.as_str() {
        "text" => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], render::text(&report)).into_response(),
        "markdown" => {
            ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], render::markdown(&report)).into_response()
        }
        _ => Json(report).into_response(),
    })
}
