//! The catalogue of codes (`schemas/src/codes.rs`) against the rest of the
//! repository:
//!
//! - every rule code is the expected outcome of at least one test: in
//!   `schemas/tests/`, or for the refusals only a node makes (its clock, an
//!   equivocation it reports) in `node/tests/`;
//! - no code is written out in the source of `schemas`, `node`, `client` or
//!   `dev` but in the catalogue, and every code their text names is
//!   catalogued;
//! - the documents name only catalogued codes, and the table of codes in
//!   `docs/API.md` is the catalogue's. After an intended change, rewrite it
//!   with `KP_BLESS=1 cargo test --release -p kp-schemas --test catalogue`
//!   and commit the document with the change.
//!
//! The files are read when the tests run, so a new test file or source file
//! is scanned without being listed here.

use kp_schemas::codes::{self, ALL, QUERY};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bless() -> bool {
    std::env::var("KP_BLESS").is_ok_and(|v| v == "1")
}

/// Every file under `dir` (relative to the repository) whose name ends in
/// `ext`, with its text, by path.
fn files(dir: &str, ext: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, ext, out);
            } else if path.extension().is_some_and(|x| x == ext) {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join(dir), ext, &mut paths);
    paths.sort();
    let found: Vec<(String, String)> = paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect();
    assert!(!found.is_empty(), "no .{ext} file under {dir}");
    found
}

/// The constant of a code: `R5.overspend` is `R5_OVERSPEND`.
fn constant(code: &str) -> String {
    code.to_ascii_uppercase().replace('.', "_")
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Names of files, which read like codes.
const NOT_CODES: [&str; 3] = ["api.rs", "api.md", "api.json"];

/// Every `R<digit>.<name>` and `api.<name>` in `text` (a name of lower-case
/// letters and underscores), with its byte offset.
fn codes_in(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let name_end = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_lowercase() || **c == b'_').count();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start_ok = i == 0 || !is_ident(b[i - 1]);
        let prefix = if b[i..].starts_with(b"api.") {
            Some(4)
        } else if b[i] == b'R' && b.get(i + 1).is_some_and(u8::is_ascii_digit) && b.get(i + 2) == Some(&b'.') {
            Some(3)
        } else {
            None
        };
        match prefix {
            Some(p) if start_ok && name_end(i + p) > i + p => {
                let end = name_end(i + p);
                if !NOT_CODES.contains(&&text[i..end]) {
                    out.push((i, &text[i..end]));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// The part of a source file before its unit tests.
fn before_tests(text: &str) -> &str {
    let mut at = 0;
    while let Some(i) = text[at..].find("#[cfg(test)]") {
        let start = at + i;
        if text[start + "#[cfg(test)]".len()..].trim_start().starts_with("mod ") {
            return &text[..start];
        }
        at = start + 1;
    }
    text
}

/// The lines of `text` that are not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

fn catalogued() -> BTreeSet<&'static str> {
    ALL.iter().chain(QUERY).map(|(c, _)| *c).collect()
}

#[test]
fn every_rule_code_is_the_outcome_of_a_test() {
    let this = "schemas/tests/catalogue.rs";
    let tests: Vec<(String, String)> =
        files("schemas/tests", "rs").into_iter().chain(files("node/tests", "rs")).filter(|(p, _)| p != this).collect();
    let mut untested = Vec::new();
    for (code, meaning) in ALL {
        let (name, literal) = (constant(code), format!("\"{code}\""));
        let named = |line: &str| {
            line.match_indices(&name).any(|(i, _)| {
                let after = line.as_bytes().get(i + name.len()).copied();
                (i == 0 || !is_ident(line.as_bytes()[i - 1])) && !after.is_some_and(is_ident)
            })
        };
        let found = tests.iter().any(|(_, text)| code_lines(text).any(|l| named(l) || l.contains(&literal)));
        if !found {
            untested.push(format!("{code} ({meaning})"));
        }
    }
    assert!(
        untested.is_empty(),
        "no test expects these codes: write one in schemas/tests/rules.rs that gets each:\n{}",
        untested.join("\n")
    );
}

#[test]
fn the_source_writes_no_code_out_and_names_only_catalogued_ones() {
    let known = catalogued();
    let mut failures = Vec::new();
    for dir in ["schemas/src", "node/src", "client/src", "dev/src"] {
        for (path, text) in files(dir, "rs") {
            if path.ends_with("schemas/src/codes.rs") {
                continue;
            }
            for (at, code) in codes_in(&text) {
                let line = text[..at].matches('\n').count() + 1;
                if !known.contains(code) {
                    failures.push(format!("{path}:{line}: `{code}` is not in kp_schemas::codes"));
                }
            }
            let source = before_tests(&text);
            for (at, code) in codes_in(source) {
                let quoted = at > 0 && source.as_bytes()[at - 1] == b'"' && source[at + code.len()..].starts_with('"');
                if quoted {
                    let line = source[..at].matches('\n').count() + 1;
                    failures.push(format!("{path}:{line}: \"{code}\" written out: use codes::{}", constant(code)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_documents_name_only_catalogued_codes() {
    let known = catalogued();
    let mut docs = files("docs", "md");
    let readme = root().join("README.md");
    docs.push(("README.md".into(), std::fs::read_to_string(&readme).expect("README.md")));
    let mut failures = Vec::new();
    for (path, text) in docs {
        for (at, code) in codes_in(&text) {
            if !known.contains(code) {
                let line = text[..at].matches('\n').count() + 1;
                failures.push(format!("{path}:{line}: `{code}` is not in kp_schemas::codes"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------ docs/API.md

const API_DOC: &str = "docs/API.md";

/// The tables of `docs/API.md`, each after its marker `<!-- table: NAME -->`.
fn tables() -> [(&'static str, String); 2] {
    let row = |code: &str, meaning: &str| format!("| `{code}` | {meaning} |\n");
    let mut rules = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in ALL {
        // The line names the rule, as the code does.
        let meaning = meaning.split_once(": ").map_or(*meaning, |(_, m)| m);
        let mut chars = meaning.chars();
        let meaning: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
        rules.push_str(&row(code, &meaning));
    }
    let mut query = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in QUERY {
        query.push_str(&row(code, meaning));
    }
    [("rule_codes", rules), ("query_codes", query)]
}

/// Where the table after `<!-- table: NAME -->` stands in `doc`: from the
/// line after the marker to the first blank line.
fn table_range(doc: &str, name: &str) -> std::ops::Range<usize> {
    let marker = format!("<!-- table: {name} -->\n");
    let at = doc.find(&marker).unwrap_or_else(|| panic!("{API_DOC} has no marker `{}`", marker.trim()));
    let from = at + marker.len();
    let to = doc[from..].find("\n\n").map_or(doc.len(), |i| from + i + 1);
    from..to
}

#[test]
fn the_api_doc_lists_every_code_of_the_catalogue() {
    let path = root().join(API_DOC);
    let doc = std::fs::read_to_string(&path).expect("docs/API.md");
    let tables = tables();
    if bless() {
        let mut out = doc.clone();
        let mut ranges: Vec<_> = tables.iter().map(|(name, table)| (table_range(&doc, name), table)).collect();
        // From the end, so that earlier ranges stay valid.
        ranges.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (range, table) in ranges {
            out.replace_range(range, table);
        }
        std::fs::write(&path, out).expect("docs/API.md is writable");
        return;
    }
    let mut failures = Vec::new();
    for (name, built) in &tables {
        let have = &doc[table_range(&doc, name)];
        if have != built {
            failures.push(format!("{name}:\n--- document\n{have}--- catalogue\n{built}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{API_DOC} is out of date (if intended, rerun with KP_BLESS=1 and commit):\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_scanner_finds_codes_and_only_codes() {
    let text = "\"R5.overspend\" `R9.*` R10.x xR1.a api.not_found src/api.rs merkle.bad_proof R3.gap.";
    let found: Vec<&str> = codes_in(text).into_iter().map(|(_, c)| c).collect();
    assert_eq!(found, ["R5.overspend", "api.not_found", "R3.gap"]);
    assert_eq!(constant(codes::R9_TOO_LARGE), "R9_TOO_LARGE");
    let src = "fn f() {}\n#[cfg(test)]\nfn helper() {}\n#[cfg(test)]\nmod tests {}\n";
    assert_eq!(before_tests(src), "fn f() {}\n#[cfg(test)]\nfn helper() {}\n");
}
