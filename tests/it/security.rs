//! Transport security and hardening of the real `ladderpost serve`: mutual
//! TLS with certificates made here (rcgen), plain HTTP only on loopback,
//! rate limits, slow clients, huge bodies and hostile XML. Every test runs
//! its own server on its own data directory.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::messages::{bsn, Bericht};
use common::receiver::{Mode, TestReceiver};
use common::server::{admin, Process, Server, Service, LOCAL_RECEIVERS};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

const OIN: &str = "00000001234567890000";
const VALIDEER: &str = "/api/v1/berichten/_valideer";

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { cert, key }
    }

    fn server(&self) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "ladderpost test");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("server certificate");
        (cert, key)
    }

    /// A client certificate with the OIN in its subject serialNumber.
    fn client(&self, oin: &str) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "Gemeente Teststad");
        params.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]),
            DnValue::PrintableString(oin.try_into().expect("printable")),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("client certificate");
        (cert, key)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write PEM");
    path.display().to_string()
}

/// A client trusting `ca`, presenting `identity` when given.
fn tls_client(ca: &Ca, identity: Option<&(rcgen::Certificate, KeyPair)>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A TLS server configuration with a certificate `ca` signed.
fn tls_server(ca: &Ca) -> Arc<rustls::ServerConfig> {
    let (cert, key) = ca.server();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key"),
        )
        .expect("server config");
    Arc::new(config)
}

/// Posts a valid Meting for 0363; it must be accepted.
async fn send_meting(server: &Service, id: &str, n: u64) {
    let m = Bericht::meting(id, "0363", &bsn(n), "2024-03-08", 3).xml();
    let reply = server
        .client()
        .post(server.url("/api/v1/berichten"))
        .header("content-type", "application/xml")
        .body(m)
        .send()
        .await
        .expect("POST");
    assert_eq!(reply.status(), 201);
}

/// Registers `url` for 0363 on `server`; the subscription's id and secret.
async fn subscribe(server: &Service, url: &str) -> (String, String) {
    let reply = server
        .client()
        .post(server.url("/api/v1/abonnementen"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"url": url, "gemeente": "0363"}).to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(reply.status(), 201);
    let reg: serde_json::Value =
        serde_json::from_str(&reply.text().await.expect("body")).expect("JSON");
    let text = |k: &str| reg[k].as_str().expect(k).to_string();
    (text("id"), text("secret"))
}

// ---------------------------------------------------------------------------
// Push to HTTPS receivers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn push_verifies_https_receivers_against_the_system_roots_and_push_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Ca::new("Receivers CA");
    let receiver = TestReceiver::start_tls(Mode::Accept, tls_server(&ca)).await;
    let ca_file = write(dir.path(), "receivers-ca.pem", &ca.cert.pem());
    // Trusting the receiver's CA: delivered.
    let trusting = Server::start_with(
        &dir.path().join("trusting"),
        &[LOCAL_RECEIVERS, "--push-ca", &ca_file],
    );
    let (_, secret) = subscribe(&trusting, &receiver.url("/inbox")).await;
    receiver.set_secret(&secret);
    send_meting(&trusting, "SEC-TLS-1", 81).await;
    let mut waited = 0;
    while receiver.accepted_ids().is_empty() && waited < 200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(receiver.accepted_ids(), ["SEC-TLS-1"]);

    // Not trusting it: the delivery fails, with the reason in its status.
    let other = Server::start_with(&dir.path().join("other"), &[LOCAL_RECEIVERS]);
    let (id, _) = subscribe(&other, &receiver.url("/inbox")).await;
    send_meting(&other, "SEC-TLS-2", 82).await;
    let mut status = serde_json::Value::Null;
    for _ in 0..200 {
        let text = other
            .client()
            .get(other.url(&format!("/api/v1/abonnementen/{id}")))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        status = serde_json::from_str(&text).expect("JSON");
        if !status["laatste_fout"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!status["laatste_fout"].is_null(), "{status}");
    assert_eq!(
        receiver.accepted_ids(),
        ["SEC-TLS-1"],
        "nothing to an untrusted receiver"
    );

    let bad = write(dir.path(), "bad.pem", "not a certificate");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--push-ca",
            &bad,
            "--data",
        ])
        .arg(dir.path().join("bad"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--push-ca"));
}

// ---------------------------------------------------------------------------
// Mutual TLS
// ---------------------------------------------------------------------------

#[test]
fn the_oin_is_read_from_the_subject_serial_number() {
    let ca = Ca::new("Test CA");
    let (client, _) = ca.client(OIN);
    assert_eq!(
        ladderpost::transport::tls::oin(client.der()).as_deref(),
        Some(OIN)
    );
    let (server, _) = ca.server();
    assert_eq!(ladderpost::transport::tls::oin(server.der()), None);
    let (short, _) = ca.client("12345");
    assert_eq!(
        ladderpost::transport::tls::oin(short.der()),
        None,
        "an OIN has 20 digits"
    );
    assert_eq!(ladderpost::transport::tls::oin(b"not a certificate"), None);
}

#[tokio::test]
async fn mutual_tls_verifies_client_certificates_and_still_serves_clients_without_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Ca::new("Test CA");
    let (server_cert, server_key) = ca.server();
    let cert = write(dir.path(), "server.pem", &server_cert.pem());
    let key = write(dir.path(), "server.key", &server_key.serialize_pem());
    let client_ca = write(dir.path(), "ca.pem", &ca.cert.pem());
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--client-ca",
            &client_ca,
        ],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);

    // Without a client certificate: TLS works, bearer tokens would too.
    let anonymous = tls_client(&ca, None);
    let reply = anonymous
        .get(server.url("/health"))
        .send()
        .await
        .expect("TLS without a client certificate");
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(reply.headers()["x-content-type-options"], "nosniff");

    // With a certificate from the configured CA.
    let identity = ca.client(OIN);
    let with_cert = tls_client(&ca, Some(&identity));
    let reply = with_cert
        .get(server.url("/api/v1/schema"))
        .send()
        .await
        .expect("TLS with a client certificate");
    assert_eq!(reply.status(), 200);

    // A certificate from another CA is refused at the handshake.
    let other = Ca::new("Other CA");
    let stranger = tls_client(&ca, Some(&other.client(OIN)));
    let refused = stranger.get(server.url("/health")).send().await;
    assert!(refused.is_err(), "{refused:?}");

    // And plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(server.url("/health").replacen("https", "http", 1))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.map_or(true, |r| !r.status().is_success()));

    // The service is still serving.
    let reply = with_cert
        .get(server.url("/health"))
        .send()
        .await
        .expect("again");
    assert_eq!(reply.status(), 200);
}

/// An organisation known by its OIN, acting for gemeente 0363 with
/// `rollen_bij_certificaat` = afnemen: a client certificate with that OIN
/// (and no bearer token) may read that municipality's feed and nothing
/// more, and every such request is audited under the organisation.
#[tokio::test]
async fn a_client_certificate_alone_authenticates_its_organisation_with_its_roles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    admin(
        &data,
        &[
            "organisatie",
            "toevoegen",
            "--id",
            "ams-oin",
            "--naam",
            "Gemeente Amsterdam (certificaat)",
            "--gemeenten",
            "0363",
            "--oin",
            OIN,
            "--rollen-bij-certificaat",
            "afnemen",
        ],
    );
    let listed = admin(&data, &["organisatie", "lijst"]);
    assert!(
        listed.contains(&format!("oin={OIN}\trollen_bij_certificaat=afnemen")),
        "{listed}"
    );
    let ca = Ca::new("Test CA");
    let (server_cert, server_key) = ca.server();
    let cert = write(dir.path(), "server.pem", &server_cert.pem());
    let key = write(dir.path(), "server.key", &server_key.serialize_pem());
    let client_ca = write(dir.path(), "ca.pem", &ca.cert.pem());
    let server = Server::start_with(
        &data,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--client-ca",
            &client_ca,
        ],
    );
    let beheer = server.beheer.clone().expect("first start: a beheer token");

    // The certificate, no bearer token.
    let with_cert = tls_client(&ca, Some(&ca.client(OIN)));
    let own = with_cert
        .get(server.url("/api/v1/feed?gemeente=0363"))
        .send()
        .await
        .expect("feed 0363");
    assert_eq!(
        own.status(),
        200,
        "{}",
        own.text().await.unwrap_or_default()
    );
    let other = with_cert
        .get(server.url("/api/v1/feed?gemeente=0599"))
        .send()
        .await
        .expect("feed 0599");
    assert_eq!(other.status(), 403);
    assert!(other
        .text()
        .await
        .expect("body")
        .contains("auth.geen-toegang"));
    let bericht = Bericht::meting("SEC-CERT-1", "0363", &bsn(31), "2024-03-08", 3).xml();
    let posted = with_cert
        .post(server.url("/api/v1/berichten"))
        .header("content-type", "application/xml")
        .body(bericht)
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 403, "the certificate gives no aanleveren");
    assert!(posted
        .text()
        .await
        .expect("body")
        .contains("auth.geen-toegang"));

    // A certificate from the right CA whose OIN no organisation has.
    let unknown = tls_client(&ca, Some(&ca.client("00000009999999990000")));
    let refused = unknown
        .get(server.url("/api/v1/feed?gemeente=0363"))
        .send()
        .await
        .expect("feed with an unknown OIN");
    assert_eq!(refused.status(), 401);
    assert!(refused
        .text()
        .await
        .expect("body")
        .contains("auth.niet-aangemeld"));

    // The audit log names the organisation and the certificate.
    let reply = tls_client(&ca, None)
        .get(server.url("/api/v1/beheer/audit?organisatie=ams-oin"))
        .bearer_auth(&beheer)
        .send()
        .await
        .expect("audit");
    assert_eq!(reply.status(), 200);
    let audit: serde_json::Value =
        serde_json::from_str(&reply.text().await.expect("body")).expect("JSON");
    let entries = audit["audit"].as_array().expect("entries").clone();
    let find = |methode: &str, route: &str, status: u64| {
        entries
            .iter()
            .find(|e| e["methode"] == methode && e["route"] == route && e["status"] == status)
            .unwrap_or_else(|| panic!("no audit entry {methode} {route} {status}: {entries:#?}"))
    };
    for (methode, route, status) in [
        ("GET", "/api/v1/feed", 200),
        ("GET", "/api/v1/feed", 403),
        ("POST", "/api/v1/berichten", 403),
    ] {
        let e = find(methode, route, status);
        assert_eq!(e["organisatie"], "ams-oin");
        assert_eq!(e["sleutel"], format!("certificaat:{OIN}"));
    }
}

#[test]
fn tls_needs_a_readable_certificate_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem").display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .args(["--tls-cert", &missing, "--tls-key", &missing])
        .stdin(Stdio::null())
        .output()
        .expect("run serve");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read certificates"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Plain HTTP
// ---------------------------------------------------------------------------

#[test]
fn plain_http_is_refused_on_a_non_loopback_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("data"))
        .env_remove("LADDERPOST_ALLOW_PLAIN_HTTP")
        .stdin(Stdio::null())
        .output()
        .expect("run serve");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing plain HTTP on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-plain-http"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "refused before opening the store"
    );
}

#[test]
fn plain_http_on_any_address_when_explicitly_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--allow-plain-http",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .env("LADDERPOST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    // A first start may print other lines (a beheer token) before it.
    while !first.starts_with("listening on") {
        first.clear();
        if std::io::BufRead::read_line(&mut lines, &mut first).unwrap_or(0) == 0 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("listening on http://0.0.0.0:"),
        "{first:?}"
    );
}

// ---------------------------------------------------------------------------
// Security headers and rate limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let client = reqwest::Client::new();
    for path in ["/health", "/api/v1/schema", "/nergens"] {
        let reply = client.get(server.url(path)).send().await.expect("GET");
        let h = reply.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["content-security-policy"], "default-src 'none'", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
}

#[tokio::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after_and_others_are_still_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--rate-limit", "0.5", "--rate-burst", "5"],
    );
    let client = reqwest::Client::new();
    for i in 0..5 {
        let reply = client.get(server.url("/health")).send().await.expect("GET");
        assert_eq!(reply.status(), 200, "request {i} is within the burst");
    }
    let reply = client.get(server.url("/health")).send().await.expect("GET");
    assert_eq!(reply.status(), 429);
    let retry: u64 = reply.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert!(reply.headers().get("x-content-type-options").is_some());
    let body = reply.text().await.expect("body");
    assert!(body.contains("http.te-veel"), "{body}");

    // Another address has its own bucket (all of 127/8 is loopback).
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let reply = other.get(server.url("/health")).send().await.expect("GET");
    assert_eq!(reply.status(), 200);

    // A refusal on a personal-data route is audited with its true status
    // and what it asked for, logged and counted.
    let read = server.url("/api/v1/berichten/niet-bestaand");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = client
            .get(&read)
            .bearer_auth(&server.token)
            .send()
            .await
            .expect("GET");
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let beheer = server.beheer.clone().expect("beheer token");
    let audit = text(
        other
            .get(server.url("/api/v1/beheer/audit"))
            .bearer_auth(&beheer),
    )
    .await;
    let entries: serde_json::Value = serde_json::from_str(&audit).expect("JSON");
    let entries = entries["audit"].as_array().expect("entries");
    let on_read = |status: u64| {
        entries
            .iter()
            .filter(|e| e["route"] == "/api/v1/berichten/{id}" && e["status"] == status)
            .count()
    };
    assert_eq!(on_read(429), 1, "{audit}");
    // A refused read records the id it asked for.
    assert!(
        entries
            .iter()
            .filter(|e| e["status"] == 404)
            .all(|e| e["berichten"] == serde_json::json!(["niet-bestaand"])),
        "{audit}"
    );
    assert_eq!(on_read(404), 5, "{audit}");
    let third = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 3]))
        .build()
        .expect("client");
    let metrics = text(third.get(server.url("/metrics"))).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("/api/v1/berichten/{id}") && l.contains("429")),
        "{metrics}"
    );
}

/// Sends the request; its body as text.
async fn text(request: reqwest::RequestBuilder) -> String {
    let reply = request.send().await.expect("request");
    reply.text().await.expect("body")
}

#[tokio::test]
async fn invalid_bearer_tokens_are_rate_limited_by_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--rate-limit", "0.5", "--rate-burst", "5"],
    );
    let client = reqwest::Client::new();
    // Guesses of every shape: a token-shaped one with an unknown id, the
    // real token's id with a wrong secret, and garbage.
    let t = &server.token;
    let last = if t.ends_with('A') { 'B' } else { 'A' };
    let wrong_secret = format!("{}{last}", &t[..t.len() - 1]);
    let guesses = [
        "lp_0000000000000000_00000000000000000000000000000000".to_string(),
        wrong_secret,
        "geen-token".to_string(),
    ];
    for i in 0..5 {
        let reply = client
            .get(server.url("/api/v1/feed?gemeente=0363"))
            .bearer_auth(&guesses[i % guesses.len()])
            .send()
            .await
            .expect("GET");
        assert_eq!(reply.status(), 401, "guess {i} is within the burst");
    }
    let reply = client
        .get(server.url("/api/v1/feed?gemeente=0363"))
        .bearer_auth(&guesses[0])
        .send()
        .await
        .expect("GET");
    assert_eq!(reply.status(), 429, "the sixth guess from this address");
    assert!(reply.headers().get("retry-after").is_some());
    assert!(reply.text().await.expect("body").contains("http.te-veel"));

    // A valid credential has its own bucket, even from the same address.
    let reply = server
        .client()
        .get(server.url("/api/v1/feed?gemeente=0363"))
        .send()
        .await
        .expect("GET");
    assert_eq!(reply.status(), 200);
}

// ---------------------------------------------------------------------------
// Slow and large requests
// ---------------------------------------------------------------------------

fn connect(server: &Service) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
}

/// Reads until the peer closes (or the read times out): what it sent.
fn read_all(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_slow_header_is_cut_off_while_others_are_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(&dir.path().join("data"), &["--header-timeout", "1"]);
    let mut slow = connect(&server);
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("start");
    let dripping = std::thread::spawn(move || {
        // One header line every 500 ms for 45 s (under hyper's 100 headers):
        // never done, until the server hangs up.
        let mut cut_off = false;
        for i in 0..90 {
            if slow.write_all(format!("X-{i}: y\r\n").as_bytes()).is_err() {
                cut_off = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        (cut_off, read_all(&mut slow))
    });
    let client = reqwest::Client::new();
    let reply = client.get(server.url("/health")).send().await.expect("GET");
    assert_eq!(reply.status(), 200, "a normal client is served meanwhile");
    let (cut_off, answer) = tokio::task::spawn_blocking(move || dripping.join().expect("thread"))
        .await
        .expect("join");
    assert!(cut_off, "the slow connection outlasted 45 s of headers");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn idle_connections_from_one_address_do_not_take_the_service_from_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            "--max-connections",
            "40",
            "--max-connections-per-address",
            "8",
            "--header-timeout",
            "3600",
        ],
    );
    // More idle connections from 127.0.0.1 than the service serves at once:
    // before the per-address cap, these held every place for a header
    // timeout, and reopening them kept the service unavailable.
    let idle: Vec<TcpStream> = (0..60).map(|_| connect(&server)).collect();
    let addr: std::net::SocketAddr = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    // Generous for a loaded machine; without the cap it waits for the
    // header timeout, an hour.
    let other = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().expect("ip")))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let valid = Bericht::meting("SEC-IDLE-OK", "0363", &bsn(78), "2024-03-08", 3).xml();
    let reply = other
        .post(format!("http://{addr}/api/v1/berichten"))
        .bearer_auth(&server.token)
        .header("content-type", "application/xml")
        .body(valid)
        .send()
        .await
        .expect("POST from 127.0.0.2 (served within 60 s)");
    assert_eq!(reply.status(), 201);
    // The address's first eight connections are kept, the rest closed.
    let open = tokio::task::spawn_blocking(move || {
        idle.into_iter()
            .filter(|s| {
                s.set_read_timeout(Some(Duration::from_millis(300)))
                    .expect("timeout");
                let mut byte = [0u8; 1];
                // Closed: 0 bytes (or a reset); kept: the read times out.
                matches!((&*s).read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut)
            })
            .count()
    })
    .await
    .expect("join");
    assert_eq!(open, 8, "connections kept for 127.0.0.1");
}

#[test]
fn a_slow_body_is_answered_408() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(&dir.path().join("data"), &["--body-timeout", "1"]);
    let mut slow = connect(&server);
    slow.write_all(
        format!(
            "POST {VALIDEER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n\
             Authorization: Bearer {}\r\nContent-Length: 1000\r\n\r\n<?xml version=\"1.0\"?>",
            server.token
        )
        .as_bytes(),
    )
    .expect("write");
    // Answered, and by the 1 s body timeout: the read gives up after 20 s,
    // the default body timeout is 30 s.
    let answer = read_all(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("http.te-traag"), "{answer:?}");

    // Recorded as what it was: 408 in the audit log and the metrics, not a
    // size error.
    let beheer = server.beheer.clone().expect("beheer token");
    let mut audit = connect(&server);
    audit
        .write_all(
            format!(
                "GET /api/v1/beheer/audit HTTP/1.1\r\nHost: x\r\n\
                 Authorization: Bearer {beheer}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("write");
    let audit = read_all(&mut audit);
    assert!(audit.contains("\"status\":408"), "{audit}");
    assert!(!audit.contains("\"status\":413"), "{audit}");
    let mut metrics = connect(&server);
    metrics
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let metrics = read_all(&mut metrics);
    assert!(metrics.contains("http.te-traag"), "{metrics}");
    assert!(!metrics.contains("xml.too-large"), "{metrics}");
}

/// The server's resident memory, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_100_mb_body_is_refused_early_without_being_buffered() {
    const SIZE: usize = 100 * 1024 * 1024;
    let dir = tempfile::tempdir().expect("temp dir");
    // A process of its own: its memory is what is measured.
    let server = Process::start(&dir.path().join("data"));
    let before = rss_kb(server.pid());
    let mut stream = connect(&server);
    stream
        .write_all(
            format!(
                "POST {VALIDEER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n\
                 Authorization: Bearer {}\r\nContent-Length: {SIZE}\r\n\r\n",
                server.token
            )
            .as_bytes(),
        )
        .expect("headers");
    let mut writer = stream.try_clone().expect("clone");
    let sending = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < SIZE {
            if writer.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let answer = read_all(&mut stream);
    let sent = sending.join().expect("sender");
    // Early: the server hung up before the body ended.
    assert!(sent < SIZE, "the whole body was taken: {answer:?}");
    assert!(
        answer.starts_with("HTTP/1.1 413") || answer.is_empty(),
        "sent {sent}: {answer:?}"
    );
    if !answer.is_empty() {
        assert!(answer.contains("xml.too-large"), "{answer:?}");
    }
    // Whatever the allocator keeps around, the body itself (100 MB, over a
    // 1 MiB limit) was never held.
    let grown = rss_kb(server.pid()).saturating_sub(before);
    assert!(grown < 32 * 1024, "server RSS grew by {grown} kB");
}

// ---------------------------------------------------------------------------
// Hostile XML
// ---------------------------------------------------------------------------

#[tokio::test]
async fn hostile_xml_is_refused_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let client = reqwest::Client::new();
    let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n\
               <Meting>&x;</Meting>";
    let laughs = {
        let mut s =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            s.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        s.push_str("]>\n<Meting>&lol9;</Meting>");
        s
    };
    let deep = format!(
        "<?xml version=\"1.0\"?>{}{}",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    for (name, body, code) in [
        ("XXE", xxe.to_string(), "xml.dtd"),
        ("billion laughs", laughs, "xml.dtd"),
        ("10,000 deep", deep, "xml.too-deep"),
    ] {
        let reply = client
            .post(server.url(VALIDEER))
            .bearer_auth(&server.token)
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = reply.status();
        let text = reply.text().await.expect("body");
        assert_eq!(status, 400, "{name}: {text}");
        assert!(text.contains(code), "{name}: {text}");
        assert!(!text.contains("root:"), "{name} leaked a file: {text}");
        let health = client.get(server.url("/health")).send().await.expect("GET");
        assert_eq!(health.status(), 200, "still serving after {name}");
    }
}

#[tokio::test]
async fn attribute_and_namespace_bombs_are_refused_at_once_while_others_are_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let client = reqwest::Client::new();
    // Before the limits, checking one such element cost time quadratic in
    // its attributes: ~18 s of CPU for 130,000.
    let attributes: String = (0..100_000).map(|i| format!(" a{i}=\"\"")).collect();
    let declarations: String = (0..30_000)
        .map(|i| format!(" xmlns:p{i}=\"urn:p{i}\""))
        .collect();
    let bombs = [
        format!("<Meting{attributes}/>"),
        format!("<Meting{declarations}/>"),
    ];
    assert!(bombs.iter().all(|b| b.len() < 1024 * 1024));
    // Spawned, so that the eight are in flight together.
    let posts: Vec<_> = (0..8)
        .map(|i| {
            let request = client
                .post(server.url(VALIDEER))
                .bearer_auth(&server.token)
                .header("content-type", "application/xml")
                .body(bombs[i % 2].clone())
                .send();
            tokio::spawn(async move {
                let reply = request.await.expect("POST");
                (reply.status(), reply.text().await.expect("body"))
            })
        })
        .collect();
    // Others keep being served meanwhile: reading and validation run off
    // the async workers, at most one body per core. Generous for a loaded
    // machine: starved workers took over 60 s.
    let other = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let health = other.get(server.url("/health")).send().await.expect("GET");
    assert_eq!(health.status(), 200);
    let valid = Bericht::meting("SEC-BOMB-OK", "0363", &bsn(77), "2024-03-08", 3).xml();
    let reply = other
        .post(server.url("/api/v1/berichten"))
        .bearer_auth(&server.token)
        .header("content-type", "application/xml")
        .body(valid)
        .send()
        .await
        .expect("POST");
    assert_eq!(
        reply.status(),
        201,
        "{}",
        reply.text().await.unwrap_or_default()
    );
    // Generous: quadratic checking took minutes for these on 2 cores.
    let refused = tokio::time::timeout(Duration::from_secs(60), async {
        for post in posts {
            let (status, text) = post.await.expect("task");
            assert_eq!(status, 400, "{text}");
            assert!(text.contains("xml.too-many-attributes"), "{text}");
        }
    });
    refused.await.expect("the bombs refused within 60 s");
}

/// AVG art. 15: `admin inzage` exports every message about one BSN, as
/// stored, and every processing of it from the audit log, and nothing of
/// another person's; the export is audited itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inzage_exports_one_persons_messages_and_processing_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let client = server.client();
    let (a, b) = (bsn(41), bsn(42));
    let berichten = [
        Bericht::meting("INZ-A-1", "0363", &a, "2024-02-01", 3).toelichting("marker-van-a"),
        Bericht::meting("INZ-B-1", "0363", &b, "2024-02-02", 4).toelichting("marker-van-b"),
        Bericht::correctie("INZ-A-2", "INZ-A-1", "0363", &a, "2024-02-01", 4),
    ];
    for m in &berichten {
        let reply = client
            .post(server.url("/api/v1/berichten"))
            .header("content-type", "application/xml")
            .body(m.xml())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
    }
    for path in [
        format!("/api/v1/clienten/{a}/metingen"),
        format!("/api/v1/clienten/{b}/metingen"),
        "/api/v1/feed?gemeente=0363".to_string(),
    ] {
        let reply = client.get(server.url(&path)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path}");
    }
    server.stop();

    let file = dir.path().join("inzage.json");
    let out = admin(
        &data,
        &["inzage", "--bsn", &a, "--uit", file.to_str().unwrap()],
    );
    assert!(out.contains("2 berichten"), "{out}");
    assert!(!out.contains(&a), "stdout shows no BSN: {out}");
    let text = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
    assert!(!text.contains(&b) && !text.contains("marker-van-b") && !text.contains("INZ-B-1"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["bsn"], a.as_str());
    let msgs = v["berichten"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["xml"], berichten[0].xml(), "as received");
    assert_eq!(msgs[0]["status"], "vervangen");
    assert_eq!(msgs[0]["vervallen_door"], "INZ-A-2");
    assert_eq!(msgs[1]["xml"], berichten[2].xml());
    assert_eq!(msgs[1]["status"], "geldig");
    // The two posts, the history read and the feed page: each once, with
    // only this person's hash and messages; not the read of the other's history.
    let entries = v["verwerkingen"].as_array().unwrap();
    let routes: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["methode"].as_str().unwrap(), e["route"].as_str().unwrap()))
        .collect();
    assert_eq!(
        routes,
        [
            ("POST", "/api/v1/berichten"),
            ("POST", "/api/v1/berichten"),
            ("GET", "/api/v1/clienten/{bsn}/metingen"),
            ("GET", "/api/v1/feed"),
        ],
        "{entries:#?}"
    );
    let hash = entries[0]["bsn_hashes"][0].as_str().unwrap().to_string();
    for e in entries {
        assert_eq!(e["bsn_hashes"], serde_json::json!([hash]), "{e}");
    }
    assert_eq!(
        entries[3]["berichten"],
        serde_json::json!(["INZ-A-1", "INZ-A-2"])
    );

    // The export is in the audit log, and a second one shows it.
    let again = dir.path().join("inzage-2.json");
    admin(
        &data,
        &["inzage", "--bsn", &a, "--uit", again.to_str().unwrap()],
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    let last = v["verwerkingen"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["methode"].as_str(), last["route"].as_str()),
        (Some("ADMIN"), Some("inzage"))
    );
    assert_eq!(last["bsn_hashes"], serde_json::json!([hash]));
    // It never overwrites a file.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["admin", "--data"])
        .arg(&data)
        .args(["inzage", "--bsn", &a, "--uit"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}
