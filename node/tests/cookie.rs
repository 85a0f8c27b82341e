//! The cookie, the secret that lets a client make the node sign, is written
//! at every start readable by the node's user only, and never through a
//! symbolic link. A real node started in a temporary folder.

use kp_node::node::{self, NodeConfig, layout};
use kp_schemas::model::{Participant, Roster, SignedRoster};
use kp_schemas::{Keypair, reference, roster};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The reference participants, each with a key from a fixed seed.
fn roster() -> SignedRoster {
    let chair = Keypair::from_seed([90; 32]);
    let participants = reference::PARTICIPANTS
        .iter()
        .zip(91u8..)
        .map(|((code, name, zone_regime), seed)| Participant {
            code: code.to_string(),
            name: name.to_string(),
            authority: Keypair::from_seed([seed; 32]).public(),
            zone_regime: *zone_regime,
            nodes: vec![],
        })
        .collect();
    let r = Roster {
        network: "kp-cookie".into(),
        version: 1,
        chair: chair.public(),
        participants,
        monitors: vec![],
        observers: vec![],
    };
    roster::sign(r, &chair)
}

fn config(dir: &Path) -> NodeConfig {
    let roster = roster();
    std::fs::write(dir.join(layout::ROSTER), serde_json::to_vec(&roster).unwrap()).unwrap();
    NodeConfig {
        data_dir: dir.to_path_buf(),
        http: "127.0.0.1:0".parse().unwrap(),
        roster: None,
        p2p: None,
        checkpoints: Default::default(),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn start_refuses_a_cookie_path_that_is_a_symlink_and_writes_nothing_through_it() {
    let (dir, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = config(dir.path());
    let cookie = dir.path().join(layout::COOKIE);

    // To a file someone else can read.
    let target = elsewhere.path().join("readable");
    std::fs::write(&target, "theirs").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&target, &cookie).unwrap();
    let err = node::start(&cfg).await.err().expect("a symlinked cookie is refused").to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");
    assert_eq!(mode(&target), 0o644);

    // To nowhere: nothing is made at the other end.
    std::fs::remove_file(&cookie).unwrap();
    let absent = elsewhere.path().join("absent");
    std::os::unix::fs::symlink(&absent, &cookie).unwrap();
    let err = node::start(&cfg).await.err().expect("a dangling symlink is refused").to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!absent.exists());

    // Without the link, the node starts and writes its cookie there.
    std::fs::remove_file(&cookie).unwrap();
    let n = node::start(&cfg).await.unwrap();
    assert_eq!(std::fs::read_to_string(&cookie).unwrap(), n.cookie);
    assert!(!std::fs::symlink_metadata(&cookie).unwrap().file_type().is_symlink());
    assert_eq!(mode(&cookie), 0o600);
    n.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn start_makes_an_existing_cookie_file_private_again() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let cookie = dir.path().join(layout::COOKIE);
    // Left readable by all, by a restore or by hand, with an old secret.
    std::fs::write(&cookie, "an old secret that is longer than the new one will be, to be cut off").unwrap();
    std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o644)).unwrap();

    let n = node::start(&cfg).await.unwrap();
    assert_eq!(mode(&cookie), 0o600);
    assert_eq!(std::fs::read_to_string(&cookie).unwrap(), n.cookie);
    let first = n.cookie.clone();
    n.stop().await.unwrap();

    // And on every start: a new secret, the file private still.
    std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o640)).unwrap();
    let n = node::start(&cfg).await.unwrap();
    assert_ne!(n.cookie, first);
    assert_eq!((mode(&cookie), std::fs::read_to_string(&cookie).unwrap()), (0o600, n.cookie.clone()));
    n.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn start_refuses_a_cookie_file_with_another_name() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let cookie = dir.path().join(layout::COOKIE);
    let other = dir.path().join("other-name");
    std::fs::write(&other, "kept").unwrap();
    std::fs::hard_link(&other, &cookie).unwrap();
    let err = node::start(&cfg).await.err().expect("a hard-linked cookie is refused").to_string();
    assert!(err.contains("hard links"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "kept");
}
