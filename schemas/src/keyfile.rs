//! The format of an Ed25519 key file, used by licensees (`kp --key`) and by
//! nodes for their authority, monitor, chair and peer keys.
//!
//! A key file is JSON:
//!
//! ```json
//! {"public": "<64 hex digits>", "secret": "<64 hex digits: the 32-byte seed>"}
//! ```
//!
//! The public half is stored so that a person can tell which key a file
//! holds without tools; [`parse`] checks that it matches the seed. Only the
//! text lives here: reading and writing files (mode 0600, never overwriting)
//! is the callers' (`kp_client::keyfile`, the node's `keys` module), each a
//! thin wrapper around [`parse`] and [`to_text`].

use crate::PublicKey;
use crate::crypto::Keypair;
use serde::{Deserialize, Serialize};

/// Why a text is not a valid key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not JSON of the key-file shape, or a seed that is not 64 hex digits.
    #[error("not a key file: {0}")]
    Invalid(String),
    /// The stored public half is not the seed's: the file was edited or
    /// pieced together from two keys, and is refused rather than guessed.
    #[error("the public key {found} does not belong to the secret seed (expected {expected})")]
    Mismatch {
        /// The public key the file states, as written.
        found: String,
        /// The public key of the file's seed.
        expected: PublicKey,
    },
}

#[derive(Serialize, Deserialize)]
struct KeyFileJson {
    public: String,
    secret: String,
}

/// The text of a key file holding `key`: pretty JSON and a final newline.
pub fn to_text(key: &Keypair) -> String {
    let json = KeyFileJson { public: key.public().to_hex(), secret: hex::encode(key.seed()) };
    let mut text = serde_json::to_string_pretty(&json).expect("two strings always serialize");
    text.push('\n');
    text
}

/// The key a key file's text holds. Unknown fields are ignored; the public
/// key must match the seed.
pub fn parse(text: &str) -> Result<Keypair, FormatError> {
    let json: KeyFileJson = serde_json::from_str(text)
        .map_err(|e| FormatError::Invalid(format!(r#"{e} (expected {{"public": "<hex>", "secret": "<hex>"}})"#)))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(json.secret.trim(), &mut seed)
        .map_err(|_| FormatError::Invalid("`secret` must be 64 hex digits (a 32-byte seed)".into()))?;
    let key = Keypair::from_seed(seed);
    seed.fill(0);
    let expected = key.public();
    match PublicKey::from_hex(&json.public) {
        Ok(found) if found == expected => Ok(key),
        _ => Err(FormatError::Mismatch { found: json.public, expected }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_pretty_json_with_both_halves() {
        let key = Keypair::from_seed([3; 32]);
        let expected = format!("{{\n  \"public\": \"{}\",\n  \"secret\": \"{}\"\n}}\n", key.public(), "03".repeat(32));
        assert_eq!(to_text(&key), expected);
        assert_eq!(parse(&expected).unwrap().seed(), key.seed());
    }

    #[test]
    fn clear_errors() {
        assert!(matches!(parse("not json"), Err(FormatError::Invalid(_))));
        let short = r#"{"public": "00", "secret": "abcd"}"#;
        assert!(parse(short).unwrap_err().to_string().contains("64 hex digits"));

        let key = Keypair::from_seed([3; 32]);
        let other = Keypair::from_seed([4; 32]);
        let text = format!(r#"{{"public": "{}", "secret": "{}"}}"#, other.public(), hex::encode(key.seed()));
        assert!(matches!(parse(&text), Err(FormatError::Mismatch { .. })));
        let good = format!(r#"{{"public": "{}", "secret": "{}", "name": "x"}}"#, key.public(), hex::encode(key.seed()));
        assert_eq!(parse(&good).unwrap().public(), key.public());
    }
}
