//! The dashboard's routes (`/dashboard…`): login and logout, the reports
//! page, the worklists, their CSV downloads and the stylesheet. The pages
//! themselves are rendered by `crate::dashboard`; the figures come from
//! `crate::reports`, as for the reports API.
//!
//! A browser is signed in by a session cookie (see `dashboard::session`):
//! [`session_principal`] turns it into the token's [`Principal`] for the
//! guard, on dashboard paths only, so that the API itself is never
//! reachable by cookie and no API route needs CSRF protection. Both POSTs
//! (login, logout) check that `Origin` is this service and a CSRF token:
//! the session's, or before login the double-submit cookie's.

use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::extract::{Caller, Query};
use super::guard::{no_access, not_your_gemeente, AuditSink};
use super::rapportages::compute;
use super::{ApiError, AppState};
use crate::auth::{Principal, Rol};
use crate::dashboard::html::Nav;
use crate::dashboard::pages::{
    self, Keuze, KeuzeFout, PerMedewerker, Stroom, TredeCijfer, Werkrij,
};
use crate::dashboard::session::{self, same_origin, same_secret};
use crate::reports::{self, Csv, Groepering, Peildatum, Vraag};
use crate::store::Store;

/// The session a request was signed in by (set by the guard's
/// authentication, read by the pages for their logout form).
#[derive(Clone)]
pub struct Sessie {
    pub csrf: String,
}

/// The principal of a dashboard request's session cookie, when it names a
/// live session whose token `Auth` still accepts; a session whose token
/// was revoked or expired is closed.
pub fn session_principal(
    state: &AppState,
    request: &Request,
) -> Result<Option<(Principal, Sessie)>, super::ApiError> {
    if !is_dashboard(request.uri().path()) {
        return Ok(None);
    }
    let Some(id) = cookie(request.headers(), session::COOKIE) else {
        return Ok(None);
    };
    let Some(active) = state.sessions.find(id) else {
        return Ok(None);
    };
    match state.auth.bearer(&active.token)? {
        Some(p) => Ok(Some((p, Sessie { csrf: active.csrf }))),
        None => {
            state.sessions.close(id);
            Ok(None)
        }
    }
}

pub fn is_dashboard(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie(h, name))
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn see_other(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// What a signed-out browser gets on a page that needs a session.
pub fn to_login() -> Response {
    see_other("/dashboard/inloggen")
}

/// Every dashboard answer: its CSP (the service's strict one plus its own
/// stylesheet), its referrer policy, and errors of the API's kind as an
/// HTML page.
pub fn finish(response: Response) -> Response {
    let mut response = match crate::http_error::errors_of(&response) {
        Some(errors) => {
            let status = response.status();
            let uitleg = errors
                .first()
                .map_or_else(String::new, |m| m.message.clone());
            let titel = match status {
                StatusCode::FORBIDDEN => "Geen toegang",
                StatusCode::BAD_REQUEST => "Ongeldige keuze",
                StatusCode::TOO_MANY_REQUESTS => "Te veel verzoeken",
                StatusCode::NOT_FOUND => "Pagina niet gevonden",
                _ => "Er ging iets mis",
            };
            let nav = Nav {
                rapportages: true,
                werklijsten: false,
                csrf: None,
                wie: None,
            };
            let mut page = html(status, pages::fout(titel, &uitleg, &nav));
            for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
                if let Some(v) = response.headers().get(&name) {
                    page.headers_mut().insert(name, v.clone());
                }
            }
            page
        }
        None => response,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::dashboard::CSP),
    );
    // Browsers send a form post's `Origin` as `null` under the service's
    // usual `no-referrer`; within the site it is needed (CSRF check), and
    // to other sites nothing is sent still.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `GET /`: the dashboard is what a person opening the service wants.
pub async fn home() -> Response {
    see_other("/dashboard")
}

/// `GET /dashboard/stijl.css`.
pub async fn stijl() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        crate::dashboard::stylesheet(),
    )
        .into_response()
}

/// The login form with a fresh double-submit token in a cookie.
fn login_form(status: StatusCode, fout: Option<&str>) -> Response {
    let Ok(csrf) = session::random_token() else {
        return ApiError::unavailable("no randomness for a login form").into_response();
    };
    let mut r = html(status, pages::login(&csrf, fout));
    if let Ok(v) = HeaderValue::from_str(&session::login_cookie(&csrf)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /dashboard/inloggen`: the form, or the dashboard when signed in.
pub async fn inloggen_form(principal: Option<axum::Extension<Principal>>) -> Response {
    if principal.is_some() {
        return see_other("/dashboard");
    }
    login_form(StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
pub struct Inlog {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

fn post_from_here(headers: &HeaderMap) -> bool {
    let get = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    same_origin(get(header::ORIGIN), get(header::HOST))
}

const FOREIGN: &str = "Dit formulier kwam niet van deze website; open de inlogpagina opnieuw.";

/// `POST /dashboard/inloggen`: checks the token as a bearer token is
/// checked and opens a session with it.
pub async fn inloggen(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Inlog>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_form(StatusCode::BAD_REQUEST, Some(FOREIGN));
    };
    let expected = cookie(&headers, session::LOGIN_COOKIE).unwrap_or("");
    if !post_from_here(&headers) || expected.is_empty() || !same_secret(expected, &form.csrf) {
        return login_form(StatusCode::FORBIDDEN, Some(FOREIGN));
    }
    let token = form.token.trim();
    let principal = match state.auth.bearer(token) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return login_form(
                StatusCode::UNAUTHORIZED,
                Some("Dit token is onbekend, ingetrokken of verlopen. Controleer of u het hele token hebt geplakt."),
            )
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !principal.heeft(Rol::Rapporteren) && !principal.heeft(Rol::Afnemen) {
        return login_form(
            StatusCode::FORBIDDEN,
            Some("Dit token heeft niet de rol rapporteren of afnemen; vraag uw beheerder om een token met een van die rollen."),
        );
    }
    let opened = match state.sessions.open(token) {
        Ok(o) => o,
        Err(e) => return ApiError::unavailable(e.to_string()).into_response(),
    };
    tracing::info!(organisatie = %principal.organisatie, sleutel = %principal.sleutel, "dashboard session opened");
    let mut r = see_other(if principal.heeft(Rol::Rapporteren) {
        "/dashboard"
    } else {
        "/dashboard/werklijsten"
    });
    for c in [
        session::session_cookie(&opened.id),
        session::login_cookie_removed(),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(serde::Deserialize)]
pub struct Uitlog {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/uitloggen`: ends the session (with its CSRF token,
/// from this site only) and removes the cookie.
pub async fn uitloggen(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Uitlog>, FormRejection>,
) -> Response {
    let id = cookie(&headers, session::COOKIE);
    let active = id.and_then(|id| state.sessions.find(id));
    let (Some(id), Some(active)) = (id, active) else {
        return to_login();
    };
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !post_from_here(&headers) || !same_secret(&active.csrf, &csrf) {
        return no_access(
            "this logout did not come from this site's own form; use the Uitloggen button",
        )
        .into_response();
    }
    state.sessions.close(id);
    let mut r = to_login();
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie_removed()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

// ---------------------------------------------------------------------------
// The reports page, the worklists and their CSV
// ---------------------------------------------------------------------------

/// The reports page's query: what its form sends.
#[derive(serde::Deserialize, Default)]
pub struct Keuzeparameters {
    gemeente: Option<String>,
    peildatum: Option<String>,
    van: Option<String>,
    #[serde(rename = "groepeerOp")]
    groepeer_op: Option<String>,
}

/// How many quarters the stand over time covers (three years).
const KWARTALEN: usize = 12;

fn keuze(caller: &Principal, p: &Keuzeparameters, sink: &AuditSink) -> Result<Keuze, ApiError> {
    if let Some(g) = p.gemeente.as_deref().filter(|g| !g.is_empty()) {
        sink.gemeente(g);
    }
    let k = Keuze::kies(
        &caller.gemeenten,
        p.gemeente.as_deref(),
        p.peildatum.as_deref(),
        p.van.as_deref(),
        p.groepeer_op.as_deref(),
        &Peildatum::vandaag().tekst,
    )
    .map_err(|e| match e {
        KeuzeFout::Ongeldig(m) => ApiError::parameter(m),
        KeuzeFout::NietUwGemeente(g) => not_your_gemeente(&g),
        KeuzeFout::GeenGemeenten => {
            no_access("this credential's organisation acts for no municipality")
        }
    })?;
    sink.gemeente(&k.gemeente);
    Ok(k)
}

fn nav(caller: &Principal, sessie: Option<&Sessie>) -> Nav {
    Nav {
        rapportages: caller.heeft(Rol::Rapporteren),
        werklijsten: caller.heeft(Rol::Afnemen),
        csrf: sessie.map(|s| s.csrf.clone()),
        wie: Some(caller.organisatie.clone()),
    }
}

fn datum_van(tekst: &str) -> Result<Peildatum, ApiError> {
    Peildatum::parse(tekst).ok_or_else(|| ApiError::parameter(format!("{tekst:?} is not a date")))
}

/// The question without a breakdown, as of now.
fn vraag(k: &Keuze, groepeer: bool) -> Vraag {
    Vraag {
        gemeente: reports::Gebied::Gemeente(k.gemeente.clone()),
        groepeer_op: k
            .groepeer_op
            .as_deref()
            .filter(|_| groepeer)
            .and_then(Groepering::parse),
        peilmoment: None,
    }
}

fn treden(t: &[reports::TredeTelling]) -> Vec<TredeCijfer> {
    t.iter()
        .map(|t| TredeCijfer {
            trede: t.trede,
            clienten: t.clienten,
            groeipotentieel: t.groeipotentieel,
        })
        .collect()
}

/// Everything the reports page shows, from `crate::reports`.
struct Cijfers {
    stand: reports::Stand,
    stromen: reports::Stromen,
    reeks: Vec<reports::Stand>,
    srg: reports::Srg,
}

fn cijfers(store: &dyn Store, k: &Keuze) -> Result<Cijfers, crate::store::StoreError> {
    let peil = Peildatum::parse(&k.peildatum).unwrap_or_else(Peildatum::vandaag);
    let van = Peildatum::parse(&k.van).unwrap_or_else(|| peil.clone());
    let data: Vec<Peildatum> = pages::kwartalen(&k.peildatum, KWARTALEN)
        .iter()
        .filter_map(|d| Peildatum::parse(d))
        .collect();
    Ok(Cijfers {
        stand: reports::stand(store, &vraag(k, true), &peil)?,
        stromen: reports::stromen(store, &vraag(k, false), &van, &peil)?,
        reeks: reports::reeks(store, &vraag(k, false), &data)?,
        srg: reports::srg(store, &vraag(k, false), &peil)?,
    })
}

/// `GET /dashboard?gemeente=&peildatum=&van=&groepeerOp=`: the reports.
pub async fn rapportage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    sessie: Option<Extension<Sessie>>,
    Query(p): Query<Keuzeparameters>,
) -> Result<Response, ApiError> {
    let k = keuze(&caller, &p, &sink)?;
    let gevraagd = k.clone();
    let c = compute(&state, move |s| cijfers(s, &gevraagd)).await?;
    let mut body = pages::keuze_form(&k);
    body.push_str(&pages::stand(&k, &treden(&c.stand.treden)));
    if let Some(groepen) = &c.stand.groepen {
        let groepen: Vec<(String, Vec<TredeCijfer>)> = groepen
            .iter()
            .map(|g| (g.groep.clone(), treden(&g.treden)))
            .collect();
        body.push_str(&pages::groepen(&k, &groepen));
    }
    let stromen: Vec<Stroom> = c
        .stromen
        .stromen
        .iter()
        .map(|s| Stroom {
            van: s.van,
            naar: s.naar,
            clienten: s.clienten,
        })
        .collect();
    body.push_str(&pages::stromen(&k, &stromen));
    let punten: Vec<(String, Vec<TredeCijfer>)> = c
        .reeks
        .iter()
        .map(|s| (s.peildatum.clone(), treden(&s.treden)))
        .collect();
    body.push_str(&pages::tijdreeks(&k, &punten));
    let srg: Vec<(String, u64)> = c
        .srg
        .srg
        .iter()
        .map(|r| (r.srg.to_string(), r.clienten))
        .collect();
    body.push_str(&pages::srg(&k, &srg));
    let nav = nav(&caller, sessie.as_deref());
    Ok(html(
        StatusCode::OK,
        crate::dashboard::html::page("Rapportages", &nav, "/dashboard", &body),
    ))
}

fn csv(file: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /dashboard/csv/stand`: the stand (per group with `groepeerOp`),
/// the same CSV as the reports API's.
pub async fn csv_stand(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    Query(p): Query<Keuzeparameters>,
) -> Result<Response, ApiError> {
    let k = keuze(&caller, &p, &sink)?;
    let peil = datum_van(&k.peildatum)?;
    let vraag = vraag(&k, true);
    let stand = compute(&state, move |s| reports::stand(s, &vraag, &peil)).await?;
    Ok(csv(
        &format!("stand-{}-{}", k.gemeente, k.peildatum),
        stand.csv(),
    ))
}

/// `GET /dashboard/csv/stromen`: the flows from `van` to `peildatum`.
pub async fn csv_stromen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    Query(p): Query<Keuzeparameters>,
) -> Result<Response, ApiError> {
    let k = keuze(&caller, &p, &sink)?;
    let (van, tot) = (datum_van(&k.van)?, datum_van(&k.peildatum)?);
    let vraag = vraag(&k, false);
    let stromen = compute(&state, move |s| reports::stromen(s, &vraag, &van, &tot)).await?;
    Ok(csv(
        &format!("stromen-{}-{}-{}", k.gemeente, k.van, k.peildatum),
        stromen.csv(),
    ))
}

/// `GET /dashboard/csv/srg`: the SRG table at `peildatum`.
pub async fn csv_srg(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    Query(p): Query<Keuzeparameters>,
) -> Result<Response, ApiError> {
    let k = keuze(&caller, &p, &sink)?;
    let peil = datum_van(&k.peildatum)?;
    let vraag = vraag(&k, false);
    let srg = compute(&state, move |s| reports::srg(s, &vraag, &peil)).await?;
    Ok(csv(
        &format!("srg-{}-{}", k.gemeente, k.peildatum),
        srg.csv(),
    ))
}

/// `GET /dashboard/csv/tijdreeks`: the stand at each quarter's end, as the
/// stand's CSV with the date in front of every row.
pub async fn csv_tijdreeks(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    Query(p): Query<Keuzeparameters>,
) -> Result<Response, ApiError> {
    let k = keuze(&caller, &p, &sink)?;
    let data: Vec<Peildatum> = pages::kwartalen(&k.peildatum, KWARTALEN)
        .iter()
        .filter_map(|d| Peildatum::parse(d))
        .collect();
    let vraag = vraag(&k, false);
    let reeks = compute(&state, move |s| reports::reeks(s, &vraag, &data)).await?;
    let mut out = String::new();
    for (i, stand) in reeks.iter().enumerate() {
        // A date needs no quoting: the stand's own rows, dated.
        for (j, line) in stand.csv().split_inclusive("\r\n").enumerate() {
            match (i, j) {
                (0, 0) => out.push_str(&format!("peildatum,{line}")),
                (_, 0) => {}
                _ => out.push_str(&format!("{},{line}", stand.peildatum)),
            }
        }
    }
    Ok(csv(
        &format!("tijdreeks-{}-{}", k.gemeente, k.peildatum),
        out,
    ))
}

/// The worklists' query.
#[derive(serde::Deserialize, Default)]
pub struct Werkparameters {
    gemeente: Option<String>,
    #[serde(rename = "binnenDagen")]
    binnen_dagen: Option<String>,
    /// One list of the CSV (`teLaat`, `binnenkort`, `signalen`); all
    /// without.
    lijst: Option<String>,
}

/// The worklists of the chosen municipality as of today.
async fn lijsten(
    state: &AppState,
    caller: &Principal,
    p: &Werkparameters,
    sink: &AuditSink,
) -> Result<(Keuze, u32, reports::Werklijsten), ApiError> {
    let k = keuze(
        caller,
        &Keuzeparameters {
            gemeente: p.gemeente.clone(),
            ..Keuzeparameters::default()
        },
        sink,
    )?;
    let dagen = match p.binnen_dagen.as_deref().filter(|d| !d.is_empty()) {
        None => 30,
        Some(n) => n
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=366).contains(n))
            .ok_or_else(|| {
                ApiError::parameter(format!(
                    "binnenDagen must be a number of days 1-366, not {n:?}"
                ))
            })?,
    };
    let (gemeente, peil) = (k.gemeente.clone(), datum_van(&k.peildatum)?);
    let lijsten = compute(state, move |s| {
        reports::werklijsten(s, &gemeente, &peil, dagen)
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
    Ok((k, dagen, lijsten))
}

fn werkrijen(rows: &[reports::Werkregel]) -> Vec<Werkrij> {
    rows.iter()
        .map(|r| Werkrij {
            bsn: r.bsn.clone(),
            team: r.team.clone(),
            medewerker: r.medewerker.clone(),
            meetdatum: r.meetdatum.clone(),
            trede: r.trede,
            gepland: r.geplande_meetdatum.clone(),
            uiterste: r.uiterste_meetdatum.clone(),
            signalen: r.signalen.clone(),
        })
        .collect()
}

/// `GET /dashboard/werklijsten?gemeente=&binnenDagen=`: personal data,
/// role `afnemen`, audited with every BSN shown.
pub async fn werklijsten(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    sessie: Option<Extension<Sessie>>,
    Query(p): Query<Werkparameters>,
) -> Result<Response, ApiError> {
    let (k, dagen, l) = lijsten(&state, &caller, &p, &sink).await?;
    let (te_laat, binnenkort, signalen) = (
        werkrijen(&l.te_laat),
        werkrijen(&l.binnenkort),
        werkrijen(&l.signalen),
    );
    let per: Vec<PerMedewerker> = l
        .per_medewerker
        .iter()
        .map(|m| PerMedewerker {
            team: m.team.clone(),
            medewerker: m.medewerker.clone(),
            te_laat: m.te_laat,
            binnenkort: m.binnenkort,
            signalen: m.signalen,
        })
        .collect();
    let body = pages::werklijsten(&pages::Werklijsten {
        gemeenten: &k.gemeenten,
        gemeente: &k.gemeente,
        peildatum: &k.peildatum,
        dagen,
        te_laat: &te_laat,
        binnenkort: &binnenkort,
        signalen: &signalen,
        per_medewerker: &per,
    });
    let nav = nav(&caller, sessie.as_deref());
    Ok(html(
        StatusCode::OK,
        crate::dashboard::html::page("Werklijsten", &nav, "/dashboard/werklijsten", &body),
    ))
}

/// `GET /dashboard/csv/werklijsten`: the worklists' CSV (as the API's),
/// or one list of it with `lijst=`.
pub async fn csv_werklijsten(
    State(state): State<AppState>,
    Caller(caller): Caller,
    sink: AuditSink,
    Query(p): Query<Werkparameters>,
) -> Result<Response, ApiError> {
    let lijst = match p.lijst.as_deref().filter(|l| !l.is_empty()) {
        None | Some("alle") => None,
        Some(l @ ("teLaat" | "binnenkort" | "signalen")) => Some(l.to_string()),
        Some(l) => {
            return Err(ApiError::parameter(format!(
                "lijst must be teLaat, binnenkort or signalen, not {l:?}"
            )))
        }
    };
    let (k, _, l) = lijsten(&state, &caller, &p, &sink).await?;
    let all = l.csv();
    let body = match &lijst {
        None => all,
        // The first field of each row names its list.
        Some(name) => all
            .split_inclusive("\r\n")
            .enumerate()
            .filter(|(i, line)| *i == 0 || line.starts_with(&format!("{name},")))
            .map(|(_, line)| line)
            .collect(),
    };
    let file = format!(
        "werklijsten-{}-{}{}",
        k.gemeente,
        k.peildatum,
        lijst.map_or(String::new(), |l| format!("-{l}"))
    );
    Ok(csv(&file, body))
}
