//! The dashboard (`/dashboard`): login by token into a server-side
//! session, the cookie's attributes, CSRF and Origin checks, the session
//! never opening the API, revocation ending sessions, roles, audit; and in
//! a real headless Chromium: the figures shown equal the reports API's,
//! every chart has its text alternative, Tab reaches every control, and
//! axe-core finds no accessibility violations (screenshots under
//! `target/screenshots/`).

use super::common;

use common::server::Server;

/// A client that keeps to what a browser would send by hand: no redirects
/// followed, no cookies kept (each test sets them itself).
fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn location(r: &reqwest::Response) -> &str {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

/// The value of cookie `name` among `Set-Cookie` headers.
fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// The value of the hidden `csrf` field in a page.
fn csrf_field(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + "name=\"csrf\" value=\"".len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A browser's login by hand: the form, then its POST from this origin.
/// The session cookie's `Set-Cookie` and the response.
async fn login(server: &Server, token: &str) -> (Option<String>, reqwest::Response) {
    login_from(server, token, &server.base).await
}

async fn login_from(
    server: &Server,
    token: &str,
    origin: &str,
) -> (Option<String>, reqwest::Response) {
    let c = plain();
    let page = c
        .get(server.url("/dashboard/inloggen"))
        .send()
        .await
        .expect("GET login");
    assert_eq!(page.status(), 200);
    let inlog = cookie_value(&set_cookies(&page), "lp_inlog").expect("login cookie");
    let html = page.text().await.expect("login page");
    let posted = c
        .post(server.url("/dashboard/inloggen"))
        .header("origin", origin)
        .header("cookie", format!("lp_inlog={inlog}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", &csrf_field(&html)), ("token", token)]))
        .send()
        .await
        .expect("POST login");
    let session = set_cookies(&posted)
        .into_iter()
        .find(|c| c.starts_with("lp_sessie=") && !c.starts_with("lp_sessie=;"));
    (session, posted)
}

fn session_id(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|c| c.strip_prefix("lp_sessie="))
        .expect("session cookie")
        .to_string()
}

/// A new credential of organisation `test` with `rollen`: (id, token).
async fn credential(server: &Server, rollen: &[&str]) -> (String, String) {
    let r = server
        .client()
        .post(server.url("/api/v1/beheer/sleutels"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"organisatie": "test", "rollen": rollen}).to_string())
        .send()
        .await
        .expect("POST sleutels");
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    (
        v["id"].as_str().expect("id").to_string(),
        v["token"].as_str().expect("token").to_string(),
    )
}

#[tokio::test]
async fn the_root_and_every_page_without_a_session_lead_to_the_login_form() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let c = plain();
    let root = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(location(&root), "/dashboard");
    for page in [
        "/dashboard",
        "/dashboard/werklijsten",
        "/dashboard/csv/stand",
    ] {
        let r = c.get(server.url(page)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{page}");
        assert_eq!(location(&r), "/dashboard/inloggen", "{page}");
    }
    let form = c
        .get(server.url("/dashboard/inloggen"))
        .send()
        .await
        .unwrap();
    let csp = form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'self'"),
        "{csp}"
    );
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(form.headers()["x-frame-options"], "DENY");
    let login_cookie = set_cookies(&form).join("\n");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));
    let html = form.text().await.unwrap();
    assert!(html.contains("<html lang=\"nl\">") && html.contains("<label for=\"token\">"));
    // The stylesheet is public and embedded; the API keeps its own CSP.
    let css = c
        .get(server.url("/dashboard/stijl.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains(":focus-visible"));
    let health = c.get(server.url("/health")).send().await.unwrap();
    assert_eq!(
        health.headers()["content-security-policy"],
        "default-src 'none'"
    );
}

#[tokio::test]
async fn a_login_sets_a_secure_http_only_strict_cookie_that_is_not_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (cookie, r) = login(&server, &server.token).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/dashboard");
    let cookie = cookie.expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    let id = session_id(&cookie);
    assert!(id.len() >= 43, "a random id of 256 bits");
    assert!(!cookie.contains(&server.token));
    let secret = server.token.rsplit('_').next().unwrap();
    assert!(
        !cookie.contains(secret),
        "the token's secret is not in the cookie"
    );
    // Signed in: the login form sends the browser on to the dashboard.
    let again = plain()
        .get(server.url("/dashboard/inloggen"))
        .header("cookie", format!("lp_sessie={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(location(&again), "/dashboard");
}

#[tokio::test]
async fn posts_from_another_origin_or_without_the_csrf_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (cookie, r) = login_from(&server, &server.token, "http://evil.example").await;
    assert_eq!(r.status(), 403);
    assert!(cookie.is_none(), "no session from a foreign form");
    // The right origin but no login cookie (a form posted from elsewhere
    // whose Origin was forged by a non-browser): refused too.
    let c = plain();
    let r = c
        .post(server.url("/dashboard/inloggen"))
        .header("origin", &server.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", "guess"), ("token", &server.token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookies(&r).iter().all(|c| !c.starts_with("lp_sessie=")));
    // A logout with the wrong token, or from elsewhere, leaves the session.
    let (cookie, _) = login(&server, &server.token).await;
    let id = session_id(&cookie.unwrap());
    let page = c
        .get(server.url("/dashboard/stijl.css"))
        .header("cookie", format!("lp_sessie={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    for (origin, csrf) in [(server.base.as_str(), "wrong"), ("http://evil.example", "")] {
        let r = c
            .post(server.url("/dashboard/uitloggen"))
            .header("origin", origin)
            .header("cookie", format!("lp_sessie={id}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", csrf)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{origin} {csrf}");
    }
    let still = c
        .get(server.url("/dashboard/inloggen"))
        .header("cookie", format!("lp_sessie={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&still), "/dashboard", "still signed in");
}

#[tokio::test]
async fn the_session_cookie_never_opens_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (cookie, _) = login(&server, &server.token).await;
    let id = session_id(&cookie.unwrap());
    for path in ["/api/v1/feed?gemeente=0363", "/api/v1/beheer/sleutels"] {
        let r = plain()
            .get(server.url(path))
            .header("cookie", format!("lp_sessie={id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn a_wrong_token_or_one_without_a_dashboard_role_opens_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (cookie, r) = login(&server, "lp_0000000000000000_nonsense").await;
    assert_eq!(r.status(), 401);
    assert!(cookie.is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("onbekend, ingetrokken of verlopen"));
    let (_, sender) = credential(&server, &["aanleveren"]).await;
    let (cookie, r) = login(&server, &sender).await;
    assert_eq!(r.status(), 403);
    assert!(cookie.is_none());
    assert!(r.text().await.unwrap().contains("rapporteren of afnemen"));
}

#[tokio::test]
async fn revoking_a_token_ends_its_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (id, token) = credential(&server, &["rapporteren"]).await;
    let (cookie, _) = login(&server, &token).await;
    let session = session_id(&cookie.unwrap());
    let signed_in = |s: String| {
        let url = server.url("/dashboard/inloggen");
        async move {
            let r = plain()
                .get(url)
                .header("cookie", format!("lp_sessie={s}"))
                .send()
                .await
                .unwrap();
            r.status() == 303
        }
    };
    assert!(signed_in(session.clone()).await);
    let revoked = server
        .client()
        .delete(server.url(&format!("/api/v1/beheer/sleutels/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert!(
        !signed_in(session).await,
        "the session ended with its token"
    );
}

// ---------------------------------------------------------------------------
// In a real browser
// ---------------------------------------------------------------------------

use common::webdriver::{Browser, Tools};
use serde_json::json;

/// WebDriver's Tab key.
const TAB: &str = "\u{E004}";

fn screenshots() -> std::path::PathBuf {
    common::root().join("target/screenshots")
}

/// What every page must pass: axe-core finds nothing, every chart is an
/// image with a title, a description and a data table beside it, and Tab
/// reaches every control, each with a visible focus outline. Saves a
/// screenshot as `name.png`.
async fn check_page(browser: &Browser, tools: &Tools, name: &str) {
    browser
        .screenshot(&screenshots().join(format!("{name}.png")))
        .await;
    let violations = browser.axe(tools).await;
    assert!(
        violations.is_empty(),
        "{name}: axe-core found\n{}",
        violations.join("\n")
    );
    let charts = browser
        .script(
            "return Array.from(document.querySelectorAll('svg')).map(s => {
                 const ids = (s.getAttribute('aria-labelledby') || '').split(' ').filter(x => x);
                 const named = ids.length === 2 && ids.every(i => {
                     const e = document.getElementById(i); return e && e.textContent.trim().length > 0; });
                 const title = s.querySelector(':scope > title'), desc = s.querySelector(':scope > desc');
                 const section = s.closest('section');
                 const table = section && section.querySelector('table caption');
                 return (s.getAttribute('role') === 'img' && named && title && desc && table)
                     ? '' : (s.id || 'an svg') + ' has no complete text alternative';
             }).filter(x => x);",
            json!([]),
        )
        .await;
    assert_eq!(
        charts,
        json!([]),
        "{name}: charts without a text alternative"
    );
    tab_reaches_every_control(browser, name).await;
}

async fn tab_reaches_every_control(browser: &Browser, name: &str) {
    const KEY: &str = "const key = e => e.tagName.toLowerCase() + '#' + (e.id || '') + '[' + (e.name || '') + ']('
        + (e.getAttribute('href') || '') + ')' + e.textContent.trim().slice(0, 40);";
    let controls = browser
        .script(
            &format!(
                "{KEY} return Array.from(document.querySelectorAll(
                    'a[href], button, input:not([type=hidden]), select, textarea, summary'))
                  .filter(e => !e.disabled && e.getClientRects().length > 0).map(key);"
            ),
            json!([]),
        )
        .await;
    let controls: std::collections::BTreeSet<String> = controls
        .as_array()
        .expect("controls")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!controls.is_empty(), "{name}: no controls");
    browser
        .script(
            "document.activeElement.blur(); window.scrollTo(0, 0);",
            json!([]),
        )
        .await;
    let mut reached = std::collections::BTreeSet::new();
    // A date field takes three Tabs (day, month, year): room for that.
    for _ in 0..controls.len() * 4 + 10 {
        browser.press(TAB).await;
        let focused = browser
            .script(
                &format!(
                    "{KEY} const e = document.activeElement; if (!e || e === document.body) return null;
                     const s = getComputedStyle(e);
                     return [key(e), s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, s.outlineStyle + ' ' + s.outlineWidth + ' ' + e.matches(':focus') + ' ' + e.matches(':focus-visible') + ' ' + e.matches(':focus-within')];"
                ),
                json!([]),
            )
            .await;
        if let Some([k, visible, how]) = focused.as_array().map(|a| a.as_slice()) {
            let k = k.as_str().unwrap_or_default().to_string();
            assert_eq!(
                visible,
                &json!(true),
                "{name}: {k} has no visible focus outline ({how})"
            );
            reached.insert(k);
        }
        if controls.is_subset(&reached) {
            break;
        }
    }
    let missed: Vec<&String> = controls.difference(&reached).collect();
    assert!(missed.is_empty(), "{name}: Tab never reached {missed:?}");
}

/// A store filled by the generator (the same code as `ladderpost
/// generate`): clients over five years in three municipalities, with
/// corrections and withdrawals.
fn generated(data: &std::path::Path) {
    let config = ladderpost::store::Config::from_flags(None, data, 64).expect("config");
    let opened = ladderpost::store::open(&config).expect("open the store");
    let plan = ladderpost::generate::Plan {
        clienten: 2500,
        metingen: 9000,
        gemeenten: 3,
        seed: 14,
    };
    ladderpost::generate::fill(&opened, plan, |_| {}).expect("generate");
    opened.messages.close().expect("close the store");
}

const GEMEENTE: &str = "0363";
const PEILDATUM: &str = "2025-12-31";
const VAN: &str = "2024-12-31";

/// The body rows of table `id` on the page: each row's cells' text.
async fn table(browser: &Browser, id: &str) -> Vec<Vec<String>> {
    let rows = browser
        .script(
            "const t = document.getElementById(arguments[0]); if (!t) return null;
             return Array.from(t.querySelectorAll('tbody tr'))
                 .map(r => Array.from(r.children).map(c => c.textContent.trim()));",
            json!([id]),
        )
        .await;
    serde_json::from_value(rows).unwrap_or_else(|e| panic!("table {id}: {e}"))
}

/// A count as the page writes it (12.345), read back.
fn count(text: &str) -> u64 {
    text.replace('.', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a count: {text:?}"))
}

async fn api(server: &Server, path: &str) -> serde_json::Value {
    let r = server.client().get(server.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_str(&r.text().await.unwrap()).expect("JSON")
}

/// The stand rows of a table (rung header, clients, with `+`) against the
/// API's `treden`.
fn same_stand(page: &[Vec<String>], treden: &serde_json::Value, what: &str) {
    let treden = treden.as_array().expect("treden");
    assert_eq!(
        page.len(),
        treden.len() + 1,
        "{what}: a row per rung and a total"
    );
    for (row, t) in page.iter().zip(treden) {
        assert!(
            row[0].starts_with(&format!("{} ", t["trede"])),
            "{what}: {row:?}"
        );
        assert_eq!(
            count(&row[1]),
            t["clienten"].as_u64().unwrap(),
            "{what}: {row:?}"
        );
        assert_eq!(
            count(&row[2]),
            t["groeipotentieel"].as_u64().unwrap(),
            "{what}: {row:?}"
        );
    }
    let total: u64 = treden.iter().map(|t| t["clienten"].as_u64().unwrap()).sum();
    assert_eq!(count(&page[treden.len()][1]), total, "{what}: total");
}

/// `31-12-2025` back to `2025-12-31`.
fn iso(dutch: &str) -> String {
    let p: Vec<&str> = dutch.split('-').collect();
    format!("{}-{}-{}", p[2], p[1], p[0])
}

#[tokio::test]
async fn the_dashboard_in_a_real_browser_is_accessible_and_shows_the_api_figures() {
    let Some(tools) = Tools::find("dashboard browser test") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The generator runs a runtime of its own: not inside the test's.
    let target = data.clone();
    std::thread::spawn(move || generated(&target))
        .join()
        .expect("generate");
    let server = Server::start(&data);
    let browser = Browser::start(&tools).await;

    // Signed out, the dashboard is the login form.
    browser.goto(&server.url("/")).await;
    let url = browser.url().await;
    assert!(url.ends_with("/dashboard/inloggen"), "{url}");
    assert_eq!(browser.title().await, "Inloggen – ladderpost");
    check_page(&browser, &tools, "inloggen").await;
    let field = browser.find("#token").await;
    browser.type_into(&field, &server.token).await;
    let submit = browser.find("form.inloggen button[type=submit]").await;
    browser.click(&submit).await;
    browser.arrives_at("/dashboard").await;

    // The reports page for one choice: every figure as the API gives it.
    let query = format!("gemeente={GEMEENTE}&peildatum={PEILDATUM}&van={VAN}");
    browser
        .goto(&server.url(&format!("/dashboard?{query}&groepeerOp=team")))
        .await;
    assert_eq!(browser.title().await, "Rapportages – ladderpost");
    let stand = api(
        &server,
        &format!("/api/v1/rapportages/stand?gemeente={GEMEENTE}&peildatum={PEILDATUM}"),
    )
    .await;
    let total: u64 = stand["treden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["clienten"].as_u64().unwrap())
        .sum();
    assert!(
        total >= 1000,
        "enough clients for thousands separators: {total}"
    );
    same_stand(
        &table(&browser, "tabel-stand").await,
        &stand["treden"],
        "stand",
    );
    let page_total = &table(&browser, "tabel-stand").await[8][1];
    assert!(page_total.contains('.'), "Dutch thousands: {page_total}");

    let per_team = api(
        &server,
        &format!(
            "/api/v1/rapportages/stand?gemeente={GEMEENTE}&peildatum={PEILDATUM}&groepeerOp=team"
        ),
    )
    .await;
    let groepen = table(&browser, "tabel-groepen").await;
    let api_groepen = per_team["groepen"].as_array().expect("groepen");
    assert!(!api_groepen.is_empty());
    assert_eq!(groepen.len(), api_groepen.len());
    for (row, g) in groepen.iter().zip(api_groepen) {
        assert_eq!(row[0], g["groep"].as_str().unwrap());
        for (cell, t) in row[1..9].iter().zip(g["treden"].as_array().unwrap()) {
            assert_eq!(count(cell), t["clienten"].as_u64().unwrap(), "{row:?}");
        }
    }

    let stromen = api(
        &server,
        &format!("/api/v1/rapportages/stromen?gemeente={GEMEENTE}&van={VAN}&tot={PEILDATUM}"),
    )
    .await;
    let of = |van: Option<u64>, naar: u64| {
        stromen["stromen"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["van"].as_u64() == van && s["naar"].as_u64() == Some(naar))
            .map(|s| s["clienten"].as_u64().unwrap())
            .sum::<u64>()
    };
    let matrix = table(&browser, "tabel-stromen").await;
    assert_eq!(matrix.len(), 10, "nieuw, eight rungs, total");
    let treden = [0u64, 1, 2, 3, 4, 5, 6, 9];
    for row in &matrix[..9] {
        let van = match row[0].as_str() {
            "Nieuw (geen meting)" => None,
            t => Some(t.trim_start_matches("Trede ").parse().unwrap()),
        };
        for (cell, naar) in row[1..9].iter().zip(treden) {
            assert_eq!(count(cell), of(van, naar), "from {van:?} to {naar}");
        }
    }
    assert!(
        of(None, 0) + of(None, 1) + of(None, 2) + of(None, 3) > 0,
        "new clients in the year"
    );

    let reeks = table(&browser, "tabel-tijdreeks").await;
    assert_eq!(reeks.len(), 12, "twelve quarters");
    assert_eq!(iso(&reeks[11][0]), PEILDATUM);
    for row in [&reeks[0], &reeks[5], &reeks[11]] {
        let at = api(
            &server,
            &format!(
                "/api/v1/rapportages/stand?gemeente={GEMEENTE}&peildatum={}",
                iso(&row[0])
            ),
        )
        .await;
        for (cell, t) in row[1..].iter().zip(at["treden"].as_array().unwrap()) {
            assert_eq!(count(cell), t["clienten"].as_u64().unwrap(), "{row:?}");
        }
    }

    let srg = api(
        &server,
        &format!("/api/v1/rapportages/srg?gemeente={GEMEENTE}&peildatum={PEILDATUM}"),
    )
    .await;
    let rows = table(&browser, "tabel-srg").await;
    for (row, r) in rows.iter().zip(srg["srg"].as_array().unwrap()) {
        assert_eq!(row[0], r["srg"].as_str().unwrap());
        assert_eq!(count(&row[2]), r["clienten"].as_u64().unwrap());
    }

    // Every CSV link gives the API's own CSV for the same question.
    let links = browser
        .script(
            "return Array.from(document.querySelectorAll('p.download a')).map(a => a.getAttribute('href'));",
            json!([]),
        )
        .await;
    let links: Vec<String> = serde_json::from_value(links).unwrap();
    assert_eq!(links.len(), 5, "{links:?}");
    let csv = |path: String, accept: bool| {
        let mut r = server.client().get(server.url(&path));
        if accept {
            r = r.header("accept", "text/csv");
        }
        async move { r.send().await.unwrap().text().await.unwrap() }
    };
    for (link, api_path) in [
        (
            format!("/dashboard/csv/stand?{query}"),
            format!("/api/v1/rapportages/stand?gemeente={GEMEENTE}&peildatum={PEILDATUM}"),
        ),
        (
            format!("/dashboard/csv/stand?{query}&groepeerOp=team"),
            format!("/api/v1/rapportages/stand?gemeente={GEMEENTE}&peildatum={PEILDATUM}&groepeerOp=team"),
        ),
        (
            format!("/dashboard/csv/stromen?{query}"),
            format!("/api/v1/rapportages/stromen?gemeente={GEMEENTE}&van={VAN}&tot={PEILDATUM}"),
        ),
        (
            format!("/dashboard/csv/srg?{query}"),
            format!("/api/v1/rapportages/srg?gemeente={GEMEENTE}&peildatum={PEILDATUM}"),
        ),
    ] {
        assert!(links.contains(&link), "{link} among {links:?}");
        assert_eq!(csv(link.clone(), false).await, csv(api_path, true).await, "{link}");
    }
    let tijdreeks = csv(format!("/dashboard/csv/tijdreeks?{query}"), false).await;
    assert!(tijdreeks.starts_with("peildatum,trede,clienten,groeipotentieel\r\n"));
    assert_eq!(tijdreeks.lines().count(), 1 + 12 * 8);

    check_page(&browser, &tools, "dashboard").await;

    // The worklists, for afnemen: the API's lists, client by client.
    browser
        .goto(&server.url(&format!("/dashboard/werklijsten?gemeente={GEMEENTE}")))
        .await;
    assert_eq!(browser.title().await, "Werklijsten – ladderpost");
    let lijsten = api(&server, &format!("/api/v1/werklijsten?gemeente={GEMEENTE}")).await;
    for (id, key) in [
        ("tabel-te-laat", "teLaat"),
        ("tabel-binnenkort", "binnenkort"),
        ("tabel-signalen", "signalen"),
    ] {
        let expected: std::collections::BTreeSet<String> = lijsten[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["bsn"].as_str().unwrap().to_string())
            .collect();
        // An empty list is a sentence, not a table.
        let present = browser
            .script(
                "return document.getElementById(arguments[0]) !== null;",
                json!([id]),
            )
            .await;
        let rows = if present == json!(true) {
            table(&browser, id).await
        } else {
            Vec::new()
        };
        let shown: std::collections::BTreeSet<String> =
            rows.into_iter().map(|row| row[0].clone()).collect();
        assert_eq!(shown, expected, "{key}");
    }
    let listed: usize = ["teLaat", "binnenkort", "signalen"]
        .iter()
        .map(|k| lijsten[k].as_array().unwrap().len())
        .sum();
    assert!(listed > 0, "a generated history puts clients on a worklist");
    check_page(&browser, &tools, "werklijsten").await;

    // Logging out ends the session: the dashboard is the login form again.
    let logout = browser.find("form.uitloggen button").await;
    browser.click(&logout).await;
    browser.arrives_at("/dashboard/inloggen").await;
    browser.goto(&server.url("/dashboard")).await;
    browser.arrives_at("/dashboard/inloggen").await;
    browser.quit().await;
}

#[tokio::test]
async fn dashboard_reads_are_audited_and_the_worklists_need_afnemen() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (id, reporter) = credential(&server, &["rapporteren"]).await;
    let (cookie, _) = login(&server, &reporter).await;
    let session = session_id(&cookie.unwrap());
    let get = |path: &str| {
        let r = plain()
            .get(server.url(path))
            .header("cookie", format!("lp_sessie={session}"));
        async move { r.send().await.unwrap() }
    };
    let page = get("/dashboard?gemeente=0599&peildatum=2025-12-31").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h2 id=\"stand-kop\">Stand per trede op 31-12-2025</h2>"));
    assert!(
        html.contains("name=\"csrf\""),
        "a logout form with the session's token"
    );
    assert!(
        !html.contains("/dashboard/werklijsten"),
        "no worklists without afnemen"
    );
    // Another municipality than the caller's: refused, as an HTML page.
    let foreign = get("/dashboard?gemeente=0000").await;
    assert_eq!(foreign.status(), 403);
    assert!(foreign.text().await.unwrap().contains("Geen toegang"));
    let bad = get("/dashboard?peildatum=2025-02-30").await;
    assert_eq!(bad.status(), 400);
    for path in ["/dashboard/werklijsten", "/dashboard/csv/werklijsten"] {
        let r = get(path).await;
        assert_eq!(r.status(), 403, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let csv = get("/dashboard/csv/srg?gemeente=0599&peildatum=2025-12-31").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.text().await.unwrap().starts_with("srg,clienten\r\n"));

    let audit = server
        .client()
        .get(server.url("/api/v1/beheer/audit?organisatie=test"))
        .send()
        .await
        .unwrap();
    let audit: serde_json::Value = serde_json::from_str(&audit.text().await.unwrap()).unwrap();
    let ours: Vec<&serde_json::Value> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["sleutel"] == id.as_str())
        .collect();
    let seen = |route: &str, status: u64, gemeente: Option<&str>| {
        ours.iter().any(|e| {
            e["route"] == route
                && e["status"] == status
                && gemeente.is_none_or(|g| e["gemeente"] == g)
        })
    };
    assert!(seen("/dashboard", 200, Some("0599")), "{ours:?}");
    assert!(seen("/dashboard", 403, Some("0000")), "{ours:?}");
    assert!(seen("/dashboard/werklijsten", 403, None), "{ours:?}");
    assert!(seen("/dashboard/csv/srg", 200, Some("0599")), "{ours:?}");
    assert!(ours.iter().all(|e| e["organisatie"] == "test"));
}

#[tokio::test]
async fn every_dashboard_page_by_role_and_municipality() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for rol in ["aanleveren", "afnemen", "rapporteren", "beheer"] {
        let (_, token) = credential(&server, &[rol]).await;
        let client = common::server::client_for(&token)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for (path, needs) in [
            (
                "/dashboard?gemeente=0363&peildatum=2025-12-31",
                "rapporteren",
            ),
            (
                "/dashboard/csv/stand?gemeente=0363&peildatum=2025-12-31",
                "rapporteren",
            ),
            (
                "/dashboard/csv/tijdreeks?gemeente=0363&peildatum=2025-12-31",
                "rapporteren",
            ),
            ("/dashboard/werklijsten?gemeente=0363", "afnemen"),
            (
                "/dashboard/csv/werklijsten?gemeente=0363&lijst=teLaat",
                "afnemen",
            ),
        ] {
            let r = client.get(server.url(path)).send().await.unwrap();
            let expected = if rol == needs { 200 } else { 403 };
            assert_eq!(r.status(), expected, "{rol}: {path}");
            // Organisation `test` does not act for 9999.
            let foreign = path.replace("0363", "9999");
            let r = client.get(server.url(&foreign)).send().await.unwrap();
            assert_eq!(r.status(), 403, "{rol}: {foreign}");
        }
    }
}
