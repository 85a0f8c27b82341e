//! Periods of the statistics: a year, a half-year, a quarter, a month or
//! any range of dates, each a closed range of `YYYY-MM-DD` dates, which
//! compare as strings in date order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

/// A closed range of dates, and how it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Period {
    /// As asked: `2017`, `2017-H1`, `2017-Q3`, `2017-03`, or
    /// `2017-01-01..2017-06-30`.
    pub label: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`, included.
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Year,
    Half,
    Quarter,
    Month,
    Range,
}

/// A date of the logs: `YYYY-MM-DD`, a real day.
pub fn parse_date(s: &str) -> Option<Date> {
    // The dates records may carry (R9): digits only, year 1900 or later.
    if !crate::model::is_date(s) {
        return None;
    }
    let y: i32 = s[0..4].parse().ok()?;
    let m: u8 = s[5..7].parse().ok()?;
    let d: u8 = s[8..10].parse().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// `YYYY-MM-DD`.
pub fn fmt_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The date `days` after `date` (before, if negative); `None` if `date` is
/// not a date or the result leaves the years 0000-9999.
pub fn add_days(date: &str, days: i64) -> Option<String> {
    let d = parse_date(date)?.checked_add(Duration::days(days))?;
    (0..=9999).contains(&d.year()).then(|| fmt_date(d))
}

/// Days from `a` to `b` (negative if `b` is earlier).
pub fn days_between(a: &str, b: &str) -> Option<i64> {
    Some((parse_date(b)? - parse_date(a)?).whole_days())
}

/// The date of a Unix time in milliseconds, UTC.
pub fn date_of_ms(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    add_days("1970-01-01", days).unwrap_or_else(|| "9999-12-31".into())
}

fn month_end(y: i32, m: u8) -> Option<String> {
    let first = Date::from_calendar_date(y, Month::try_from(m).ok()?, 1).ok()?;
    let last = first.replace_day(first.month().length(y)).ok()?;
    Some(fmt_date(last))
}

fn months(y: i32, first: u8, last: u8, label: String) -> Option<Period> {
    Some(Period { label, from: format!("{y:04}-{first:02}-01"), to: month_end(y, last)? })
}

impl Period {
    /// Parse a period as the API and `kp` take it.
    pub fn parse(s: &str) -> Result<Period, String> {
        let shown: String = s.chars().take(40).collect();
        let bad = || {
            format!(
                "`{shown}` is not a period: give a year (2017), a half-year (2017-H1), a quarter (2017-Q3), a month \
                 (2017-03) or a range of dates (2017-01-01..2017-06-30)"
            )
        };
        if let Some((a, b)) = s.split_once("..") {
            if parse_date(a).is_none() || parse_date(b).is_none() || a > b {
                return Err(bad());
            }
            return Ok(Period { label: s.into(), from: a.into(), to: b.into() });
        }
        let year = |t: &str| -> Option<i32> {
            (t.len() == 4 && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.parse().ok()).flatten()
        };
        let p = match s.split_once('-') {
            None => year(s).and_then(|y| months(y, 1, 12, s.into())),
            Some((y, rest)) => {
                let y = year(y).ok_or_else(bad)?;
                match rest {
                    "H1" => months(y, 1, 6, s.into()),
                    "H2" => months(y, 7, 12, s.into()),
                    "Q1" | "Q2" | "Q3" | "Q4" => {
                        let q = rest.as_bytes()[1] - b'0';
                        months(y, q * 3 - 2, q * 3, s.into())
                    }
                    m if m.len() == 2 => match m.parse::<u8>() {
                        Ok(m @ 1..=12) => months(y, m, m, s.into()),
                        _ => None,
                    },
                    _ => None,
                }
            }
        };
        // Years before 1900 hold no record (R9), and would only make a
        // scan of every quarter since year 0 long.
        p.filter(|p| parse_date(&p.from).is_some()).ok_or_else(bad)
    }

    /// A calendar year.
    pub fn year(y: i32) -> Period {
        months(y, 1, 12, format!("{y:04}")).expect("a four-digit year")
    }

    /// A calendar quarter, 1 to 4.
    pub fn quarter(y: i32, q: u8) -> Period {
        months(y, q * 3 - 2, q * 3, format!("{y:04}-Q{q}")).expect("a quarter")
    }

    fn kind(&self) -> Kind {
        let l = &self.label;
        if l.contains("..") {
            Kind::Range
        } else if l.len() == 4 {
            Kind::Year
        } else if l.contains("-H") {
            Kind::Half
        } else if l.contains("-Q") {
            Kind::Quarter
        } else {
            Kind::Month
        }
    }

    /// Whether a date falls in the period.
    pub fn contains(&self, date: &str) -> bool {
        self.from.as_str() <= date && date <= self.to.as_str()
    }

    /// The period of the same kind just before: the year before a year,
    /// the quarter before a quarter, and the same number of days before a
    /// range.
    pub fn previous(&self) -> Option<Period> {
        let y: i32 = self.from[0..4].parse().ok()?;
        let m: u8 = self.from[5..7].parse().ok()?;
        match self.kind() {
            Kind::Year => (y > 0).then(|| Period::year(y - 1)),
            Kind::Half if m == 1 => months(y - 1, 7, 12, format!("{:04}-H2", y - 1)),
            Kind::Half => months(y, 1, 6, format!("{y:04}-H1")),
            Kind::Quarter if m == 1 => Some(Period::quarter(y - 1, 4)),
            Kind::Quarter => Some(Period::quarter(y, m / 3)),
            Kind::Month if m == 1 => months(y - 1, 12, 12, format!("{:04}-12", y - 1)),
            Kind::Month => months(y, m - 1, m - 1, format!("{y:04}-{:02}", m - 1)),
            Kind::Range => {
                let len = days_between(&self.from, &self.to)?;
                let to = add_days(&self.from, -1)?;
                let from = add_days(&to, -len)?;
                Some(Period { label: format!("{from}..{to}"), from, to })
            }
        }
    }

    /// The calendar years the period touches.
    pub fn years(&self) -> std::ops::RangeInclusive<i32> {
        let y = |d: &str| d[0..4].parse().unwrap_or(0);
        y(&self.from)..=y(&self.to)
    }

    /// The calendar quarters the period touches, as `(year, quarter)`.
    pub fn quarters(&self) -> Vec<(i32, u8)> {
        let q =
            |d: &str| -> (i32, u8) { (d[0..4].parse().unwrap_or(0), (d[5..7].parse::<u8>().unwrap_or(1) - 1) / 3 + 1) };
        let (mut at, last) = (q(&self.from), q(&self.to));
        let mut v = Vec::new();
        while at <= last {
            v.push(at);
            at = if at.1 == 4 { (at.0 + 1, 1) } else { (at.0, at.1 + 1) };
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    #[test]
    fn parses_every_kind() {
        assert_eq!((p("2017").from, p("2017").to), ("2017-01-01".into(), "2017-12-31".into()));
        assert_eq!((p("2016-H1").from, p("2016-H1").to), ("2016-01-01".into(), "2016-06-30".into()));
        assert_eq!((p("2017-Q1").from, p("2017-Q1").to), ("2017-01-01".into(), "2017-03-31".into()));
        assert_eq!(p("2016-02").to, "2016-02-29");
        assert_eq!(p("2017-03-05..2017-04-01").to, "2017-04-01");
        for bad in [
            "",
            "17",
            "0000",
            "+201-01-01..2017-01-01",
            "2017-Q5",
            "2017-13",
            "2017-02-30..2017-03-01",
            "2017-05-01..2017-04-01",
            "2017-H3",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn previous_periods() {
        assert_eq!(p("2017").previous().unwrap().label, "2016");
        assert_eq!(p("2017-H1").previous().unwrap().label, "2016-H2");
        assert_eq!(p("2017-Q1").previous().unwrap().label, "2016-Q4");
        assert_eq!(p("2017-Q3").previous().unwrap().label, "2017-Q2");
        assert_eq!(p("2017-03").previous().unwrap().to, "2017-02-28");
        let r = p("2017-03-11..2017-03-20").previous().unwrap();
        assert_eq!((r.from.as_str(), r.to.as_str()), ("2017-03-01", "2017-03-10"));
    }

    #[test]
    fn quarters_and_days() {
        assert_eq!(p("2016-11-01..2017-02-01").quarters(), vec![(2016, 4), (2017, 1)]);
        assert_eq!(add_days("2016-12-31", 1).unwrap(), "2017-01-01");
        assert_eq!(days_between("2017-01-01", "2017-03-01"), Some(59));
        assert_eq!(date_of_ms(0), "1970-01-01");
        assert!(p("2017").contains("2017-06-30") && !p("2017").contains("2018-01-01"));
    }
}
