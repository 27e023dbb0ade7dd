//! `/api/v1/schema`: the published XSDs, as compiled into this build.

use super::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::diagnostics::Code;
use crate::replies::XML;

/// The published schema files: (file name, target namespace, text).
pub const SCHEMAS: &[(&str, &str, &str)] = &[(
    "participatieladder-v1.xsd",
    "urn:ladderpost:participatieladder:v1",
    include_str!("../../schemas/participatieladder-v1.xsd"),
)];

/// `GET /api/v1/schema`: the list, as JSON.
pub async fn lijst() -> Response {
    let items: Vec<serde_json::Value> = SCHEMAS
        .iter()
        .map(|(file, ns, _)| {
            serde_json::json!({
                "file": file,
                "namespace": ns,
                "href": format!("/api/v1/schema/{file}"),
            })
        })
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "schemas": items }).to_string(),
    )
        .into_response()
}

/// `GET /api/v1/schema/{file}`: one XSD.
pub async fn bestand(Path(file): Path<String>) -> Result<Response, ApiError> {
    SCHEMAS
        .iter()
        .find(|(f, _, _)| *f == file)
        .map(|(_, _, text)| (StatusCode::OK, [(header::CONTENT_TYPE, XML)], *text).into_response())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                Code::HttpNotFound,
                format!("no schema {file}"),
            )
        })
}
