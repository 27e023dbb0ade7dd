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
use axum::extract::{Form, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::auth::{Principal, Rol};
use crate::dashboard::html::Nav;
use crate::dashboard::pages;
use crate::dashboard::session::{self, same_origin, same_secret};

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
        return super::ApiError::unavailable("no randomness for a login form").into_response();
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
        Err(e) => return super::ApiError::from(e).into_response(),
    };
    if !principal.heeft(Rol::Rapporteren) && !principal.heeft(Rol::Afnemen) {
        return login_form(
            StatusCode::FORBIDDEN,
            Some("Dit token heeft niet de rol rapporteren of afnemen; vraag uw beheerder om een token met een van die rollen."),
        );
    }
    let opened = match state.sessions.open(token) {
        Ok(o) => o,
        Err(e) => return super::ApiError::unavailable(e.to_string()).into_response(),
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
        return super::guard::no_access(
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
