//! The JSON Schemas in `schemas/json/` are what API clients outside Rust code
//! against, so the committed files must be exactly what the types generate.
//!
//! After changing an API type, rewrite the files with
//! `KP_BLESS=1 cargo test -p kp-schemas --test json_schemas` and commit them
//! with the change. Blessing never deletes a file: a schema that is no longer
//! generated is reported by `no_stale_schema_files`, to be removed by hand.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn json_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json")
}

fn bless() -> bool {
    std::env::var("KP_BLESS").is_ok_and(|v| v == "1")
}

#[test]
fn committed_schemas_match_the_types() {
    let dir = json_dir();
    let generated = kp_schemas::json_schema::all();
    assert!(!generated.is_empty());
    if bless() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let mut failures = Vec::new();
    for (name, text) in &generated {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(committed) if committed == *text => {}
            Ok(_) => failures.push(format!("{name}: differs from the generated schema")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "schemas/json is out of date (rerun with KP_BLESS=1 and commit):\n{}",
        failures.join("\n")
    );
}

#[test]
fn schema_file_names_are_unique_and_valid_json() {
    let generated = kp_schemas::json_schema::all();
    let names: BTreeSet<_> = generated.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), generated.len(), "two schemas share a file name");
    for (name, text) in &generated {
        assert!(name.ends_with(".json"), "{name}");
        let value: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(value.get("$schema").is_some(), "{name}: no $schema");
    }
}

#[test]
fn no_stale_schema_files() {
    let generated: BTreeSet<String> =
        kp_schemas::json_schema::all().into_iter().map(|(name, _)| name.to_string()).collect();
    let dir = json_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}; run with KP_BLESS=1 to create it", dir.display()));
    let stale: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && !generated.contains(name))
        .collect();
    assert!(stale.is_empty(), "schemas/json holds files no type generates; delete them: {stale:?}");
}
