//! The API's one error type, with stable codes; the HTTP status follows
//! from the layer that refused. The message routes (berichten, clienten,
//! feed) answer it as a `Foutbericht`; the JSON routes (subscriptions,
//! beheer, schema list, health) as `application/problem+json` (RFC 9457,
//! as the Dutch API Design Rules ask): [`json_route`], [`as_problem`].

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::diagnostics::{Code, Layer, Melding};
use crate::replies;
use crate::store::StoreError;
use crate::validate::Rejection;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub bericht_id: Option<String>,
    pub errors: Vec<Melding>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            bericht_id: None,
            errors: vec![Melding::new(code, message)],
        }
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::OpslagOnbeschikbaar,
            message,
        )
    }

    pub fn parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Code::HttpParameter, message)
    }

    /// A message the pipeline refused: 400 when it is not valid XML or not
    /// schema-valid, 422 when it breaks a domain rule.
    pub fn rejected(rejection: Rejection, bericht_id: Option<String>) -> ApiError {
        let status = match rejection.layer() {
            Layer::Http | Layer::Xml | Layer::Schema => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let status = if rejection.errors.iter().any(|e| e.code == Code::XmlTooLarge) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            status
        };
        ApiError {
            status,
            bericht_id,
            errors: rejection.errors,
        }
    }

    pub fn with_id(mut self, id: Option<String>) -> ApiError {
        self.bericht_id = id;
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Rejected(m) => ApiError {
                status: match m.code {
                    Code::BerichtConflict => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                },
                bericht_id: None,
                errors: vec![m],
            },
            StoreError::Unavailable(why) => {
                tracing::error!(error = %why, "store unavailable");
                ApiError::unavailable(
                    "the store cannot take writes now; the message may or may not have been stored: send the same bytes again later",
                )
            }
        }
    }
}

/// What an error response said, kept on it (as an extension) so that a
/// JSON route can answer the same error as problem+json.
#[derive(Debug, Clone)]
struct Problem {
    errors: Vec<Melding>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = replies::foutbericht(self.bericht_id.as_deref(), &self.errors);
        let mut response =
            (self.status, [(header::CONTENT_TYPE, replies::XML)], body).into_response();
        response.extensions_mut().insert(Problem {
            errors: self.errors,
        });
        response
    }
}

/// What an error response said (none: the response is no error of ours),
/// for a page that shows it in its own form (the dashboard's HTML).
pub fn errors_of(response: &Response) -> Option<&[Melding]> {
    response
        .extensions()
        .get::<Problem>()
        .map(|p| p.errors.as_slice())
}

/// Whether a request path belongs to a route that speaks JSON.
pub fn json_route(path: &str) -> bool {
    [
        "/api/v1/abonnementen",
        "/api/v1/beheer",
        "/api/v1/schema",
        "/api/v1/rapportages",
        "/api/v1/werklijsten",
    ]
    .iter()
    .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
        || path == "/health"
}

/// An error response as `application/problem+json`; any other response
/// unchanged. Headers such as `WWW-Authenticate` and `Retry-After` stay.
pub fn as_problem(response: Response) -> Response {
    let Some(problem) = response.extensions().get::<Problem>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let status = parts.status;
    let first = problem.errors.first();
    let body = serde_json::json!({
        "type": format!("urn:ladderpost:fout:{}", first.map_or("", |m| m.code.as_str())),
        "title": status.canonical_reason().unwrap_or(""),
        "status": status.as_u16(),
        "detail": first.map_or("", |m| m.message.as_str()),
        "code": first.map(|m| m.code.as_str()),
        "fouten": problem
            .errors
            .iter()
            .map(|m| serde_json::json!({"code": m.code.as_str(), "omschrijving": m.message}))
            .collect::<Vec<_>>(),
    });
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}
