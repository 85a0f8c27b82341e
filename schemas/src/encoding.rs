//! The one place that knows the wire format.
//!
//! Canonical bytes are bincode 2.0.1 through serde with little-endian
//! fixed-width integers. Every other module calls [`encode`] and [`decode`];
//! moving to another format is a change to this file, checked by the golden
//! vectors in `tests/golden.rs`.
//!
//! Decoding untrusted bytes is strict: a size limit, every byte consumed, and
//! the value must re-encode to exactly the input. That last check makes the
//! encoding a bijection on accepted inputs, so hashing or verifying the
//! received bytes and hashing a re-encoding can never disagree.

use crate::codes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest object the decoder will look at (R9). Entries are far smaller; the
/// limit only stops a hostile length prefix from allocating.
pub const MAX_DECODE_BYTES: usize = 1 << 20;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<MAX_DECODE_BYTES>,
>;

const CONFIG: Config =
    bincode::config::standard().with_little_endian().with_fixed_int_encoding().with_limit::<MAX_DECODE_BYTES>();

/// Why untrusted bytes do not decode (R9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Over [`MAX_DECODE_BYTES`]; carries the length.
    #[error("input is {0} bytes, over the limit of {MAX_DECODE_BYTES}")]
    TooLarge(usize),
    /// Not a value of the type: truncated, an unknown enum tag, a `bool`
    /// other than 0 or 1, a string that is not UTF-8, a length past the end.
    #[error("malformed bytes: {0}")]
    Malformed(String),
    /// A value followed by this many bytes more.
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
    /// A value that re-encodes to other bytes: one value has one encoding.
    #[error("bytes are not in canonical form")]
    NonCanonical,
}

impl DecodeError {
    /// The refusal code: `R9.too_large`, `R9.malformed`,
    /// `R9.trailing_bytes` or `R9.non_canonical`.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge(_) => codes::R9_TOO_LARGE,
            DecodeError::Malformed(_) => codes::R9_MALFORMED,
            DecodeError::Trailing(_) => codes::R9_TRAILING_BYTES,
            DecodeError::NonCanonical => codes::R9_NON_CANONICAL,
        }
    }
}

/// Canonical bytes of a value.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own types into a Vec cannot fail: no maps with
    // non-string keys, no unsized sequences, and values built in memory stay
    // under the limit by construction (R9 bounds are far below it).
    bincode::serde::encode_to_vec(value, CONFIG).expect("in-memory values always encode")
}

/// Strict decode of untrusted bytes.
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_DECODE_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let (value, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, CONFIG).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - read));
    }
    let mut same = Same { rest: bytes };
    if bincode::serde::encode_into_writer(&value, &mut same, CONFIG).is_err() || !same.rest.is_empty() {
        return Err(DecodeError::NonCanonical);
    }
    Ok(value)
}

/// The re-encoding check without building the re-encoding: each piece the
/// encoder writes is compared with the input where it stands, and the first
/// difference stops it. Every entry is decoded this way, on the node's
/// sequential path too for those it signs, so the copy it saves counts.
struct Same<'a> {
    rest: &'a [u8],
}

impl bincode::enc::write::Writer for Same<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        match self.rest.strip_prefix(bytes) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(bincode::error::EncodeError::Other("not the canonical bytes")),
        }
    }
}

/// Decode bytes this process wrote itself (the node's own store). Skips the
/// re-encoding check, which only guards bytes that others will hash.
pub fn decode_trusted<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (value, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, CONFIG).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        a: u32,
        b: String,
        c: Option<u64>,
        d: bool,
    }

    fn sample() -> Sample {
        Sample { a: 7, b: "CF".into(), c: Some(1), d: true }
    }

    #[test]
    fn fixed_width_little_endian() {
        let bytes = encode(&sample());
        assert_eq!(
            bytes,
            [
                7, 0, 0, 0, // a: u32
                2, 0, 0, 0, 0, 0, 0, 0, b'C', b'F', // b: u64 length + bytes
                1, 1, 0, 0, 0, 0, 0, 0, 0, // c: Some + u64
                1, // d
            ]
        );
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn truncated_padded_and_non_canonical_are_refused() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode::<Sample>(&bytes[..cut]).is_err(), "prefix of {cut} bytes decoded");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(decode::<Sample>(&padded), Err(DecodeError::Trailing(1)));
        // A bool byte of 2 is not canonical; bincode refuses it outright.
        let mut bad_bool = bytes.clone();
        *bad_bool.last_mut().unwrap() = 2;
        assert!(decode::<Sample>(&bad_bool).is_err());
    }

    /// Reads one byte; writes it as the mode says, as a type whose
    /// serialisation is not the inverse of its deserialisation would.
    #[derive(Debug, PartialEq)]
    struct Lenient(u8);

    impl Serialize for Lenient {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                0 => s.serialize_unit(),
                1 => s.serialize_u8(1),
                2 => s.serialize_u16(2),
                _ => s.serialize_u8(1),
            }
        }
    }

    impl<'de> Deserialize<'de> for Lenient {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            u8::deserialize(d).map(Lenient)
        }
    }

    #[test]
    fn values_that_do_not_re_encode_to_their_bytes_are_refused() {
        assert_eq!(decode::<Lenient>(&[1]), Ok(Lenient(1)));
        // Re-encoded shorter, longer, and different.
        for byte in [0, 2, 7] {
            assert_eq!(decode::<Lenient>(&[byte]), Err(DecodeError::NonCanonical), "byte {byte}");
        }
    }

    #[test]
    fn hostile_length_prefix_does_not_allocate() {
        let mut bytes = encode(&sample());
        bytes[4..12].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode::<Sample>(&bytes), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let big = vec![0u8; MAX_DECODE_BYTES + 1];
        assert_eq!(decode::<Sample>(&big), Err(DecodeError::TooLarge(MAX_DECODE_BYTES + 1)));
    }
}
