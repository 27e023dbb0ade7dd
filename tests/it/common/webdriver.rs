//! A real headless Chromium, driven by chromedriver over the W3C WebDriver
//! HTTP protocol with the tests' own reqwest client (no WebDriver crate:
//! the handful of commands a page test needs are a few lines each).
//!
//! [`Tools::find`] looks for chromium, chromedriver and axe-core's
//! `axe.min.js`; when one is missing a test skips with a message, except
//! under `CI` (set by CI, and `.ci/run` installs them), where it fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The W3C name of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What the browser tests need on the machine.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    /// axe-core's `axe.min.js`.
    pub axe: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

impl Tools {
    /// The tools, or `None` after printing why the test is skipped.
    /// Panics instead under `CI`: there the tools must be installed.
    pub fn find(test: &str) -> Option<Tools> {
        let chromium = from_env("LADDERPOST_CHROMIUM")
            .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]));
        let chromedriver =
            from_env("LADDERPOST_CHROMEDRIVER").or_else(|| on_path(&["chromedriver"]));
        let axe = from_env("LADDERPOST_AXE").or_else(|| {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js");
            p.is_file().then_some(p)
        });
        let missing: Vec<&str> = [
            ("chromium (Debian package chromium)", chromium.is_none()),
            (
                "chromedriver (Debian package chromium-driver)",
                chromedriver.is_none(),
            ),
            (
                "axe.min.js (npm package axe-core; set LADDERPOST_AXE to its path)",
                axe.is_none(),
            ),
        ]
        .into_iter()
        .filter(|(_, m)| *m)
        .map(|(what, _)| what)
        .collect();
        if missing.is_empty() {
            return Some(Tools {
                chromium: chromium?,
                chromedriver: chromedriver?,
                axe: axe?,
            });
        }
        let why = format!("{test}: missing {}", missing.join(", "));
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("{why}; under CI the browser tests must run (.ci/run installs them)");
        }
        println!("SKIPPED {why} (bash .ci/run installs them)");
        eprintln!("SKIPPED {why} (bash .ci/run installs them)");
        None
    }
}

/// chromedriver (killed on drop, after its browser session is ended) and
/// one browser session in it.
pub struct Browser {
    child: Child,
    driver: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts chromedriver on a port of its own choosing and a headless
    /// Chromium in it.
    pub async fn start(tools: &Tools) -> Browser {
        let mut child = Command::new(&tools.chromedriver)
            .arg("--port=0")
            // Dutch dates in date fields, as a Dutch user's browser shows.
            .env("LANG", "nl_NL.UTF-8")
            .env("LANGUAGE", "nl")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let stdout = child.stdout.take().expect("chromedriver stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // "ChromeDriver was started successfully on port 45479."
                if let Some(rest) = line.split("on port ").nth(1) {
                    let port: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                    if line.contains("successfully") {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("chromedriver did not say which port it listens on");
            }
        };
        let driver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("reqwest client");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--lang=nl-NL", "--hide-scrollbars"]
            }
        }}});
        let mut browser = Browser {
            child,
            driver,
            session: String::new(),
            http,
        };
        let started = browser.call("POST", "/session", Some(caps)).await;
        browser.session = started["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {started}"))
            .to_string();
        browser
    }

    /// One WebDriver command; its `value`. A WebDriver error panics.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.driver);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let response = request.send().await.expect("WebDriver request");
        let text = response.text().await.expect("WebDriver reply");
        let reply: Value = serde_json::from_str(&text).expect("WebDriver JSON");
        if let Some(error) = reply["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {error}: {}",
                reply["value"]["message"]
            );
        }
        reply["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call("GET", &self.at("/url"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to a generous limit) until the page's URL ends with
    /// `suffix` and it has loaded: a click's navigation may still be under
    /// way when the click returns. Panics with the page's text otherwise.
    pub async fn arrives_at(&self, suffix: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = self.script("return document.readyState;", json!([])).await;
            let url = self.url().await;
            if url.ends_with(suffix) && ready == "complete" {
                return;
            }
            if std::time::Instant::now() > deadline {
                let text = self
                    .script("return document.body.innerText;", json!([]))
                    .await;
                panic!("still at {url}, not …{suffix}: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn title(&self) -> String {
        self.call("GET", &self.at("/title"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub async fn type_into(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &self.at(&format!("/element/{element}/value")),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn click(&self, element: &str) {
        self.call("POST", &self.at(&format!("/element/{element}/click")), None)
            .await;
    }

    /// Runs `js` (a function body) in the page; what it returns.
    pub async fn script(&self, js: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({"script": js, "args": args})),
        )
        .await
    }

    /// Runs `js`, which calls its last argument with the result.
    pub async fn script_async(&self, js: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.at("/execute/async"),
            Some(json!({"script": js, "args": args})),
        )
        .await
    }

    /// Presses and releases one key (a WebDriver key code such as Tab,
    /// `\u{E004}`), as a keyboard user does.
    pub async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "toetsenbord", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
        ]}]});
        self.call("POST", &self.at("/actions"), Some(actions)).await;
    }

    /// A screenshot of the whole page as PNG at `path`: the window is made
    /// as tall as the page first.
    pub async fn screenshot(&self, path: &Path) {
        let height = self
            .script(
                "return Math.ceil(document.documentElement.scrollHeight);",
                json!([]),
            )
            .await
            .as_u64()
            .unwrap_or(1000)
            .clamp(600, 12_000);
        self.call(
            "POST",
            &self.at("/window/rect"),
            Some(json!({"width": 1280, "height": height + 120})),
        )
        .await;
        let png = self.call("GET", &self.at("/screenshot"), None).await;
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("screenshot data"))
            .expect("base64 screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, bytes).expect("write the screenshot");
    }

    /// axe-core's violations on the current page (WCAG 2.1 A and AA, and
    /// axe's best practices), one line each; empty when there are none.
    pub async fn axe(&self, tools: &Tools) -> Vec<String> {
        let source = std::fs::read_to_string(&tools.axe).expect("read axe.min.js");
        let loaded = self
            .script(&format!("{source}\n;return typeof window.axe;"), json!([]))
            .await;
        assert_eq!(loaded, "object", "axe-core did not load");
        let result = self
            .script_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values:
                     ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
                   .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help
                        + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                json!([]),
            )
            .await;
        result
            .as_array()
            .expect("axe result")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Ends the browser session and chromedriver.
    pub async fn quit(mut self) {
        let path = self.at("");
        self.call("DELETE", &path, None).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked still closes its browser (chromium is
        // chromedriver's child: killing only chromedriver would leave it).
        if !self.session.is_empty() {
            if let Some(addr) = self.driver.strip_prefix("http://") {
                if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = write!(
                        s,
                        "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        self.session
                    );
                    let _ = s.read_to_end(&mut Vec::new());
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
