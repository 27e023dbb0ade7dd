//! `/api/v1/rapportages/*` (role `rapporteren`: aggregates only, never a
//! BSN) and `/api/v1/werklijsten` (role `afnemen`: personal data). JSON,
//! or CSV with `Accept: text/csv`. The figures are [`crate::reports`]'.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::extract::{Caller, Query};
use super::guard::{not_your_gemeente, AuditSink};
use super::{ApiError, AppState};
use crate::auth::Principal;
use crate::domain::Gemeentecode;
use crate::reports::{self, Csv, Gebied, Groepering, Peildatum, Vraag};
use crate::store::Store;
use crate::time::Moment;

/// The query parameters of every report; each report reads its own.
#[derive(Deserialize, Default)]
pub struct Params {
    gemeente: Option<String>,
    peildatum: Option<String>,
    van: Option<String>,
    tot: Option<String>,
    jaar: Option<String>,
    #[serde(rename = "groepeerOp")]
    groepeer_op: Option<String>,
    peilmoment: Option<String>,
    subgroep: Option<String>,
    #[serde(rename = "binnenDagen")]
    binnen_dagen: Option<String>,
}

fn required<'a>(value: &'a Option<String>, name: &str, what: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .ok_or_else(|| ApiError::parameter(format!("{name} ({what}) is required")))
}

fn date(value: &Option<String>, name: &str) -> Result<Peildatum, ApiError> {
    let text = required(value, name, "a date, YYYY-MM-DD")?;
    Peildatum::parse(text).ok_or_else(|| {
        ApiError::parameter(format!(
            "{name} must be a calendar date written YYYY-MM-DD, not {text:?}"
        ))
    })
}

/// The municipality asked about, if the caller acts for it; noted for the
/// audit entry either way.
fn gemeente(p: &Params, principal: &Principal, sink: &AuditSink) -> Result<String, ApiError> {
    let code = required(&p.gemeente, "gemeente", "a CBS code")?;
    let code = Gemeentecode::parse(code)
        .map_err(|_| ApiError::parameter("gemeente must be a CBS code of four digits"))?;
    sink.gemeente(code.as_str());
    if !principal.voor(code.as_str()) {
        return Err(not_your_gemeente(code.as_str()));
    }
    Ok(code.as_str().to_string())
}

/// One municipality, or `alle`: every municipality the caller acts for
/// (for a credential that acts for all, the national figure).
fn gebied(p: &Params, principal: &Principal, sink: &AuditSink) -> Result<Gebied, ApiError> {
    if p.gemeente.as_deref() == Some(reports::ALLE) {
        sink.gemeente(reports::ALLE);
        return Ok(Gebied::gemeenten(principal.gemeenten.clone()));
    }
    gemeente(p, principal, sink).map(Gebied::Gemeente)
}

fn vraag(p: &Params, principal: &Principal, sink: &AuditSink) -> Result<Vraag, ApiError> {
    let gemeente = gebied(p, principal, sink)?;
    let groepeer_op = match p.groepeer_op.as_deref() {
        None => None,
        Some(g) => Some(Groepering::parse(g).ok_or_else(|| {
            let known: Vec<&str> = Groepering::ALL.iter().map(|g| g.as_str()).collect();
            ApiError::parameter(format!(
                "groepeerOp must be one of {}, not {g:?}",
                known.join(", ")
            ))
        })?),
    };
    let peilmoment = match p.peilmoment.as_deref() {
        None => None,
        Some(m) => Some(Moment::parse(m).ok_or_else(|| {
            ApiError::parameter(
                "peilmoment must be a date and time with a time zone, e.g. 2026-01-31T12:00:00Z",
            )
        })?),
    };
    Ok(Vraag {
        gemeente,
        groepeer_op,
        peilmoment,
    })
}

/// Runs a report on the blocking pool under a CPU permit (a report scans
/// a municipality's timelines).
async fn compute<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = state
        .cpu
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("the service is shutting down"))?;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::unavailable(format!("report task failed: {e}")))?
        .map_err(ApiError::from)
}

/// JSON, or CSV when the client asks for it, named `file`.
fn answer<T: Serialize + Csv>(headers: &HeaderMap, file: &str, report: &T) -> Response {
    let csv = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")));
    if csv {
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.csv\""),
                ),
            ],
            report.csv(),
        )
            .into_response()
    } else {
        match serde_json::to_vec(report) {
            Ok(body) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json".to_string())],
                body,
            )
                .into_response(),
            Err(e) => ApiError::unavailable(format!("cannot write JSON: {e}")).into_response(),
        }
    }
}

/// `GET /api/v1/rapportages/stand?gemeente=&peildatum=[&groepeerOp=][&peilmoment=]`
pub async fn stand(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let vraag = vraag(&p, &principal, &sink)?;
    let peildatum = date(&p.peildatum, "peildatum")?;
    let name = format!("stand-{}-{}", vraag.gemeente.naam(), peildatum.tekst);
    let report = compute(&state, move |s| reports::stand(s, &vraag, &peildatum)).await?;
    Ok(answer(&headers, &name, &report))
}

/// `GET /api/v1/rapportages/stromen?gemeente=&van=&tot=[&groepeerOp=]`
pub async fn stromen(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let vraag = vraag(&p, &principal, &sink)?;
    let (van, tot) = (date(&p.van, "van")?, date(&p.tot, "tot")?);
    if van.dag >= tot.dag {
        return Err(ApiError::parameter("van must lie before tot"));
    }
    let name = format!(
        "stromen-{}-{}-{}",
        vraag.gemeente.naam(),
        van.tekst,
        tot.tekst
    );
    let report = compute(&state, move |s| reports::stromen(s, &vraag, &van, &tot)).await?;
    Ok(answer(&headers, &name, &report))
}

/// `GET /api/v1/rapportages/jaar?gemeente=&jaar=`
pub async fn jaar(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let vraag = vraag(&p, &principal, &sink)?;
    let text = required(&p.jaar, "jaar", "a year, e.g. 2025")?;
    let jaar: u16 = text
        .parse()
        .ok()
        .filter(|j| (1900..=9999).contains(j))
        .ok_or_else(|| {
            ApiError::parameter(format!("jaar must be a year from 1900, not {text:?}"))
        })?;
    let name = format!("jaar-{}-{jaar}", vraag.gemeente.naam());
    let report = compute(&state, move |s| reports::jaar(s, &vraag, jaar)).await?;
    Ok(answer(&headers, &name, &report))
}

/// `GET /api/v1/rapportages/srg?gemeente=&peildatum=`
pub async fn srg(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let vraag = vraag(&p, &principal, &sink)?;
    let peildatum = date(&p.peildatum, "peildatum")?;
    let name = format!("srg-{}-{}", vraag.gemeente.naam(), peildatum.tekst);
    let report = compute(&state, move |s| reports::srg(s, &vraag, &peildatum)).await?;
    Ok(answer(&headers, &name, &report))
}

/// `GET /api/v1/rapportages/benchmark?peildatum=[&subgroep=]`: every
/// municipality whose organisation takes part.
pub async fn benchmark(
    State(state): State<AppState>,
    sink: AuditSink,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let peildatum = date(&p.peildatum, "peildatum")?;
    let subgroep = match p.subgroep.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<u8>()
                .ok()
                .filter(|n| (1..=7).contains(n))
                .ok_or_else(|| {
                    ApiError::parameter(format!(
                        "subgroep must be a national subgroup 1-7, not {s:?}"
                    ))
                })?,
        ),
    };
    let gemeenten = state.auth.benchmark_gemeenten().map_err(ApiError::from)?;
    sink.gemeente("benchmark");
    let drempel = state.drempel;
    let name = format!("benchmark-{}", peildatum.tekst);
    let report = compute(&state, move |s| {
        reports::benchmark(s, &gemeenten, &peildatum, subgroep, drempel)
    })
    .await?;
    Ok(answer(&headers, &name, &report))
}

/// `GET /api/v1/werklijsten?gemeente=[&peildatum=][&binnenDagen=]`: the
/// clients overdue, due soon and with open warnings. Personal data.
pub async fn werklijsten(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let gemeente = gemeente(&p, &principal, &sink)?;
    let peildatum = match &p.peildatum {
        None => Peildatum::vandaag(),
        some => date(some, "peildatum")?,
    };
    let binnen = match p.binnen_dagen.as_deref() {
        None => 30,
        Some(n) => n.parse::<u32>().ok().filter(|n| *n <= 366).ok_or_else(|| {
            ApiError::parameter(format!(
                "binnenDagen must be a number of days 0-366, not {n:?}"
            ))
        })?,
    };
    let name = format!("werklijsten-{gemeente}-{}", peildatum.tekst);
    let lijsten = compute(&state, move |s| {
        reports::werklijsten(s, &gemeente, &peildatum, binnen)
    })
    .await?;
    for r in lijsten
        .te_laat
        .iter()
        .chain(&lijsten.binnenkort)
        .chain(&lijsten.signalen)
    {
        sink.bsn(&r.bsn);
    }
    Ok(answer(&headers, &name, &lijsten))
}
