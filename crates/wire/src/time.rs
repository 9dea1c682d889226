//! Calendar time for display: the one RFC 3339 formatter (UTC, whole seconds), for certificate validity and
//! anything else that shows a wall-clock time.

/// `unix_secs` (seconds since 1970-01-01T00:00:00Z, negative before) as RFC 3339 in UTC: `2026-11-28T21:02:41Z`.
///
/// ```
/// assert_eq!(tlskit_wire::time::rfc3339(1_000_000_000), "2001-09-09T01:46:40Z");
/// assert_eq!(tlskit_wire::time::rfc3339(-1), "1969-12-31T23:59:59Z");
/// ```
pub fn rfc3339(unix_secs: i64) -> String {
    let (days, secs) = (unix_secs.div_euclid(86_400), unix_secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// (year, month, day) of a day count from 1970-01-01, in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-2_208_988_800), "1900-01-01T00:00:00Z");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // Days from 1900 to 2300 against a day-by-day walk of the calendar.
        let (mut y, mut m, mut d) = (1900i64, 1u32, 1u32);
        for days in -25_567..120_000i64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
            d += 1;
            if d > len {
                (d, m) = (1, m + 1);
                if m > 12 {
                    (m, y) = (1, y + 1);
                }
            }
        }
    }
}
