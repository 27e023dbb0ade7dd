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
                     return [key(e), s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2];"
                ),
                json!([]),
            )
            .await;
        if let Some([k, visible]) = focused.as_array().map(|a| a.as_slice()) {
            let k = k.as_str().unwrap_or_default().to_string();
            assert_eq!(
                visible,
                &json!(true),
                "{name}: {k} has no visible focus outline"
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

#[tokio::test]
async fn the_dashboard_in_a_real_browser_is_accessible_and_shows_the_api_figures() {
    let Some(tools) = Tools::find("dashboard browser test") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let browser = Browser::start(&tools).await;

    // Signed out, the dashboard is the login form.
    browser.goto(&server.url("/dashboard/inloggen")).await;
    let url = browser.url().await;
    assert!(url.ends_with("/dashboard/inloggen"), "{url}");
    assert_eq!(browser.title().await, "Inloggen – ladderpost");
    check_page(&browser, &tools, "inloggen").await;
    let field = browser.find("#token").await;
    browser.type_into(&field, &server.token).await;
    let submit = browser.find("form.inloggen button[type=submit]").await;
    browser.click(&submit).await;
    let url = browser.url().await;
    let text = browser
        .script("return document.body.innerText;", json!([]))
        .await;
    assert!(url.ends_with("/dashboard"), "{url}: {text}");
    browser.quit().await;
}
