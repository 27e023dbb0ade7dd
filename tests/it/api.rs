//! The HTTP API of the real `ladderpost serve`, through a real HTTP client:
//! ingest, rejection codes, idempotency, corrections and withdrawals, the
//! bitemporal history, schema endpoints, health and metrics, restarts and
//! the privacy of the log. Every test runs its own server on its own data
//! directory.

use super::common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::messages::{bsn, root_element, Bericht};
use common::reply::{fout, melding, problem, Melding, Reply};
use common::server::Server;

const BERICHTEN: &str = "/api/v1/berichten";
const VALIDEER: &str = "/api/v1/berichten/_valideer";
const XML: &str = "application/xml";

// ---------------------------------------------------------------------------
// Test harness: requests, replies and their parsed forms
// ---------------------------------------------------------------------------

/// A running server with its data directory and an HTTP client.
struct Api {
    server: Server,
    client: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

impl Api {
    fn start() -> Api {
        Api::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Api {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Server::start_with(&dir.path().join("data"), extra);
        Api {
            client: server.client(),
            server,
            _dir: Some(dir),
        }
    }

    async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let mut request = self.client.post(self.server.url(path)).body(body.into());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        Reply::of(request.send().await.expect("POST")).await
    }

    /// POST /api/v1/berichten with Content-Type application/xml.
    async fn send(&self, bericht: &Bericht) -> Reply {
        self.post(BERICHTEN, Some(XML), bericht.bytes()).await
    }

    /// Sends and requires 201: the acknowledgement.
    async fn accept(&self, bericht: &Bericht) -> Ack {
        ack(&self.send(bericht).await, 201)
    }

    async fn get(&self, path: &str) -> Reply {
        Reply::of(
            self.client
                .get(self.server.url(path))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// The client's history (200, schema-valid Meetgeschiedenis).
    async fn history(&self, bsn: &str, query: &str) -> Geschiedenis {
        let reply = self
            .get(&format!("/api/v1/clienten/{bsn}/metingen{query}"))
            .await;
        geschiedenis(&reply, bsn)
    }

    /// The "messages" count of GET /health.
    async fn stored(&self) -> u64 {
        let reply = self.get("/health").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("health JSON");
        json["messages"].as_u64().expect("messages count")
    }
}

/// An `Ontvangstbevestiging`.
#[derive(Debug, Clone, PartialEq)]
struct Ack {
    id: String,
    volgnummer: u64,
    ontvangen: String,
    herhaling: bool,
    waarschuwingen: Vec<Melding>,
    location: Option<String>,
}

/// Requires `status` and a schema-valid `Ontvangstbevestiging`.
fn ack(reply: &Reply, status: u16) -> Ack {
    assert_eq!(reply.status, status, "{}", reply.text());
    let tree = reply.tree("Ontvangstbevestiging");
    let root = tree.root();
    let ontvangen = root
        .child_value("Ontvangen")
        .expect("Ontvangen")
        .to_string();
    assert!(
        ladderpost::time::Moment::parse(&ontvangen).is_some(),
        "Ontvangen {ontvangen:?} is a zoned date-time"
    );
    Ack {
        id: root
            .child_value("BerichtId")
            .expect("BerichtId")
            .to_string(),
        volgnummer: root
            .child_value("Volgnummer")
            .expect("Volgnummer")
            .parse()
            .expect("a number"),
        ontvangen,
        herhaling: match root.child_value("Herhaling") {
            None => false,
            Some("true" | "1") => true,
            Some(_) => false,
        },
        waarschuwingen: root.children_named("Waarschuwing").map(melding).collect(),
        location: reply.header("location"),
    }
}

/// One `Metingversie`.
#[derive(Debug, Clone, PartialEq)]
struct Versie {
    volgnummer: u64,
    ontvangen: String,
    status: String,
    vervallen_door: Option<String>,
    /// Root name of the embedded message: Meting or Correctie.
    soort: String,
    id: String,
    meetdatum: String,
    trede: String,
    /// The embedded message element, as it stands in the reply.
    raw: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Geschiedenis {
    peilmoment: Option<String>,
    versies: Vec<Versie>,
    text: String,
}

impl Geschiedenis {
    fn ids(&self) -> Vec<&str> {
        self.versies.iter().map(|v| v.id.as_str()).collect()
    }

    fn statuses(&self) -> Vec<(&str, &str, Option<&str>)> {
        self.versies
            .iter()
            .map(|v| {
                (
                    v.id.as_str(),
                    v.status.as_str(),
                    v.vervallen_door.as_deref(),
                )
            })
            .collect()
    }
}

/// Requires 200 and a schema-valid `Meetgeschiedenis` for `bsn`.
fn geschiedenis(reply: &Reply, bsn: &str) -> Geschiedenis {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let tree = reply.tree("Meetgeschiedenis");
    let root = tree.root();
    assert_eq!(root.child_value("Bsn"), Some(bsn));
    let versies = root
        .children_named("Metingversie")
        .map(|v| {
            let message = v
                .children()
                .find(|c| c.name() == "Meting" || c.name() == "Correctie")
                .expect("an embedded Meting or Correctie");
            Versie {
                volgnummer: v.child_value("Volgnummer").unwrap().parse().unwrap(),
                ontvangen: v.child_value("Ontvangen").unwrap().to_string(),
                status: v.child_value("Status").unwrap().to_string(),
                vervallen_door: v.child_value("VervallenDoor").map(str::to_string),
                soort: message.name().to_string(),
                id: message
                    .child("Envelop")
                    .and_then(|e| e.child_value("BerichtId"))
                    .unwrap()
                    .to_string(),
                meetdatum: message
                    .child("Werkproces")
                    .and_then(|w| w.child_value("Meetdatum"))
                    .unwrap()
                    .to_string(),
                trede: message
                    .child("Plaatsing")
                    .and_then(|p| p.child_value("Trede"))
                    .unwrap()
                    .to_string(),
                raw: message.raw().to_string(),
            }
        })
        .collect();
    Geschiedenis {
        peilmoment: root.child_value("Peilmoment").map(str::to_string),
        versies,
        text: reply.text(),
    }
}

/// 1-based line and column (in characters) of the first `needle` in `text`.
fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let at = text.find(needle).expect("needle in text");
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..at].chars().count() as u32 + 1;
    (line, column)
}

/// Percent-encodes a query value (`+` and `:` included).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(common::root().join("fixtures").join(dir).join(name)).expect("fixture")
}

/// A raw HTTP/1.1 exchange over TCP (for chunked bodies); returns the
/// status and the whole response text.
fn raw_http(base: &str, request: Vec<Vec<u8>>) -> (u16, String) {
    let addr = base.strip_prefix("http://").expect("http base");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    for part in request {
        // The server may answer (and stop reading) before the body ends.
        if stream.write_all(&part).is_err() {
            break;
        }
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

fn chunked_post(token: &str, path: &str, body: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut parts = vec![format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()];
    for piece in body.chunks(chunk) {
        let mut p = format!("{:x}\r\n", piece.len()).into_bytes();
        p.extend_from_slice(piece);
        p.extend_from_slice(b"\r\n");
        parts.push(p);
    }
    parts.push(b"0\r\n\r\n".to_vec());
    parts
}

/// A Meting padded with a Toelichting to exactly `size` bytes.
fn meting_of_size(id: &str, size: usize) -> Vec<u8> {
    let base = Bericht::meting(id, "0363", &bsn(0), "2024-03-08", 3).toelichting("x");
    let len = base.bytes().len();
    assert!(size >= len, "{size} is below the minimum {len}");
    let padded = base.toelichting(&"x".repeat(size - len + 1)).bytes();
    assert_eq!(padded.len(), size);
    padded
}

// ---------------------------------------------------------------------------
// 1. Accepting messages
// ---------------------------------------------------------------------------

#[tokio::test]
async fn valid_meting_is_acknowledged_with_201_and_location() {
    let api = Api::start();
    let bericht =
        Bericht::meting("TST-0363-0001", "0363", &bsn(0), "2024-03-08", 3).subgroepen(&[3]);
    let reply = api.send(&bericht).await;
    let a = ack(&reply, 201);
    assert_eq!(a.id, "TST-0363-0001");
    assert_eq!(a.volgnummer, 1);
    assert!(!a.herhaling, "a first acceptance is no repeat");
    assert!(
        !reply.text().contains("Herhaling"),
        "Herhaling is left out on a first acceptance: {}",
        reply.text()
    );
    assert!(a.waarschuwingen.is_empty(), "{:?}", a.waarschuwingen);
    assert_eq!(
        a.location.as_deref(),
        Some("/api/v1/berichten/TST-0363-0001")
    );
    // Ontvangen is the service's clock, recent.
    let ontvangen = ladderpost::time::Moment::parse(&a.ontvangen).unwrap();
    let now = ladderpost::time::Moment::now();
    assert!((now.0 - ontvangen.0).abs() < 120_000_000, "{}", a.ontvangen);

    // The next message gets the next number.
    let b = api
        .accept(&Bericht::meting(
            "TST-0363-0002",
            "0363",
            &bsn(1),
            "2024-03-09",
            2,
        ))
        .await;
    assert_eq!(b.volgnummer, 2);
    assert!(b.ontvangen > a.ontvangen || b.volgnummer > a.volgnummer);
    assert!(
        ladderpost::time::Moment::parse(&b.ontvangen).unwrap() > ontvangen,
        "received-at times increase"
    );
    assert_eq!(api.stored().await, 2);
}

#[tokio::test]
async fn fixture_warnings_are_reported_as_waarschuwing() {
    let api = Api::start();
    let rows = common::manifest("fixtures/valid/WARNINGS.tsv");
    assert!(!rows.is_empty());
    for row in rows {
        let (file, codes) = (&row[0], &row[1]);
        let want: BTreeSet<String> = codes.split(',').map(|c| c.trim().to_string()).collect();
        let reply = api.post(BERICHTEN, Some(XML), fixture("valid", file)).await;
        let a = ack(&reply, 201);
        let got: BTreeSet<String> = a.waarschuwingen.iter().map(|w| w.code.clone()).collect();
        assert_eq!(got, want, "warnings of {file}");
        for w in &a.waarschuwingen {
            assert!(w.regel.is_some() && w.kolom.is_some(), "{file}: {w:?}");
            // A missing item is reported at the message itself.
            assert!(
                w.pad
                    .as_deref()
                    .is_some_and(|p| p == "/Meting" || p.starts_with("/Meting/")),
                "{file}: {w:?}"
            );
            assert!(!w.omschrijving.is_empty());
        }
    }
}

#[tokio::test]
async fn every_valid_fixture_is_accepted_in_reference_order() {
    let api = Api::start();
    let files: Vec<String> = common::fixtures("valid")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let with_prefix = |prefix: &str| -> Vec<String> {
        files
            .iter()
            .filter(|f| f.starts_with(prefix))
            .cloned()
            .collect()
    };
    let mut volgnummer = 0;
    for file in with_prefix("meting-")
        .into_iter()
        .chain(with_prefix("correctie-"))
    {
        let a = ack(
            &api.post(BERICHTEN, Some(XML), fixture("valid", &file))
                .await,
            201,
        );
        volgnummer += 1;
        assert_eq!(a.volgnummer, volgnummer, "{file}");
    }
    // The 0599 withdrawal names the 0599 Meting; the 0534 one names a
    // message that was never sent.
    let a = ack(
        &api.post(
            BERICHTEN,
            Some(XML),
            fixture("valid", "intrekking-0599-verkeerde-client.xml"),
        )
        .await,
        201,
    );
    assert_eq!(a.id, "5d0a9f3e-7c21-4b8a-a6f4-0e1c2d3b4a59");
    let reply = api
        .post(
            BERICHTEN,
            Some(XML),
            fixture("valid", "intrekking-0534-isd-dubbel-ingevoerd.xml"),
        )
        .await;
    fout(&reply, 422, "referentie.onbekend");
    // Replies of ladderpost cannot be sent in.
    for file in with_prefix("foutbericht-")
        .into_iter()
        .chain(with_prefix("ontvangstbevestiging-"))
    {
        let reply = api
            .post(BERICHTEN, Some(XML), fixture("valid", &file))
            .await;
        fout(&reply, 422, "bericht.soort");
    }
    assert_eq!(api.stored().await, volgnummer + 1);
}

// ---------------------------------------------------------------------------
// 2. Rejections
// ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_xml_is_rejected_with_400_and_position() {
    let api = Api::start();
    let xml = Bericht::meting("TST-MAL-1", "0363", &bsn(0), "2024-03-08", 3)
        .xml()
        .replace("</Achternaam>", "</Achternaamm>");
    let reply = api.post(BERICHTEN, Some(XML), xml.clone()).await;
    let (id, fouten) = fout(&reply, 400, "xml.malformed");
    assert_eq!(id, None, "no id is read from a malformed message");
    let f = fouten.iter().find(|f| f.code == "xml.malformed").unwrap();
    let (line, _) = position_of(&xml, "</Achternaamm>");
    assert_eq!(f.regel, Some(line), "{f:?}");
    assert!(f.kolom.is_some_and(|k| k >= 1), "{f:?}");
    assert_eq!(f.pad, None, "xml.* errors have no path: {f:?}");

    // Not XML at all.
    let reply = api.post(BERICHTEN, Some(XML), "dit is geen xml").await;
    fout(&reply, 400, "xml.malformed");
    // An empty body.
    let reply = api.post(BERICHTEN, Some(XML), Vec::new()).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    reply.tree("Foutbericht");
    assert_eq!(api.stored().await, 0);
}

#[tokio::test]
async fn schema_invalid_message_is_rejected_with_code_line_column_and_path() {
    let api = Api::start();
    let xml = Bericht::meting("TST-XSD-1", "0363", &bsn(0), "2024-03-08", 3)
        .trede("7")
        .xml();
    let reply = api.post(BERICHTEN, Some(XML), xml.clone()).await;
    let (_, fouten) = fout(&reply, 400, "xsd.enumeration");
    let f = &fouten[0];
    assert_eq!(f.code, "xsd.enumeration");
    let (line, column) = position_of(&xml, "<Trede>");
    assert_eq!((f.regel, f.kolom), (Some(line), Some(column)), "{f:?}");
    assert_eq!(f.pad.as_deref(), Some("/Meting/Plaatsing/Trede"));

    // A BSN of 8 digits: xsd.pattern at /Meting/Client/Bsn.
    let xml = Bericht::meting("TST-XSD-2", "0363", "12345678", "2024-03-08", 3).xml();
    let reply = api.post(BERICHTEN, Some(XML), xml.clone()).await;
    let (_, fouten) = fout(&reply, 400, "xsd.pattern");
    let (line, column) = position_of(&xml, "<Bsn>");
    assert_eq!(fouten[0].regel, Some(line));
    assert_eq!(fouten[0].kolom, Some(column));
    assert_eq!(fouten[0].pad.as_deref(), Some("/Meting/Client/Bsn"));
    assert_eq!(api.stored().await, 0);
}

#[tokio::test]
async fn every_invalid_fixture_is_rejected_with_its_code_and_status() {
    let api = Api::start();
    let rows = common::manifest("fixtures/invalid/EXPECTED.tsv");
    assert!(rows.len() >= 40);
    let mut failures = Vec::new();
    for row in &rows {
        let (file, code) = (&row[0], &row[1]);
        let status = if code.starts_with("regel.") { 422 } else { 400 };
        let reply = api
            .post(BERICHTEN, Some(XML), fixture("invalid", file))
            .await;
        if reply.status != status {
            failures.push(format!("{file}: status {} not {status}", reply.status));
            continue;
        }
        match ladderpost::validate_schema(&reply.body) {
            Ok(tree) if tree.root().name() == "Foutbericht" => {
                let codes: Vec<&str> = tree
                    .root()
                    .children_named("Fout")
                    .filter_map(|f| f.child_value("Code"))
                    .collect();
                if !codes.contains(&code.as_str()) {
                    failures.push(format!("{file}: codes {codes:?}, not {code}"));
                }
            }
            Ok(tree) => failures.push(format!("{file}: root {}", tree.root().name())),
            Err(r) => failures.push(format!(
                "{file}: Foutbericht is not schema-valid: {:?}",
                r.errors
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(api.stored().await, 0);
}

#[tokio::test]
async fn domain_rule_violation_is_rejected_with_422() {
    let api = Api::start();
    // A BSN failing the 11-check.
    assert!(!common::messages::elfproef("123456789"));
    let xml = Bericht::meting("TST-REGEL-1", "0363", "123456789", "2024-03-08", 3).xml();
    let reply = api.post(BERICHTEN, Some(XML), xml.clone()).await;
    let (id, fouten) = fout(&reply, 422, "regel.bsn-elfproef");
    assert_eq!(
        id.as_deref(),
        Some("TST-REGEL-1"),
        "domain errors name the message"
    );
    assert_eq!(fouten[0].pad.as_deref(), Some("/Meting/Client/Bsn"));
    assert_eq!(fouten[0].regel, Some(position_of(&xml, "<Bsn>").0));
    assert!(
        !fouten[0].omschrijving.contains("123456789"),
        "the elfproef message does not quote the number"
    );

    // A measurement after the day it was sent.
    let reply = api
        .send(&Bericht::meting(
            "TST-REGEL-2",
            "0363",
            &bsn(0),
            "2025-06-03",
            3,
        ))
        .await;
    fout(&reply, 422, "regel.meetdatum-toekomst");

    // Born after the measurement.
    let reply = api
        .send(
            &Bericht::meting("TST-REGEL-3", "0363", &bsn(0), "2024-03-08", 3)
                .geboortedatum("2024-03-09"),
        )
        .await;
    fout(&reply, 422, "regel.geboortedatum");

    // A Correctie naming itself.
    let reply = api
        .send(&Bericht::correctie(
            "TST-REGEL-4",
            "TST-REGEL-4",
            "0363",
            &bsn(0),
            "2024-03-08",
            3,
        ))
        .await;
    fout(&reply, 422, "regel.referentie");
    assert_eq!(api.stored().await, 0);
}

#[tokio::test]
async fn foutbericht_stays_schema_valid_for_a_very_long_offending_value() {
    // The reply's Omschrijving is a Tekst4000: an error about a 5,000
    // character value must not quote all of it.
    let api = Api::start();
    let long = "7".repeat(5000);
    let reply = api
        .send(&Bericht::meting("TST-LANG-1", "0363", &bsn(0), "2024-03-08", 3).trede(&long))
        .await;
    fout(&reply, 400, "xsd.enumeration");
    let xml = Bericht::meting("TST-LANG-2", "0363", &bsn(0), "2024-03-08", 3)
        .xml()
        .replace("<Meetdatum>2024-03-08<", &format!("<Meetdatum>{long}<"));
    let reply = api.post(BERICHTEN, Some(XML), xml).await;
    fout(&reply, 400, "xsd.datatype");
}

#[tokio::test]
async fn oversize_body_is_rejected_with_413() {
    let api = Api::start_with(&["--max-body", "2000"]);
    // At the limit: accepted.
    let at_limit = meting_of_size("TST-GROOT-1", 2000);
    let a = ack(&api.post(BERICHTEN, Some(XML), at_limit).await, 201);
    assert_eq!(a.id, "TST-GROOT-1");
    // One byte beyond (Content-Length known).
    let reply = api
        .post(BERICHTEN, Some(XML), meting_of_size("TST-GROOT-2", 2001))
        .await;
    fout(&reply, 413, "xml.too-large");
    // Far beyond.
    let reply = api
        .post(BERICHTEN, Some(XML), meting_of_size("TST-GROOT-3", 20_000))
        .await;
    fout(&reply, 413, "xml.too-large");
    // The trial validation has the same limit.
    let reply = api
        .post(VALIDEER, Some(XML), meting_of_size("TST-GROOT-4", 5000))
        .await;
    fout(&reply, 413, "xml.too-large");

    // Chunked transfer: no length announced.
    let base = api.server.base.clone();
    let token = api.server.token.clone();
    let small = meting_of_size("TST-GROOT-5", 1500);
    let big = meting_of_size("TST-GROOT-6", 6000);
    let (small_status, small_text) = tokio::task::spawn_blocking({
        let (base, token) = (base.clone(), token.clone());
        move || raw_http(&base, chunked_post(&token, BERICHTEN, &small, 400))
    })
    .await
    .unwrap();
    assert_eq!(small_status, 201, "{small_text}");
    assert!(small_text.contains("<BerichtId>TST-GROOT-5</BerichtId>"));
    let (big_status, big_text) = tokio::task::spawn_blocking(move || {
        raw_http(&base, chunked_post(&token, BERICHTEN, &big, 500))
    })
    .await
    .unwrap();
    assert_eq!(big_status, 413, "{big_text}");
    assert!(
        big_text.contains("<Code>xml.too-large</Code>"),
        "{big_text}"
    );

    assert_eq!(api.stored().await, 2);
    assert_eq!(api.get("/api/v1/berichten/TST-GROOT-6").await.status, 404);
}

#[tokio::test]
async fn wrong_content_type_is_rejected_with_415() {
    let api = Api::start();
    let body = Bericht::meting("TST-CT-1", "0363", &bsn(0), "2024-03-08", 3).bytes();
    for ct in [
        Some("text/plain"),
        Some("application/json"),
        Some("application/xml-dtd"),
        None,
    ] {
        let reply = api.post(BERICHTEN, ct, body.clone()).await;
        fout(&reply, 415, "http.content-type");
        let reply = api.post(VALIDEER, ct, body.clone()).await;
        fout(&reply, 415, "http.content-type");
    }
    assert_eq!(api.stored().await, 0);
}

#[tokio::test]
async fn text_xml_and_charset_parameter_are_accepted() {
    let api = Api::start();
    let a = ack(
        &api.post(
            BERICHTEN,
            Some("text/xml"),
            Bericht::meting("TST-CT-2", "0363", &bsn(0), "2024-03-08", 3).bytes(),
        )
        .await,
        201,
    );
    assert_eq!(a.id, "TST-CT-2");
    let a = ack(
        &api.post(
            BERICHTEN,
            Some("Application/XML; charset=UTF-8"),
            Bericht::meting("TST-CT-3", "0363", &bsn(0), "2024-04-08", 3).bytes(),
        )
        .await,
        201,
    );
    assert_eq!(a.id, "TST-CT-3");
    assert_eq!(api.stored().await, 2);
}

// ---------------------------------------------------------------------------
// 3. Idempotency
// ---------------------------------------------------------------------------

#[tokio::test]
async fn repeat_with_same_content_returns_original_ack() {
    let api = Api::start();
    // Trede 5 without instrument: the acknowledgement carries a warning.
    let bericht = Bericht::meting("TST-HERH-1", "0363", &bsn(0), "2024-03-08", 5)
        .instrument(Some(false), Some(false))
        .subgroepen(&[3]);
    let first = ack(&api.send(&bericht).await, 201);
    assert_eq!(first.waarschuwingen.len(), 1);
    assert_eq!(
        first.waarschuwingen[0].code,
        "signaal.trede-5-zonder-instrument"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reply = api.send(&bericht).await;
    assert!(
        reply.text().contains("<Herhaling>true</Herhaling>"),
        "{}",
        reply.text()
    );
    let again = ack(&reply, 200);
    assert!(again.herhaling);
    assert_eq!(again.id, first.id);
    assert_eq!(again.volgnummer, first.volgnummer);
    assert_eq!(again.ontvangen, first.ontvangen);
    assert_eq!(again.waarschuwingen, first.waarschuwingen);
    assert_eq!(again.location, first.location);
    // Nothing new stored.
    assert_eq!(api.stored().await, 1);
    let h = api.history(&bsn(0), "?inclusiefVervallen=true").await;
    assert_eq!(h.ids(), vec!["TST-HERH-1"]);
    // And the next new message gets the next number, not one further.
    let next = api
        .accept(&Bericht::meting(
            "TST-HERH-2",
            "0363",
            &bsn(0),
            "2024-04-08",
            3,
        ))
        .await;
    assert_eq!(next.volgnummer, first.volgnummer + 1);
}

#[tokio::test]
async fn same_id_with_different_content_is_a_conflict() {
    let api = Api::start();
    let original = Bericht::meting("TST-CONF-1", "0363", &bsn(0), "2024-03-08", 3);
    ack(&api.send(&original).await, 201);
    // Different content under the same id: a different rung.
    let changed = Bericht::meting("TST-CONF-1", "0363", &bsn(0), "2024-03-08", 4);
    let (id, _) = fout(&api.send(&changed).await, 409, "bericht.conflict");
    assert_eq!(id.as_deref(), Some("TST-CONF-1"));
    // Even one byte of whitespace differs.
    let mut spaced = original.bytes();
    spaced.push(b'\n');
    fout(
        &api.post(BERICHTEN, Some(XML), spaced).await,
        409,
        "bericht.conflict",
    );
    // What is stored is still the original.
    assert_eq!(api.stored().await, 1);
    let stored = api.get("/api/v1/berichten/TST-CONF-1").await;
    assert_eq!(stored.body, original.bytes());
    let h = api.history(&bsn(0), "").await;
    assert_eq!(h.versies.len(), 1);
    assert_eq!(h.versies[0].trede, "3");
}

#[tokio::test]
async fn concurrent_identical_posts_store_one_message() {
    let api = Api::start();
    let body = Bericht::meting("TST-PAR-1", "0363", &bsn(0), "2024-03-08", 3).bytes();
    let url = api.server.url(BERICHTEN);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = api.client.clone();
        let url = url.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("content-type", XML)
                .body(body)
                .send()
                .await
                .expect("POST");
            Reply::of(response).await
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        let status = reply.status;
        acks.push((status, ack(&reply, status)));
    }
    let created = acks.iter().filter(|(s, _)| *s == 201).count();
    let repeated = acks.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!((created, repeated), (1, 19), "{acks:#?}");
    let first = &acks.iter().find(|(s, _)| *s == 201).unwrap().1;
    assert!(!first.herhaling);
    for (status, a) in &acks {
        assert_eq!(a.volgnummer, first.volgnummer);
        assert_eq!(a.ontvangen, first.ontvangen);
        assert_eq!(a.herhaling, *status == 200);
    }
    assert_eq!(api.stored().await, 1);
    assert_eq!(api.history(&bsn(0), "").await.ids(), vec!["TST-PAR-1"]);
}

#[tokio::test]
async fn concurrent_conflicting_posts_store_exactly_one_version() {
    let api = Api::start();
    let mut tasks = Vec::new();
    for trede in 1..=5u8 {
        let client = api.client.clone();
        let url = api.server.url(BERICHTEN);
        let body = Bericht::meting("TST-PAR-2", "0363", &bsn(0), "2024-03-08", trede).bytes();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", XML)
                .body(body)
                .send()
                .await
                .expect("POST");
            Reply::of(r).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.status == 409 {
            fout(&reply, 409, "bericht.conflict");
        }
        statuses.push(reply.status);
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409]);
    assert_eq!(api.stored().await, 1);
}

// ---------------------------------------------------------------------------
// 4. Trial validation
// ---------------------------------------------------------------------------

#[tokio::test]
async fn trial_validation_reports_kind_and_warnings_without_storing() {
    let api = Api::start();
    let cases = [
        (
            Bericht::meting("TST-VAL-1", "0363", &bsn(0), "2024-03-08", 5)
                .instrument(Some(false), Some(false))
                .subgroepen(&[3]),
            "Meting",
            vec!["signaal.trede-5-zonder-instrument"],
        ),
        (
            Bericht::meting("TST-VAL-2", "0363", &bsn(0), "2024-03-08", 3).subgroepen(&[3]),
            "Meting",
            vec![],
        ),
        (
            Bericht::correctie("TST-VAL-3", "TST-VAL-2", "0363", &bsn(0), "2024-03-08", 5)
                .instrument(Some(false), Some(false))
                .subgroepen(&[3]),
            "Correctie",
            vec!["signaal.trede-5-zonder-instrument"],
        ),
        (
            Bericht::intrekking("TST-VAL-4", "TST-VAL-2", "0363", &bsn(0)),
            "Intrekking",
            vec![],
        ),
    ];
    for (bericht, soort, warnings) in &cases {
        let reply = api.post(VALIDEER, Some(XML), bericht.bytes()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let tree = reply.tree("Validatieresultaat");
        let root = tree.root();
        assert_eq!(root.child_value("BerichtId"), Some(bericht.id.as_str()));
        assert_eq!(root.child_value("Soort"), Some(*soort));
        let got: Vec<Melding> = root.children_named("Waarschuwing").map(melding).collect();
        let codes: Vec<&str> = got.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(&codes, warnings, "{}", reply.text());
        for w in &got {
            assert_eq!(
                w.pad.as_deref(),
                Some(format!("/{soort}/Plaatsing/Trede").as_str())
            );
            assert_eq!(w.regel, Some(position_of(&bericht.xml(), "<Trede>").0));
        }
    }
    // A fixture with two warnings.
    let reply = api
        .post(
            VALIDEER,
            Some(XML),
            fixture("valid", "meting-0518-trede2-traject-zonder-groei.xml"),
        )
        .await;
    assert_eq!(reply.status, 200);
    let tree = reply.tree("Validatieresultaat");
    let codes: BTreeSet<&str> = tree
        .root()
        .children_named("Waarschuwing")
        .filter_map(|w| w.child_value("Code"))
        .collect();
    assert_eq!(
        codes,
        BTreeSet::from([
            "signaal.traject-op-trede-1-of-2",
            "signaal.traject-zonder-groeipotentieel"
        ])
    );
    // Nothing was stored.
    assert_eq!(api.stored().await, 0);
    fout(
        &api.get("/api/v1/berichten/TST-VAL-1").await,
        404,
        "bericht.onbekend",
    );
    assert!(api
        .history(&bsn(0), "?inclusiefVervallen=true")
        .await
        .versies
        .is_empty());
    // A trial-validated message can be sent for real afterwards.
    assert_eq!(api.accept(&cases[0].0).await.volgnummer, 1);
}

/// A Fout's or Waarschuwing's code, line, column and path.
type Placed<'a> = (&'a str, Option<u32>, Option<u32>, Option<&'a str>);

fn placed(meldingen: &[Melding]) -> Vec<Placed<'_>> {
    meldingen
        .iter()
        .map(|m| (m.code.as_str(), m.regel, m.kolom, m.pad.as_deref()))
        .collect()
}

#[tokio::test]
async fn questionnaire_answers_are_checked_against_their_flow() {
    let api = Api::start();
    // 003_* table 3.1: 1 nee → 3 nee → 4 ja is Trede 3.
    let trede_3 = [(1, false), (3, false), (4, true)];
    let consistent = Bericht::meting("TST-VL-1", "0363", &bsn(1), "2024-03-08", 3)
        .subgroepen(&[3])
        .vragenlijst("regioplan-2008", &trede_3);
    assert_eq!(api.accept(&consistent).await.waarschuwingen, []);

    // The same answers with Trede 4: accepted, warned at Trede, in the
    // trial validation and in the acknowledgement alike.
    let contradicted = Bericht::meting("TST-VL-2", "0363", &bsn(2), "2024-03-08", 4)
        .subgroepen(&[3])
        .vragenlijst("regioplan-2008", &trede_3);
    let (line, column) = position_of(&contradicted.xml(), "<Trede>");
    let want = [(
        "signaal.trede-wijkt-af-van-vragenlijst",
        Some(line),
        Some(column),
        Some("/Meting/Plaatsing/Trede"),
    )];
    let reply = api.post(VALIDEER, Some(XML), contradicted.bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let tree = reply.tree("Validatieresultaat");
    let got: Vec<Melding> = tree
        .root()
        .children_named("Waarschuwing")
        .map(melding)
        .collect();
    assert_eq!(placed(&got), want);
    assert!(got[0].omschrijving.contains("Trede 3"), "{got:?}");
    let a = api.accept(&contradicted).await;
    assert_eq!(placed(&a.waarschuwingen), want);

    // An answer to question 2, which 1 nee skips: 422 at that Antwoord.
    let unreachable = Bericht::meting("TST-VL-3", "0363", &bsn(3), "2024-03-08", 3).vragenlijst(
        "regioplan-2008",
        &[(1, false), (2, true), (3, false), (4, true)],
    );
    let (line, column) = position_of(&unreachable.xml(), "<Antwoord><Vraag>2<");
    let (id, fouten) = fout(
        &api.send(&unreachable).await,
        422,
        "regel.vraag-niet-bereikt",
    );
    assert_eq!(id.as_deref(), Some("TST-VL-3"));
    assert_eq!(
        placed(&fouten),
        [(
            "regel.vraag-niet-bereikt",
            Some(line),
            Some(column),
            Some("/Meting/Vragenlijst/Antwoord")
        )]
    );

    // Question 17 of the five-question version; in vng-2011 the same
    // number is a question like any other.
    let unknown = Bericht::meting("TST-VL-4", "0363", &bsn(4), "2024-03-08", 3).vragenlijst(
        "regioplan-2008",
        &[(1, false), (3, false), (4, true), (17, false)],
    );
    let (line, column) = position_of(&unknown.xml(), "<Antwoord><Vraag>17<");
    let (_, fouten) = fout(&api.send(&unknown).await, 422, "regel.vraag-onbekend");
    assert_eq!(
        placed(&fouten),
        [(
            "regel.vraag-onbekend",
            Some(line),
            Some(column),
            Some("/Meting/Vragenlijst/Antwoord")
        )]
    );
    let vng_3 = [
        (1, false),
        (2, false),
        (10, false),
        (11, false),
        (14, false),
        (15, false),
        (16, false),
        (17, true),
        (18, true),
    ];
    let vng = Bericht::meting("TST-VL-5", "0363", &bsn(5), "2024-03-08", 3)
        .subgroepen(&[3])
        .vragenlijst("vng-2011", &vng_3);
    assert_eq!(api.accept(&vng).await.waarschuwingen, []);
    assert_eq!(api.stored().await, 3);
}

#[tokio::test]
async fn trial_validation_rejects_like_the_real_endpoint() {
    let api = Api::start();
    let meting = |id: &str| Bericht::meting(id, "0363", &bsn(0), "2024-03-08", 3);
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            meting("TST-VR-1")
                .xml()
                .replace("</Meting>", "")
                .into_bytes(),
            400,
            "xml.malformed",
        ),
        (
            meting("TST-VR-2").trede("7").bytes(),
            400,
            "xsd.enumeration",
        ),
        (
            Bericht::meting("TST-VR-3", "0363", "12345678", "2024-03-08", 3).bytes(),
            400,
            "xsd.pattern",
        ),
        (
            Bericht::meting("TST-VR-4", "0363", "123456789", "2024-03-08", 3).bytes(),
            422,
            "regel.bsn-elfproef",
        ),
        (
            meting("TST-VR-5").geboortedatum("2030-01-01").bytes(),
            422,
            "regel.geboortedatum",
        ),
        (
            fixture("invalid", "xml-dtd-externe-entiteit.xml"),
            400,
            "xml.dtd",
        ),
        (
            fixture("valid", "ontvangstbevestiging-0363-eenvoudig.xml"),
            422,
            "bericht.soort",
        ),
    ];
    for (body, status, code) in &cases {
        let trial = api.post(VALIDEER, Some(XML), body.clone()).await;
        let real = api.post(BERICHTEN, Some(XML), body.clone()).await;
        let (trial_id, trial_errors) = fout(&trial, *status, code);
        let (real_id, real_errors) = fout(&real, *status, code);
        if *code != "bericht.soort" {
            // (bericht.soort: see trial_validation_names_a_refused_reply_like_the_real_endpoint)
            assert_eq!(trial_id, real_id, "{code}");
        }
        let codes = |v: &[Melding]| v.iter().map(|m| m.code.clone()).collect::<Vec<_>>();
        assert_eq!(codes(&trial_errors), codes(&real_errors), "{code}");
    }
    assert_eq!(api.stored().await, 0);
}

#[tokio::test]
async fn trial_validation_names_a_refused_reply_like_the_real_endpoint() {
    // Both endpoints refuse a reply of ladderpost with bericht.soort; the
    // real one names the refused message in Foutbericht/BerichtId (as it
    // does for every refusal of a schema-valid message), the trial one
    // should too.
    let api = Api::start();
    let body = fixture("valid", "ontvangstbevestiging-0363-eenvoudig.xml");
    let (real_id, _) = fout(
        &api.post(BERICHTEN, Some(XML), body.clone()).await,
        422,
        "bericht.soort",
    );
    let (trial_id, _) = fout(
        &api.post(VALIDEER, Some(XML), body).await,
        422,
        "bericht.soort",
    );
    assert_eq!(real_id.as_deref(), Some("0363-2024-0000417"));
    assert_eq!(trial_id, real_id);
}

// ---------------------------------------------------------------------------
// 5. Corrections and withdrawals
// ---------------------------------------------------------------------------

#[tokio::test]
async fn correction_supersedes_the_original_in_history() {
    let api = Api::start();
    let client = bsn(0);
    let a = api
        .accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    let b = api
        .accept(&Bericht::correctie(
            "TST-B",
            "TST-A",
            "0363",
            &client,
            "2024-03-08",
            4,
        ))
        .await;
    assert_eq!(b.volgnummer, a.volgnummer + 1);

    let current = api.history(&client, "").await;
    assert_eq!(current.peilmoment, None);
    assert_eq!(current.statuses(), vec![("TST-B", "geldig", None)]);
    assert_eq!(current.versies[0].soort, "Correctie");
    assert_eq!(current.versies[0].trede, "4");
    assert_eq!(current.versies[0].volgnummer, b.volgnummer);
    assert_eq!(current.versies[0].ontvangen, b.ontvangen);

    let all = api.history(&client, "?inclusiefVervallen=true").await;
    assert_eq!(
        all.statuses(),
        vec![
            ("TST-A", "vervangen", Some("TST-B")),
            ("TST-B", "geldig", None)
        ]
    );
    assert_eq!(all.versies[0].ontvangen, a.ontvangen);
    // inclusiefVervallen=false is the default.
    assert_eq!(
        api.history(&client, "?inclusiefVervallen=false")
            .await
            .versies,
        current.versies
    );

    // The stored original now says it was replaced.
    let original = api.get("/api/v1/berichten/TST-A").await;
    assert_eq!(
        original.header("ladderpost-status").as_deref(),
        Some("vervangen")
    );
    assert_eq!(
        original.header("ladderpost-vervallen-door").as_deref(),
        Some("TST-B")
    );
    // A correction of the correction is fine: it is the current version.
    let c = api
        .accept(
            &Bericht::correctie("TST-C", "TST-B", "0363", &client, "2024-03-07", 5)
                .instrument(Some(false), Some(false))
                .subgroepen(&[3]),
        )
        .await;
    assert_eq!(
        c.waarschuwingen[0].code,
        "signaal.trede-5-zonder-instrument"
    );
    let all = api.history(&client, "?inclusiefVervallen=true").await;
    // Ordered by measurement date: C moved the measurement a day earlier.
    assert_eq!(
        all.statuses(),
        vec![
            ("TST-C", "geldig", None),
            ("TST-A", "vervangen", Some("TST-B")),
            ("TST-B", "vervangen", Some("TST-C")),
        ]
    );
}

#[tokio::test]
async fn correcting_a_superseded_message_is_refused() {
    let api = Api::start();
    let client = bsn(0);
    api.accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    api.accept(&Bericht::correctie(
        "TST-B",
        "TST-A",
        "0363",
        &client,
        "2024-03-08",
        4,
    ))
    .await;
    let (id, fouten) = fout(
        &api.send(&Bericht::correctie(
            "TST-B2",
            "TST-A",
            "0363",
            &client,
            "2024-03-08",
            2,
        ))
        .await,
        422,
        "referentie.vervallen",
    );
    assert_eq!(id.as_deref(), Some("TST-B2"));
    assert!(fouten[0].omschrijving.contains("TST-B"), "{fouten:?}");
    // Withdrawing the superseded version is refused the same way.
    fout(
        &api.send(&Bericht::intrekking("TST-X", "TST-A", "0363", &client))
            .await,
        422,
        "referentie.vervallen",
    );
    assert_eq!(api.stored().await, 2);
}

#[tokio::test]
async fn correction_of_an_unknown_message_is_refused() {
    let api = Api::start();
    let client = bsn(0);
    api.accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    fout(
        &api.send(&Bericht::correctie(
            "TST-B",
            "TST-ONBEKEND",
            "0363",
            &client,
            "2024-03-08",
            4,
        ))
        .await,
        422,
        "referentie.onbekend",
    );
    fout(
        &api.send(&Bericht::intrekking(
            "TST-X",
            "TST-ONBEKEND",
            "0363",
            &client,
        ))
        .await,
        422,
        "referentie.onbekend",
    );
    assert_eq!(api.stored().await, 1);
}

#[tokio::test]
async fn correction_of_another_municipalitys_message_looks_unknown() {
    let api = Api::start();
    let client = bsn(0);
    api.accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    // Same client, same data, but sent for municipality 0599.
    let foreign = api
        .send(&Bericht::correctie(
            "TST-B",
            "TST-A",
            "0599",
            &client,
            "2024-03-08",
            4,
        ))
        .await;
    let (_, foreign_errors) = fout(&foreign, 422, "referentie.onbekend");
    let unknown = api
        .send(&Bericht::correctie(
            "TST-B",
            "TST-Z",
            "0599",
            &client,
            "2024-03-08",
            4,
        ))
        .await;
    let (_, unknown_errors) = fout(&unknown, 422, "referentie.onbekend");
    // Indistinguishable: the same code and the same text but for the id.
    assert_eq!(foreign_errors.len(), unknown_errors.len());
    assert_eq!(
        foreign_errors[0].omschrijving.replace("TST-A", "TST-Z"),
        unknown_errors[0].omschrijving
    );
    assert_eq!(
        (foreign_errors[0].regel, foreign_errors[0].pad.clone()),
        (unknown_errors[0].regel, unknown_errors[0].pad.clone())
    );
    // A withdrawal from the other municipality too.
    fout(
        &api.send(&Bericht::intrekking("TST-X", "TST-A", "0599", &client))
            .await,
        422,
        "referentie.onbekend",
    );
    // And a different client in the other municipality: still unknown, not
    // "another client".
    fout(
        &api.send(&Bericht::correctie(
            "TST-C",
            "TST-A",
            "0599",
            &bsn(1),
            "2024-03-08",
            4,
        ))
        .await,
        422,
        "referentie.onbekend",
    );
    let h = api.history(&client, "").await;
    assert_eq!(h.statuses(), vec![("TST-A", "geldig", None)]);
}

#[tokio::test]
async fn correction_for_another_client_is_refused() {
    let api = Api::start();
    api.accept(&Bericht::meting("TST-A", "0363", &bsn(0), "2024-03-08", 3))
        .await;
    fout(
        &api.send(&Bericht::correctie(
            "TST-B",
            "TST-A",
            "0363",
            &bsn(1),
            "2024-03-08",
            4,
        ))
        .await,
        422,
        "referentie.andere-client",
    );
    fout(
        &api.send(&Bericht::intrekking("TST-X", "TST-A", "0363", &bsn(1)))
            .await,
        422,
        "referentie.andere-client",
    );
    assert_eq!(api.stored().await, 1);
    assert!(api
        .history(&bsn(1), "?inclusiefVervallen=true")
        .await
        .versies
        .is_empty());
}

#[tokio::test]
async fn withdrawal_removes_the_measurement_from_current_history() {
    let api = Api::start();
    let client = bsn(0);
    api.accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    api.accept(&Bericht::correctie(
        "TST-B",
        "TST-A",
        "0363",
        &client,
        "2024-03-08",
        4,
    ))
    .await;
    let x = api
        .accept(&Bericht::intrekking("TST-X", "TST-B", "0363", &client))
        .await;
    assert_eq!(x.volgnummer, 3);
    assert!(x.waarschuwingen.is_empty());

    let current = api.history(&client, "").await;
    assert!(current.versies.is_empty(), "{}", current.text);
    let all = api.history(&client, "?inclusiefVervallen=true").await;
    assert_eq!(
        all.statuses(),
        vec![
            ("TST-A", "vervangen", Some("TST-B")),
            ("TST-B", "ingetrokken", Some("TST-X")),
        ]
    );
    let b = api.get("/api/v1/berichten/TST-B").await;
    assert_eq!(
        b.header("ladderpost-status").as_deref(),
        Some("ingetrokken")
    );
    assert_eq!(
        b.header("ladderpost-vervallen-door").as_deref(),
        Some("TST-X")
    );
    // Withdrawing it again is refused: it is no longer current.
    fout(
        &api.send(&Bericht::intrekking("TST-X2", "TST-B", "0363", &client))
            .await,
        422,
        "referentie.vervallen",
    );
    // A new measurement for the client is current again.
    api.accept(&Bericht::meting("TST-D", "0363", &client, "2024-04-01", 3))
        .await;
    assert_eq!(api.history(&client, "").await.ids(), vec!["TST-D"]);
}

#[tokio::test]
async fn correcting_or_withdrawing_a_withdrawal_is_refused() {
    let api = Api::start();
    let client = bsn(0);
    api.accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    api.accept(&Bericht::intrekking("TST-X", "TST-A", "0363", &client))
        .await;
    fout(
        &api.send(&Bericht::correctie(
            "TST-B",
            "TST-X",
            "0363",
            &client,
            "2024-03-08",
            4,
        ))
        .await,
        422,
        "referentie.soort",
    );
    fout(
        &api.send(&Bericht::intrekking("TST-Y", "TST-X", "0363", &client))
            .await,
        422,
        "referentie.soort",
    );
    assert_eq!(api.stored().await, 2);
    let x = api.get("/api/v1/berichten/TST-X").await;
    assert_eq!(x.status, 200);
    assert_eq!(x.header("ladderpost-soort").as_deref(), Some("Intrekking"));
}

// ---------------------------------------------------------------------------
// 6. Reads
// ---------------------------------------------------------------------------

#[tokio::test]
async fn history_lists_current_measurements_in_measurement_date_order() {
    let api = Api::start();
    let client = bsn(0);
    let sent = [
        Bericht::meting("TST-M1", "0363", &client, "2024-05-01", 4).achternaam("Jansen"),
        Bericht::meting("TST-M2", "0363", &client, "2023-02-01", 2).achternaam("Jansen"),
        Bericht::meting("TST-M3", "0363", &client, "2024-01-15", 3).achternaam("Jansen"),
    ];
    for b in &sent {
        api.accept(b).await;
    }
    // Another client's measurement does not show.
    api.accept(&Bericht::meting(
        "TST-ANDER",
        "0363",
        &bsn(1),
        "2024-02-01",
        3,
    ))
    .await;
    let h = api.history(&client, "").await;
    assert_eq!(h.ids(), vec!["TST-M2", "TST-M3", "TST-M1"]);
    assert_eq!(
        h.versies
            .iter()
            .map(|v| v.meetdatum.as_str())
            .collect::<Vec<_>>(),
        vec!["2023-02-01", "2024-01-15", "2024-05-01"]
    );
    assert_eq!(
        h.versies.iter().map(|v| v.volgnummer).collect::<Vec<_>>(),
        vec![2, 3, 1]
    );
    for v in &h.versies {
        assert_eq!(v.status, "geldig");
        assert_eq!(v.vervallen_door, None);
        assert_eq!(v.soort, "Meting");
        // The original message, embedded byte for byte.
        let original = sent.iter().find(|b| b.id == v.id).unwrap().xml();
        assert_eq!(v.raw, root_element(&original));
    }
    assert!(!h.text.contains(&bsn(1)));

    // A client without messages has an empty (but valid) history.
    let empty = api.history(&bsn(7), "").await;
    assert!(empty.versies.is_empty());
}

#[tokio::test]
async fn history_embeds_fixture_messages_exactly() {
    let api = Api::start();
    let file = "meting-0363-trede3-groei.xml";
    let original = fixture("valid", file);
    ack(&api.post(BERICHTEN, Some(XML), original.clone()).await, 201);
    let corr = fixture("valid", "correctie-0363-trede3-naar-4.xml");
    ack(&api.post(BERICHTEN, Some(XML), corr.clone()).await, 201);
    let h = api.history("233426784", "?inclusiefVervallen=true").await;
    assert_eq!(h.versies.len(), 2);
    assert_eq!(
        h.versies[0].raw,
        root_element(std::str::from_utf8(&original).unwrap())
    );
    assert_eq!(
        h.versies[1].raw,
        root_element(std::str::from_utf8(&corr).unwrap())
    );
    // The prefixed style embeds just as well.
    let pl = fixture("valid", "meting-0599-trede1-geisoleerd.xml");
    let a = ack(&api.post(BERICHTEN, Some(XML), pl.clone()).await, 201);
    let pl_text = std::str::from_utf8(&pl).unwrap().to_string();
    assert!(pl_text.contains("<pl:Bsn>713559901</pl:Bsn>"));
    let h = api.history("713559901", "").await;
    assert_eq!(h.ids(), vec![a.id.as_str()]);
    assert_eq!(h.versies[0].raw, root_element(&pl_text));
}

#[tokio::test]
async fn history_embedding_keeps_the_namespaces_of_the_original() {
    // A prefixed message whose local extension holds an unqualified child:
    // in the message as sent, <Wijk> is in no namespace. Embedded under a
    // default-namespace <Meetgeschiedenis>, the same bytes would put it in
    // the Participatieladder namespace: the history would no longer carry
    // the original message.
    let api = Api::start();
    let client = bsn(3);
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<pl:Meting xmlns:pl="urn:ladderpost:participatieladder:v1" xmlns:gem="urn:gemeente:0363:kenmerken" versie="1.0">
  <pl:Envelop>
    <pl:BerichtId>TST-NS-1</pl:BerichtId>
    <pl:Verzonden>2025-06-02T10:15:00+02:00</pl:Verzonden>
    <pl:Afzender>
      <pl:Organisatie>Gemeente Amsterdam</pl:Organisatie>
      <pl:Applicatie>ladderpost-tests 1.0</pl:Applicatie>
    </pl:Afzender>
    <pl:Gemeente>0363</pl:Gemeente>
  </pl:Envelop>
  <pl:Client>
    <pl:Bsn>{client}</pl:Bsn>
    <pl:Achternaam>Visser</pl:Achternaam>
    <pl:Geboortedatum>1988-01-02</pl:Geboortedatum>
  </pl:Client>
  <pl:Werkproces>
    <pl:Meetdatum>2024-03-08</pl:Meetdatum>
    <pl:Medewerker>Karin de Wit</pl:Medewerker>
  </pl:Werkproces>
  <pl:Plaatsing>
    <pl:Trede>3</pl:Trede>
    <pl:Groeipotentieel>+</pl:Groeipotentieel>
  </pl:Plaatsing>
  <pl:LokaleKenmerken>
    <gem:Stadsdeel><Wijk>Noord</Wijk></gem:Stadsdeel>
  </pl:LokaleKenmerken>
</pl:Meting>
"#
    );
    ack(&api.post(BERICHTEN, Some(XML), xml.clone()).await, 201);
    let h = api.history(&client, "").await;
    assert_eq!(h.ids(), vec!["TST-NS-1"]);
    // Resolve the namespace of <Wijk> in the sent message and in the reply.
    assert_eq!(namespace_of(&xml, b"Wijk"), Some(String::new()));
    assert_eq!(
        namespace_of(&h.text, b"Wijk"),
        Some(String::new()),
        "in the history, <Wijk> changed namespace:\n{}",
        h.text
    );
}

/// The namespace URI (empty: none) of the first element named `local`.
fn namespace_of(xml: &str, local: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(xml);
    loop {
        match reader.read_resolved_event() {
            Ok((ns, Event::Start(e))) | Ok((ns, Event::Empty(e)))
                if e.local_name().as_ref() == local =>
            {
                return Some(match ns {
                    ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
                    _ => String::new(),
                });
            }
            Ok((_, Event::Eof)) => return None,
            Ok(_) => {}
            Err(e) => panic!("not XML: {e}"),
        }
    }
}

#[tokio::test]
async fn peilmoment_shows_the_history_as_known_then() {
    let api = Api::start();
    let client = bsn(0);
    let a = api
        .accept(&Bericht::meting("TST-A", "0363", &client, "2024-03-08", 3))
        .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = api
        .accept(&Bericht::correctie(
            "TST-B",
            "TST-A",
            "0363",
            &client,
            "2024-03-08",
            4,
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let x = api
        .accept(&Bericht::intrekking("TST-X", "TST-B", "0363", &client))
        .await;
    let at = |m: &str| format!("?peilmoment={}", encode(m));

    // Before the first message: nothing.
    let h = api.history(&client, &at("2024-01-01T00:00:00Z")).await;
    assert!(h.versies.is_empty());
    assert_eq!(h.peilmoment.as_deref(), Some("2024-01-01T00:00:00.000000Z"));
    // At A's acceptance: A, current.
    let h = api.history(&client, &at(&a.ontvangen)).await;
    assert_eq!(h.peilmoment.as_deref(), Some(a.ontvangen.as_str()));
    assert_eq!(h.statuses(), vec![("TST-A", "geldig", None)]);
    assert_eq!(h.versies[0].trede, "3");
    // At B's acceptance: the correction.
    let h = api.history(&client, &at(&b.ontvangen)).await;
    assert_eq!(h.statuses(), vec![("TST-B", "geldig", None)]);
    assert_eq!(h.versies[0].trede, "4");
    let h = api
        .history(
            &client,
            &format!("{}&inclusiefVervallen=true", at(&b.ontvangen)),
        )
        .await;
    assert_eq!(
        h.statuses(),
        vec![
            ("TST-A", "vervangen", Some("TST-B")),
            ("TST-B", "geldig", None)
        ]
    );
    // At the withdrawal: nothing current; and now: the same.
    assert!(api
        .history(&client, &at(&x.ontvangen))
        .await
        .versies
        .is_empty());
    assert!(api.history(&client, "").await.versies.is_empty());
    // An offset is applied: A's moment written in +02:00.
    let a_moment = ladderpost::time::Moment::parse(&a.ontvangen).unwrap();
    let plus_two = ladderpost::time::Moment(a_moment.0 + 2 * 3600 * 1_000_000)
        .to_string()
        .replace('Z', "+02:00");
    let h = api.history(&client, &at(&plus_two)).await;
    assert_eq!(h.peilmoment.as_deref(), Some(a.ontvangen.as_str()));
    assert_eq!(h.ids(), vec!["TST-A"]);
}

#[tokio::test]
async fn invalid_query_parameters_are_rejected_with_400() {
    let api = Api::start();
    let client = bsn(0);
    for bad in [
        "gisteren",
        "2024-03-01",
        "2024-03-01T10:00:00",
        "2024-02-30T10:00:00Z",
        "2024-03-01 10:00:00Z",
    ] {
        let reply = api
            .get(&format!(
                "/api/v1/clienten/{client}/metingen?peilmoment={}",
                encode(bad)
            ))
            .await;
        fout(&reply, 400, "http.parameter");
    }
    let reply = api
        .get(&format!(
            "/api/v1/clienten/{client}/metingen?inclusiefVervallen=ja"
        ))
        .await;
    fout(&reply, 400, "http.parameter");
}

#[tokio::test]
async fn invalid_bsn_in_path_is_rejected_with_400() {
    let api = Api::start();
    for bad in [
        "123456789",
        "12345678",
        "1234567890",
        "abcdefghi",
        "000000000",
    ] {
        let reply = api.get(&format!("/api/v1/clienten/{bad}/metingen")).await;
        let (_, fouten) = fout(&reply, 400, "http.parameter");
        assert!(!fouten[0].omschrijving.contains(bad), "{fouten:?}");
    }
}

#[tokio::test]
async fn stored_message_is_returned_byte_for_byte_with_headers() {
    let api = Api::start();
    // A fixture with non-ASCII text, comments-free prolog and a warning.
    let original = fixture("valid", "meting-0553-isd-trede5-zonder-instrument.xml");
    let a = ack(&api.post(BERICHTEN, Some(XML), original.clone()).await, 201);
    let reply = api.get(&format!("/api/v1/berichten/{}", a.id)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, original, "the bytes as posted");
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("application/xml"));
    assert_eq!(
        reply.header("ladderpost-volgnummer"),
        Some(a.volgnummer.to_string())
    );
    assert_eq!(
        reply.header("ladderpost-ontvangen"),
        Some(a.ontvangen.clone())
    );
    assert_eq!(reply.header("ladderpost-status").as_deref(), Some("geldig"));
    assert_eq!(reply.header("ladderpost-soort").as_deref(), Some("Meting"));
    assert_eq!(reply.header("ladderpost-vervallen-door"), None);

    // Bytes that are not how the service would write them: CRLF line ends,
    // a comment, single-quoted attributes.
    let odd = Bericht::meting("TST-RAW-1", "0363", &bsn(0), "2024-03-08", 3)
        .xml()
        .replace("versie=\"1.0\"", "versie='1.0'")
        .replace("<Envelop>", "<!-- ingevoerd via de balie --><Envelop>")
        .replace('\n', "\r\n");
    let b = ack(&api.post(BERICHTEN, Some(XML), odd.clone()).await, 201);
    let reply = api.get("/api/v1/berichten/TST-RAW-1").await;
    assert_eq!(reply.body, odd.as_bytes());
    assert_eq!(
        reply.header("ladderpost-volgnummer"),
        Some(b.volgnummer.to_string())
    );

    // Once corrected, the headers say by which message.
    let c = Bericht::correctie("TST-RAW-2", "TST-RAW-1", "0363", &bsn(0), "2024-03-08", 4);
    api.accept(&c).await;
    let reply = api.get("/api/v1/berichten/TST-RAW-1").await;
    assert_eq!(reply.body, odd.as_bytes());
    assert_eq!(
        reply.header("ladderpost-status").as_deref(),
        Some("vervangen")
    );
    assert_eq!(
        reply.header("ladderpost-vervallen-door").as_deref(),
        Some("TST-RAW-2")
    );
    let reply = api.get("/api/v1/berichten/TST-RAW-2").await;
    assert_eq!(reply.body, c.bytes());
    assert_eq!(reply.header("ladderpost-status").as_deref(), Some("geldig"));
    assert_eq!(
        reply.header("ladderpost-soort").as_deref(),
        Some("Correctie")
    );
}

#[tokio::test]
async fn unknown_message_id_is_404() {
    let api = Api::start();
    let (_, fouten) = fout(
        &api.get("/api/v1/berichten/TST-BESTAAT-NIET").await,
        404,
        "bericht.onbekend",
    );
    assert_eq!(fouten.len(), 1);
    // Ids that could not be message ids at all are just as unknown.
    let reply = api.get("/api/v1/berichten/niet%20geldig").await;
    fout(&reply, 404, "bericht.onbekend");
}

// ---------------------------------------------------------------------------
// 7. Schema endpoints
// ---------------------------------------------------------------------------

#[tokio::test]
async fn schema_endpoints_serve_the_published_xsd() {
    let api = Api::start();
    let list = api.get("/api/v1/schema").await;
    assert_eq!(list.status, 200);
    assert!(list
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&list.body).expect("JSON");
    let schemas = json["schemas"].as_array().expect("schemas array");
    // Every published version, by number and by file name, byte for byte.
    let published = [
        ("1.0", "participatieladder-v1.xsd", false),
        ("1.1", "participatieladder-v1.1.xsd", true),
    ];
    assert_eq!(schemas.len(), published.len(), "{json}");
    for (versie, file, latest) in published {
        let entry = schemas
            .iter()
            .find(|s| s["versie"] == versie)
            .unwrap_or_else(|| panic!("{versie} listed: {json}"));
        assert_eq!(entry["file"], file);
        assert_eq!(entry["latest"], latest);
        assert_eq!(entry["namespace"], "urn:ladderpost:participatieladder:v1");
        let href = entry["href"].as_str().expect("href");
        assert_eq!(href, format!("/api/v1/schema/{versie}"));
        let on_disk = std::fs::read(common::root().join("schemas").join(file)).expect("xsd");
        for path in [href.to_string(), format!("/api/v1/schema/{file}")] {
            let xsd = api.get(&path).await;
            assert_eq!(xsd.status, 200, "{path}");
            assert!(xsd
                .header("content-type")
                .unwrap()
                .starts_with("application/xml"));
            assert!(
                xsd.body == on_disk,
                "{path}: the served XSD differs from schemas/"
            );
        }
    }

    let problem = problem(
        &api.get("/api/v1/schema/bestaat-niet.xsd").await,
        404,
        "http.not-found",
    );
    assert_eq!(problem["fouten"].as_array().map(Vec::len), Some(1));
}

// ---------------------------------------------------------------------------
// 8. Health and metrics
// ---------------------------------------------------------------------------

#[tokio::test]
async fn health_reports_storage_and_message_count() {
    let api = Api::start();
    let reply = api.get("/health").await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(json["status"], "ok");
    assert_eq!(json["storage"], "ok");
    assert_eq!(json["messages"], 0);
    api.accept(&Bericht::meting(
        "TST-H-1",
        "0363",
        &bsn(0),
        "2024-03-08",
        3,
    ))
    .await;
    assert_eq!(api.stored().await, 1);
}

#[tokio::test]
async fn metrics_count_requests_rejections_and_acceptances() {
    let api = Api::start();
    let client = bsn(0);
    api.accept(&Bericht::meting(
        "TST-MET-1",
        "0363",
        &client,
        "2024-03-08",
        3,
    ))
    .await;
    ack(
        &api.send(&Bericht::meting(
            "TST-MET-1",
            "0363",
            &client,
            "2024-03-08",
            3,
        ))
        .await,
        200,
    );
    fout(
        &api.send(&Bericht::meting("TST-MET-2", "0363", &client, "2024-03-08", 3).trede("7"))
            .await,
        400,
        "xsd.enumeration",
    );
    api.history(&client, "").await;

    let reply = api.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = reply.text();
    for expected in [
        "ladderpost_http_requests_total{method=\"POST\",route=\"/api/v1/berichten\",status=\"201\"} 1",
        "ladderpost_http_requests_total{method=\"POST\",route=\"/api/v1/berichten\",status=\"200\"} 1",
        "ladderpost_http_requests_total{method=\"POST\",route=\"/api/v1/berichten\",status=\"400\"} 1",
        "ladderpost_http_requests_total{method=\"GET\",route=\"/api/v1/clienten/{bsn}/metingen\",status=\"200\"} 1",
        "ladderpost_rejections_total{code=\"xsd.enumeration\"} 1",
        "ladderpost_messages_accepted_total 1",
        "ladderpost_messages_repeated_total 1",
        "ladderpost_messages_stored 1",
        "# TYPE ladderpost_http_request_duration_seconds histogram",
        "ladderpost_http_request_duration_seconds_count{route=\"/api/v1/berichten\"} 3",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("ladderpost_http_request_duration_seconds_bucket{")
                && l.contains("route=\"/api/v1/berichten\"")
        })
        .collect();
    assert!(buckets.len() >= 10, "latency buckets:\n{text}");
    assert!(buckets
        .iter()
        .any(|l| l.contains("le=\"+Inf\"") && l.ends_with(" 3")));
    // Route templates, not URIs: no BSN in the metrics.
    assert!(!text.contains(&client), "a BSN in the metrics:\n{text}");
    // A domain rejection and a store rejection are counted by their code.
    fout(
        &api.send(&Bericht::meting(
            "TST-MET-3",
            "0363",
            "123456789",
            "2024-03-08",
            3,
        ))
        .await,
        422,
        "regel.bsn-elfproef",
    );
    fout(
        &api.send(&Bericht::correctie(
            "TST-MET-4",
            "TST-ONBEKEND",
            "0363",
            &client,
            "2024-03-08",
            3,
        ))
        .await,
        422,
        "referentie.onbekend",
    );
    let text = api.get("/metrics").await.text();
    assert!(
        text.contains("ladderpost_rejections_total{code=\"regel.bsn-elfproef\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("ladderpost_rejections_total{code=\"referentie.onbekend\"} 1"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// 9. Restart
// ---------------------------------------------------------------------------

#[tokio::test]
async fn restart_keeps_messages_histories_and_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let client = server.client();
    let first = Api {
        server,
        client: client.clone(),
        _dir: None,
    };
    let p = bsn(0);
    let q = bsn(1);
    let sent = [
        Bericht::meting("TST-R-1", "0363", &p, "2024-03-08", 3),
        Bericht::meting("TST-R-2", "0599", &q, "2024-02-01", 5),
        Bericht::correctie("TST-R-3", "TST-R-1", "0363", &p, "2024-03-08", 4),
        Bericht::meting("TST-R-4", "0363", &p, "2023-11-20", 2),
        Bericht::intrekking("TST-R-5", "TST-R-4", "0363", &p),
    ];
    let mut acks = Vec::new();
    for b in &sent {
        acks.push(first.accept(b).await);
    }
    let history_p = first.history(&p, "?inclusiefVervallen=true").await;
    let history_q = first.history(&q, "").await;
    let mut raw = Vec::new();
    for b in &sent {
        let r = first.get(&format!("/api/v1/berichten/{}", b.id)).await;
        raw.push((
            r.body.clone(),
            r.header("ladderpost-status"),
            r.header("ladderpost-ontvangen"),
        ));
    }
    assert_eq!(first.server.data, data);
    let Api { server, .. } = first;
    // Graceful, as on SIGTERM (the exit status is delivery.rs's test).
    server.stop();

    let second = Api {
        server: Server::start(&data),
        client,
        _dir: None,
    };
    assert_eq!(second.stored().await, 5);
    assert_eq!(
        second.history(&p, "?inclusiefVervallen=true").await,
        history_p
    );
    assert_eq!(second.history(&q, "").await, history_q);
    for (b, before) in sent.iter().zip(&raw) {
        let r = second.get(&format!("/api/v1/berichten/{}", b.id)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b.bytes());
        assert_eq!(
            (
                r.body.clone(),
                r.header("ladderpost-status"),
                r.header("ladderpost-ontvangen")
            ),
            before.clone()
        );
    }
    // Repeats and conflicts still recognised.
    let again = ack(&second.send(&sent[1]).await, 200);
    assert_eq!(again.volgnummer, acks[1].volgnummer);
    assert_eq!(again.ontvangen, acks[1].ontvangen);
    assert_eq!(again.waarschuwingen, acks[1].waarschuwingen);
    fout(
        &second
            .send(&Bericht::meting("TST-R-1", "0363", &p, "2024-03-08", 2))
            .await,
        409,
        "bericht.conflict",
    );
    // References still checked against what is stored.
    fout(
        &second
            .send(&Bericht::correctie(
                "TST-R-6",
                "TST-R-1",
                "0363",
                &p,
                "2024-03-08",
                2,
            ))
            .await,
        422,
        "referentie.vervallen",
    );
    // Numbering continues.
    let next = second
        .accept(&Bericht::meting("TST-R-7", "0363", &p, "2024-05-01", 3))
        .await;
    assert_eq!(next.volgnummer, 6);
    assert!(
        ladderpost::time::Moment::parse(&next.ontvangen).unwrap()
            > ladderpost::time::Moment::parse(&acks[4].ontvangen).unwrap()
    );
    second.server.stop();
}

// ---------------------------------------------------------------------------
// 10. Privacy of the log
// ---------------------------------------------------------------------------

#[tokio::test]
async fn debug_log_contains_no_bsns_or_message_contents() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::server::admin(
        &data,
        &[
            "organisatie",
            "toevoegen",
            "--id",
            "test",
            "--naam",
            "Test",
            "--gemeenten",
            "0363",
        ],
    );
    let token = common::server::token_of(&common::server::admin(
        &data,
        &[
            "sleutel",
            "maken",
            "--organisatie",
            "test",
            "--rollen",
            "aanleveren,afnemen",
        ],
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("LADDERPOST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ladderpost serve");
    let stderr = child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut log = String::new();
        let mut stderr = stderr;
        let _ = stderr.read_to_string(&mut log);
        log
    });
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    if line.starts_with("beheer-token: ") {
        line.clear();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    }
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let out_reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        rest
    });

    let http = common::server::client_for(&token).build().unwrap();
    let url = |p: &str| format!("{base}{p}");
    let post = |path: &str, body: Vec<u8>| {
        http.post(url(path))
            .header("content-type", XML)
            .body(body)
            .send()
    };
    let (p, q) = (bsn(5), bsn(6));
    let achternamen = ["Zwaanswijk", "Oosterhuis", "Brouwerius"];
    let toelichting = "Vertrouwelijk: schuldhulpverlening loopt sinds januari";
    let meting = Bericht::meting("TST-PRIV-1", "0363", &p, "2024-03-08", 5)
        .achternaam(achternamen[0])
        .toelichting(toelichting);
    let statuses = [
        post(BERICHTEN, meting.bytes())
            .await
            .unwrap()
            .status()
            .as_u16(),
        post(BERICHTEN, meting.bytes())
            .await
            .unwrap()
            .status()
            .as_u16(),
        post(
            BERICHTEN,
            Bericht::correctie("TST-PRIV-2", "TST-PRIV-1", "0363", &p, "2024-03-08", 4)
                .achternaam(achternamen[1])
                .bytes(),
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        // Refused for another client: the message quotes no BSN in the log.
        post(
            BERICHTEN,
            Bericht::correctie("TST-PRIV-3", "TST-PRIV-2", "0363", &q, "2024-03-08", 4)
                .achternaam(achternamen[2])
                .bytes(),
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        // Schema-invalid, quoting the value in the reply (not in the log).
        post(
            BERICHTEN,
            Bericht::meting("TST-PRIV-4", "0363", "98765432", "2024-03-08", 3)
                .achternaam(achternamen[2])
                .bytes(),
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        post(VALIDEER, meting.bytes())
            .await
            .unwrap()
            .status()
            .as_u16(),
        http.get(url(&format!(
            "/api/v1/clienten/{p}/metingen?inclusiefVervallen=true"
        )))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16(),
        http.get(url(&format!("/api/v1/clienten/{q}/metingen")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        http.get(url("/api/v1/berichten/TST-PRIV-1"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
    ];
    assert_eq!(statuses, [201, 200, 201, 422, 400, 200, 200, 200, 200]);
    drop(http);

    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut code = None;
    for _ in 0..200 {
        if let Ok(Some(status)) = child.try_wait() {
            code = status.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let log = log_reader.join().unwrap();
    let _ = out_reader.join();
    assert_eq!(code, Some(0), "clean exit; log:\n{log}");

    // Logging was on: requests were logged (by route template).
    assert!(
        log.contains("request"),
        "no request lines in the log:\n{log}"
    );
    assert!(log.contains("/api/v1/clienten/{bsn}/metingen"), "{log}");
    let mut leaks = Vec::new();
    for secret in [p.as_str(), q.as_str(), "98765432"]
        .into_iter()
        .chain(achternamen)
        .chain([toelichting, "Vertrouwelijk", "1981-07-14", "Karin de Wit"])
    {
        if log.contains(secret) {
            leaks.push(secret);
        }
    }
    assert!(leaks.is_empty(), "the log holds {leaks:?}:\n{log}");
}
