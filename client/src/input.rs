//! Exact parsing of what people type: carats and US dollars as decimals, and
//! the compound arguments of `kp` (`LOT=CARATS`, `LOT=CARATS@HOLDER`,
//! `CODE=CARATS@USD`, `PARTICIPANT/LOT`).
//!
//! Amounts are parsed with integer arithmetic only: a float would turn
//! `0.29` into 28 hundredths, and the ledger's mass balance (R5) is exact.

use kp_schemas::PublicKey;
use kp_schemas::model::{HsLine, NodeInfo, Output, Role, Take, Weight, is_date, is_participant_code};

/// Parse a decimal with at most two decimals into hundredths: `12.34` is
/// 1234, `12` is 1200, `0.5` is 50. `what` names the quantity in errors.
pub fn parse_hundredths(what: &str, s: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("{what} `{s}` {why}");
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a number like 12 or 12.34"));
    }
    let frac = match frac {
        None => 0,
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(bad("is not a number like 12 or 12.34"));
        }
        Some(f) if f.len() > 2 => return Err(bad("has more than two decimals")),
        Some(f) if f.len() == 1 => u64::from(f.as_bytes()[0] - b'0') * 10,
        Some(f) => f.parse::<u64>().expect("two ASCII digits"),
    };
    int.parse::<u64>()
        .ok()
        .and_then(|i| i.checked_mul(100))
        .and_then(|h| h.checked_add(frac))
        .ok_or_else(|| bad("is too large"))
}

/// Carats with up to two decimals, as hundredths of a carat.
pub fn parse_carats(s: &str) -> Result<Weight, String> {
    parse_hundredths("weight", s)
}

/// US dollars with up to two decimals, as cents.
pub fn parse_usd(s: &str) -> Result<u64, String> {
    parse_hundredths("value", s)
}

/// `YYYY-MM-DD`, a real calendar day.
pub fn parse_date(s: &str) -> Result<String, String> {
    if is_date(s) { Ok(s.to_string()) } else { Err(format!("date `{s}` is not a YYYY-MM-DD calendar date")) }
}

/// A participant code: two capital letters.
pub fn parse_participant(s: &str) -> Result<String, String> {
    if is_participant_code(s) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not a participant code (two capital letters, for example CF or EU)"))
    }
}

/// An Ed25519 public key as 64 hex digits: a licensee, a holder, a log.
pub fn parse_key(s: &str) -> Result<PublicKey, String> {
    PublicKey::from_hex(s).map_err(|_| format!("`{s}` is not a public key (64 hex digits)"))
}

/// A licensee role: miner, trader, exporter, importer or laboratory.
pub fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// An entry id or another SHA-256 hash as 64 hex digits.
pub fn parse_hash(s: &str) -> Result<kp_schemas::Hash32, String> {
    kp_schemas::Hash32::from_hex(s).map_err(|_| format!("`{s}` is not a hash (64 hex digits)"))
}

fn split2<'a>(s: &'a str, sep: char, form: &str) -> Result<(&'a str, &'a str), String> {
    match s.split_once(sep) {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a, b)),
        _ => Err(format!("`{s}` is not of the form {form}")),
    }
}

/// `LOT=CARATS`: weight taken from an input lot. Lot ids never contain `=`.
pub fn parse_take(s: &str) -> Result<Take, String> {
    let (lot, w) = split2(s, '=', "LOT=CARATS")?;
    Ok(Take { lot: lot.to_string(), weight: parse_carats(w)? })
}

/// `LOT=CARATS@HOLDERKEY`: an output lot and its new holder.
pub fn parse_output(s: &str) -> Result<Output, String> {
    const FORM: &str = "LOT=CARATS@HOLDERKEY";
    let (lot, rest) = split2(s, '=', FORM)?;
    let (w, holder) = split2(rest, '@', FORM)?;
    Ok(Output { lot: lot.to_string(), weight: parse_carats(w)?, holder: parse_key(holder)? })
}

/// `CODE=CARATS@USD`: one HS line of a certificate.
pub fn parse_hs_line(s: &str) -> Result<HsLine, String> {
    const FORM: &str = "CODE=CARATS@USD";
    let (code, rest) = split2(s, '=', FORM)?;
    let (w, usd) = split2(rest, '@', FORM)?;
    Ok(HsLine { code: code.to_string(), weight: parse_carats(w)?, value_cents: parse_usd(usd)? })
}

/// `PARTICIPANT/LOT`, split at the first `/` since lot ids may contain more.
pub fn parse_lot_ref(s: &str) -> Result<(String, String), String> {
    let (p, lot) = split2(s, '/', "PARTICIPANT/LOT (for example CF/CF/BER/2017/00042)")?;
    Ok((parse_participant(p)?, lot.to_string()))
}

/// An Ed25519 signature as 128 hex digits, such as a key rotation's
/// statement.
pub fn parse_signature(s: &str) -> Result<kp_schemas::SignatureBytes, String> {
    kp_schemas::SignatureBytes::from_hex(s).map_err(|_| format!("`{s}` is not a signature (128 hex digits)"))
}

/// A participant code or a monitor id (`CF`, `MT-CF`): an id the ledger
/// keys by (R9).
pub fn parse_holder(s: &str) -> Result<String, String> {
    kp_schemas::limits::check_id("holder", s)
        .map(|()| s.to_string())
        .map_err(|r| format!("`{s}` is not a participant code or a monitor id: {}", r.message))
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Bitcoin-alphabet base58, as libp2p writes peer ids; none for a
/// character outside the alphabet.
fn base58_decode(s: &str) -> Option<Vec<u8>> {
    // Little-endian while it grows; each leading `1` is a leading zero byte.
    let mut out: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = BASE58.iter().position(|&a| a == c)? as u32;
        for b in out.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.push(carry as u8);
            carry >>= 8;
        }
    }
    out.extend(std::iter::repeat_n(0, s.bytes().take_while(|&c| c == b'1').count()));
    out.reverse();
    Some(out)
}

/// A libp2p peer id in its base58 form (`12D3KooW...`, `Qm...`): a
/// multihash that is the public key itself (identity, at most 42 bytes) or
/// its SHA-256, as libp2p reads one. A node skips a roster node whose id
/// does not parse, so the chair is told here.
pub fn parse_peer_id(s: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "`{s}` is not a libp2p peer id ({why}); a node's id looks like 12D3KooW... (kp-node prints it at start)"
        )
    };
    let bytes = base58_decode(s).ok_or_else(|| bad("not base58"))?;
    let ok = match bytes.as_slice() {
        [0x00, len, digest @ ..] => usize::from(*len) == digest.len() && digest.len() <= 42 && !digest.is_empty(),
        [0x12, 32, digest @ ..] => digest.len() == 32,
        _ => false,
    };
    if !ok {
        return Err(bad("not the multihash of a key"));
    }
    Ok(s.to_string())
}

/// A multiaddress a node is dialled at (`/ip4/198.51.100.7/tcp/7171`,
/// `/dns4/kp.example.org/tcp/7171`), checked protocol by protocol. A node
/// skips an address that does not parse.
pub fn parse_multiaddr(s: &str) -> Result<String, String> {
    let bad = |why: String| {
        format!(
            "`{s}` is not a multiaddress ({why}); for example /ip4/198.51.100.7/tcp/7171 or /dns4/kp.example.org/tcp/7171"
        )
    };
    let rest = s.strip_prefix('/').ok_or_else(|| bad("it starts with /".into()))?;
    let mut parts = rest.split('/');
    while let Some(proto) = parts.next() {
        let mut value =
            |what: &str| parts.next().filter(|v| !v.is_empty()).ok_or_else(|| bad(format!("/{proto} needs {what}")));
        match proto {
            "ip4" => {
                let v = value("an IPv4 address")?;
                v.parse::<std::net::Ipv4Addr>().map_err(|_| bad(format!("`{v}` is not an IPv4 address")))?;
            }
            "ip6" => {
                let v = value("an IPv6 address")?;
                v.parse::<std::net::Ipv6Addr>().map_err(|_| bad(format!("`{v}` is not an IPv6 address")))?;
            }
            "dns" | "dns4" | "dns6" | "dnsaddr" => _ = value("a host name")?,
            "tcp" | "udp" => {
                let v = value("a port")?;
                v.parse::<u16>().map_err(|_| bad(format!("`{v}` is not a port")))?;
            }
            "p2p" => _ = parse_peer_id(value("a peer id")?).map_err(&bad)?,
            "quic" | "quic-v1" | "ws" | "wss" | "tls" | "noise" | "yamux" | "p2p-circuit" => {}
            "" => return Err(bad("an empty protocol name".into())),
            other => return Err(bad(format!("unknown protocol `{other}`"))),
        }
    }
    Ok(s.to_string())
}

/// One `--peer` argument: `PEERID`, or `PEERID@MULTIADDR` for a node with
/// an address to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeArg {
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// An address to dial it at.
    pub addr: Option<String>,
}

/// `PEERID` or `PEERID@MULTIADDR`. An address naming a peer (`/p2p/...`)
/// must name this one.
pub fn parse_node(s: &str) -> Result<NodeArg, String> {
    let (id, addr) = match s.split_once('@') {
        Some((id, addr)) => (id, Some(parse_multiaddr(addr)?)),
        None => (s, None),
    };
    let peer_id = parse_peer_id(id)?;
    if let Some(a) = &addr
        && let Some((_, named)) = a.split_once("/p2p/")
        && named.split('/').next() != Some(peer_id.as_str())
    {
        return Err(format!("`{s}`: the address names another peer than {peer_id}"));
    }
    Ok(NodeArg { peer_id, addr })
}

/// Nodes as the roster lists them, from `--peer` arguments in their order:
/// the arguments of one peer id are one node, with each address given.
pub fn nodes_of(args: &[NodeArg]) -> Vec<NodeInfo> {
    let mut out: Vec<NodeInfo> = Vec::new();
    for a in args {
        let i = match out.iter().position(|n| n.peer_id == a.peer_id) {
            Some(i) => i,
            None => {
                out.push(NodeInfo { peer_id: a.peer_id.clone(), addrs: Vec::new() });
                out.len() - 1
            }
        };
        if let Some(addr) = &a.addr
            && !out[i].addrs.contains(addr)
        {
            out[i].addrs.push(addr.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carats_parse_exactly() {
        assert_eq!(parse_carats("12.34"), Ok(1234));
        assert_eq!(parse_carats("12"), Ok(1200));
        assert_eq!(parse_carats("12.3"), Ok(1230));
        assert_eq!(parse_carats("0.29"), Ok(29));
        assert_eq!(parse_carats("0.05"), Ok(5));
        assert_eq!(parse_carats("0"), Ok(0));
        assert!(parse_carats("1.234").unwrap_err().contains("more than two decimals"));
        for bad in ["", ".5", "5.", "-1", "+1", "1,5", "1e3", " 1", "1.2.3", "abc", "1.-2"] {
            assert!(parse_carats(bad).is_err(), "{bad}");
        }
        assert!(parse_carats("99999999999999999999").unwrap_err().contains("too large"));
        assert!(parse_carats("184467440737095517").unwrap_err().contains("too large"));
        assert_eq!(parse_usd("1500000.50"), Ok(150_000_050));
    }

    #[test]
    fn compound_arguments() {
        let key = kp_schemas::Keypair::from_seed([5; 32]).public();
        assert_eq!(parse_take("CF/BER/1=10.5"), Ok(Take { lot: "CF/BER/1".into(), weight: 1050 }));
        let out = parse_output(&format!("M1=3@{key}")).unwrap();
        assert_eq!((out.lot.as_str(), out.weight, out.holder), ("M1", 300, key));
        assert!(parse_output("M1=3").unwrap_err().contains("LOT=CARATS@HOLDERKEY"));
        assert!(parse_output("M1=3@abc").unwrap_err().contains("public key"));
        let line = parse_hs_line("7102.31=120@250000.99").unwrap();
        assert_eq!((line.code.as_str(), line.weight, line.value_cents), ("7102.31", 12000, 25_000_099));
        assert!(parse_take("=1").is_err());
        assert!(parse_take("L=").is_err());
        assert_eq!(parse_lot_ref("CF/CF/BER/1"), Ok(("CF".into(), "CF/BER/1".into())));
        assert!(parse_lot_ref("cf/x").is_err());
        assert!(parse_date("2017-02-29").is_err());
        assert_eq!(parse_date("2017-12-01"), Ok("2017-12-01".into()));
    }

    /// Base58 of `bytes`, for the tests' peer ids.
    fn base58(bytes: &[u8]) -> String {
        let mut digits: Vec<u8> = Vec::new();
        for &b in bytes {
            let mut carry = u32::from(b);
            for d in digits.iter_mut() {
                carry += u32::from(*d) << 8;
                *d = (carry % 58) as u8;
                carry /= 58;
            }
            while carry > 0 {
                digits.push((carry % 58) as u8);
                carry /= 58;
            }
        }
        let zeros = bytes.iter().take_while(|&&b| b == 0).count();
        std::iter::repeat_n(b'1', zeros)
            .chain(digits.iter().rev().map(|&d| BASE58[d as usize]))
            .map(char::from)
            .collect()
    }

    /// The peer id libp2p gives an Ed25519 key: the identity multihash of
    /// its protobuf encoding.
    pub fn ed25519_peer_id(key: [u8; 32]) -> String {
        base58(&[&[0x00, 36, 0x08, 0x01, 0x12, 0x20][..], &key].concat())
    }

    #[test]
    fn peer_ids_and_multiaddresses() {
        let id = ed25519_peer_id([7; 32]);
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(base58_decode(&id).map(|b| base58(&b)), Some(id.clone()));
        assert_eq!(parse_peer_id(&id), Ok(id.clone()));
        // A SHA-256 peer id (RSA keys), and leading zero bytes.
        assert!(parse_peer_id(&base58(&[&[0x12, 32][..], &[9; 32]].concat())).is_ok());
        assert_eq!(base58_decode("11"), Some(vec![0, 0]));
        for bad in ["", "12D3KooW", "12D3KooW0OIl", "hello", &id[..id.len() - 1], &format!("{id}1")] {
            let e = parse_peer_id(bad).unwrap_err();
            assert!(e.contains("is not a libp2p peer id"), "{bad}: {e}");
        }

        for ok in [
            "/ip4/198.51.100.7/tcp/7171",
            "/ip6/::1/tcp/1",
            "/dns4/kp.example.org/tcp/7171",
            "/ip4/1.2.3.4/udp/9/quic-v1",
        ] {
            assert_eq!(parse_multiaddr(ok), Ok(ok.to_string()));
        }
        assert!(parse_multiaddr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{id}")).is_ok());
        for (bad, why) in [
            ("ip4/1.2.3.4", "starts with /"),
            ("/ip4/1.2.3.400/tcp/1", "not an IPv4 address"),
            ("/ip4/1.2.3.4/tcp/70000", "not a port"),
            ("/ip4/1.2.3.4/tcp", "/tcp needs a port"),
            ("/ip4/1.2.3.4/sctp/1", "unknown protocol `sctp`"),
            ("/ip4/1.2.3.4//tcp/1", "empty protocol"),
            ("/", "empty protocol"),
        ] {
            let e = parse_multiaddr(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }

        let other = ed25519_peer_id([8; 32]);
        let args = [
            parse_node(&format!("{id}@/ip4/10.0.0.1/tcp/7171")).unwrap(),
            parse_node(&other).unwrap(),
            parse_node(&format!("{id}@/dns4/cf.example.org/tcp/7171")).unwrap(),
            parse_node(&format!("{id}@/ip4/10.0.0.1/tcp/7171")).unwrap(),
        ];
        let nodes = nodes_of(&args);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].addrs, ["/ip4/10.0.0.1/tcp/7171", "/dns4/cf.example.org/tcp/7171"]);
        assert!(nodes[1].addrs.is_empty() && nodes[1].peer_id == other);
        let e = parse_node(&format!("{id}@/ip4/10.0.0.1/tcp/1/p2p/{other}")).unwrap_err();
        assert!(e.contains("names another peer"), "{e}");
        assert!(parse_node(&format!("{id}@")).unwrap_err().contains("not a multiaddress"));
        assert!(parse_holder("MT-CF").is_ok() && parse_holder("M T").is_err());
        assert!(parse_signature(&"ab".repeat(64)).is_ok() && parse_signature("abcd").is_err());
    }
}
