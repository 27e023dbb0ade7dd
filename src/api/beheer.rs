//! `/api/v1/beheer`: organisations, credentials and the audit log, for
//! credentials with the `beheer` role. JSON in and out; errors are
//! problem+json (`super::error::as_problem`).
//!
//! Two scopes: the installation's administrator (a `beheer` credential of
//! organisation [`INSTALLATIE`]) sees and manages everything; any other
//! organisation's `beheer` credential only that organisation's own
//! credentials and audit entries. Things outside a caller's scope are
//! absent from its lists and answered as unknown.

use super::extract::{Caller, Json, Path, Query, Shape};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::guard::no_access;
use super::{blocking, ApiError, AppState};
use crate::auth::service::{
    AuditView, BeheerError, NieuweOrganisatie, OrganisatieView, SleutelView,
};
use crate::auth::INSTALLATIE;
use crate::diagnostics::Code;
use crate::store::auth::AuditQuery;
use crate::time::Moment;

/// Most audit entries one request returns.
pub const MAX_AUDIT: usize = 10_000;

fn json(status: StatusCode, value: impl Serialize) -> Response {
    match serde_json::to_vec(&value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::unavailable(format!("cannot write JSON: {e}")).into_response(),
    }
}

impl From<BeheerError> for ApiError {
    fn from(e: BeheerError) -> ApiError {
        match e {
            BeheerError::Invalid(m) => ApiError::parameter(m),
            BeheerError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, Code::HttpParameter, m),
            BeheerError::Store(e) => ApiError::from(e),
        }
    }
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BeheerError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::unavailable(format!("task failed: {e}")))?
        .map_err(ApiError::from)
}

impl Shape for NieuweOrganisatie {
    const SHAPE: &'static str = r#"{"id", "naam", "gemeenten", "oin", "rollen_bij_certificaat"}"#;
}

impl Shape for NieuweSleutel {
    const SHAPE: &'static str = r#"{"organisatie", "rollen", "verloopt"}"#;
}

impl Shape for NieuweMachtiging {
    const SHAPE: &'static str = r#"{"gemeente", "aan", "namens"}"#;
}

fn installation_only() -> ApiError {
    no_access(format!(
        "only the installation's administrator (organisation {INSTALLATIE}) may do this"
    ))
}

pub async fn organisaties(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let store = state.auth.store().clone();
    let all = blocking(move || store.organisations()).await?;
    let views: Vec<OrganisatieView> = all
        .iter()
        .filter(|o| caller.beheert(&o.id))
        .map(OrganisatieView::of)
        .collect();
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "organisaties": views }),
    ))
}

pub async fn organisatie_toevoegen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(n): Json<NieuweOrganisatie>,
) -> Result<Response, ApiError> {
    if !caller.installatiebeheer() {
        return Err(installation_only());
    }
    let auth = state.auth.clone();
    let org = run(move || auth.add_organisation(n)).await?;
    tracing::info!(organisatie = %org.id, "organisation added");
    Ok(json(StatusCode::CREATED, OrganisatieView::of(&org)))
}

#[derive(Deserialize)]
pub struct Deelname {
    deelname: bool,
}

impl Shape for Deelname {
    const SHAPE: &'static str = r#"{"deelname": true or false}"#;
}

/// `PUT /api/v1/beheer/organisaties/{id}/benchmark`: whether the
/// organisation's municipalities take part in the benchmark; by its own
/// administrator or the installation's.
pub async fn benchmark_deelname(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(d): Json<Deelname>,
) -> Result<Response, ApiError> {
    if !caller.beheert(&id) {
        return Err(unknown_organisation(&id));
    }
    let auth = state.auth.clone();
    let key = id.clone();
    match blocking(move || auth.set_benchmark(&key, d.deelname)).await? {
        Some(org) => {
            tracing::info!(organisatie = %org.id, deelname = org.benchmark, "benchmark participation set");
            Ok(json(StatusCode::OK, OrganisatieView::of(&org)))
        }
        None => Err(unknown_organisation(&id)),
    }
}

fn unknown_organisation(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Code::HttpNotFound,
        format!("no organisation {id} that you manage"),
    )
}

pub async fn sleutels(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let store = state.auth.store().clone();
    let all = blocking(move || store.credentials()).await?;
    let views: Vec<SleutelView> = all
        .iter()
        .filter(|s| caller.beheert(&s.organisatie))
        .map(|s| SleutelView::of(s, None))
        .collect();
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "sleutels": views }),
    ))
}

#[derive(Deserialize)]
pub struct NieuweSleutel {
    organisatie: String,
    rollen: Vec<String>,
    #[serde(default)]
    verloopt: Option<String>,
}

pub async fn sleutel_maken(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(n): Json<NieuweSleutel>,
) -> Result<Response, ApiError> {
    if !caller.beheert(&n.organisatie) {
        return Err(no_access(
            "an organisation's administrator makes credentials for its own organisation only",
        ));
    }
    let verloopt = match n.verloopt.as_deref() {
        None => None,
        Some(v) => Some(Moment::parse(v).ok_or_else(|| {
            ApiError::parameter("verloopt must be an RFC 3339 moment, e.g. 2027-01-01T00:00:00Z")
        })?),
    };
    let auth = state.auth.clone();
    let (s, token) = run(move || auth.add_credential(&n.organisatie, &n.rollen, verloopt)).await?;
    tracing::info!(sleutel = %s.id, organisatie = %s.organisatie, "credential created");
    Ok(json(StatusCode::CREATED, SleutelView::of(&s, Some(token))))
}

pub async fn sleutel_intrekken(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let auth = state.auth.clone();
    let key = id.clone();
    // Another organisation's credential is unknown to this caller.
    let revoked = blocking(move || match auth.store().credential(&key)? {
        Some(s) if caller.beheert(&s.organisatie) => auth.revoke_credential(&key),
        _ => Ok(false),
    })
    .await?;
    if revoked {
        tracing::info!(sleutel = %id, "credential revoked");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Code::HttpNotFound,
            format!("no credential {id}"),
        ))
    }
}

/// `GET /api/v1/beheer/machtigingen`: every authorisation for the
/// installation's administrator, else those given to or by the caller's
/// organisation.
pub async fn machtigingen(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let auth = state.auth.clone();
    let own = (!caller.installatiebeheer()).then(|| caller.organisatie.clone());
    let all = blocking(move || auth.authorisations(own.as_deref())).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "machtigingen": all }),
    ))
}

#[derive(Deserialize)]
pub struct NieuweMachtiging {
    gemeente: String,
    aan: String,
    namens: String,
}

/// `POST /api/v1/beheer/machtigingen`: the municipality's administrator
/// lets one organisation correct and withdraw another's measurements.
pub async fn machtiging_geven(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(n): Json<NieuweMachtiging>,
) -> Result<Response, ApiError> {
    if !caller.installatiebeheer() {
        return Err(installation_only());
    }
    let auth = state.auth.clone();
    let m = run(move || auth.add_authorisation(&n.gemeente, &n.aan, &n.namens)).await?;
    tracing::info!(gemeente = %m.gemeente, aan = %m.aan, namens = %m.namens, "authorisation given");
    Ok(json(StatusCode::CREATED, m))
}

/// `DELETE /api/v1/beheer/machtigingen/{gemeente}/{aan}/{namens}`.
pub async fn machtiging_intrekken(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((gemeente, aan, namens)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if !caller.installatiebeheer() {
        return Err(installation_only());
    }
    let auth = state.auth.clone();
    let (g, a, n) = (gemeente.clone(), aan.clone(), namens.clone());
    if blocking(move || auth.remove_authorisation(&g, &a, &n)).await? {
        tracing::info!(%gemeente, %aan, %namens, "authorisation ended");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Code::HttpNotFound,
            format!("{aan} has no authorisation for {namens}'s measurements in {gemeente}"),
        ))
    }
}

#[derive(Deserialize)]
pub struct AuditParams {
    van: Option<String>,
    tot: Option<String>,
    organisatie: Option<String>,
    limit: Option<String>,
}

pub async fn audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<AuditParams>,
) -> Result<Response, ApiError> {
    // An organisation's administrator reads its own organisation's entries.
    let organisatie =
        match p.organisatie {
            _ if caller.installatiebeheer() => p.organisatie,
            Some(o) if o != caller.organisatie => return Err(no_access(
                "an organisation's administrator reads its own organisation's audit entries only",
            )),
            _ => Some(caller.organisatie.clone()),
        };
    let moment = |v: Option<&str>, name: &str| -> Result<Option<Moment>, ApiError> {
        match v {
            None => Ok(None),
            Some(v) => Moment::parse(v).map(Some).ok_or_else(|| {
                ApiError::parameter(format!(
                    "{name} must be an RFC 3339 moment, e.g. 2026-01-31T12:00:00Z"
                ))
            }),
        }
    };
    let limit = match p.limit.as_deref() {
        None => 1000,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT).contains(n))
            .ok_or_else(|| ApiError::parameter(format!("limit must be 1 to {MAX_AUDIT}")))?,
    };
    let query = AuditQuery {
        van: moment(p.van.as_deref(), "van")?,
        tot: moment(p.tot.as_deref(), "tot")?,
        organisatie,
        limit,
    };
    let auth = state.auth.clone();
    // Every answered request's entry is durable, so readable, already.
    let entries = blocking(move || auth.store().audit(&query)).await?;
    let views: Vec<AuditView> = entries.iter().map(AuditView::of).collect();
    Ok(json(StatusCode::OK, serde_json::json!({ "audit": views })))
}

#[derive(Deserialize)]
pub struct NieuweBackup {
    naam: String,
}

impl Shape for NieuweBackup {
    const SHAPE: &'static str = r#"{"naam"}"#;
}

/// `POST /api/v1/beheer/backups`: a consistent copy of the whole store,
/// made while the service goes on serving, into a new directory `naam`
/// under `--backup-dir`: an embedded store of its own (serve with `--data`
/// on it to restore), checked against the source. Messages up to the count
/// at the start are in it; configuration and the audit log as they were.
pub async fn backup(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(n): Json<NieuweBackup>,
) -> Result<Response, ApiError> {
    if !caller.installatiebeheer() {
        return Err(installation_only());
    }
    let Some(root) = state.backups.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Code::HttpParameter,
            "this service makes no backups: start it with --backup-dir",
        ));
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if n.naam.is_empty()
        || n.naam.len() > 64
        || n.naam.starts_with('.')
        || !n.naam.chars().all(plain)
    {
        return Err(ApiError::parameter(
            "naam: 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'",
        ));
    }
    let dir = root.join(&n.naam);
    if dir.exists() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Code::HttpParameter,
            format!("a backup named {} exists already", n.naam),
        ));
    }
    let from = crate::store::Opened {
        messages: state.store.clone(),
        delivery: state.delivery.clone(),
        auth: state.auth.store().clone(),
    };
    let runtime = tokio::runtime::Handle::current();
    let target = dir.clone();
    let copied = tokio::task::spawn_blocking(move || {
        // Made beside its place and moved there once checked: a failed
        // backup leaves nothing that looks like one.
        let mut tag = [0u8; 6];
        getrandom::fill(&mut tag).map_err(|e| e.to_string())?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let partial = target.with_file_name(format!(".{name}.tmp-{tag}"));
        let made = (|| {
            let to = crate::store::open(&crate::store::Config::sled(&partial))
                .map_err(|e| e.to_string())?;
            let copied = runtime
                .block_on(crate::store::transfer::copy(&from, &to, true, |_| {}))
                .map_err(|e| e.to_string())
                .and_then(|upto| crate::store::transfer::verify(&from, &to, Some(upto)));
            let closed = to.messages.close().map_err(|e| e.to_string());
            drop(to);
            copied.and_then(|c| closed.map(|()| c))
        })();
        let placed = made.and_then(|c| {
            std::fs::rename(&partial, &target)
                .map(|()| c)
                .map_err(|e| format!("cannot move it to {}: {e}", target.display()))
        });
        if placed.is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        placed
    })
    .await
    .map_err(|e| ApiError::unavailable(format!("the backup task failed: {e}")))?
    .map_err(|why| ApiError::unavailable(format!("the backup failed: {why}")))?;
    tracing::info!(naam = %n.naam, berichten = copied.berichten, "backup made");
    Ok(json(
        StatusCode::CREATED,
        serde_json::json!({
            "naam": n.naam,
            "map": dir.display().to_string(),
            "berichten": copied.berichten,
            "organisaties": copied.organisaties,
            "sleutels": copied.sleutels,
            "machtigingen": copied.machtigingen,
            "abonnementen": copied.abonnementen,
            "auditregels": copied.audit,
        }),
    ))
}
