//! Statistics: `kp stats`, `kp mirror`, `kp report` and `kp anomalies`,
//! each as a table, `--json` (the API's answer) or `--csv`.

use super::Global;
use clap::Args;
use kp_client::input::parse_participant;
use kp_client::{ClientError, render};

/// What every statistics command may narrow to.
#[derive(Args)]
pub struct Scope {
    /// The period: a year (2017), a half-year (2017-H1), a quarter
    /// (2017-Q3), a month (2017-03) or dates (2017-01-01..2017-06-30).
    /// The year of the newest entry by default.
    #[arg(long, value_name = "PERIOD")]
    period: Option<String>,
    /// Only this participant.
    #[arg(long, value_parser = parse_participant)]
    participant: Option<String>,
    /// Trade with this partner only.
    #[arg(long, value_parser = parse_participant)]
    partner: Option<String>,
    /// Print CSV laid out like the public KP statistics tables.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
}

impl Scope {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        for (k, v) in [("period", &self.period), ("participant", &self.participant), ("partner", &self.partner)] {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        }
        q
    }
}

#[derive(Args)]
pub struct StatsArgs {
    #[command(flatten)]
    scope: Scope,
    /// Trade under this HS code only (for example 7102.31).
    #[arg(long, value_name = "CODE")]
    hs: Option<String>,
}

#[derive(Args)]
pub struct MirrorArgs {
    #[command(flatten)]
    scope: Scope,
}

/// The anomaly checks' parameters (docs/STATISTICS.md gives each default).
#[derive(Args)]
pub struct CheckParams {
    /// Count certificates as expired as of this date (the newest entry's
    /// date by default).
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<String>,
    /// A check parameter, NAME=VALUE (for example mirror_tolerance_bp=200);
    /// repeat for more.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

impl CheckParams {
    fn query(&self, q: &mut Vec<(&'static str, String)>) -> Result<(), ClientError> {
        const NAMES: [&str; 7] = [
            "mirror_tolerance_bp",
            "price_mads_tenths",
            "price_min_deviation_bp",
            "price_min_lines",
            "surge_factor_tenths",
            "surge_window",
            "capacity_tolerance_bp",
        ];
        if let Some(d) = &self.as_of {
            q.push(("as_of", d.clone()));
        }
        for p in &self.params {
            let bad =
                || ClientError::input(format!("--param `{p}`: give NAME=VALUE, NAME one of {}", NAMES.join(", ")));
            let (k, v) = p.split_once('=').ok_or_else(bad)?;
            let k = NAMES.iter().find(|n| **n == k).ok_or_else(bad)?;
            q.push((k, v.to_string()));
        }
        Ok(())
    }
}

#[derive(Args)]
pub struct ReportArgs {
    /// The participant, for example CF.
    #[arg(value_parser = parse_participant)]
    participant: String,
    /// The period (see `kp stats --help`); the year of the newest entry by
    /// default.
    #[arg(long, value_name = "PERIOD")]
    period: Option<String>,
    /// Print the report as Markdown.
    #[arg(long, conflicts_with_all = ["json", "csv"])]
    markdown: bool,
    /// Print the report's periods as CSV.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    #[command(flatten)]
    checks: CheckParams,
}

#[derive(Args)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    scope: Scope,
    /// Only this check (for example mirror_gap).
    #[arg(long, value_name = "ID")]
    check: Option<String>,
    /// Only findings at least this severe: low, medium or high.
    #[arg(long, value_name = "LEVEL")]
    severity: Option<String>,
    #[command(flatten)]
    checks: CheckParams,
}

pub fn stats(g: &Global, a: &StatsArgs) -> Result<(), ClientError> {
    let mut q = a.scope.query();
    if let Some(h) = &a.hs {
        q.push(("hs", h.clone()));
    }
    let s = g.client().stats(&q)?;
    if a.scope.csv {
        print!("{}", render::stats_csv(&s));
    } else {
        g.show(&s, render::stats_text);
    }
    Ok(())
}

pub fn mirror(g: &Global, a: &MirrorArgs) -> Result<(), ClientError> {
    let m = g.client().mirror(&a.scope.query())?;
    if a.scope.csv {
        print!("{}", render::mirror_csv(&m));
    } else {
        g.show(&m, render::mirror_text);
    }
    Ok(())
}

pub fn report(g: &Global, a: &ReportArgs) -> Result<(), ClientError> {
    let mut q = Vec::new();
    if let Some(p) = &a.period {
        q.push(("period", p.clone()));
    }
    a.checks.query(&mut q)?;
    if a.csv {
        print!("{}", render::report_csv(&g.client().report(&a.participant, &q)?));
        return Ok(());
    }
    if g.json {
        let r = g.client().report(&a.participant, &q)?;
        g.show(&r, |_| String::new());
        return Ok(());
    }
    q.push(("format", if a.markdown { "markdown" } else { "text" }.to_string()));
    print!("{}", g.client().report_rendered(&a.participant, &q)?);
    Ok(())
}

pub fn anomalies(g: &Global, a: &AnomaliesArgs) -> Result<(), ClientError> {
    let mut q = a.scope.query();
    if let Some(c) = &a.check {
        q.push(("check", c.clone()));
    }
    if let Some(s) = &a.severity {
        q.push(("severity", s.clone()));
    }
    a.checks.query(&mut q)?;
    let x = g.client().anomalies(&q)?;
    if a.scope.csv {
        print!("{}", render::anomalies_csv(&x));
    } else {
        g.show(&x, render::anomalies_text);
    }
    Ok(())
}
