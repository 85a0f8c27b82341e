//! The web viewer in a real browser: headless Chromium driven over
//! WebDriver (chromedriver) against the demo network, five real `kp-node`
//! processes loaded with the reference scenario by `kp-dev demo`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them); without them the test fails and says so. `KP_SCREENSHOTS=DIR`
//! also saves screenshots of the main pages there (docs/screenshots).

use kp_e2e::*;
use serde_json::json;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a page may take to show something.
const WAIT: Duration = Duration::from_secs(20);

/// `kp-dev demo` serving its five nodes until dropped (SIGTERM).
struct Demo {
    child: Child,
    base: u16,
    dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let base = demo_port();
        let mut child = Command::new(bin("kp-dev"))
            .args(["demo", "--port", &base.to_string(), "--dir"])
            .arg(dir.path().join("demo"))
            .env("KP_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kp-dev demo");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = String::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(240);
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(line) => {
                    let done = line.contains("Press Ctrl-C to stop");
                    seen.push_str(&line);
                    seen.push('\n');
                    if done {
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("kp-dev demo stopped:\n{seen}"),
            }
            assert!(std::time::Instant::now() < deadline, "the demo did not load the scenario in time:\n{seen}");
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Demo { child, base, dir }
    }

    /// The HTTP address of the demo's node of `code`.
    fn url(&self, code: &str) -> String {
        let i = ["CF", "BW", "EU", "AE", "IN"].iter().position(|c| *c == code).unwrap() as u16;
        format!("http://127.0.0.1:{}", self.base + i)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text_of(c: &Browser, css: &str) -> String {
    let e = c.wait_for(css, WAIT).unwrap_or_else(|e| panic!("no `{css}` on {:?}: {e}", c.current_url().ok()));
    e.text().unwrap()
}

fn body_text(c: &Browser) -> String {
    c.find("body").unwrap().text().unwrap()
}

/// Wait until the page's text contains `want`.
fn wait_text(c: &Browser, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let t = body_text(c);
        if t.contains(want) {
            return t;
        }
        if std::time::Instant::now() > deadline {
            panic!("the page {} never showed `{want}`; it shows:\n{t}", c.current_url().unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_url(c: &Browser, path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let u = c.path().unwrap();
        if u == path {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("never reached {path}; at {u}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Save a screenshot with `KP_SCREENSHOTS=DIR`, the element `css` (if
/// any) scrolled to the top of the window.
fn screenshot_at(c: &Browser, name: &str, css: &str) {
    if std::env::var_os("KP_SCREENSHOTS").is_some() {
        let js = format!("document.querySelector({}).scrollIntoView()", json!(css));
        c.execute(&js).unwrap();
        screenshot(c, name);
        c.execute("window.scrollTo(0, 0)").unwrap();
    }
}

fn screenshot(c: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("KP_SCREENSHOTS") {
        // A relative folder is the workspace's (docs/screenshots).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let png = c.screenshot().unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

fn search(c: &Browser, base: &str, query: &str) {
    c.goto(&format!("{base}/")).unwrap();
    let input = c.wait_for("input#q", WAIT).unwrap();
    input.send_keys(query).unwrap();
    c.find("form.search button").unwrap().click().unwrap();
}

#[test]
fn a_monitor_and_a_customs_officer_use_the_viewer() {
    let driver = start_driver();
    let demo = Demo::start();
    let c = Browser::start(&driver);
    let cf = demo.url("CF");
    let ae = demo.url("AE");

    // Search for CF-000001 at the CF node: its certificate page.
    search(&c, &cf, "CF-000001");
    wait_url(&c, "/certificates/CF-000001");
    let page = wait_text(&c, "Entries, checkpoints and witnesses");
    for want in [
        "Certificate CF-000001",
        "Antwerp Rough Trading",
        "7102.31",
        "800.00 ct",
        "7102.21",
        "1000.00 ct",
        "Confirmed by",
        "COMPLIANT",
        "CF-000001",
    ] {
        assert!(page.contains(want), "certificate page lacks {want}:\n{page}");
    }
    let origins = text_of(&c, "#origins");
    assert!(origins.contains("CF") && origins.contains("100 %"), "{origins}");
    wait_text(&c, "cosigned by");
    screenshot(&c, "certificate");

    // Its trail: the Berberati and Nola productions are drawn.
    c.find("#trail-link").unwrap().click().unwrap();
    wait_url(&c, "/certificates/CF-000001/trail");
    c.wait_for("#trail-picture svg", WAIT).unwrap();
    let prods = c.find_all("#trail-picture svg a.node.production").unwrap();
    let mut ids = Vec::new();
    for p in &prods {
        ids.push(p.attr("data-id").unwrap().unwrap());
    }
    ids.sort();
    assert_eq!(ids, ["CF/BER/2017/00042", "CF/NOL/2017/00017"]);
    let svg_text = text_of(&c, "#trail-picture");
    assert!(svg_text.contains("Berberati") && svg_text.contains("Nola"), "{svg_text}");

    // The Indian lot, at the AE node, which wrote none of it: 40 % CF,
    // 60 % BW, and its picture.
    search(&c, &ae, "IN IN/BOM/2017/0001");
    wait_url(&c, "/lots/IN/IN/BOM/2017/0001");
    let origins = text_of(&c, "#origins");
    assert!(origins.contains("BW\n60 %") || origins.contains("BW 60 %"), "{origins}");
    assert!(origins.contains("CF\n40 %") || origins.contains("CF 40 %"), "{origins}");
    assert!(origins.contains("900.00 ct") && origins.contains("600.00 ct"), "{origins}");
    c.wait_for("#trail-picture svg", WAIT).unwrap();
    let picture = text_of(&c, "#trail-picture");
    for want in ["Berberati", "Nola", "BW 60 %", "CF 40 %", "EU-000002", "CF-000001", "BW-000001"] {
        assert!(picture.contains(want), "trail picture lacks {want}:\n{picture}");
    }
    screenshot_at(&c, "trail", "#origins");

    // Click the Berberati production: its entry, with its zone's status
    // history.
    let ber = c.find(r#"#trail-picture svg a.node.production[data-id="CF/BER/2017/00042"] rect"#).unwrap();
    ber.click().unwrap();
    let zone = text_of(&c, "#zone-history");
    assert!(c.path().unwrap().starts_with("/entries/"));
    assert!(zone.contains("BER (Berberati)") && zone.contains("compliant") && zone.contains("2016-06-01"), "{zone}");
    wait_text(&c, "On the production date 2017-03-10 the zone was compliant");
    screenshot_at(&c, "production", "#zone-history");

    // A forged-looking paper: right number, wrong carats. The customs
    // officer fills the form; the mismatch is named.
    c.goto(&format!("{cf}/check")).unwrap();
    for (field, value) in [("number", "CF-000001"), ("exporter", "CF"), ("importer", "EU"), ("carats", "1200")] {
        let input = c.wait_for(&format!("#f-{field}"), WAIT).unwrap();
        input.send_keys(value).unwrap();
    }
    c.find("#check-submit").unwrap().click().unwrap();
    let verdict = c.wait_for("#check-verdict", WAIT).unwrap();
    assert_eq!(verdict.attr("data-result").unwrap().as_deref(), Some("details_differ"));
    let diff = text_of(&c, "#differences");
    assert!(diff.contains("carats") && diff.contains("1200") && diff.contains("1000.00 ct"), "{diff}");
    assert!(!diff.contains("exporter") && !diff.contains("importer"), "{diff}");
    screenshot(&c, "check");
    // The same paper with the right carats: genuine, but already confirmed.
    c.goto(&format!("{cf}/check?number=CF-000001&carats=1000&parcels=2")).unwrap();
    let verdict = c.wait_for("#check-verdict", WAIT).unwrap();
    assert_eq!(verdict.attr("data-result").unwrap().as_deref(), Some("already_confirmed"));

    // The printable certificate: its QR code decodes to the certificate's
    // page on this node, with its entry hash; following it leads there.
    let cert: serde_json::Value =
        ureq::get(&format!("{cf}/v1/certificates/CF-000001")).call().unwrap().body_mut().read_json().unwrap();
    let entry = cert["entry"].as_str().unwrap().to_string();
    c.goto(&format!("{cf}/certificates/CF-000001/print")).unwrap();
    let print = wait_text(&c, "Unique certificate number");
    for want in [
        "Kimberley Process Certificate",
        "CF-000001",
        "Country of origin",
        "CF 100 %",
        "Antwerp Rough Trading",
        "7102.31",
    ] {
        assert!(print.to_uppercase().contains(&want.to_uppercase()), "print lacks {want}:\n{print}");
    }
    let png = c.screenshot().unwrap();
    screenshot(&c, "print");
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the printable certificate");
    let (_, content) = grids[0].decode().expect("the QR code decodes");
    assert_eq!(content, format!("{cf}/certificates/CF-000001?entry={entry}"));
    c.goto(&content).unwrap();
    wait_text(&c, "Entries, checkpoints and witnesses");
    assert!(body_text(&c).contains("Certificate CF-000001"));

    // The non-compliant Bria mix: the verdict with its reason, and the
    // production outlined as non-compliant in the picture.
    c.goto(&format!("{cf}/lots/CF/CF/EXP/2017/0002")).unwrap();
    let page = wait_text(&c, "NOT COMPLIANT");
    assert!(page.contains("R6"), "{page}");
    c.wait_for("#trail-picture svg", WAIT).unwrap();
    let bad = c.find_all("#trail-picture svg a.node.production.non-compliant").unwrap();
    assert_eq!(bad.len(), 1, "the Bria production alone is non-compliant");
    assert!(bad[0].text().unwrap().contains("BRI"), "{}", bad[0].text().unwrap());

    // The network page.
    c.goto(&format!("{ae}/network")).unwrap();
    let net = wait_text(&c, "Newest witnessed checkpoint");
    for want in ["Network kp-demo", "CF authority", "MT-CF", "None: no log signed two entries"] {
        assert!(net.contains(want), "network page lacks {want}:\n{net}");
    }
    screenshot(&c, "network");
    c.goto(&format!("{ae}/")).unwrap();
    wait_text(&c, "Search the ledger");
    screenshot(&c, "search");

    // Bad input: clear pages, never a server error.
    let long = "9".repeat(5000);
    for (path, want) in [
        ("/certificates/CF-999999".to_string(), "No certificate numbered"),
        ("/certificates/%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_string(), "No certificate numbered"),
        ("/lots/IN/NOPE".to_string(), "No lot"),
        ("/entries/zz".to_string(), "is not one"),
        ("/entries/".to_string() + &"0".repeat(64), "No entry"),
        ("/nothing/here".to_string(), "no page at this address"),
        ("/?q=%22%3E%3Cimg%20src%3Dx%3E".to_string(), "Nothing matches"),
        (format!("/?q={}", "x".repeat(300)), "too long"),
        (format!("/certificates/{long}"), "too long"),
        ("/check?number=XX-1".to_string(), "UNKNOWN NUMBER"),
    ] {
        c.goto(&format!("{cf}{path}")).unwrap();
        wait_text(&c, want);
    }
    let scripts = c.execute("return document.querySelectorAll('img, script:not([src])').length").unwrap();
    assert_eq!(scripts, json!(0), "nothing injected");
    drop(c);

    // The routes behind the pages answer odd input with 4xx, never 5xx.
    for path in [
        format!("/certificates/{long}/print"),
        "/certificates/%00%FF/print".to_string(),
        format!("/v1/certificates/{long}/check?carats=abc"),
        "/v1/certificates/CF-000001/check?today=nope".to_string(),
        "/v1/trail/lot/IN/IN/BOM/2017/0001?format=png".to_string(),
        "/v1/attestations/certificate/%FF%FE".to_string(),
        format!("/lots/{long}/{long}"),
    ] {
        let status = match ureq::get(&format!("{cf}{path}")).call() {
            Ok(r) => r.status().as_u16(),
            Err(ureq::Error::StatusCode(s)) => s,
            Err(e) => panic!("{path}: {e}"),
        };
        assert!(status < 500, "{path}: {status}");
    }
    cli(&demo);
    drop(demo);
}

/// `kp trail --svg`, `kp cert check` and `kp cert print` against the same
/// network: the CLI side of the viewer.
fn cli(demo: &Demo) {
    let cf = demo.url("CF");
    let kp = |args: &[&str]| Command::new(bin("kp")).args(["--node", &cf]).args(args).output().unwrap();
    let svg = demo.path().join("trail.svg");
    let out = kp(&["trail", "lot", "IN", "IN/BOM/2017/0001", "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("CF 40 %") && text.contains("BW 60 %"));
    assert!(text.contains(&format!("{cf}/entries/")), "boxes link to the node's entry pages");

    let out = kp(&["cert", "check", "CF-000001", "--carats", "1200", "--exporter", "CF"]);
    assert_eq!(out.status.code(), Some(1));
    let s = stdout(&out);
    assert!(s.starts_with("DETAILS DIFFER (details_differ)") && s.contains("carats"), "{s}");
    let out = kp(&["cert", "check", "CF-000001", "--carats", "1000", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["result"], "already_confirmed");
    let out = kp(&["cert", "check", "ZZ-1"]);
    assert!(stdout(&out).starts_with("UNKNOWN NUMBER"), "{}", stdout(&out));

    let html = demo.path().join("cf.html");
    let out = kp(&["cert", "print", "CF-000001", "--out", html.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Kimberley Process Certificate") && page.contains("<svg"));
    assert!(page.contains(&format!("{cf}/certificates/CF-000001?entry=")));
    let out = kp(&["cert", "print", "CF-999999"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}
