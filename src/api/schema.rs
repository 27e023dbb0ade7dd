//! `/api/v1/schema`: the published XSDs, one per version, as compiled into
//! this build.

use super::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::diagnostics::Code;
use crate::replies::XML;
use crate::schema::versie::NAMESPACE;
use crate::schema::Schemaversie;

/// `GET /api/v1/schema`: the published versions, as JSON.
pub async fn lijst() -> Response {
    let items: Vec<serde_json::Value> = Schemaversie::ALL
        .iter()
        .map(|v| {
            serde_json::json!({
                "versie": v.as_str(),
                "file": v.file(),
                "namespace": NAMESPACE,
                "href": format!("/api/v1/schema/{}", v.as_str()),
                "latest": *v == Schemaversie::LATEST,
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

/// `GET /api/v1/schema/{versie}`: one XSD, by version (`1.0`, `1.1`) or by
/// its file name.
pub async fn bestand(Path(name): Path<String>) -> Result<Response, ApiError> {
    Schemaversie::ALL
        .into_iter()
        .find(|v| v.as_str() == name || v.file() == name)
        .map(|v| (StatusCode::OK, [(header::CONTENT_TYPE, XML)], v.xsd()).into_response())
        .ok_or_else(|| {
            let known: Vec<&str> = Schemaversie::ALL.iter().map(|v| v.as_str()).collect();
            ApiError::new(
                StatusCode::NOT_FOUND,
                Code::HttpNotFound,
                format!("no schema {name}; published: {}", known.join(", ")),
            )
        })
}
