//! Wall-clock helpers.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Today's UTC date as `YYYY-MM-DD`.
pub fn today() -> String {
    date_of_days((now_ms() / 86_400_000) as i64)
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn date_of_days(days: i64) -> String {
    let (y, m, d) = kp_schemas::model::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(date_of_days(0), "1970-01-01");
        assert_eq!(date_of_days(17_532), "2018-01-01");
        assert_eq!(date_of_days(11_016), "2000-02-29");
    }
}
