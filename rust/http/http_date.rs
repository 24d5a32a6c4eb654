//! HTTP-date (RFC 9110 §5.6.7): the `Date`, `Expires` and `Last-Modified` header values,
//! to and from Unix time. Pure and std-only; the civil-date arithmetic is Howard Hinnant's
//! `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar, UTC).
//!
//! Parsing follows the RFC grammar, with two leniencies for real servers: names (and `GMT`)
//! match in any case, and the day of the week is not checked against the date (§5.6.7:
//! recipients should ignore a mismatch). Everything else that is off-grammar (a one-digit day
//! in IMF-fixdate, `UTC` for `GMT`, a numeric offset) is not an HTTP-date.

/// Index 0 is Sunday, as in [`weekday_index`].
const SHORT_DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// The `day-name-l` of the obsolete RFC 850 form.
const LONG_DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// Index 0 is January: months are 0-based inside this module.
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const SECONDS_PER_DAY: i64 = 86_400;
/// 0000-01-01 00:00:00 GMT and 9999-12-31 23:59:59 GMT: IMF-fixdate has a 4-digit year.
const FIRST_FORMATTABLE: i64 = -62_167_219_200;
const LAST_FORMATTABLE: i64 = 253_402_300_799;

/// Seconds since the Unix epoch of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate
/// ("Sun, 06 Nov 1994 08:49:37 GMT"), and the obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT")
/// and asctime ("Sun Nov  6 08:49:37 1994") forms. None for anything else (never panics).
///
/// A leap second (`23:59:60`, allowed by the RFC's time-of-day) reads as the first second of
/// the next minute, as POSIX time has no leap seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes().trim_ascii();
    imf_fixdate(Cursor(bytes))
        .or_else(|| rfc850_date(Cursor(bytes)))
        .or_else(|| asctime_date(Cursor(bytes)))?
        .unix_seconds()
}

/// IMF-fixdate for a Unix time (for Date/Age-related headers), e.g. 784111777 -> "Sun, 06 Nov 1994 08:49:37 GMT".
///
/// Times outside years 0000-9999 are clamped to that range: a 5-digit or negative year is not
/// an HTTP-date, and "the first/last second IMF-fixdate can spell" keeps the meaning of a
/// far-past or far-future `Expires`.
pub fn format_http_date(unix_seconds: i64) -> String {
    let unix_seconds = unix_seconds.clamp(FIRST_FORMATTABLE, LAST_FORMATTABLE);
    let days = unix_seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        SHORT_DAY_NAMES[weekday_index(days)],
        day,
        MONTH_NAMES[month],
        year,
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    )
}

/// The fields of a parsed HTTP-date, not yet checked against the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    year: i64,
    /// 0-based (January is 0).
    month: usize,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

impl DateTime {
    /// None for a date the calendar does not have (Feb 30, 1900-02-29) or a time out of range.
    fn unix_seconds(self) -> Option<i64> {
        let valid = (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour <= 23
            && self.minute <= 59
            // RFC 9110 §5.6.7: "00:00:00 - 23:59:60 (leap second)".
            && self.second <= 60;
        valid.then(|| {
            days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY
                + self.hour * 3600
                + self.minute * 60
                + self.second
        })
    }
}

/// `IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT`, date1 = `DD Mon YYYY`.
fn imf_fixdate(mut input: Cursor) -> Option<DateTime> {
    input.one_of(&SHORT_DAY_NAMES)?;
    input.literal(", ")?;
    let day = input.digits(2)?;
    input.literal(" ")?;
    let month = input.one_of(&MONTH_NAMES)?;
    input.literal(" ")?;
    let year = input.digits(4)?;
    input.literal(" ")?;
    let (hour, minute, second) = input.time_of_day()?;
    input.literal(" GMT")?;
    input.end()?;
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// `rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT`, date2 = `DD-Mon-YY`.
fn rfc850_date(mut input: Cursor) -> Option<DateTime> {
    input.one_of(&LONG_DAY_NAMES)?;
    input.literal(", ")?;
    let day = input.digits(2)?;
    input.literal("-")?;
    let month = input.one_of(&MONTH_NAMES)?;
    input.literal("-")?;
    let year = expand_two_digit_year(input.digits(2)?);
    input.literal(" ")?;
    let (hour, minute, second) = input.time_of_day()?;
    input.literal(" GMT")?;
    input.end()?;
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// `asctime-date = day-name SP date3 SP time-of-day SP year`, date3 = `Mon DD` or `Mon  D`.
/// No zone: like every HTTP-date, it is UTC.
fn asctime_date(mut input: Cursor) -> Option<DateTime> {
    input.one_of(&SHORT_DAY_NAMES)?;
    input.literal(" ")?;
    let month = input.one_of(&MONTH_NAMES)?;
    input.literal(" ")?;
    let day = match input.literal(" ") {
        Some(()) => input.digits(1)?,
        None => input.digits(2)?,
    };
    input.literal(" ")?;
    let (hour, minute, second) = input.time_of_day()?;
    input.literal(" ")?;
    let year = input.digits(4)?;
    input.end()?;
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// RFC 9110 §5.6.7 reads a two-digit year relative to the current date (more than 50 years
/// ahead means the previous century). We use the fixed pivot most peers use instead (Python's
/// `email.utils` and Go's `net/http` differ by one year): 70-99 is 19xx, 00-69 is 20xx. It
/// keeps parsing pure, covers every year since the Unix epoch, and RFC 850 dates come from
/// old software, whose dates are in the past.
fn expand_two_digit_year(two_digits: i64) -> i64 {
    if two_digits >= 70 {
        1900 + two_digits
    } else {
        2000 + two_digits
    }
}

/// The unparsed rest of the input. Each step consumes only what it matched.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Consume `expected`, ASCII case-insensitively (servers send `GMT` and names in any case).
    fn literal(&mut self, expected: &str) -> Option<()> {
        let (head, rest) = self.0.split_at_checked(expected.len())?;
        head.eq_ignore_ascii_case(expected.as_bytes()).then(|| {
            self.0 = rest;
        })
    }

    /// Consume the first of `names` that matches; its index. No name in one list is a prefix
    /// of another, so the first match is the only one.
    fn one_of(&mut self, names: &[&str]) -> Option<usize> {
        names.iter().position(|name| self.literal(name).is_some())
    }

    /// Exactly `width` ASCII digits (no sign, no spaces).
    fn digits(&mut self, width: usize) -> Option<i64> {
        let (head, rest) = self.0.split_at_checked(width)?;
        let value = head.iter().try_fold(0, |value, &byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + i64::from(byte - b'0'))
        })?;
        self.0 = rest;
        Some(value)
    }

    /// `time-of-day = hour ":" minute ":" second`, two digits each; ranges checked later.
    fn time_of_day(&mut self) -> Option<(i64, i64, i64)> {
        let hour = self.digits(2)?;
        self.literal(":")?;
        let minute = self.digits(2)?;
        self.literal(":")?;
        let second = self.digits(2)?;
        Some((hour, minute, second))
    }

    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// `month` is 0-based.
fn days_in_month(year: i64, month: usize) -> i64 {
    match month {
        1 if is_leap_year(year) => 29,
        1 => 28,
        3 | 5 | 8 | 10 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year`-`month`-`day` (0-based month), proleptic Gregorian.
/// Hinnant, "chrono-Compatible Low-Level Date Algorithms": the year is shifted to start in
/// March, so the leap day is the last day of its year.
fn days_from_civil(year: i64, month: usize, day: i64) -> i64 {
    let year = if month <= 1 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let march_based_month = (month as i64 + 10) % 12;
    let day_of_year = (153 * march_based_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: (year, 0-based month, day of month).
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_based_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_based_month + 2) / 5 + 1;
    // march_based_month is 0..=11 (day_of_year <= 365), so the index is below 12.
    let month = (march_based_month as usize + 2) % 12;
    let year = year_of_era + era * 400 + i64::from(month <= 1);
    (year, month, day)
}

/// 0 is Sunday; 1970-01-01 was a Thursday.
fn weekday_index(days: i64) -> usize {
    (days + 4).rem_euclid(7) as usize
}

#[cfg(test)]
#[path = "http_date_tests.rs"]
mod tests;
