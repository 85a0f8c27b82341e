//! Operator commands on a data directory whose node is stopped: retiring a
//! machine that another replaced, signing a key rotation statement, making
//! a new key. Each opens the store first when it reads it, which a running
//! node holds locked: a command that must not race the node refuses then.

use crate::keys::{self, Keyring};
use crate::node::{self, layout};
use crate::store::RocksStore;
use anyhow::{Context, bail};
use kp_schemas::crypto::Domain;
use kp_schemas::model::KeyRotation;
use kp_schemas::{PublicKey, SignatureBytes, encoding};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `retire` exits with when it only said what it would do.
const NOT_DONE: u8 = 2;

/// Hold the store, so that no node starts on the directory meanwhile; fail
/// if a node runs on it now.
fn lock_store(data: &Path) -> anyhow::Result<Option<RocksStore>> {
    let db = data.join(layout::DB);
    if !db.exists() {
        return Ok(None);
    }
    RocksStore::open(&db).map(Some).map_err(|e| {
        anyhow::anyhow!(
            "cannot open the store in {} ({e}): a node is probably running on this directory; stop it first",
            db.display()
        )
    })
}

/// The `*.json` files of `keys/` and of `keys/handed-over/`, sorted, each
/// with its public key if it reads as a key file.
fn key_files(data: &Path) -> anyhow::Result<Vec<(PathBuf, Option<PublicKey>)>> {
    let keys_dir = data.join(layout::KEYS);
    let mut out: Vec<(PathBuf, Option<PublicKey>)> = Vec::new();
    for dir in [keys_dir.clone(), keys_dir.join(layout::HANDED_OVER)] {
        if !dir.exists() {
            continue;
        }
        out.extend(
            std::fs::read_dir(&dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .map(|p| {
                    let key = keys::load_file(&p).ok().map(|k| k.public());
                    (p, key)
                }),
        );
    }
    out.sort();
    Ok(out)
}

/// Overwrite a secret before unlinking it, so that its seed does not stay
/// in the file's blocks for a casual undelete to find. Best effort: a
/// copy-on-write or journalling file system may keep old blocks anyway.
fn destroy(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let len = std::fs::metadata(path)?.len();
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])?;
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)?;
    Ok(())
}

#[derive(Serialize)]
struct RetiredKeyFile {
    file: String,
    public_key: Option<PublicKey>,
}

#[derive(Serialize)]
struct RetireReport {
    data: String,
    /// Whether it was done; `false` when only said (no `--yes`).
    retired: bool,
    /// The key files deleted, or to delete.
    keys: Vec<RetiredKeyFile>,
    marker: String,
}

/// `kp-node retire`: write the `RETIRED` marker, then delete every key file
/// of `keys/`. Without `yes`, say what it would do and exit with 2.
pub fn retire(data: &Path, yes: bool, json: bool) -> anyhow::Result<ExitCode> {
    let is_data_dir = [layout::DB, layout::KEYS, layout::ROSTER, layout::CONFIG].iter().any(|f| data.join(f).exists());
    if !is_data_dir {
        bail!("{} is not a kp-node data directory", data.display());
    }
    let _store = lock_store(data)?;
    let files = key_files(data)?;
    let marker = data.join(layout::RETIRED);
    let report = RetireReport {
        data: data.display().to_string(),
        retired: yes,
        keys: files.iter().map(|(p, k)| RetiredKeyFile { file: p.display().to_string(), public_key: *k }).collect(),
        marker: marker.display().to_string(),
    };
    if !yes {
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!("would retire {}:", data.display());
            println!("  write {}, so that `kp-node run` refuses this directory", marker.display());
            for (p, k) in &files {
                let k = k.map_or("not a key file".to_string(), |k| k.to_string());
                println!("  delete {}  ({k})", p.display());
            }
        }
        eprintln!("nothing done: run again with --yes once the new machine writes its logs");
        return Ok(ExitCode::from(NOT_DONE));
    }
    // The marker first: should deleting a key fail, no node starts here
    // with what is left.
    let mut text = format!(
        "This data directory was retired by `kp-node retire` on {} (Unix time {} s): another machine writes its \
         logs now.\nIts signing keys were deleted:\n",
        kp_schemas::model::today_utc(),
        crate::clock::now_ms() / 1000
    );
    for (p, k) in &files {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        text.push_str(&format!("  {name}  {}\n", k.map_or("(not a key file)".to_string(), |k| k.to_string())));
    }
    text.push_str("`kp-node run` refuses this directory. Its store may still be read (`kp-node check`), or deleted.\n");
    if let Ok(before) = std::fs::read_to_string(&marker) {
        text = format!("{before}\n{text}");
    }
    std::fs::write(&marker, &text).with_context(|| format!("writing {}", marker.display()))?;
    std::fs::File::open(&marker).and_then(|f| f.sync_all())?;
    for (p, _) in &files {
        destroy(p).with_context(|| format!("deleting {}", p.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("retired {}: {} key file(s) deleted, {} written", data.display(), files.len(), marker.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What the chair records in a `RotateKey` entry for a planned rotation.
#[derive(Debug, Serialize)]
pub struct Statement {
    /// The participant's code or the monitor's id.
    pub holder: String,
    /// The key taking over.
    pub new_key: PublicKey,
    /// The old key's last position.
    pub last: u64,
    /// The old key's signature over the `KeyRotation`.
    pub statement: SignatureBytes,
}

/// `kp-node rotation-statement`.
pub fn rotation_statement(
    data: &Path,
    holder: &str,
    new_key: &str,
    last: Option<u64>,
    json: bool,
) -> anyhow::Result<()> {
    let new_key = PublicKey::from_hex(new_key).map_err(|e| anyhow::anyhow!("--new-key: {e}"))?;
    if !data.join(layout::DB).exists() {
        bail!("{} holds no store: give the data directory of the node that writes {holder}'s log", data.display());
    }
    let ledger = node::open_ledger(data, None).with_context(|| {
        format!("opening the store of {} (stop its node first: the old key must sign nothing more)", data.display())
    })?;
    let net = ledger.network();
    let old = if let Some(p) = net.participant(holder) {
        p.participant.authority
    } else if let Some(m) = net.monitors.iter().find(|m| m.id == holder) {
        m.key
    } else if holder == kp_schemas::state::CHAIR {
        bail!("the chair's key is not rotated but handed over: `kp governance handover --new-chair KEY`");
    } else {
        bail!("network {} has no participant or monitor {holder}", net.network);
    };
    if new_key == old {
        bail!("{new_key} is {holder}'s key already");
    }
    if net.role_of(&new_key).is_some() || net.retired(&new_key).is_some() {
        bail!("{new_key} is in use in network {}, or was: a new key must be new", net.network);
    }
    let ring = Keyring::load_dir(&data.join(layout::KEYS))?;
    let Some(key) = ring.get(&old) else {
        bail!("{}/keys holds no file of {holder}'s current key {old}", data.display());
    };
    let head = ledger.head(&old)?.map_or(0, |h| h.seq);
    let last = last.unwrap_or(head);
    if last < head {
        eprintln!(
            "warning: this store holds {holder}'s log up to position {head}: once the chair records the rotation, \
             the entries after {last} are withdrawn on every node"
        );
    } else if last > head {
        eprintln!(
            "warning: this store holds {holder}'s log only up to position {head}, not {last}: is this the node \
             that writes it?"
        );
    }
    let rotation =
        KeyRotation { network: net.network.clone(), holder: holder.to_string(), old_key: old, new_key, last };
    let bytes = encoding::encode(&rotation);
    let signature = key.sign(Domain::KeyRotation, &bytes);
    kp_schemas::crypto::verify(Domain::KeyRotation, &old, &bytes, &signature)
        .map_err(|e| anyhow::anyhow!("the statement just signed does not verify: {e}"))?;
    let out = Statement { holder: holder.to_string(), new_key, last, statement: signature };
    // The old key has handed its log over at `last`: anything more it
    // signed would be withdrawn once the chair records the rotation, an
    // acknowledged entry lost. Its file leaves the folder the node loads, so
    // the restarted node writes the holder's log only with the new key,
    // once the rotation reaches it.
    let moved = set_aside(&data.join(layout::KEYS), &old)?;
    if !json {
        println!(
            "{holder}'s key {old} hands its log over to {new_key}, closed at position {last}. Give this to the chair."
        );
        for m in &moved {
            println!("the old key's file is set aside in {}: the node signs nothing more with it", m.display());
        }
    }
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// Move every key file of `key` in `dir` into `dir/handed-over/`, which the
/// node's writer does not load (its witness does, for the closed log's last
/// checkpoint). Returns where each went.
fn set_aside(dir: &Path, key: &PublicKey) -> anyhow::Result<Vec<PathBuf>> {
    let aside = dir.join(layout::HANDED_OVER);
    let mut moved = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "json") || !path.is_file() {
            continue;
        }
        if keys::load_file(&path).is_ok_and(|k| k.public() == *key) {
            std::fs::create_dir_all(&aside)?;
            let to = aside.join(path.file_name().expect("a file name"));
            if to.exists() {
                bail!("{} exists already: move it away first", to.display());
            }
            std::fs::rename(&path, &to)?;
            moved.push(to);
        }
    }
    Ok(moved)
}

/// A key file name: letters, digits, `-`, `_` and `.`, not starting with a
/// dot, without the `.json` the file gets.
fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && !name.ends_with(".json")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[derive(Serialize)]
struct NewKey {
    name: String,
    public_key: PublicKey,
    file: String,
}

/// `kp-node key new`.
pub fn new_key(data: &Path, name: &str, json: bool) -> anyhow::Result<()> {
    if !valid_key_name(name) {
        bail!("key name {name:?}: use letters, digits, `-`, `_` and `.`, as in `authority-BW-2`, without `.json`");
    }
    node::refuse_retired(data)?;
    let dir = data.join(layout::KEYS);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}.json"));
    let key = keys::generate_file(&path)?;
    let out = NewKey { name: name.to_string(), public_key: key.public(), file: path.display().to_string() };
    if json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{}  ({})", out.public_key, out.file);
        println!(
            "the node signs with it once the network gives it a role: have the chair admit it, or record a \
             rotation to it (`kp-node rotation-statement`); restart the node to load it"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_stay_inside_keys_and_get_their_json_once() {
        for ok in ["authority-BW-2", "monitor-MT-CF", "chair_2025.1"] {
            assert!(valid_key_name(ok), "{ok}");
        }
        for bad in ["", "../authority", "a/b", ".hidden", "authority.json", "name with space", &"x".repeat(65)] {
            assert!(!valid_key_name(bad), "{bad}");
        }
    }
}
