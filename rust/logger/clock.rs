//! Wall-clock times as access logs print them: Apache's `%t` and ISO 8601, in local time with
//! the numeric UTC offset in force at that instant (the C library's `localtime_r`, so the
//! process's `TZ` applies exactly as it does to Python's `time.localtime`).

use super::format::push_number;

/// A broken-down local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Seconds east of UTC.
    pub offset: i64,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `secs` (Unix time) in UTC: the civil date from days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub fn utc(secs: i64) -> LocalTime {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    LocalTime {
        year,
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
        hour: u32::try_from(of_day / 3600).unwrap_or(0),
        minute: u32::try_from(of_day % 3600 / 60).unwrap_or(0),
        second: u32::try_from(of_day % 60).unwrap_or(0),
        offset: 0,
    }
}

/// `secs` (Unix time) in the process's local time zone; UTC where the C library cannot say.
#[cfg(unix)]
pub fn local(secs: i64) -> LocalTime {
    // time_t is 64 bits on every platform we build for, 32 on old ones.
    #[allow(irrefutable_let_patterns)]
    let Ok(t) = libc::time_t::try_from(secs) else {
        return utc(secs);
    };
    // SAFETY: `tm` is plain old data that localtime_r fills in; localtime_r is the
    // thread-safe variant (it writes only to the buffer we pass) and returns NULL on failure,
    // in which case we do not read `tm`.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return utc(secs);
        }
        tm
    };
    LocalTime {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).unwrap_or(1),
        day: u32::try_from(tm.tm_mday).unwrap_or(1),
        hour: u32::try_from(tm.tm_hour).unwrap_or(0),
        minute: u32::try_from(tm.tm_min).unwrap_or(0),
        // A leap second (60) is printed as it comes.
        second: u32::try_from(tm.tm_sec).unwrap_or(0),
        // c_long: 64 bits here, 32 on some targets.
        #[allow(clippy::useless_conversion)]
        offset: i64::from(tm.tm_gmtoff),
    }
}

#[cfg(not(unix))]
pub fn local(secs: i64) -> LocalTime {
    utc(secs)
}

impl LocalTime {
    fn push_offset(&self, out: &mut Vec<u8>, colon: bool) {
        out.push(if self.offset < 0 { b'-' } else { b'+' });
        let minutes = self.offset.unsigned_abs() / 60;
        push_number(out, minutes / 60, 2);
        if colon {
            out.push(b':');
        }
        push_number(out, minutes % 60, 2);
    }

    fn push_clock(&self, out: &mut Vec<u8>) {
        push_number(out, u64::from(self.hour), 2);
        out.push(b':');
        push_number(out, u64::from(self.minute), 2);
        out.push(b':');
        push_number(out, u64::from(self.second), 2);
    }

    /// Apache's `%t`: `[10/Oct/2000:13:55:36 -0700]`.
    pub fn write_clf(&self, out: &mut Vec<u8>) {
        let month = usize::try_from(self.month.saturating_sub(1))
            .ok()
            .and_then(|m| MONTHS.get(m))
            .unwrap_or(&"???");
        out.push(b'[');
        push_number(out, u64::from(self.day), 2);
        out.push(b'/');
        out.extend_from_slice(month.as_bytes());
        out.push(b'/');
        push_year(out, self.year);
        out.push(b':');
        self.push_clock(out);
        out.push(b' ');
        self.push_offset(out, false);
        out.push(b']');
    }

    /// ISO 8601 with milliseconds and the offset: `2000-10-10T13:55:36.123-07:00`.
    pub fn write_iso(&self, millis: u32, out: &mut Vec<u8>) {
        push_year(out, self.year);
        out.push(b'-');
        push_number(out, u64::from(self.month), 2);
        out.push(b'-');
        push_number(out, u64::from(self.day), 2);
        out.push(b'T');
        self.push_clock(out);
        out.push(b'.');
        push_number(out, u64::from(millis), 3);
        self.push_offset(out, true);
    }
}

fn push_year(out: &mut Vec<u8>, year: i64) {
    if year < 0 {
        out.push(b'-');
    }
    push_number(out, year.unsigned_abs(), 4);
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
