//! Fixed-size byte strings: hex in JSON, raw fixed-width bytes on the wire.

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes, on the wire as in memory.
            pub const LEN: usize = $len;

            /// Lower-case hex, as JSON and the API show it.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parse hex of exactly the right length, either case,
            /// surrounding whitespace ignored.
            pub fn from_hex(s: &str) -> Result<Self, HexError> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|_| HexError {
                    expected: $len,
                    what: stringify!($name),
                })?;
                Ok(Self(out))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                Self::from_hex(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_fixed(&self.0, s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_fixed::<D, $len>(d).map(Self)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let pattern = format!("^[0-9a-f]{{{}}}$", $len * 2);
                schemars::json_schema!({
                    "type": "string",
                    "pattern": pattern,
                    "description": concat!(stringify!($len), " bytes, lower-case hex"),
                })
            }
        }
    };
}

fixed_bytes!(
    /// A SHA-256 digest.
    Hash32,
    32
);
fixed_bytes!(
    /// An Ed25519 public key (compressed Edwards point).
    PublicKey,
    32
);
fixed_bytes!(
    /// An Ed25519 signature (R || S).
    SignatureBytes,
    64
);

impl Hash32 {
    /// 32 zero bytes: the `prev` of a log's first entry (R3).
    pub const ZERO: Hash32 = Hash32([0; 32]);
}

/// Hex that is not a fixed-size byte string of the expected length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected} bytes as {} hex digits", expected * 2)]
pub struct HexError {
    /// The length expected, in bytes.
    pub expected: usize,
    /// The type parsed: `Hash32`, `PublicKey` or `SignatureBytes`.
    pub what: &'static str,
}

/// Human-readable formats get hex; binary ones get a tuple of N bytes, so the
/// wire carries no length prefix for fixed-size fields.
fn serialize_fixed<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&hex::encode(b))
    } else {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(N)?;
        for byte in b {
            t.serialize_element(byte)?;
        }
        t.end()
    }
}

fn deserialize_fixed<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
    struct V<const N: usize>;
    impl<'de, const N: usize> Visitor<'de> for V<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{N} bytes as {} hex digits", N * 2)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<[u8; N], E> {
            let mut out = [0u8; N];
            hex::decode_to_slice(v, &mut out).map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))?;
            Ok(out)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
            let mut out = [0u8; N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }
    if d.is_human_readable() { d.deserialize_str(V::<N>) } else { d.deserialize_tuple(N, V::<N>) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let h = Hash32([0xab; 32]);
        assert_eq!(Hash32::from_hex(&h.to_hex()).unwrap(), h);
        assert!(Hash32::from_hex("abcd").is_err());
        assert!(Hash32::from_hex(&"zz".repeat(32)).is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<Hash32>(&json).unwrap(), h);
    }
}
