//! The API's one error type. Every error a client sees is a `Foutbericht`
//! with stable codes; the HTTP status follows from the layer that refused.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::replies;
use crate::report::{Code, Layer, Melding};
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
                    "the store cannot take this message now; nothing was stored, try again",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = replies::foutbericht(self.bericht_id.as_deref(), &self.errors);
        (self.status, [(header::CONTENT_TYPE, super::XML)], body).into_response()
    }
}
