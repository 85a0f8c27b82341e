//! WebDriver helpers for the browser tests and the viewer benchmark:
//! chromedriver and headless Chromium, from Debian's `chromium-driver` and
//! `chromium`.

use crate::{free_port, port_free, wait_for};
use fantoccini::Client;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The browser's side: chromedriver on a free port, killed on drop.
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

/// A headless Chromium session.
pub async fn browser(driver: &Driver) -> Client {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
        panic!("chromium is not installed: the browser tests need Debian's `chromium` and `chromium-driver`")
    });
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--hide-scrollbars", "--lang=en"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    fantoccini::ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session with headless Chromium")
}

