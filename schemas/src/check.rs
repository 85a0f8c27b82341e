//! The customs check of a paper KP certificate against the ledger: given a
//! certificate number and what the paper says, one verdict with the fields
//! that differ. Pure: the caller reads the certificate, its forged reports and
//! today's date.

use crate::model::{AttestationKind, Cents, Weight};
use crate::rules::fmt_ct;
use crate::state::{AttestationRecord, CertState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the paper certificate says. Every field is optional: only the
/// fields given are compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaperCertificate {
    /// The exporter: the exporting participant's code (`CF`) or the
    /// exporter licensee's registered name, compared without regard to case.
    pub exporter: Option<String>,
    /// The importer: the importing participant's code (`EU`) or the
    /// consignee's name, compared without regard to case.
    pub importer: Option<String>,
    /// Carats, at most two decimals (`1000`, `1000.00`).
    pub carats: Option<String>,
    /// Value in US dollars, at most two decimals (`12400`, `12,400.00`).
    pub value: Option<String>,
    /// Number of parcels.
    pub parcels: Option<String>,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued: Option<String>,
    /// Date of expiry, `YYYY-MM-DD`.
    pub expires: Option<String>,
}

/// The verdict of a check, stable for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// The ledger holds the certificate, the paper matches it, no forgery
    /// is reported, it is not confirmed yet and not past expiry.
    Genuine,
    /// The ledger holds no certificate with this number.
    UnknownNumber,
    /// The ledger holds the certificate, but some fields of the paper
    /// differ (`differences`).
    DetailsDiffer,
    /// An authority or monitor reported a certificate with this number
    /// forged (`forged_reports`).
    ReportedForged,
    /// The importing authority already confirmed this certificate: the
    /// paper may be presented a second time.
    AlreadyConfirmed,
    /// Not confirmed, and past its expiry date.
    Expired,
}

impl CheckResult {
    /// The stable name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Genuine => "genuine",
            CheckResult::UnknownNumber => "unknown_number",
            CheckResult::DetailsDiffer => "details_differ",
            CheckResult::ReportedForged => "reported_forged",
            CheckResult::AlreadyConfirmed => "already_confirmed",
            CheckResult::Expired => "expired",
        }
    }
}

/// One field where the paper and the ledger differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldDifference {
    /// `exporter`, `importer`, `carats`, `value`, `parcels`, `issued` or
    /// `expires`.
    pub field: String,
    /// What the paper says, as given.
    pub paper: String,
    /// What the ledger holds.
    pub ledger: String,
}

/// `GET /v1/certificates/{number}/check`: the verdict on a paper
/// certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CertCheck {
    /// The certificate number asked about.
    pub number: String,
    /// The verdict. When several apply, the first of: `unknown_number`,
    /// `reported_forged`, `details_differ`, `already_confirmed`,
    /// `expired`, `genuine`.
    pub result: CheckResult,
    /// The verdict in one sentence, for people.
    pub message: String,
    /// The fields of the paper that differ from the ledger.
    pub differences: Vec<FieldDifference>,
    /// The fields of the paper that were compared and match.
    pub matching: Vec<String>,
    /// The day that decided expiry, `YYYY-MM-DD`.
    pub today: String,
    /// The certificate as the ledger holds it; none for an unknown number.
    pub certificate: Option<CertState>,
    /// Reports that a certificate with this number is forged.
    pub forged_reports: Vec<AttestationRecord>,
}

/// Hundredths from a decimal with at most two decimals; spaces, commas and
/// a trailing unit (`ct`, `USD`, `$`) are ignored.
pub fn parse_hundredths(s: &str) -> Option<u64> {
    let t: String = s
        .trim()
        .trim_start_matches('$')
        .trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '$' || c.is_whitespace())
        .chars()
        .filter(|c| *c != ',' && *c != ' ' && *c != '\u{a0}')
        .collect();
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() || whole.len() > 15 || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    whole.parse::<u64>().ok()?.checked_mul(100)?.checked_add(frac.parse().ok()?)
}

/// US dollars with two decimals, as the ledger's cents.
pub fn fmt_usd(c: Cents) -> String {
    format!("{}.{:02} USD", c / 100, c % 100)
}

fn same_text(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Compare `paper` with `cert` (none if the ledger holds no such number).
/// `exporter_name` is the exporter licensee's registered name; `reports`
/// the attestations about the certificate (only forged-certificate reports
/// count); `today` decides expiry.
pub fn check(
    number: &str,
    cert: Option<&CertState>,
    exporter_name: Option<&str>,
    reports: &[AttestationRecord],
    paper: &PaperCertificate,
    today: &str,
) -> CertCheck {
    let forged_reports: Vec<AttestationRecord> =
        reports.iter().filter(|a| a.kind == AttestationKind::ForgedCertificate).cloned().collect();
    let Some(cert) = cert else {
        let result = if forged_reports.is_empty() { CheckResult::UnknownNumber } else { CheckResult::ReportedForged };
        return CertCheck {
            number: number.into(),
            result,
            message: format!("no certificate {number} was ever issued on this ledger: treat the paper as false"),
            differences: Vec::new(),
            matching: Vec::new(),
            today: today.into(),
            certificate: None,
            forged_reports,
        };
    };
    let mut differences = Vec::new();
    let mut matching = Vec::new();
    let mut compare = |field: &str, given: &Option<String>, ok: &dyn Fn(&str) -> bool, ledger: String| {
        if let Some(g) = given.as_deref().filter(|g| !g.trim().is_empty()) {
            if ok(g) {
                matching.push(field.to_string());
            } else {
                differences.push(FieldDifference { field: field.into(), paper: g.into(), ledger });
            }
        }
    };
    let exporter_ledger = match exporter_name {
        Some(n) => format!("{} ({n})", cert.exporter),
        None => cert.exporter.clone(),
    };
    compare(
        "exporter",
        &paper.exporter,
        &|g: &str| same_text(g, &cert.exporter) || exporter_name.is_some_and(|n| same_text(g, n)),
        exporter_ledger,
    );
    compare(
        "importer",
        &paper.importer,
        &|g: &str| same_text(g, &cert.importer) || same_text(g, &cert.consignee),
        format!("{} ({})", cert.importer, cert.consignee),
    );
    let w: Weight = cert.weight;
    compare("carats", &paper.carats, &|g: &str| parse_hundredths(g) == Some(w), fmt_ct(w));
    let v = cert.value_cents;
    compare("value", &paper.value, &|g: &str| parse_hundredths(g) == Some(v), fmt_usd(v));
    compare(
        "parcels",
        &paper.parcels,
        &|g: &str| g.trim().parse::<u32>().ok() == Some(cert.parcels),
        cert.parcels.to_string(),
    );
    compare("issued", &paper.issued, &|g: &str| g.trim() == cert.issued, cert.issued.clone());
    compare("expires", &paper.expires, &|g: &str| g.trim() == cert.expires, cert.expires.clone());

    let (result, message) = if !forged_reports.is_empty() {
        (CheckResult::ReportedForged, format!("a certificate numbered {number} was reported forged: hold the shipment"))
    } else if !differences.is_empty() {
        let fields: Vec<&str> = differences.iter().map(|d| d.field.as_str()).collect();
        (
            CheckResult::DetailsDiffer,
            format!("certificate {number} exists, but the paper differs in: {}", fields.join(", ")),
        )
    } else if let Some(c) = &cert.confirmation {
        (
            CheckResult::AlreadyConfirmed,
            format!(
                "certificate {number} matches, but {} already confirmed its import on {}: it cannot cover another shipment",
                cert.importer, c.date
            ),
        )
    } else if cert.expires.as_str() < today {
        (CheckResult::Expired, format!("certificate {number} matches, but it expired on {}", cert.expires))
    } else {
        (CheckResult::Genuine, format!("certificate {number} is genuine and the paper matches the ledger"))
    };
    CertCheck {
        number: number.into(),
        result,
        message,
        differences,
        matching,
        today: today.into(),
        certificate: Some(cert.clone()),
        forged_reports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HsLine, Nature, Subject};
    use crate::state::Confirmation;
    use crate::{Hash32, PublicKey};

    fn cert() -> CertState {
        CertState {
            number: "CF-000001".into(),
            exporter: "CF".into(),
            importer: "EU".into(),
            exporter_licensee: PublicKey([7; 32]),
            consignee: "Antwerp Rough Trading".into(),
            entry: Hash32([1; 32]),
            seq: 12,
            inputs: Vec::new(),
            lines: vec![HsLine { code: "7102.31".into(), weight: 100_000, value_cents: 1_240_000 }],
            weight: 100_000,
            value_cents: 1_240_000,
            parcels: 2,
            issued: "2017-04-02".into(),
            expires: "2018-04-02".into(),
            nature: Nature::Natural,
            zones: Vec::new(),
            confirmation: None,
        }
    }

    fn paper() -> PaperCertificate {
        PaperCertificate {
            exporter: Some("cf exporter sarl".into()),
            importer: Some("EU".into()),
            carats: Some("1,000.00".into()),
            value: Some("12400 USD".into()),
            parcels: Some("2".into()),
            issued: Some("2017-04-02".into()),
            expires: Some("2018-04-02".into()),
        }
    }

    fn forged() -> AttestationRecord {
        AttestationRecord {
            entry: Hash32([3; 32]),
            author: PublicKey([4; 32]),
            timestamp_ms: 1,
            seq: 1,
            subject: Subject::Certificate { number: "CF-000001".into() },
            kind: AttestationKind::ForgedCertificate,
            note: "paper seized at Dubai".into(),
            finding: None,
            report_hash: None,
        }
    }

    const NAME: Option<&str> = Some("CF Exporter SARL");

    #[test]
    fn a_matching_paper_is_genuine() {
        let c = check("CF-000001", Some(&cert()), NAME, &[], &paper(), "2017-05-01");
        assert_eq!(c.result, CheckResult::Genuine, "{c:?}");
        assert!(c.differences.is_empty());
        assert_eq!(c.matching.len(), 7);
    }

    #[test]
    fn wrong_carats_and_importer_are_named() {
        let p = PaperCertificate { carats: Some("1200".into()), importer: Some("AE".into()), ..paper() };
        let c = check("CF-000001", Some(&cert()), NAME, &[], &p, "2017-05-01");
        assert_eq!(c.result, CheckResult::DetailsDiffer);
        let fields: Vec<_> = c.differences.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["importer", "carats"]);
        assert_eq!(c.differences[1].ledger, "1000.00 ct");
        assert!(c.message.contains("importer, carats"), "{}", c.message);
    }

    #[test]
    fn unreadable_numbers_differ() {
        let p = PaperCertificate { value: Some("twelve".into()), parcels: Some("-2".into()), ..paper() };
        let c = check("CF-000001", Some(&cert()), NAME, &[], &p, "2017-05-01");
        assert_eq!(c.result, CheckResult::DetailsDiffer);
        assert_eq!(c.differences.len(), 2);
    }

    #[test]
    fn unknown_number() {
        let c = check("CF-999999", None, None, &[], &paper(), "2017-05-01");
        assert_eq!(c.result, CheckResult::UnknownNumber);
        assert!(c.certificate.is_none());
    }

    #[test]
    fn a_forged_report_wins_over_everything_else() {
        let p = PaperCertificate { carats: Some("1".into()), ..paper() };
        let c = check("CF-000001", Some(&cert()), NAME, &[forged()], &p, "2017-05-01");
        assert_eq!(c.result, CheckResult::ReportedForged);
        assert_eq!(c.forged_reports.len(), 1);
        let c = check("CF-000002", None, None, &[forged()], &p, "2017-05-01");
        assert_eq!(c.result, CheckResult::ReportedForged);
    }

    #[test]
    fn confirmed_then_expired() {
        let mut confirmed = cert();
        confirmed.confirmation = Some(Confirmation {
            entry: Hash32([9; 32]),
            weight: 100_000,
            parcels: 2,
            lot: "EU/1".into(),
            date: "2017-05-02".into(),
            mismatch: false,
            after_expiry: false,
        });
        let c = check("CF-000001", Some(&confirmed), NAME, &[], &paper(), "2017-06-01");
        assert_eq!(c.result, CheckResult::AlreadyConfirmed);
        let c = check("CF-000001", Some(&cert()), NAME, &[], &paper(), "2018-04-03");
        assert_eq!(c.result, CheckResult::Expired);
        // Expiry day itself is still valid.
        let c = check("CF-000001", Some(&cert()), NAME, &[], &paper(), "2018-04-02");
        assert_eq!(c.result, CheckResult::Genuine);
    }

    #[test]
    fn only_given_fields_are_compared() {
        let p = PaperCertificate { carats: Some("1000".into()), ..PaperCertificate::default() };
        let c = check("CF-000001", Some(&cert()), NAME, &[], &p, "2017-05-01");
        assert_eq!(c.result, CheckResult::Genuine);
        assert_eq!(c.matching, ["carats"]);
    }

    #[test]
    fn hundredths() {
        assert_eq!(parse_hundredths("1000"), Some(100_000));
        assert_eq!(parse_hundredths("1,000.5 ct"), Some(100_050));
        assert_eq!(parse_hundredths("$12,400.00"), Some(1_240_000));
        assert_eq!(parse_hundredths("1.234"), None);
        assert_eq!(parse_hundredths(""), None);
        assert_eq!(parse_hundredths("99999999999999999999"), None);
    }
}
