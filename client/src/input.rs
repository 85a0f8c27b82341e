//! Exact parsing of what people type: carats and US dollars as decimals, and
//! the compound arguments of `kp` (`LOT=CARATS`, `LOT=CARATS@HOLDER`,
//! `CODE=CARATS@USD`, `PARTICIPANT/LOT`).
//!
//! Amounts are parsed with integer arithmetic only: a float would turn
//! `0.29` into 28 hundredths, and the ledger's mass balance (R5) is exact.

use kp_schemas::PublicKey;
use kp_schemas::model::{HsLine, Output, Role, Take, Weight, is_date, is_participant_code};

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
}
