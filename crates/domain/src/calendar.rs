//! Dates in local time. The domain keeps time as milliseconds since the Unix epoch (UTC); people ask about
//! days and hours where they are. The zone's rules live in the host (the browser knows them), so the domain
//! asks it through [`LocalTime`] and does the calendar arithmetic itself.

/// Milliseconds in an hour and in a day.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// The host's time zone: how far local time is ahead of UTC at a moment.
pub trait LocalTime {
    /// Local time minus UTC, in milliseconds, at the UTC moment `utc_ms`.
    fn offset_ms(&self, utc_ms: i64) -> i64;
}

/// A zone whose offset never changes (UTC is `FixedOffset(0)`): for tests, and for hosts without zone rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedOffset(pub i64);

impl LocalTime for FixedOffset {
    fn offset_ms(&self, _utc_ms: i64) -> i64 {
        self.0
    }
}

/// A moment in local time, to the minute, as a person writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalDateTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl LocalDateTime {
    /// `YYYY-MM-DD`, `YYYY-MM-DDTHH` or `YYYY-MM-DDTHH:MM`, checked (no 31st of April, no hour 24).
    pub fn parse(text: &str) -> Option<LocalDateTime> {
        let (date, time) = match text.split_once(['T', 't']) {
            Some((date, time)) => (date, Some(time)),
            None => (text, None),
        };
        let mut parts = date.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (year, month, day) = (digits(y)? as i32, digits(m)?, digits(d)?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let (hour, minute) = match time {
            None => (0, 0),
            Some(t) => {
                let (h, m) = t.split_once(':').unwrap_or((t, "00"));
                if h.len() != 2 || m.len() != 2 {
                    return None;
                }
                (digits(h)?, digits(m)?)
            }
        };
        (hour < 24 && minute < 60).then_some(LocalDateTime { year, month, day, hour, minute })
    }

    /// Milliseconds since the epoch of this wall-clock time, read as UTC.
    fn as_if_utc_ms(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * DAY_MS
            + i64::from(self.hour) * HOUR_MS
            + i64::from(self.minute) * 60_000
    }

    /// The UTC moment this local time names. In a gap (clocks put forward: 02:30 does not exist) it is the same
    /// clock time read with the offset before the gap, which lands just after it; in an overlap (clocks put
    /// back: 02:30 happens twice) it is the first of the two. The offsets a day before and a day after are the
    /// candidates: one that gives back itself at its moment is a true reading of this wall-clock time.
    pub fn to_utc_ms(&self, local: &dyn LocalTime) -> i64 {
        let wall = self.as_if_utc_ms();
        let (early, late) = (local.offset_ms(wall - DAY_MS), local.offset_ms(wall + DAY_MS));
        let fits = |offset: i64| local.offset_ms(wall - offset) == offset;
        match (fits(early), fits(late)) {
            (true, true) => (wall - early).min(wall - late),
            (false, true) => wall - late,
            (true, false) | (false, false) => wall - early,
        }
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM-DD` of a local day counted from 1970-01-01.
pub fn day_label(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH` of a local hour counted from 1970-01-01T00.
pub fn hour_label(hour: i64) -> String {
    format!("{}T{:02}", day_label(hour.div_euclid(24)), hour.rem_euclid(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_and_know_leap_years() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for day in [-800_000, -1, 0, 59, 11_016, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y as i32, m, d), day);
        }
        assert!(LocalDateTime::parse("2024-02-29").is_some());
        assert!(LocalDateTime::parse("2023-02-29").is_none());
        assert!(LocalDateTime::parse("1900-02-29").is_none());
        assert!(LocalDateTime::parse("2026-04-31").is_none());
        assert!(LocalDateTime::parse("2026-12-01T24").is_none());
        assert!(LocalDateTime::parse("2026-12-1").is_none());
        assert_eq!(hour_label(days_from_civil(2026, 12, 4) * 24 + 7), "2026-12-04T07");
    }

    /// A zone that moves from `before` to `after` (ms ahead of UTC) at the UTC moment `at`.
    struct OneChange {
        at: i64,
        before: i64,
        after: i64,
    }

    impl LocalTime for OneChange {
        fn offset_ms(&self, utc_ms: i64) -> i64 {
            if utc_ms < self.at { self.before } else { self.after }
        }
    }

    fn utc(text: &str) -> i64 {
        LocalDateTime::parse(text).map_or(i64::MIN, |t| t.to_utc_ms(&FixedOffset(0)))
    }

    #[test]
    fn gaps_land_after_them_and_overlaps_on_their_first_reading() {
        // New York, spring forward: 02:00 EST (07:00Z) becomes 03:00 EDT; 02:30 does not exist.
        let new_york = OneChange { at: utc("2026-03-08T07:00"), before: -5 * HOUR_MS, after: -4 * HOUR_MS };
        let at = |t: &str, z: &dyn LocalTime| LocalDateTime::parse(t).map_or(i64::MIN, |l| l.to_utc_ms(z));
        assert_eq!(at("2026-03-08T02:30", &new_york), utc("2026-03-08T07:30"), "03:30 EDT, just after the gap");
        assert_eq!(at("2026-03-08T01:30", &new_york), utc("2026-03-08T06:30"));
        assert_eq!(at("2026-03-08T03:30", &new_york), utc("2026-03-08T07:30"));
        // Berlin, fall back: 03:00 CEST (01:00Z) becomes 02:00 CET; 02:30 happens twice.
        let berlin = OneChange { at: utc("2026-10-25T01:00"), before: 2 * HOUR_MS, after: HOUR_MS };
        assert_eq!(at("2026-10-25T02:30", &berlin), utc("2026-10-25T00:30"), "the first 02:30");
        assert_eq!(at("2026-10-25T03:30", &berlin), utc("2026-10-25T02:30"));
        // Santiago moves at midnight: the day starts at 01:00 (-03), not at 23:00 the day before.
        let santiago = OneChange { at: utc("2026-09-06T04:00"), before: -4 * HOUR_MS, after: -3 * HOUR_MS };
        assert_eq!(at("2026-09-06", &santiago), utc("2026-09-06T04:00"));
    }

    #[test]
    fn a_local_time_is_moved_by_the_zones_offset() {
        let at = LocalDateTime::parse("2026-11-01T10:30").unwrap_or_else(|| unreachable!());
        let utc = at.to_utc_ms(&FixedOffset(0));
        assert_eq!(at.to_utc_ms(&FixedOffset(2 * HOUR_MS)), utc - 2 * HOUR_MS);
        assert_eq!(at.to_utc_ms(&FixedOffset(-5 * HOUR_MS)), utc + 5 * HOUR_MS);
    }
}
