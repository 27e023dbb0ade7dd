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

/// The query parameters of every report; each report reads its own and
/// refuses the others ([`takes`]), and a name none knows is refused too:
/// a report must never answer a question other than the one asked.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
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

impl Params {
    /// The parameters given, by name.
    fn given(&self) -> Vec<&'static str> {
        [
            ("gemeente", self.gemeente.is_some()),
            ("peildatum", self.peildatum.is_some()),
            ("van", self.van.is_some()),
            ("tot", self.tot.is_some()),
            ("jaar", self.jaar.is_some()),
            ("groepeerOp", self.groepeer_op.is_some()),
            ("peilmoment", self.peilmoment.is_some()),
            ("subgroep", self.subgroep.is_some()),
            ("binnenDagen", self.binnen_dagen.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// Refuses a parameter this report does not take.
    fn takes(&self, report: &str, names: &[&str]) -> Result<(), ApiError> {
        match self.given().into_iter().find(|g| !names.contains(g)) {
            Some(other) => Err(ApiError::parameter(format!(
                "{report} does not take {other}; it takes {}",
                names.join(", ")
            ))),
            None => Ok(()),
        }
    }
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

/// Runs a report on the blocking pool under a report permit: a report
/// scans a municipality's timelines, and no number of them may take every
/// core from validation.
pub(super) async fn compute<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = state
        .rapporten
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

/// The quality `Accept` gives a media type: its own range, else
/// `type/*`, else `*/*` (RFC 9110 §12.5.1); 1 without an `Accept`.
fn quality(headers: &HeaderMap, media: &str) -> f32 {
    let ranges: Vec<(String, f32)> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|range| {
            let mut parts = range.split(';');
            let name = parts.next()?.trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!name.is_empty()).then_some((name, q))
        })
        .collect();
    if ranges.is_empty() {
        return 1.0;
    }
    let kind = media.split('/').next().unwrap_or("");
    let find = |name: &str| ranges.iter().find(|(n, _)| n == name).map(|(_, q)| *q);
    find(media)
        .or_else(|| find(&format!("{kind}/*")))
        .or_else(|| find("*/*"))
        .unwrap_or(0.0)
}

/// JSON, or CSV when the client prefers it, named `file`.
fn answer<T: Serialize + Csv>(headers: &HeaderMap, file: &str, report: &T) -> Response {
    let (csv, json) = (
        quality(headers, "text/csv"),
        quality(headers, "application/json"),
    );
    if csv > 0.0 && csv > json {
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
    p.takes(
        "stand",
        &["gemeente", "peildatum", "groepeerOp", "peilmoment"],
    )?;
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
    p.takes(
        "stromen",
        &["gemeente", "van", "tot", "groepeerOp", "peilmoment"],
    )?;
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
    p.takes("jaar", &["gemeente", "jaar", "peilmoment"])?;
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
    p.takes("srg", &["gemeente", "peildatum", "peilmoment"])?;
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
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    p.takes("the benchmark", &["peildatum", "subgroep"])?;
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
    let auth = state.auth.store().clone();
    let organisaties = super::blocking(move || auth.organisations()).await?;
    let deelname: Vec<(bool, Vec<String>)> = organisaties
        .into_iter()
        .map(|o| (o.benchmark, o.gemeenten))
        .collect();
    let gemeenten = reports::benchmark_gemeenten(&deelname);
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
    p.takes("werklijsten", &["gemeente", "peildatum", "binnenDagen"])?;
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
