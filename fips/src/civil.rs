//! Unix seconds to UTC calendar fields (no clock access; callers pass the time).

/// `(year, month, day, hour, minute, second, weekday)` with weekday 0 = Monday.
pub fn from_unix(ts: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = (days + 3).rem_euclid(7); // 1970-01-01 was a Thursday (3)
    let to_u32 = |v: i64| u32::try_from(v).unwrap_or(0);
    (
        year,
        to_u32(month),
        to_u32(day),
        to_u32(secs / 3600),
        to_u32(secs % 3600 / 60),
        to_u32(secs % 60),
        to_u32(weekday),
    )
}

/// Unix seconds of a UTC calendar time (Howard Hinnant's days_from_civil).
pub fn to_unix(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
}

/// `%Y-%m-%dT%H:%M:%SZ`.
pub fn iso_zulu(ts: i64) -> String {
    let (y, mo, d, h, mi, s, _) = from_unix(ts);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// RFC 7231 HTTP date, as Werkzeug's `http_date`: `Tue, 14 Nov 2023 22:13:20 GMT`.
pub fn http_date(ts: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, wd) = from_unix(ts);
    let month = MONTHS[(mo as usize).saturating_sub(1) % 12];
    format!(
        "{}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        DAYS[wd as usize % 7]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::iso_zulu(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            super::http_date(1_700_000_000),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
        assert_eq!(super::iso_zulu(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::to_unix(2023, 11, 14, 22, 13, 20), 1_700_000_000);
        assert_eq!(super::to_unix(2000, 2, 29, 0, 0, 0), 951_782_400);
    }
}
