//! `kp attest`: an authority or a monitor attests about a lot or a
//! certificate (a hold, a release, a seizure, a forged certificate, a note).

use super::{ActAs, Global};
use clap::{Args, ValueEnum};
use kp_client::ClientError;
use kp_client::input::parse_lot_ref;
use kp_schemas::model::{Attestation, AttestationKind, Body, Subject};

#[derive(Clone, Copy, ValueEnum)]
enum AttestKindArg {
    Hold,
    Release,
    Seizure,
    ForgedCertificate,
    Note,
}

impl From<AttestKindArg> for AttestationKind {
    fn from(k: AttestKindArg) -> Self {
        match k {
            AttestKindArg::Hold => AttestationKind::Hold,
            AttestKindArg::Release => AttestationKind::Release,
            AttestKindArg::Seizure => AttestationKind::Seizure,
            AttestKindArg::ForgedCertificate => AttestationKind::ForgedCertificate,
            AttestKindArg::Note => AttestationKind::Note,
        }
    }
}

#[derive(Args)]
pub struct AttestArgs {
    /// The lot, as PARTICIPANT/LOT (for example CF/CF/BER/2017/00042).
    #[arg(long, value_name = "PARTICIPANT/LOT", value_parser = parse_lot_ref, required_unless_present = "cert", conflicts_with = "cert")]
    lot: Option<(String, String)>,
    /// The certificate number.
    #[arg(long, value_name = "NUMBER")]
    cert: Option<String>,
    /// What is attested.
    #[arg(long, value_enum)]
    kind: AttestKindArg,
    /// Free text, for example the reason of a hold.
    #[arg(long, value_name = "TEXT")]
    note: String,
    #[command(flatten)]
    act: ActAs,
}

pub fn run(g: &Global, a: &AttestArgs) -> Result<(), ClientError> {
    let subject = match (&a.lot, &a.cert) {
        (Some((participant, lot)), _) => Subject::Lot { participant: participant.clone(), lot: lot.clone() },
        (None, Some(number)) => Subject::Certificate { number: number.clone() },
        (None, None) => unreachable!("clap requires one of --lot and --cert"),
    };
    g.action(&a.act, Body::Attestation(Attestation { subject, kind: a.kind.into(), note: a.note.clone() }))
}
