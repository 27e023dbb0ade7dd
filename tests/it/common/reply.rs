//! Replies read in full, and the checks of the two error forms: a
//! `Foutbericht` on the message routes, problem+json on the JSON routes.
#![allow(dead_code)]

use reqwest::header::HeaderMap;

/// A reply, read in full.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub async fn of(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends `request` and reads the reply.
    pub async fn send(request: reqwest::RequestBuilder) -> Reply {
        Reply::of(request.send().await.expect("request")).await
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Requires an XML reply that is valid against the published schema,
    /// with the given root.
    pub fn tree(&self, root: &str) -> ladderpost::schema::ValidDocument<'_> {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/xml"),
            "content type {ct:?} of {}",
            self.text()
        );
        let tree = ladderpost::validate_schema(&self.body).unwrap_or_else(|r| {
            panic!("reply is not schema-valid: {:?}\n{}", r.errors, self.text())
        });
        assert_eq!(tree.root().name(), root, "{}", self.text());
        tree
    }
}

/// A `Fout` or `Waarschuwing`.
#[derive(Debug, Clone, PartialEq)]
pub struct Melding {
    pub code: String,
    pub omschrijving: String,
    pub regel: Option<u32>,
    pub kolom: Option<u32>,
    pub pad: Option<String>,
}

pub fn melding(e: ladderpost::schema::Element<'_>) -> Melding {
    Melding {
        code: e.child_value("Code").expect("Code").to_string(),
        omschrijving: e
            .child_value("Omschrijving")
            .expect("Omschrijving")
            .to_string(),
        regel: e.child_value("Regel").map(|v| v.parse().expect("Regel")),
        kolom: e.child_value("Kolom").map(|v| v.parse().expect("Kolom")),
        pad: e.child_value("Pad").map(str::to_string),
    }
}

/// Requires `status` and a schema-valid `Foutbericht` that reports `code`;
/// returns its BerichtId and errors.
pub fn fout(reply: &Reply, status: u16, code: &str) -> (Option<String>, Vec<Melding>) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let tree = reply.tree("Foutbericht");
    let root = tree.root();
    assert!(
        ladderpost::time::Moment::parse(root.child_value("Tijdstip").expect("Tijdstip")).is_some()
    );
    let fouten: Vec<Melding> = root.children_named("Fout").map(melding).collect();
    assert!(
        fouten.iter().any(|f| f.code == code),
        "expected {code} in {fouten:#?}"
    );
    (root.child_value("BerichtId").map(str::to_string), fouten)
}

/// A JSON route's error: `application/problem+json` (RFC 9457) with the
/// status and `code` as its (first) code; returns the document.
pub fn problem(reply: &Reply, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(reply.status, status, "{}", reply.text());
    let ct = reply.header("content-type").unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "{}", reply.text());
    let p: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(p["status"], status, "{p}");
    assert_eq!(p["code"], code, "{p}");
    assert_eq!(p["type"], format!("urn:ladderpost:fout:{code}"), "{p}");
    assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
    let codes: Vec<&str> = p["fouten"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes.first(), Some(&code), "fouten of {p}");
    p
}
