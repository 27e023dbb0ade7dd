//! Authentication, authorisation and the audit log, against the real
//! binary: token lifecycle (admin CLI and beheer API), the endpoint × role
//! × municipality matrix, denials that leak nothing, and audit entries with
//! hashed BSNs only.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::messages::{bsn, Bericht};
use common::reply::Reply;
use common::server::{admin, token_of, Process, Server, Service, LOCAL_RECEIVERS};
use serde_json::Value;

const XML: &str = "application/xml";
/// A distinctive surname of the other municipality's client.
const OTHER_NAME: &str = "Vertrouwelijkheidsma";

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    Reply::send(request).await
}

async fn get(server: &Service, token: Option<&str>, path: &str) -> Reply {
    let mut r = http().get(server.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    send(r).await
}

async fn post(server: &Service, token: Option<&str>, path: &str, ct: &str, body: String) -> Reply {
    let mut r = http()
        .post(server.url(path))
        .header("content-type", ct)
        .body(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    send(r).await
}

async fn delete(server: &Service, token: Option<&str>, path: &str) -> Reply {
    let mut r = http().delete(server.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    send(r).await
}

/// The (first) code of an error: from a `Foutbericht`, or from the
/// problem+json of a JSON route.
fn code(reply: &Reply) -> Option<String> {
    let ct = reply.headers.get("content-type")?.to_str().ok()?;
    if ct == "application/problem+json" {
        let p: Value = serde_json::from_slice(&reply.body).ok()?;
        return p["code"].as_str().map(str::to_string);
    }
    let body = reply.text();
    let start = body.find("<Code>")? + 6;
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_string())
}

/// A reply without its `Tijdstip`, to compare two replies.
fn untimed(body: &str) -> String {
    match (body.find("<Tijdstip>"), body.find("</Tijdstip>")) {
        (Some(a), Some(b)) => format!("{}{}", &body[..a], &body[b..]),
        _ => body.to_string(),
    }
}

fn json(reply: &Reply) -> Value {
    reply.json()
}

/// `admin sleutel maken` for `org` with `rollen`; the token.
fn key(data: &Path, org: &str, rollen: &str) -> String {
    token_of(&admin(
        data,
        &["sleutel", "maken", "--organisatie", org, "--rollen", rollen],
    ))
}

// ---------------------------------------------------------------------------
// Token lifecycle
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tokens_created_by_cli_and_api_work_until_revoked_or_expired() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    admin(
        &data,
        &[
            "organisatie",
            "toevoegen",
            "--id",
            "gemeente-amsterdam",
            "--naam",
            "Gemeente Amsterdam",
            "--gemeenten",
            "0363",
        ],
    );
    let cli = key(&data, "gemeente-amsterdam", "afnemen");
    let listed = admin(&data, &["organisatie", "lijst"]);
    assert!(
        listed.contains("gemeente-amsterdam\tGemeente Amsterdam\tgemeenten=0363"),
        "{listed}"
    );
    assert!(listed.contains("benchmark=false"), "{listed}");
    let set = admin(
        &data,
        &[
            "organisatie",
            "benchmark",
            "--id",
            "gemeente-amsterdam",
            "--deelname",
            "true",
        ],
    );
    assert_eq!(set, "organisatie gemeente-amsterdam: benchmark=true\n");
    assert!(admin(&data, &["organisatie", "lijst"]).contains("benchmark=true"));
    assert!(cli.starts_with("lp_"), "{cli}");
    let cli_id = cli.split('_').nth(1).unwrap().to_string();

    let server = Process::start(&data);
    assert!(
        server.printed_beheer,
        "the first start prints the beheer token"
    );
    let beheer = server.beheer.clone().expect("beheer token");
    let feed = "/api/v1/feed?gemeente=0363";

    // Missing, malformed and unknown tokens: 401 with WWW-Authenticate.
    for token in [None, Some("nonsense"), Some("lp_0123456789abcdef_AAAA")] {
        let r = get(&server, token, feed).await;
        assert_eq!(r.status, 401, "{token:?}: {}", r.text());
        assert_eq!(code(&r).as_deref(), Some("auth.niet-aangemeld"));
        assert!(r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
    // The CLI's token, and a tampered copy of it.
    assert_eq!(get(&server, Some(&cli), feed).await.status, 200);
    let tampered = format!("{}x", &cli[..cli.len() - 1]);
    assert_eq!(get(&server, Some(&tampered), feed).await.status, 401);

    // A credential through the beheer API; shown once, listed without it.
    let r = post(
        &server,
        Some(&beheer),
        "/api/v1/beheer/sleutels",
        "application/json",
        r#"{"organisatie":"gemeente-amsterdam","rollen":["afnemen"]}"#.into(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = json(&r);
    let api = created["token"].as_str().unwrap().to_string();
    let api_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(get(&server, Some(&api), feed).await.status, 200);
    let list = get(&server, Some(&beheer), "/api/v1/beheer/sleutels").await;
    assert_eq!(list.status, 200);
    assert!(
        list.text().contains(&api_id) && !list.text().contains(&api),
        "{}",
        list.text()
    );
    assert!(!list.text().contains("hash"), "{}", list.text());

    // Revoked through the API: 401 at once; unknown ids 404.
    let r = delete(
        &server,
        Some(&beheer),
        &format!("/api/v1/beheer/sleutels/{api_id}"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = get(&server, Some(&api), feed).await;
    assert_eq!(r.status, 401);
    assert_eq!(code(&r).as_deref(), Some("auth.niet-aangemeld"));
    assert_eq!(
        delete(
            &server,
            Some(&beheer),
            "/api/v1/beheer/sleutels/ffffffffffffffff"
        )
        .await
        .status,
        404
    );

    // Expiry: already past, and a few seconds ahead.
    let mk = |verloopt: String| {
        post(
            &server,
            Some(&beheer),
            "/api/v1/beheer/sleutels",
            "application/json",
            serde_json::json!({"organisatie": "gemeente-amsterdam", "rollen": ["afnemen"], "verloopt": verloopt}).to_string(),
        )
    };
    let past = json(&mk("2020-01-01T00:00:00Z".into()).await)["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&server, Some(&past), feed).await.status, 401);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    let expiry = now() + Duration::from_secs(3);
    let soon = ladderpost::time::Moment(expiry.as_micros() as i64);
    let short = json(&mk(soon.to_string()).await)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let before = get(&server, Some(&short), feed).await.status;
    // Valid until its expiry; a machine too slow to ask in time proves less.
    if now() < expiry {
        assert_eq!(before, 200);
    }
    tokio::time::sleep(expiry.saturating_sub(now()) + Duration::from_millis(100)).await;
    assert_eq!(get(&server, Some(&short), feed).await.status, 401);

    // The admin CLI refuses a running server's directory, saying why.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["admin", "--data"])
        .arg(&data)
        .args(["sleutel", "lijst"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ladderpost serve") && err.contains("running"),
        "{err}"
    );

    // Revoked with the CLI while stopped; the beheer token is not printed again.
    assert_eq!(server.stop(), Some(0));
    let out = admin(&data, &["sleutel", "intrekken", &cli_id]);
    assert!(out.contains("ingetrokken"), "{out}");
    assert!(admin(&data, &["sleutel", "lijst"]).contains(&format!(
        "{cli_id}\tgemeente-amsterdam\tafnemen\tingetrokken"
    )));
    let server = Process::start(&data);
    assert!(
        !server.printed_beheer,
        "the beheer token is printed once only"
    );
    assert_eq!(get(&server, Some(&cli), feed).await.status, 401);
    assert_eq!(
        get(&server, Some(&beheer), "/api/v1/beheer/organisaties")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn beheer_api_manages_organisations() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let beheer = server.beheer.clone().unwrap();
    let body = r#"{"id":"gemeente-utrecht","naam":"Gemeente Utrecht","gemeenten":["0344"],"oin":"00000001001234567000","rollen_bij_certificaat":["aanleveren"]}"#;
    let r = post(
        &server,
        Some(&beheer),
        "/api/v1/beheer/organisaties",
        "application/json",
        body.into(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let again = post(
        &server,
        Some(&beheer),
        "/api/v1/beheer/organisaties",
        "application/json",
        body.into(),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.text());
    let bad = post(
        &server,
        Some(&beheer),
        "/api/v1/beheer/organisaties",
        "application/json",
        r#"{"id":"x","naam":"X","gemeenten":["12"]}"#.into(),
    )
    .await;
    assert_eq!(bad.status, 400);
    let list = json(&get(&server, Some(&beheer), "/api/v1/beheer/organisaties").await);
    let ids: Vec<&str> = list["organisaties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"beheer") && ids.contains(&"gemeente-utrecht") && ids.contains(&"test"),
        "{ids:?}"
    );
    // A sender for 0344 created by the API posts for 0344 only.
    let r = post(
        &server,
        Some(&beheer),
        "/api/v1/beheer/sleutels",
        "application/json",
        r#"{"organisatie":"gemeente-utrecht","rollen":["aanleveren"]}"#.into(),
    )
    .await;
    let sender = json(&r)["token"].as_str().unwrap().to_string();
    let own = Bericht::meting("AUTH-U-1", "0344", &bsn(40), "2024-03-08", 3).xml();
    assert_eq!(
        post(&server, Some(&sender), "/api/v1/berichten", XML, own)
            .await
            .status,
        201
    );
    let other = Bericht::meting("AUTH-U-2", "0363", &bsn(41), "2024-03-08", 3).xml();
    let r = post(&server, Some(&sender), "/api/v1/berichten", XML, other).await;
    assert_eq!(r.status, 403);
    assert_eq!(code(&r).as_deref(), Some("auth.geen-toegang"));
    // Unknown role, unknown organisation: 400.
    for body in [
        r#"{"organisatie":"gemeente-utrecht","rollen":["koning"]}"#,
        r#"{"organisatie":"nergens","rollen":["afnemen"]}"#,
    ] {
        let r = post(
            &server,
            Some(&beheer),
            "/api/v1/beheer/sleutels",
            "application/json",
            body.into(),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }
}

/// Installation administrator `beheer` vs an organisation's own: A's
/// administrator manages A's credentials and reads A's audit entries, and
/// nothing of B.
#[tokio::test]
async fn an_organisations_administrator_manages_only_its_own_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let install = server.beheer.clone().unwrap();
    let i = Some(install.as_str());
    let js = "application/json";
    for (id, g) in [("org-a", "0363"), ("org-b", "0599")] {
        let body = serde_json::json!({"id": id, "naam": id, "gemeenten": [g]}).to_string();
        let r = post(&server, i, "/api/v1/beheer/organisaties", js, body).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let make =
        |org: &str, rol: &str| serde_json::json!({"organisatie": org, "rollen": [rol]}).to_string();
    let r = post(
        &server,
        i,
        "/api/v1/beheer/sleutels",
        js,
        make("org-a", "beheer"),
    )
    .await;
    let a_admin = json(&r)["token"].as_str().unwrap().to_string();
    let r = post(
        &server,
        i,
        "/api/v1/beheer/sleutels",
        js,
        make("org-b", "afnemen"),
    )
    .await;
    let b_reader = json(&r)["token"].as_str().unwrap().to_string();
    let b_key = json(&r)["id"].as_str().unwrap().to_string();
    // B reads its feed: an audit entry of B's.
    let r = get(&server, Some(&b_reader), "/api/v1/feed?gemeente=0599").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = Some(a_admin.as_str());

    // Refused, naming the rule: another organisation's credential, any new
    // organisation, another organisation's audit entries.
    for (path, body) in [
        ("/api/v1/beheer/sleutels", make("org-b", "afnemen")),
        ("/api/v1/beheer/sleutels", make("beheer", "beheer")),
        (
            "/api/v1/beheer/organisaties",
            r#"{"id":"org-c","naam":"C","gemeenten":["0599"]}"#.to_string(),
        ),
    ] {
        let r = post(&server, a, path, js, body.clone()).await;
        assert_eq!(r.status, 403, "{path} {body}: {}", r.text());
        assert_eq!(code(&r).as_deref(), Some("auth.geen-toegang"));
        assert!(
            r.text().contains("own organisation") || r.text().contains("installation"),
            "{}",
            r.text()
        );
    }
    let r = get(&server, a, "/api/v1/beheer/audit?organisatie=org-b").await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Another organisation's credential is unknown to A, and keeps working.
    let r = delete(&server, a, &format!("/api/v1/beheer/sleutels/{b_key}")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = get(&server, Some(&b_reader), "/api/v1/feed?gemeente=0599").await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Its own: a new credential, and lists that hold only A.
    let r = post(
        &server,
        a,
        "/api/v1/beheer/sleutels",
        js,
        make("org-a", "afnemen"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a_reader = json(&r)["token"].as_str().unwrap().to_string();
    let a_key = json(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&server, Some(&a_reader), "/api/v1/feed?gemeente=0363")
            .await
            .status,
        200
    );
    let orgs = json(&get(&server, a, "/api/v1/beheer/organisaties").await);
    let ids: Vec<&str> = orgs["organisaties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["org-a"]);
    let keys = json(&get(&server, a, "/api/v1/beheer/sleutels").await);
    let owners: Vec<&str> = keys["sleutels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["organisatie"].as_str().unwrap())
        .collect();
    assert!(
        owners.len() == 2 && owners.iter().all(|o| *o == "org-a"),
        "{owners:?}"
    );
    let audit = json(&get(&server, a, "/api/v1/beheer/audit").await);
    let of: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["organisatie"].as_str().unwrap_or("-"))
        .collect();
    assert!(!of.is_empty() && of.iter().all(|o| *o == "org-a"), "{of:?}");
    // The installation's administrator sees B's entries, and may revoke
    // A's credential, which A may too.
    let audit = json(&get(&server, i, "/api/v1/beheer/audit?organisatie=org-b").await);
    assert!(!audit["audit"].as_array().unwrap().is_empty());
    let r = delete(&server, a, &format!("/api/v1/beheer/sleutels/{a_key}")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        get(&server, Some(&a_reader), "/api/v1/feed?gemeente=0363")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn json_routes_answer_problem_json_and_message_routes_a_foutbericht() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let t = Some(server.token.as_str());
    let i = server.beheer.as_deref();
    let js = "application/json";
    let r = post(
        &server,
        i,
        "/api/v1/beheer/sleutels",
        js,
        r#"{"organisatie":"test","rollen":["aanleveren"]}"#.into(),
    )
    .await;
    let reader = json(&r)["token"].as_str().unwrap().to_string();
    let cases = [
        (
            get(&server, None, "/api/v1/abonnementen").await,
            401,
            "auth.niet-aangemeld",
        ),
        (
            get(&server, Some(&reader), "/api/v1/abonnementen").await,
            403,
            "auth.geen-toegang",
        ),
        (
            post(&server, i, "/api/v1/beheer/sleutels", js, "{".into()).await,
            400,
            "http.parameter",
        ),
        (
            get(&server, i, "/api/v1/beheer/audit?limit=1&limit=2").await,
            400,
            "http.parameter",
        ),
        (
            get(&server, t, "/api/v1/abonnementen/onbekend").await,
            404,
            "http.not-found",
        ),
        (
            delete(&server, i, "/api/v1/beheer/sleutels/onbekend").await,
            404,
            "http.not-found",
        ),
        (
            get(&server, None, "/api/v1/schema/onbekend.xsd").await,
            404,
            "http.not-found",
        ),
    ];
    for (r, status, expected) in &cases {
        assert_eq!(r.status, *status, "{}", r.text());
        assert_eq!(
            r.headers["content-type"],
            "application/problem+json",
            "{}",
            r.text()
        );
        let p = json(r);
        assert_eq!(p["status"], *status);
        assert_eq!(p["code"], *expected, "{p}");
        assert_eq!(p["type"], format!("urn:ladderpost:fout:{expected}"));
        assert!(!p["detail"].as_str().unwrap_or("").is_empty(), "{p}");
    }
    assert!(cases[0].0.headers.contains_key("www-authenticate"));
    assert!(
        json(&cases[3].0)["detail"]
            .as_str()
            .unwrap()
            .contains("duplicate"),
        "names the parameter"
    );
    // Message routes: a Foutbericht, duplicate parameters included.
    for r in [
        get(&server, t, "/api/v1/feed?gemeente=0363&gemeente=0599").await,
        get(&server, None, "/api/v1/feed?gemeente=0363").await,
    ] {
        assert!(r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml"));
        assert!(ladderpost::validate_schema(&r.body).is_ok(), "{}", r.text());
        assert!(r.text().contains("<Foutbericht"), "{}", r.text());
    }
}

// ---------------------------------------------------------------------------
// Message ids and measurements belong to their sender
// ---------------------------------------------------------------------------

const BERICHTEN: &str = "/api/v1/berichten";

/// The installation's administrator adds organisations `ids` for 0363
/// (the first with `oin`) and makes each a sending and reading credential.
async fn senders(server: &Service, ids: &[&str], oin: &str) -> Vec<String> {
    let i = server.beheer.as_deref();
    let js = "application/json";
    let mut tokens = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let mut org = serde_json::json!({"id": id, "naam": id, "gemeenten": ["0363"]});
        if n == 0 {
            org["oin"] = oin.into();
        }
        let r = post(
            server,
            i,
            "/api/v1/beheer/organisaties",
            js,
            org.to_string(),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let key = serde_json::json!({"organisatie": id, "rollen": ["aanleveren", "afnemen"]});
        let r = post(server, i, "/api/v1/beheer/sleutels", js, key.to_string()).await;
        tokens.push(json(&r)["token"].as_str().unwrap().to_string());
    }
    tokens
}

#[tokio::test]
async fn message_ids_are_scoped_to_the_sending_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let t = senders(&server, &["org-a", "org-b"], "00000001000000000001").await;
    let (a, b) = (Some(t[0].as_str()), Some(t[1].as_str()));
    let mine = Bericht::meting("ID-1", "0363", &bsn(1), "2024-03-01", 3).xml();
    let theirs = Bericht::meting("ID-1", "0363", &bsn(2), "2024-03-02", 4).xml();
    assert_eq!(
        post(&server, a, BERICHTEN, XML, mine.clone()).await.status,
        201
    );
    // B, posting A's id, learns nothing: its message is its own.
    let r = post(&server, b, BERICHTEN, XML, theirs.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // B taking an id first does not block A from it.
    let b_first = Bericht::meting("ID-2", "0363", &bsn(3), "2024-03-01", 2).xml();
    assert_eq!(post(&server, b, BERICHTEN, XML, b_first).await.status, 201);
    let a_later = Bericht::meting("ID-2", "0363", &bsn(4), "2024-03-01", 5).xml();
    assert_eq!(post(&server, a, BERICHTEN, XML, a_later).await.status, 201);
    // A repeat by the same sender is idempotent; a changed body conflicts.
    let r = post(&server, a, BERICHTEN, XML, mine).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("<Herhaling>true</Herhaling>"),
        "{}",
        r.text()
    );
    let changed = Bericht::meting("ID-1", "0363", &bsn(1), "2024-03-01", 4).xml();
    let r = post(&server, a, BERICHTEN, XML, changed).await;
    assert_eq!(
        (r.status, code(&r).as_deref()),
        (409, Some("bericht.conflict"))
    );
    assert_eq!(post(&server, b, BERICHTEN, XML, theirs).await.status, 200);

    // Each reads its own message under the shared id; a caller who sees
    // both names the sender.
    for (token, org, client) in [(a, "org-a", bsn(1)), (b, "org-b", bsn(2))] {
        let r = get(&server, token, "/api/v1/berichten/ID-1").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.headers["ladderpost-organisatie"], org);
        assert!(r.text().contains(&client));
    }
    let all = Some(server.token.as_str());
    let r = get(&server, all, "/api/v1/berichten/ID-1").await;
    assert_eq!(
        (r.status, code(&r).as_deref()),
        (400, Some("http.parameter"))
    );
    assert!(r.text().contains("?afzender="), "{}", r.text());
    let r = get(&server, all, "/api/v1/berichten/ID-1?afzender=org-b").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains(&bsn(2)));

    // The feed and the history name the authenticated sender.
    let r = get(&server, a, "/api/v1/feed?gemeente=0363").await;
    assert_eq!(
        r.text()
            .matches("<lp:Organisatie>org-a</lp:Organisatie>")
            .count(),
        2
    );
    assert_eq!(
        r.text()
            .matches("<lp:Organisatie>org-b</lp:Organisatie>")
            .count(),
        2
    );
    assert!(ladderpost::validate_schema(&r.body).is_ok(), "{}", r.text());
    let r = get(&server, a, &format!("/api/v1/clienten/{}/metingen", bsn(1))).await;
    assert!(ladderpost::validate_schema(&r.body).is_ok(), "{}", r.text());
    assert!(
        r.text().contains("<lp:Organisatie>org-a</lp:Organisatie>"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn only_the_sender_or_an_organisation_it_authorised_changes_a_measurement() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let oin = "00000001000000000001";
    let t = senders(&server, &["org-a", "org-b", "org-c"], oin).await;
    let (a, b, c) = (
        Some(t[0].as_str()),
        Some(t[1].as_str()),
        Some(t[2].as_str()),
    );
    let i = server.beheer.as_deref();
    let client = bsn(11);
    let history = format!("/api/v1/clienten/{client}/metingen?inclusiefVervallen=true");
    let meting = Bericht::meting("A-1", "0363", &client, "2024-03-01", 3).xml();
    assert_eq!(post(&server, a, BERICHTEN, XML, meting).await.status, 201);
    let before = get(&server, a, &history).await.text();

    // B may neither correct nor withdraw A's measurement: to B it is unknown.
    let correctie = Bericht::correctie("B-1", "A-1", "0363", &client, "2024-03-01", 5).xml();
    let intrekking = Bericht::intrekking("B-2", "A-1", "0363", &client).xml();
    for refused in [correctie.clone(), intrekking] {
        let r = post(&server, b, BERICHTEN, XML, refused).await;
        assert_eq!(
            (r.status, code(&r).as_deref()),
            (422, Some("referentie.onbekend")),
            "{}",
            r.text()
        );
        assert!(!r.text().contains("org-a"), "{}", r.text());
    }
    assert_eq!(get(&server, a, &history).await.text(), before, "unchanged");

    // The municipality's administrator authorises B for A's measurements.
    let js = "application/json";
    let grant = r#"{"gemeente":"0363","aan":"org-b","namens":"org-a"}"#.to_string();
    let r = post(&server, a, "/api/v1/beheer/machtigingen", js, grant.clone()).await;
    assert_eq!(
        r.status,
        403,
        "only the installation's administrator: {}",
        r.text()
    );
    let r = post(&server, i, "/api/v1/beheer/machtigingen", js, grant.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post(&server, b, BERICHTEN, XML, correctie).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // The measurement stays A's: C may not change B's correction of it.
    let by_c = Bericht::intrekking("C-1", "B-1", "0363", &client).xml();
    let r = post(&server, c, BERICHTEN, XML, by_c).await;
    assert_eq!(
        code(&r).as_deref(),
        Some("referentie.onbekend"),
        "{}",
        r.text()
    );

    // Ended, the authorisation no longer lets B change it, not even
    // through B's own correction.
    let r = delete(&server, i, "/api/v1/beheer/machtigingen/0363/org-b/org-a").await;
    assert_eq!(r.status, 204, "{}", r.text());
    let later = Bericht::intrekking("B-3", "B-1", "0363", &client).xml();
    let r = post(&server, b, BERICHTEN, XML, later).await;
    assert_eq!(
        code(&r).as_deref(),
        Some("referentie.onbekend"),
        "{}",
        r.text()
    );
    // A corrects B's correction of its measurement.
    let again = Bericht::correctie("A-2", "B-1", "0363", &client, "2024-03-01", 4).xml();
    assert_eq!(post(&server, a, BERICHTEN, XML, again).await.status, 201);
    let h = get(&server, a, &history).await.text();
    assert!(
        h.contains("<lp:VervallenDoor>B-1</lp:VervallenDoor>"),
        "{h}"
    );
    assert!(
        h.contains("<lp:VervallenDoor>A-2</lp:VervallenDoor>"),
        "{h}"
    );
    assert!(h.contains("<lp:Organisatie>org-b</lp:Organisatie>"), "{h}");
}

#[tokio::test]
async fn afzender_oin_must_be_the_senders_own_and_a_second_organisation_is_signalled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let oin = "00000001000000000001";
    let t = senders(&server, &["org-a", "org-b"], oin).await;
    let (a, b) = (Some(t[0].as_str()), Some(t[1].as_str()));
    let client = bsn(21);
    let own = Bericht::meting("A-1", "0363", &client, "2024-03-01", 3)
        .oin(oin)
        .xml();
    assert_eq!(post(&server, a, BERICHTEN, XML, own).await.status, 201);
    // B names A's OIN; A names one that is not its own.
    for (token, id, claimed) in [(b, "B-1", oin), (a, "A-2", "00000001000000000002")] {
        let m = Bericht::meting(id, "0363", &bsn(22), "2024-03-01", 3)
            .oin(claimed)
            .xml();
        let r = post(&server, token, BERICHTEN, XML, m).await;
        assert_eq!(
            (r.status, code(&r).as_deref()),
            (403, Some("auth.afzender")),
            "{}",
            r.text()
        );
        assert!(r.text().contains("Afzender/Oin"), "{}", r.text());
    }
    // B measuring A's client within the period: accepted, with a warning
    // that names no organisation; then A again, warned of B.
    let second = Bericht::meting("B-2", "0363", &client, "2024-04-15", 4).xml();
    let r = post(&server, b, BERICHTEN, XML, second).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(
        r.text().contains("signaal.andere-organisatie"),
        "{}",
        r.text()
    );
    assert!(!r.text().contains("org-a"), "{}", r.text());
    let third = Bericht::meting("A-3", "0363", &client, "2024-04-16", 4).xml();
    let r = post(&server, a, BERICHTEN, XML, third).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(
        r.text().contains("signaal.andere-organisatie"),
        "B measured it: {}",
        r.text()
    );
    let far = Bericht::meting("B-3", "0363", &bsn(23), "2024-03-01", 4).xml();
    let r = post(&server, b, BERICHTEN, XML, far).await;
    assert!(
        !r.text().contains("signaal.andere-organisatie"),
        "another client: {}",
        r.text()
    );
}

// ---------------------------------------------------------------------------
// The authorisation matrix
// ---------------------------------------------------------------------------

const ROLES: [&str; 4] = ["aanleveren", "afnemen", "rapporteren", "beheer"];

#[tokio::test]
async fn every_endpoint_by_role_and_municipality() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    admin(
        &data,
        &[
            "organisatie",
            "toevoegen",
            "--id",
            "ams",
            "--naam",
            "Amsterdam",
            "--gemeenten",
            "0363",
        ],
    );
    let tokens: Vec<(&str, String)> = ROLES.iter().map(|r| (*r, key(&data, "ams", r))).collect();
    // Subscriptions below name loopback receivers.
    let server = Server::start_with(&data, &[LOCAL_RECEIVERS]);
    let all = server.token.clone();

    // Data of both municipalities, sent by the all-municipality test organisation.
    let (p, q) = (bsn(10), bsn(11));
    let own = Bericht::meting("AUTH-OWN-1", "0363", &p, "2024-03-08", 3).xml();
    let other = Bericht::meting("AUTH-OTHER-1", "0599", &q, "2024-03-08", 4)
        .achternaam(OTHER_NAME)
        .xml();
    assert_eq!(
        post(&server, Some(&all), "/api/v1/berichten", XML, own)
            .await
            .status,
        201
    );
    assert_eq!(
        post(&server, Some(&all), "/api/v1/berichten", XML, other)
            .await
            .status,
        201
    );
    let mut subs = Vec::new();
    for g in ["0363", "0599"] {
        let r = post(
            &server,
            Some(&all),
            "/api/v1/abonnementen",
            "application/json",
            serde_json::json!({"url": "http://127.0.0.1:9/inbox", "gemeente": g}).to_string(),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        subs.push(json(&r)["id"].as_str().unwrap().to_string());
    }
    let (own_sub, other_sub) = (subs[0].clone(), subs[1].clone());
    let secrets_of_others = [q.as_str(), "AUTH-OTHER-1", OTHER_NAME, other_sub.as_str()];

    let mut n = 0;
    for (rol, token) in &tokens {
        let t = Some(token.as_str());
        let is = |r: &str| *rol == r;
        let want = |ok: bool, good: u16, bad: u16| if ok { good } else { bad };
        let mut checks: Vec<(String, Reply, u16)> = Vec::new();
        n += 1;
        let own_msg = Bericht::meting(
            &format!("AUTH-M-{n}"),
            "0363",
            &bsn(100 + n),
            "2024-03-08",
            3,
        )
        .xml();
        let other_msg = Bericht::meting(
            &format!("AUTH-X-{n}"),
            "0599",
            &bsn(200 + n),
            "2024-03-08",
            3,
        )
        .xml();
        checks.push((
            "POST berichten own".into(),
            post(&server, t, "/api/v1/berichten", XML, own_msg.clone()).await,
            want(is("aanleveren"), 201, 403),
        ));
        checks.push((
            "POST berichten other".into(),
            post(&server, t, "/api/v1/berichten", XML, other_msg.clone()).await,
            403,
        ));
        checks.push((
            "POST _valideer own".into(),
            post(&server, t, "/api/v1/berichten/_valideer", XML, own_msg).await,
            want(is("aanleveren"), 200, 403),
        ));
        checks.push((
            "POST _valideer other".into(),
            post(&server, t, "/api/v1/berichten/_valideer", XML, other_msg).await,
            403,
        ));
        checks.push((
            "GET bericht own".into(),
            get(&server, t, "/api/v1/berichten/AUTH-OWN-1").await,
            want(is("afnemen"), 200, 403),
        ));
        checks.push((
            "GET bericht other".into(),
            get(&server, t, "/api/v1/berichten/AUTH-OTHER-1").await,
            want(is("afnemen"), 404, 403),
        ));
        checks.push((
            "GET bericht unknown".into(),
            get(&server, t, "/api/v1/berichten/AUTH-NONE").await,
            want(is("afnemen"), 404, 403),
        ));
        checks.push((
            "GET history own".into(),
            get(&server, t, &format!("/api/v1/clienten/{p}/metingen")).await,
            want(is("afnemen"), 200, 403),
        ));
        checks.push((
            "GET history other".into(),
            get(&server, t, &format!("/api/v1/clienten/{q}/metingen")).await,
            want(is("afnemen"), 200, 403),
        ));
        checks.push((
            "GET feed own".into(),
            get(&server, t, "/api/v1/feed?gemeente=0363").await,
            want(is("afnemen"), 200, 403),
        ));
        checks.push((
            "GET feed other".into(),
            get(&server, t, "/api/v1/feed?gemeente=0599").await,
            403,
        ));
        checks.push((
            "GET abonnementen".into(),
            get(&server, t, "/api/v1/abonnementen").await,
            want(is("afnemen"), 200, 403),
        ));
        checks.push((
            "POST abonnement other".into(),
            post(
                &server,
                t,
                "/api/v1/abonnementen",
                "application/json",
                r#"{"url":"http://127.0.0.1:9/x","gemeente":"0599"}"#.into(),
            )
            .await,
            403,
        ));
        checks.push((
            "GET abonnement own".into(),
            get(&server, t, &format!("/api/v1/abonnementen/{own_sub}")).await,
            want(is("afnemen"), 200, 403),
        ));
        checks.push((
            "GET abonnement other".into(),
            get(&server, t, &format!("/api/v1/abonnementen/{other_sub}")).await,
            want(is("afnemen"), 404, 403),
        ));
        checks.push((
            "replay other".into(),
            post(
                &server,
                t,
                &format!("/api/v1/abonnementen/{other_sub}/replay?vanaf=1"),
                "application/json",
                String::new(),
            )
            .await,
            want(is("afnemen"), 404, 403),
        ));
        checks.push((
            "DELETE abonnement other".into(),
            delete(&server, t, &format!("/api/v1/abonnementen/{other_sub}")).await,
            want(is("afnemen"), 404, 403),
        ));
        checks.push((
            "GET beheer organisaties".into(),
            get(&server, t, "/api/v1/beheer/organisaties").await,
            want(is("beheer"), 200, 403),
        ));
        checks.push((
            "GET beheer sleutels".into(),
            get(&server, t, "/api/v1/beheer/sleutels").await,
            want(is("beheer"), 200, 403),
        ));
        checks.push((
            "GET beheer audit".into(),
            get(&server, t, "/api/v1/beheer/audit").await,
            want(is("beheer"), 200, 403),
        ));
        checks.push((
            "POST beheer sleutels".into(),
            post(
                &server,
                t,
                "/api/v1/beheer/sleutels",
                "application/json",
                r#"{"organisatie":"ams","rollen":["beheer"]}"#.into(),
            )
            .await,
            want(is("beheer"), 201, 403),
        ));
        // An organisation's administrator is no installation administrator.
        checks.push((
            "POST beheer sleutels of another organisation".into(),
            post(
                &server,
                t,
                "/api/v1/beheer/sleutels",
                "application/json",
                r#"{"organisatie":"test","rollen":["afnemen"]}"#.into(),
            )
            .await,
            403,
        ));
        checks.push((
            "POST beheer organisaties".into(),
            post(
                &server,
                t,
                "/api/v1/beheer/organisaties",
                "application/json",
                r#"{"id":"eigen","naam":"Eigen","gemeenten":["0363"]}"#.into(),
            )
            .await,
            403,
        ));
        checks.push((
            "GET beheer machtigingen".into(),
            get(&server, t, "/api/v1/beheer/machtigingen").await,
            want(is("beheer"), 200, 403),
        ));
        checks.push((
            "POST beheer machtigingen (installation only)".into(),
            post(
                &server,
                t,
                "/api/v1/beheer/machtigingen",
                "application/json",
                r#"{"gemeente":"0363","aan":"ams","namens":"test"}"#.into(),
            )
            .await,
            403,
        ));
        // A measurement of the municipality, sent by another organisation:
        // not this one's to correct (to a sender it is unknown).
        let foreign = Bericht::correctie(
            &format!("AUTH-C-{n}"),
            "AUTH-OWN-1",
            "0363",
            &p,
            "2024-03-08",
            5,
        )
        .xml();
        checks.push((
            "POST correctie of another organisation's measurement".into(),
            post(&server, t, "/api/v1/berichten", XML, foreign).await,
            want(is("aanleveren"), 422, 403),
        ));
        checks.push(("GET health".into(), get(&server, t, "/health").await, 200));
        checks.push(("GET metrics".into(), get(&server, t, "/metrics").await, 200));
        checks.push((
            "GET schema".into(),
            get(&server, t, "/api/v1/schema").await,
            200,
        ));
        for (what, reply, expected) in &checks {
            assert_eq!(reply.status, *expected, "{rol}: {what}: {}", reply.text());
            if reply.status == 403 {
                assert_eq!(
                    code(reply).as_deref(),
                    Some("auth.geen-toegang"),
                    "{rol}: {what}"
                );
            }
            let public = what.starts_with("GET health")
                || what.starts_with("GET metrics")
                || what.starts_with("GET schema");
            let beheer_view = what.contains("beheer");
            if !public && !beheer_view && !what.ends_with(" own") {
                // Refused, or filtered: nothing of the other municipality.
                for secret in secrets_of_others {
                    // What the caller named itself may be echoed back.
                    let asked = (what == "GET history other" && secret == q)
                        || (what == "GET bericht other" && secret == "AUTH-OTHER-1")
                        || (what.contains("other")
                            && what.contains("abonnement")
                            && secret == other_sub)
                        || (what == "replay other" && secret == other_sub);
                    if asked {
                        continue;
                    }
                    assert!(
                        !reply.text().contains(secret),
                        "{rol}: {what} shows {secret}: {}",
                        reply.text()
                    );
                }
            }
        }
        if is("afnemen") {
            // The own subscription and message are there; the other's are not.
            let list = get(&server, t, "/api/v1/abonnementen").await;
            assert!(
                list.text().contains(&own_sub) && !list.text().contains(&other_sub),
                "{}",
                list.text()
            );
            let h = get(&server, t, &format!("/api/v1/clienten/{p}/metingen")).await;
            assert!(h.text().contains("AUTH-OWN-1"), "{}", h.text());
            // Another municipality's client looks exactly like an unknown one.
            let other_h = get(&server, t, &format!("/api/v1/clienten/{q}/metingen")).await;
            let unknown_h = get(
                &server,
                t,
                &format!("/api/v1/clienten/{}/metingen", bsn(999)),
            )
            .await;
            assert_eq!(
                other_h.text().replace(&q, "BSN"),
                unknown_h.text().replace(&bsn(999), "BSN")
            );
            // Unknown and other-municipality ids get the same answer, but the id.
            let a = get(&server, t, "/api/v1/berichten/AUTH-OTHER-1").await;
            let b = get(&server, t, "/api/v1/berichten/AUTH-NONE-0").await;
            assert_eq!(
                untimed(&a.text().replace("AUTH-OTHER-1", "ID")),
                untimed(&b.text().replace("AUTH-NONE-0", "ID"))
            );
            assert_eq!((a.status, code(&a)), (b.status, code(&b)));
            // Registering for its own municipality works.
            let r = post(
                &server,
                t,
                "/api/v1/abonnementen",
                "application/json",
                r#"{"url":"http://127.0.0.1:9/y","gemeente":"0363"}"#.into(),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
    }
    // Without a token, every protected endpoint: 401; public ones: 200.
    for path in [
        "/api/v1/berichten/AUTH-OWN-1",
        &format!("/api/v1/clienten/{p}/metingen"),
        "/api/v1/feed?gemeente=0363",
        "/api/v1/abonnementen",
        &format!("/api/v1/abonnementen/{own_sub}"),
        "/api/v1/beheer/organisaties",
        "/api/v1/beheer/sleutels",
        "/api/v1/beheer/audit",
    ] {
        let r = get(&server, None, path).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(code(&r).as_deref(), Some("auth.niet-aangemeld"));
        assert!(!r.text().contains(&p), "{path}");
    }
    let r = post(
        &server,
        None,
        "/api/v1/berichten",
        XML,
        Bericht::meting("AUTH-N-1", "0363", &p, "2024-03-08", 3).xml(),
    )
    .await;
    assert_eq!(r.status, 401);
    for path in ["/health", "/metrics", "/api/v1/schema"] {
        assert_eq!(get(&server, None, path).await.status, 200, "{path}");
    }
    // Deleting its own subscription works for afnemen.
    let afnemen = &tokens[1].1;
    assert_eq!(
        delete(
            &server,
            Some(afnemen),
            &format!("/api/v1/abonnementen/{own_sub}")
        )
        .await
        .status,
        204
    );
    // The other municipality's subscription survived every attempt.
    assert_eq!(
        get(
            &server,
            Some(&all),
            &format!("/api/v1/abonnementen/{other_sub}")
        )
        .await
        .status,
        200
    );
}

// ---------------------------------------------------------------------------
// The audit log
// ---------------------------------------------------------------------------

#[tokio::test]
async fn audit_log_records_reads_posts_and_denials_with_hashed_bsns_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    admin(
        &data,
        &[
            "organisatie",
            "toevoegen",
            "--id",
            "ams",
            "--naam",
            "Amsterdam",
            "--gemeenten",
            "0363",
        ],
    );
    let reader = key(&data, "ams", "afnemen");
    let server = Process::start_capturing(&data, "debug");
    let beheer = server.beheer.clone().unwrap();
    let all = server.token.clone();
    let (p, q) = (bsn(20), bsn(21));

    let own = Bericht::meting("AUTH-A-1", "0363", &p, "2024-03-08", 3).xml();
    let other = Bericht::meting("AUTH-A-2", "0599", &q, "2024-03-08", 3)
        .achternaam(OTHER_NAME)
        .xml();
    assert_eq!(
        post(&server, Some(&all), "/api/v1/berichten", XML, own)
            .await
            .status,
        201
    );
    assert_eq!(
        post(&server, Some(&all), "/api/v1/berichten", XML, other)
            .await
            .status,
        201
    );
    assert_eq!(
        get(&server, Some(&reader), "/api/v1/berichten/AUTH-A-1")
            .await
            .status,
        200
    );
    assert_eq!(
        get(
            &server,
            Some(&reader),
            &format!("/api/v1/clienten/{p}/metingen")
        )
        .await
        .status,
        200
    );
    assert_eq!(
        get(&server, Some(&reader), "/api/v1/berichten/AUTH-A-2")
            .await
            .status,
        404
    );
    assert_eq!(
        get(&server, Some(&reader), "/api/v1/feed?gemeente=0599")
            .await
            .status,
        403
    );
    assert_eq!(
        get(&server, None, &format!("/api/v1/clienten/{q}/metingen"))
            .await
            .status,
        401
    );
    // Not personal data: not audited.
    assert_eq!(get(&server, Some(&reader), "/health").await.status, 200);

    let r = get(&server, Some(&beheer), "/api/v1/beheer/audit").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let entries = json(&r)["audit"].as_array().unwrap().clone();
    let find = |methode: &str, route: &str, status: u64| {
        entries
            .iter()
            .find(|e| e["methode"] == methode && e["route"] == route && e["status"] == status)
            .unwrap_or_else(|| panic!("no audit entry {methode} {route} {status}: {entries:#?}"))
            .clone()
    };
    let posted = find("POST", "/api/v1/berichten", 201);
    assert_eq!(posted["organisatie"], "test");
    assert_eq!(posted["berichten"][0], "AUTH-A-1");
    let read = find("GET", "/api/v1/berichten/{id}", 200);
    assert_eq!(read["organisatie"], "ams");
    assert!(read["sleutel"].as_str().unwrap().len() == 16);
    let hash = read["bsn_hashes"][0].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    // The same BSN hashes the same everywhere (salted per installation).
    let history = find("GET", "/api/v1/clienten/{bsn}/metingen", 200);
    assert_eq!(history["bsn_hashes"][0].as_str(), Some(hash.as_str()));
    assert_eq!(posted["bsn_hashes"][0].as_str(), Some(hash.as_str()));
    // Denials too.
    let hidden = find("GET", "/api/v1/berichten/{id}", 404);
    assert_eq!(hidden["organisatie"], "ams");
    let refused = find("GET", "/api/v1/feed", 403);
    assert_eq!(refused["organisatie"], "ams");
    assert_eq!(refused["gemeente"], "0599", "what it asked for");
    let anonymous = find("GET", "/api/v1/clienten/{bsn}/metingen", 401);
    assert!(anonymous["organisatie"].is_null());
    let q_hash = entries
        .iter()
        .find(|e| e["berichten"][0] == "AUTH-A-2")
        .map(|e| e["bsn_hashes"][0].clone())
        .expect("the post of q's message");
    assert_eq!(anonymous["bsn_hashes"][0], q_hash, "the BSN it asked for");
    assert_eq!(posted["gemeente"], "0363");
    assert!(!entries.iter().any(|e| e["route"] == "/health"));
    assert!(!entries.iter().any(|e| e["route"] == "/api/v1/beheer/audit"));

    // Plain BSNs and contents appear nowhere: not in the audit, not in the log.
    for secret in [p.as_str(), q.as_str(), OTHER_NAME] {
        assert!(!r.text().contains(secret), "audit shows {secret}");
    }
    // The log is read from the child's stderr: wait for the last request.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !server.log().contains("/api/v1/beheer/audit") {
        assert!(
            std::time::Instant::now() < deadline,
            "the audit read never reached the log: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = server.log();
    assert!(log.contains("request"), "the log was captured: {log}");
    for secret in [p.as_str(), q.as_str(), OTHER_NAME] {
        assert!(!log.contains(secret), "the log shows {secret}");
    }

    // Filters: by organisation, by time, and a limit.
    let r = json(
        &get(
            &server,
            Some(&beheer),
            "/api/v1/beheer/audit?organisatie=ams",
        )
        .await,
    );
    let ams = r["audit"].as_array().unwrap();
    assert!(!ams.is_empty() && ams.iter().all(|e| e["organisatie"] == "ams"));
    let r = json(
        &get(
            &server,
            Some(&beheer),
            "/api/v1/beheer/audit?van=2100-01-01T00:00:00Z",
        )
        .await,
    );
    assert!(r["audit"].as_array().unwrap().is_empty());
    let r = json(
        &get(
            &server,
            Some(&beheer),
            "/api/v1/beheer/audit?tot=2100-01-01T00:00:00Z&limit=2",
        )
        .await,
    );
    assert_eq!(r["audit"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(&server, Some(&beheer), "/api/v1/beheer/audit?van=gisteren")
            .await
            .status,
        400
    );

    // The audit log survives a restart.
    assert_eq!(server.stop(), Some(0));
    let server = Server::start(&data);
    let r = json(&get(&server, Some(&beheer), "/api/v1/beheer/audit").await);
    assert!(r["audit"].as_array().unwrap().len() >= entries.len());
}

#[tokio::test]
async fn audit_entries_survive_a_kill_right_after_the_answer() {
    // No answer leaves before its audit entry is durable: kill -9 the
    // server the moment reads are answered, and every read is still in the
    // log after a restart.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Process::start(&data);
    let beheer = server.beheer.clone().unwrap();
    let all = server.token.clone();
    let p = bsn(30);
    let m = Bericht::meting("AUTH-K-1", "0363", &p, "2024-03-08", 3).xml();
    assert_eq!(
        post(&server, Some(&all), "/api/v1/berichten", XML, m)
            .await
            .status,
        201
    );
    for _ in 0..5 {
        let r = get(
            &server,
            Some(&all),
            &format!("/api/v1/clienten/{p}/metingen"),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    server.kill();
    let server = Server::start(&data);
    let audit = json(&get(&server, Some(&beheer), "/api/v1/beheer/audit?limit=1000").await);
    let reads = audit["audit"]
        .as_array()
        .expect("audit list")
        .iter()
        .filter(|e| e["route"] == "/api/v1/clienten/{bsn}/metingen" && e["status"] == 200)
        .count();
    assert_eq!(reads, 5, "{audit:#}");
}

#[test]
fn a_first_start_that_cannot_listen_leaves_the_beheer_token_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["serve", "--listen", &addr, "--data"])
        .arg(&data)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ladderpost serve");
    assert!(!out.status.success(), "serve on a taken port must fail");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("beheer-token"), "{stdout}");
    drop(taken);
    let server = Process::start(&data);
    assert!(
        server.printed_beheer,
        "the first start that listens shows the beheer token"
    );
}
