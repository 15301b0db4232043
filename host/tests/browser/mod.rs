//! Driving Debian's `chromium` headless through `chromedriver` (WebDriver, with `fantoccini`)
//! for the console's browser tests. Steps read like a person's: open a page, fill the field
//! labelled "Message", press the button "Send reply", read what the page says.
//!
//! Without a browser the tests are skipped with the reason printed, unless
//! `SWITCHBOARD_REQUIRE_BROWSER` is set (CI sets it), which makes a missing browser a failure.
//! A failing test leaves a screenshot in `target/tmp/browser-screenshots/`.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a step waits for what it expects to appear.
const PATIENCE: Duration = Duration::from_secs(15);

/// Browser tests share two cores with the server under test: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn chromedriver() -> Option<String> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

/// Why browser tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    if !std::path::Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} is not installed (Debian package `chromium`)"));
    }
    if chromedriver().is_none() {
        return Some("chromedriver is not installed (Debian package `chromium-driver`)".into());
    }
    None
}

/// A headless Chromium session, with its driver process.
pub struct Browser {
    pub client: Client,
    /// The server under test, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts Chromium against `base`, or `None` (with the reason printed) when this machine has
    /// no browser and none is required.
    pub async fn start(base: &str) -> Option<Browser> {
        if let Some(reason) = unavailable() {
            if std::env::var_os("SWITCHBOARD_REQUIRE_BROWSER").is_some() {
                panic!("SWITCHBOARD_REQUIRE_BROWSER is set but {reason}");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: {reason}, so this browser test does not run (`.ci/run` installs it)"
            );
            return None;
        }
        let port = free_port();
        let mut driver = Command::new(chromedriver().unwrap())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-extensions", "--window-size=1280,900",
                    "--lang=en-US", format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        caps.insert("unhandledPromptBehavior".into(), "ignore".into());
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        base: base.to_string(),
                        driver,
                        _profile: profile,
                    });
                }
                Err(error) => last = Some(error.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = driver.kill();
        panic!("chromedriver did not start a session: {last:?}");
    }

    /// Opens a path of the server.
    pub async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The text a person sees on the page (empty while a page is being replaced).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page says `expected`; panics with what it says instead.
    pub async fn sees(&self, expected: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = self.text().await;
            if text.contains(expected) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "the page at {} never said {expected:?}; it says:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page no longer says `gone`.
    pub async fn no_longer_sees(&self, gone: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.text().await.contains(gone) {
            assert!(tokio::time::Instant::now() < deadline, "the page still says {gone:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element an XPath finds, waiting for it.
    async fn wait_for(&self, xpath: &str) -> fantoccini::elements::Element {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(element) = self.client.find(Locator::XPath(xpath)).await {
                return element;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("nothing matches {xpath} on {}:\n{}", self.path().await, self.text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The form field whose label starts with `label`.
    pub async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let label_element = self
            .wait_for(&format!("//label[starts-with(normalize-space(.), {})]", literal(label)))
            .await;
        let id = label_element.attr("for").await.unwrap().expect("the label names its field");
        self.client.find(Locator::Id(&id)).await.unwrap()
    }

    /// Types `value` into the field labelled `label` (replacing what it held).
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Picks the option whose text starts with `option` in the list labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let field = self.field(label).await;
        let option = field
            .find(Locator::XPath(&format!(
                ".//option[starts-with(normalize-space(.), {})]",
                literal(option)
            )))
            .await
            .unwrap_or_else(|_| panic!("the list {label:?} has no option {option:?}"));
        option.click().await.unwrap();
    }

    /// Presses the button named `name` (its text, including what only screen readers read).
    pub async fn press(&self, name: &str) {
        self.wait_for(&format!("//button[normalize-space(.)={}]", literal(name)))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Whether a button named `name` is on the page.
    pub async fn has_button(&self, name: &str) -> bool {
        self.client
            .find(Locator::XPath(&format!("//button[normalize-space(.)={}]", literal(name))))
            .await
            .is_ok()
    }

    /// Opens the folded section whose summary starts with `summary`.
    pub async fn unfold(&self, summary: &str) {
        self.wait_for(&format!("//summary[starts-with(normalize-space(.), {})]", literal(summary)))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Follows the link whose text is `text`.
    pub async fn follow(&self, text: &str) {
        self.wait_for(&format!("//a[normalize-space(.)={}]", literal(text)))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Whether a link with text `text` is on the page.
    pub async fn has_link(&self, text: &str) -> bool {
        self.client
            .find(Locator::XPath(&format!("//a[normalize-space(.)={}]", literal(text))))
            .await
            .is_ok()
    }

    /// Presses keys where the focus is, as a person at the keyboard does.
    pub async fn keys(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions =
                actions.then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// Types `value` into the field labelled `label` and presses Enter.
    pub async fn submit_field(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(&format!("{value}\u{E007}")).await.unwrap();
    }

    /// Accepts the confirmation a form asks for.
    pub async fn confirm(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.client.accept_alert().await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "no confirmation was asked");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Logs in through the login form, and waits for the console to open.
    pub async fn log_in(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.fill("E-mail address", email).await;
        self.fill("Password", password).await;
        self.press("Log in").await;
        self.wait_for("//button[normalize-space(.)='Log out']").await;
    }

    /// Saves a screenshot of the page as `name.png` in the test's target folder; its path.
    pub async fn screenshot(&self, name: &str) -> Option<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.ok()?;
        std::fs::write(&path, png).ok()?;
        Some(path)
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// An XPath string literal for `text` (quotes handled).
fn literal(text: &str) -> String {
    if !text.contains('\'') {
        return format!("'{text}'");
    }
    let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
    format!("concat({})", parts.join(", \"'\", "))
}

/// The steps of one test, given the browser.
pub type Steps =
    Box<dyn for<'a> FnOnce(&'a Browser) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> + Send>;

/// Runs `steps` in a fresh browser against `base` (one browser test at a time); on a failure,
/// saves a screenshot named after `test` and fails with its path.
pub async fn run(test: &str, base: &str, steps: Steps) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(browser) = Browser::start(base).await else { return };
    let outcome = std::panic::AssertUnwindSafe(steps(&browser)).catch_unwind().await;
    if let Err(panic) = outcome {
        let shot = browser.screenshot(test).await;
        eprintln!("browser test {test} failed; screenshot: {shot:?}");
        browser.close().await;
        std::panic::resume_unwind(panic);
    }
    browser.close().await;
}
