//! A small W3C WebDriver client for the browser tests and the viewer
//! benchmark: chromedriver and headless Chromium, from Debian's
//! `chromium-driver` and `chromium`, spoken to as JSON over HTTP with the
//! `ureq` client the tests already use. (fantoccini would pull a second
//! copy of the ICU crates whose proc-macros change the features `bindgen`
//! is built with, and so rebuild RocksDB for every target directory.)

use crate::{free_port, port_free, wait_for};
use base64::Engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The element key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free port, killed on drop.
pub struct Driver {
    child: Child,
    /// Where chromedriver listens.
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first of `names` found on the PATH (or where Debian puts them).
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")]) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Start chromedriver on a free port; panics, naming the packages, when
/// it is not installed.
pub fn start_driver() -> Driver {
    let exe = find_program(&["chromedriver"]).unwrap_or_else(|| {
        panic!(
            "chromedriver is not installed: the browser tests need Debian's `chromium` and `chromium-driver` \
             (`apt-get install -y chromium chromium-driver`; .ci/run installs them)"
        )
    });
    let port = free_port();
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    wait_for("chromedriver listening", Duration::from_secs(30), |_| (!port_free(port)).then_some(()));
    Driver { child, port }
}

/// A WebDriver error: the command, and what the driver answered.
#[derive(Debug)]
pub struct WebDriverError(pub String);

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebDriverError {}

type Wd<T> = Result<T, WebDriverError>;

/// A headless Chromium session; closed on drop.
pub struct Browser {
    base: String,
    agent: ureq::Agent,
}

/// An element of the page.
pub struct Element<'a> {
    b: &'a Browser,
    id: String,
}

impl Browser {
    /// Open a session of headless Chromium, 1280x1000.
    pub fn start(driver: &Driver) -> Browser {
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
            panic!("chromium is not installed: the browser tests need Debian's `chromium` and `chromium-driver`")
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--hide-scrollbars", "--lang=en"]
            }
        }}});
        let root = format!("http://127.0.0.1:{}", driver.port);
        let v = send(&agent, "POST", &format!("{root}/session"), Some(caps))
            .expect("a WebDriver session with headless Chromium");
        let id = v["sessionId"].as_str().expect("a session id").to_string();
        Browser { base: format!("{root}/session/{id}"), agent }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Wd<Value> {
        send(&self.agent, method, &format!("{}{path}", self.base), body)
    }

    /// Load `url` and wait for it.
    pub fn goto(&self, url: &str) -> Wd<()> {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).map(|_| ())
    }

    /// The page's address now.
    pub fn current_url(&self) -> Wd<String> {
        Ok(self.cmd("GET", "/url", None)?.as_str().unwrap_or_default().to_string())
    }

    /// The path of the page's address.
    pub fn path(&self) -> Wd<String> {
        let u = self.current_url()?;
        let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        Ok(path.split(['?', '#']).next().unwrap_or("/").to_string())
    }

    /// The first element `css` selects, if any.
    pub fn find(&self, css: &str) -> Wd<Element<'_>> {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})))?;
        Ok(Element { b: self, id: element_id(&v)? })
    }

    /// Every element `css` selects.
    pub fn find_all(&self, css: &str) -> Wd<Vec<Element<'_>>> {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})))?;
        v.as_array()
            .map(|a| a.iter().map(|e| Ok(Element { b: self, id: element_id(e)? })).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Wait up to `timeout` for an element `css` selects.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Wd<Element<'_>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css) {
                Ok(e) => return Ok(e),
                Err(e) if Instant::now() > deadline => {
                    return Err(WebDriverError(format!("`{css}` never appeared: {e}")));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Run `script` in the page and return its value.
    pub fn execute(&self, script: &str) -> Wd<Value> {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Wd<Vec<u8>> {
        let v = self.cmd("GET", "/screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| WebDriverError(format!("screenshot: {e}")))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.cmd("DELETE", "", None);
    }
}

impl Element<'_> {
    /// Its rendered text.
    pub fn text(&self) -> Wd<String> {
        Ok(self.b.cmd("GET", &format!("/element/{}/text", self.id), None)?.as_str().unwrap_or_default().to_string())
    }

    /// An attribute, none if it is not set.
    pub fn attr(&self, name: &str) -> Wd<Option<String>> {
        Ok(self.b.cmd("GET", &format!("/element/{}/attribute/{name}", self.id), None)?.as_str().map(String::from))
    }

    /// Click it.
    pub fn click(&self) -> Wd<()> {
        self.b.cmd("POST", &format!("/element/{}/click", self.id), Some(json!({}))).map(|_| ())
    }

    /// Type `text` into it.
    pub fn send_keys(&self, text: &str) -> Wd<()> {
        self.b.cmd("POST", &format!("/element/{}/value", self.id), Some(json!({ "text": text }))).map(|_| ())
    }
}

fn element_id(v: &Value) -> Wd<String> {
    v[ELEMENT].as_str().map(String::from).ok_or_else(|| WebDriverError(format!("not an element: {v}")))
}

fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Wd<Value> {
    let res = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, b) => agent.post(url).send_json(b.unwrap_or(json!({}))),
    };
    let mut res = res.map_err(|e| WebDriverError(format!("{method} {url}: {e}")))?;
    let status = res.status().as_u16();
    let v: Value = res.body_mut().read_json().map_err(|e| WebDriverError(format!("{method} {url}: {e}")))?;
    if status >= 400 {
        return Err(WebDriverError(format!(
            "{method} {url}: {status} {}: {}",
            v["value"]["error"].as_str().unwrap_or("?"),
            v["value"]["message"].as_str().unwrap_or("").lines().next().unwrap_or("")
        )));
    }
    Ok(v["value"].clone())
}
