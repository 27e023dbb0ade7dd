//! `/api/v1/abonnementen`: receivers registered for push delivery, their
//! delivery status, dead letters and replays. Management resources, so
//! JSON in and out; errors are problem+json (`super::error::as_problem`).

use super::extract::{Caller, Json, Path, Query, Shape};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::guard::{not_your_gemeente, AuditSink};
use super::{blocking, ApiError, AppState};
use crate::delivery::address;
use crate::delivery::signature::Secret;
use crate::diagnostics::Code;
use crate::domain::Gemeentecode;
use crate::schema::{Onderdeel, Schemaversie};
use crate::store::delivery::{Abonnement, Afleverstand, DodeBrief};
use crate::store::Soort;
use crate::time::Moment;

#[derive(Deserialize)]
pub struct Registration {
    url: String,
    gemeente: String,
    /// `Meting`, `Correctie`, `Intrekking`; all when absent or empty.
    #[serde(default)]
    soorten: Vec<String>,
    /// The schema version the receiver understands; the latest when absent.
    versie: Option<String>,
    /// Optional parts the receiver does not want.
    #[serde(default)]
    weglaten: Vec<String>,
}

impl Shape for Registration {
    const SHAPE: &'static str = r#"{"url", "gemeente", "soorten", "versie", "weglaten"}"#;
}

/// A subscription as shown; the secret only in the registration answer.
#[derive(Serialize)]
struct View {
    id: String,
    url: String,
    gemeente: String,
    soorten: Vec<&'static str>,
    /// Absent: the latest version, whichever that is.
    #[serde(skip_serializing_if = "Option::is_none")]
    versie: Option<Schemaversie>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    weglaten: Vec<Onderdeel>,
    aangemaakt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl View {
    fn of(a: &Abonnement, with_secret: bool) -> View {
        View {
            id: a.id.clone(),
            url: a.url.clone(),
            gemeente: a.gemeente.clone(),
            soorten: a.soorten.iter().map(|s| s.as_str()).collect(),
            versie: a.versie,
            weglaten: a.weglaten.clone(),
            aangemaakt: a.aangemaakt.to_string(),
            secret: with_secret.then(|| a.secret.clone()),
        }
    }
}

fn json(status: StatusCode, value: impl Serialize) -> Response {
    match serde_json::to_vec(&value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::unavailable(format!("cannot write JSON: {e}")).into_response(),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Code::HttpNotFound,
        format!("no subscription {id}"),
    )
}

fn new_id() -> Result<String, ApiError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| ApiError::unavailable(format!("no randomness: {e}")))?;
    Ok(format!(
        "ab-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// `POST /api/v1/abonnementen`: registers a receiver; the answer shows the
/// signing secret, once.
pub async fn registreer(
    State(state): State<AppState>,
    Caller(principal): Caller,

    Json(reg): Json<Registration>,
) -> Result<Response, ApiError> {
    let url =
        reqwest::Url::parse(&reg.url).map_err(|_| ApiError::parameter("url is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ApiError::parameter("url must be an http or https URL"));
    }
    if !state.dispatcher.allow_private_receivers() {
        if let Err(range) = address::check_url(&url) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::HttpOntvangerAdres,
                format!(
                    "url: the receiver's host is {range}; receivers on loopback, private, link-local and similar addresses are refused unless the service runs with {}",
                    address::FLAG
                ),
            ));
        }
    }
    let gemeente = Gemeentecode::parse(&reg.gemeente)
        .map_err(|_| ApiError::parameter("gemeente must be a CBS code of four digits"))?;
    if !principal.voor(gemeente.as_str()) {
        return Err(not_your_gemeente(gemeente.as_str()));
    }
    let mut soorten = Vec::new();
    for s in &reg.soorten {
        let soort = match s.as_str() {
            "Meting" => Soort::Meting,
            "Correctie" => Soort::Correctie,
            "Intrekking" => Soort::Intrekking,
            other => return Err(ApiError::parameter(format!("unknown soort {other:?}"))),
        };
        if !soorten.contains(&soort) {
            soorten.push(soort);
        }
    }
    if soorten.is_empty() {
        soorten = vec![Soort::Meting, Soort::Correctie, Soort::Intrekking];
    }
    let versie = reg
        .versie
        .as_deref()
        .map(|v| super::lezer_versie(Some(v)))
        .transpose()?;
    let weglaten = super::onderdelen(reg.weglaten.iter().map(String::as_str))?;
    let secret =
        Secret::generate().map_err(|e| ApiError::unavailable(format!("no randomness: {e}")))?;
    let abonnement = Abonnement {
        id: new_id()?,
        url: url.to_string(),
        gemeente: gemeente.as_str().to_string(),
        soorten,
        secret: secret.encode(),
        aangemaakt: Moment::now(),
        versie,
        weglaten,
    };
    let delivery = state.delivery.clone();
    let stored = abonnement.clone();
    blocking(move || delivery.add_subscription(&stored)).await?;
    state.dispatcher.spawn(abonnement.clone());
    tracing::info!(subscription = %abonnement.id, gemeente = %abonnement.gemeente, "subscription registered");
    let mut response = json(StatusCode::CREATED, View::of(&abonnement, true));
    if let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/abonnementen/{}", abonnement.id))
    {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `GET /api/v1/abonnementen`: every subscription, without secrets.
pub async fn lijst(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> Result<Response, ApiError> {
    let delivery = state.delivery.clone();
    let all = blocking(move || delivery.subscriptions()).await?;
    let views: Vec<View> = all
        .iter()
        .filter(|a| principal.voor(&a.gemeente))
        .map(|a| View::of(a, false))
        .collect();
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "abonnementen": views }),
    ))
}

#[derive(Serialize)]
struct Status {
    #[serde(flatten)]
    abonnement: View,
    /// Every message up to this Volgnummer is delivered or dead-lettered.
    cursor: u64,
    /// Messages of the municipality after the cursor, not yet delivered.
    achterstand: u64,
    laatste_succes: Option<String>,
    laatste_fout: Option<serde_json::Value>,
    pogingen: u32,
    dode_brieven: Vec<serde_json::Value>,
}

fn dode_brief(d: &DodeBrief) -> serde_json::Value {
    serde_json::json!({
        "volgnummer": d.volgnummer,
        "bericht_id": d.bericht_id,
        "sinds": d.sinds.to_string(),
        "pogingen": d.pogingen,
        "fout": d.fout,
    })
}

/// `GET /api/v1/abonnementen/{id}`: delivery status.
pub async fn status(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let delivery = state.delivery.clone();
    let store = state.store.clone();
    let key = id.clone();
    let mine = principal.clone();
    let found = blocking(move || {
        // Another municipality's subscription looks exactly like an
        // unknown one.
        let Some(a) = delivery
            .subscription(&key)?
            .filter(|a| mine.voor(&a.gemeente))
        else {
            return Ok(None);
        };
        let stand: Afleverstand = delivery.delivery_state(&key)?;
        let backlog = store.backlog(&a.gemeente, stand.cursor)?;
        let dead = delivery.dead_letters(&key)?;
        Ok(Some((a, stand, backlog, dead)))
    })
    .await?;
    let Some((a, stand, backlog, dead)) = found else {
        return Err(not_found(&id));
    };
    sink.gemeente(&a.gemeente);
    for d in &dead {
        sink.bericht(&d.bericht_id);
    }
    Ok(json(
        StatusCode::OK,
        Status {
            abonnement: View::of(&a, false),
            cursor: stand.cursor,
            achterstand: backlog,
            laatste_succes: stand.laatste_succes.map(|m| m.to_string()),
            laatste_fout: stand.laatste_fout.map(|f| {
                serde_json::json!({
                    "tijdstip": f.tijdstip.to_string(),
                    "volgnummer": f.volgnummer,
                    "omschrijving": f.omschrijving,
                })
            }),
            pogingen: stand.pogingen,
            dode_brieven: dead.iter().map(dode_brief).collect(),
        },
    ))
}

/// `DELETE /api/v1/abonnementen/{id}`.
pub async fn verwijder(
    State(state): State<AppState>,
    Caller(principal): Caller,

    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let delivery = state.delivery.clone();
    let key = id.clone();
    let own = blocking(move || delivery.subscription(&key))
        .await?
        .is_some_and(|a| principal.voor(&a.gemeente));
    if !own {
        return Err(not_found(&id));
    }
    state.dispatcher.remove(&id);
    let delivery = state.delivery.clone();
    let key = id.clone();
    if blocking(move || delivery.remove_subscription(&key)).await? {
        tracing::info!(subscription = %id, "subscription removed");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(&id))
    }
}

#[derive(Deserialize)]
pub struct ReplayParams {
    vanaf: Option<String>,
}

/// `POST /api/v1/abonnementen/{id}/replay?vanaf=N`: re-sends everything
/// from Volgnummer N on (default: the oldest dead letter), dead letters
/// included.
pub async fn replay(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    Path(id): Path<String>,
    Query(p): Query<ReplayParams>,
) -> Result<Response, ApiError> {
    let delivery = state.delivery.clone();
    let key = id.clone();
    let mine = principal.clone();
    let (dead, cursor) = blocking(move || {
        Ok(
            match delivery
                .subscription(&key)?
                .filter(|a| mine.voor(&a.gemeente))
            {
                Some(_) => Some((
                    delivery.dead_letters(&key)?,
                    delivery.delivery_state(&key)?.cursor,
                )),
                None => None,
            },
        )
    })
    .await?
    .ok_or_else(|| not_found(&id))?;
    for d in &dead {
        sink.bericht(&d.bericht_id);
    }
    let vanaf = match p.vanaf.as_deref() {
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ApiError::parameter("vanaf must be a Volgnummer (1 or more)"))?,
        None => dead
            .iter()
            .map(|d| d.volgnummer)
            .min()
            .ok_or_else(|| ApiError::parameter("no dead letters to replay; give vanaf"))?,
    };
    if vanaf > cursor.saturating_add(1) {
        return Err(ApiError::parameter(format!(
            "vanaf {vanaf} lies beyond the messages not yet delivered (delivered up to {cursor}); a replay re-sends, it never skips"
        )));
    }
    let dispatcher = state.dispatcher.clone();
    let asked = id.clone();
    blocking(move || dispatcher.replay(&asked, vanaf)).await?;
    Ok(json(
        StatusCode::ACCEPTED,
        serde_json::json!({ "id": id, "vanaf": vanaf }),
    ))
}
