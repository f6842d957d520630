//! Go's `time` package as Sprig's date functions use it: `Time.Format` and `ParseInLocation`
//! with Go's reference-time layouts (`2006-01-02 15:04:05`), `Duration.String` and
//! `ParseDuration`, and `Time.String`.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

/// A Go `time.Time`: an instant and the location it is shown in.
#[derive(Debug, Clone)]
pub(crate) struct GoTime {
    pub ts: Timestamp,
    pub tz: TimeZone,
    /// A fabricated zone's name (`time.FixedZone`), shown instead of the zone's abbreviation.
    pub zone_name: Option<String>,
    /// Seconds since the process started, for `time.Now()` values (`m=+0.000123456`).
    pub monotonic: Option<f64>,
}

/// The civil fields of a time in its location.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
    weekday: usize,
    yday: i64,
    offset: i64,
    abbrev: String,
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The local zone, as Go's `time.Local` (from `TZ` or /etc/localtime).
pub(crate) fn local_zone() -> TimeZone {
    TimeZone::system()
}

/// Go's `time.LoadLocation`: `""`/`UTC` is UTC, `Local` the local zone, else an IANA name.
pub(crate) fn load_location(name: &str) -> Option<TimeZone> {
    match name {
        "" | "UTC" => Some(TimeZone::UTC),
        "Local" => Some(local_zone()),
        name => TimeZone::get(name).ok(),
    }
}

impl GoTime {
    pub fn new(ts: Timestamp, tz: TimeZone) -> GoTime {
        GoTime {
            ts,
            tz,
            zone_name: None,
            monotonic: None,
        }
    }

    /// `time.Unix(sec, 0)` in the local zone.
    pub fn from_unix(sec: i64) -> GoTime {
        let ts = Timestamp::from_second(sec).unwrap_or(if sec < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        });
        GoTime::new(ts, local_zone())
    }

    /// Go's zero `time.Time{}`: January 1, year 1, 00:00:00 UTC.
    pub fn zero() -> GoTime {
        let dt = DateTime::new(1, 1, 1, 0, 0, 0, 0).unwrap_or_default();
        let ts = TimeZone::UTC
            .to_ambiguous_timestamp(dt)
            .compatible()
            .unwrap_or(Timestamp::MIN);
        GoTime::new(ts, TimeZone::UTC)
    }

    pub fn in_zone(&self, tz: TimeZone) -> GoTime {
        GoTime {
            ts: self.ts,
            tz,
            zone_name: None,
            monotonic: None,
        }
    }

    pub fn unix(&self) -> i64 {
        self.ts.as_second()
    }

    pub fn unix_nanos(&self) -> i128 {
        self.ts.as_nanosecond()
    }

    /// `t.Add(d)` for a duration in nanoseconds.
    pub fn add_nanos(&self, d: i64) -> GoTime {
        let ns = self.ts.as_nanosecond() + i128::from(d);
        let ts = Timestamp::from_nanosecond(ns).unwrap_or(self.ts);
        GoTime { ts, ..self.clone() }
    }

    fn civil(&self) -> Civil {
        let offset = self.tz.to_offset(self.ts);
        let dt = offset.to_datetime(self.ts);
        let abbrev = match &self.zone_name {
            Some(name) => name.clone(),
            None => self.tz.to_offset_info(self.ts).abbreviation().to_string(),
        };
        Civil {
            year: i64::from(dt.year()),
            month: i64::from(dt.month()),
            day: i64::from(dt.day()),
            hour: i64::from(dt.hour()),
            minute: i64::from(dt.minute()),
            second: i64::from(dt.second()),
            nanos: i64::from(dt.subsec_nanosecond()),
            weekday: dt.weekday().to_sunday_zero_offset() as usize,
            yday: i64::from(dt.day_of_year()),
            offset: i64::from(offset.seconds()),
            abbrev,
        }
    }

    pub fn year(&self) -> i64 {
        self.civil().year
    }
    pub fn day(&self) -> i64 {
        self.civil().day
    }
    pub fn hour(&self) -> i64 {
        self.civil().hour
    }
    pub fn minute(&self) -> i64 {
        self.civil().minute
    }
    pub fn second(&self) -> i64 {
        self.civil().second
    }
    pub fn nanosecond(&self) -> i64 {
        self.civil().nanos
    }
    pub fn year_day(&self) -> i64 {
        self.civil().yday
    }
    pub fn weekday_name(&self) -> &'static str {
        LONG_DAYS[self.civil().weekday]
    }
    pub fn month_name(&self) -> &'static str {
        LONG_MONTHS[(self.civil().month - 1) as usize]
    }

    /// Go's `Time.String()`.
    pub fn go_string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.monotonic {
            s.push_str(&format!(" m=+{m:.9}"));
        }
        s
    }

    /// Go's `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::with_capacity(layout.len() + 10);
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, after) = next_chunk(rest);
            out.push_str(prefix);
            let Some(chunk) = chunk else { break };
            rest = after;
            write_chunk(&mut out, chunk, &c);
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000` or `,000`: that many digits; `.999`: up to that many, trailing zeros dropped.
    Fraction {
        digits: usize,
        trim: bool,
        comma: bool,
    },
}

fn starts_lower(s: &str) -> bool {
    s.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `nextStdChunk`: the literal text before the next layout element, the element, and
/// the text after it.
fn next_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        let rest = &layout[i..];
        let found: Option<(Chunk, usize)> = match b[i] {
            b'J' if rest.starts_with("January") => Some((Chunk::LongMonth, 7)),
            b'J' if rest.starts_with("Jan") && !starts_lower(&rest[3..]) => Some((Chunk::Month, 3)),
            b'M' if rest.starts_with("Monday") => Some((Chunk::LongWeekDay, 6)),
            b'M' if rest.starts_with("Mon") && !starts_lower(&rest[3..]) => {
                Some((Chunk::WeekDay, 3))
            }
            b'M' if rest.starts_with("MST") => Some((Chunk::Tz, 3)),
            b'0' if rest.starts_with("002") => Some((Chunk::ZeroYearDay, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Chunk::ZeroMonth, 2)),
                Some(b'2') => Some((Chunk::ZeroDay, 2)),
                Some(b'3') => Some((Chunk::ZeroHour12, 2)),
                Some(b'4') => Some((Chunk::ZeroMinute, 2)),
                Some(b'5') => Some((Chunk::ZeroSecond, 2)),
                Some(b'6') => Some((Chunk::Year, 2)),
                _ => None,
            },
            b'1' if rest.starts_with("15") => Some((Chunk::Hour, 2)),
            b'1' => Some((Chunk::NumMonth, 1)),
            b'2' if rest.starts_with("2006") => Some((Chunk::LongYear, 4)),
            b'2' => Some((Chunk::Day, 1)),
            b'_' if rest.starts_with("_2") => {
                if rest.starts_with("_2006") {
                    // "_2006" is a literal underscore followed by the year.
                    return (&layout[..i + 1], Some(Chunk::LongYear), &layout[i + 5..]);
                }
                Some((Chunk::UnderDay, 2))
            }
            b'_' if rest.starts_with("__2") => Some((Chunk::UnderYearDay, 3)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if rest.starts_with("PM") => Some((Chunk::PM, 2)),
            b'p' if rest.starts_with("pm") => Some((Chunk::Pm, 2)),
            b'-' => tz_chunk(rest, false),
            b'Z' => tz_chunk(rest, true),
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let digit = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == digit {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    let chunk = Chunk::Fraction {
                        digits: j - i - 1,
                        trim: digit == b'9',
                        comma: b[i] == b',',
                    };
                    Some((chunk, j - i))
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

fn tz_chunk(rest: &str, iso: bool) -> Option<(Chunk, usize)> {
    let body = &rest[1..];
    let pick = |num: Chunk, z: Chunk| if iso { z } else { num };
    if body.starts_with("070000") {
        Some((pick(Chunk::NumSecondsTz, Chunk::Iso8601SecondsTz), 7))
    } else if body.starts_with("07:00:00") {
        Some((
            pick(Chunk::NumColonSecondsTz, Chunk::Iso8601ColonSecondsTz),
            9,
        ))
    } else if body.starts_with("0700") {
        Some((pick(Chunk::NumTz, Chunk::Iso8601Tz), 5))
    } else if body.starts_with("07:00") {
        Some((pick(Chunk::NumColonTz, Chunk::Iso8601ColonTz), 6))
    } else if body.starts_with("07") {
        Some((pick(Chunk::NumShortTz, Chunk::Iso8601ShortTz), 3))
    } else {
        None
    }
}

fn pad(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", n.unsigned_abs()));
}

fn write_chunk(out: &mut String, chunk: Chunk, c: &Civil) {
    match chunk {
        Chunk::LongYear => pad(out, c.year, 4),
        Chunk::Year => pad(out, c.year.rem_euclid(100), 2),
        Chunk::LongMonth => out.push_str(LONG_MONTHS[(c.month - 1) as usize]),
        Chunk::Month => out.push_str(&LONG_MONTHS[(c.month - 1) as usize][..3]),
        Chunk::NumMonth => pad(out, c.month, 0),
        Chunk::ZeroMonth => pad(out, c.month, 2),
        Chunk::LongWeekDay => out.push_str(LONG_DAYS[c.weekday]),
        Chunk::WeekDay => out.push_str(&LONG_DAYS[c.weekday][..3]),
        Chunk::Day => pad(out, c.day, 0),
        Chunk::UnderDay => out.push_str(&format!("{:>2}", c.day)),
        Chunk::ZeroDay => pad(out, c.day, 2),
        Chunk::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
        Chunk::ZeroYearDay => pad(out, c.yday, 3),
        Chunk::Hour => pad(out, c.hour, 2),
        Chunk::Hour12 | Chunk::ZeroHour12 => {
            let h = match c.hour % 12 {
                0 => 12,
                h => h,
            };
            pad(out, h, if chunk == Chunk::Hour12 { 0 } else { 2 });
        }
        Chunk::Minute => pad(out, c.minute, 0),
        Chunk::ZeroMinute => pad(out, c.minute, 2),
        Chunk::Second => pad(out, c.second, 0),
        Chunk::ZeroSecond => pad(out, c.second, 2),
        Chunk::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
        Chunk::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
        Chunk::Tz => {
            if c.abbrev.is_empty() {
                write_offset(out, c.offset, false, false, false);
            } else {
                out.push_str(&c.abbrev);
            }
        }
        Chunk::Fraction {
            digits,
            trim,
            comma,
        } => {
            let frac = format!("{:09}", c.nanos);
            let mut kept = &frac[..digits.min(9)];
            if trim {
                kept = kept.trim_end_matches('0');
                if kept.is_empty() {
                    return;
                }
            }
            out.push(if comma { ',' } else { '.' });
            out.push_str(kept);
        }
        Chunk::Iso8601Tz
        | Chunk::Iso8601SecondsTz
        | Chunk::Iso8601ShortTz
        | Chunk::Iso8601ColonTz
        | Chunk::Iso8601ColonSecondsTz
            if c.offset == 0 =>
        {
            out.push('Z')
        }
        Chunk::Iso8601Tz | Chunk::NumTz => write_offset(out, c.offset, false, false, false),
        Chunk::Iso8601SecondsTz | Chunk::NumSecondsTz => {
            write_offset(out, c.offset, false, true, false)
        }
        Chunk::Iso8601ShortTz | Chunk::NumShortTz => {
            write_offset(out, c.offset, false, false, true)
        }
        Chunk::Iso8601ColonTz | Chunk::NumColonTz => {
            write_offset(out, c.offset, true, false, false)
        }
        Chunk::Iso8601ColonSecondsTz | Chunk::NumColonSecondsTz => {
            write_offset(out, c.offset, true, true, false)
        }
    }
}

fn write_offset(out: &mut String, offset: i64, colon: bool, seconds: bool, short: bool) {
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = offset.abs();
    pad(out, abs / 3600, 2);
    if short {
        return;
    }
    if colon {
        out.push(':');
    }
    pad(out, abs / 60 % 60, 2);
    if seconds {
        if colon {
            out.push(':');
        }
        pad(out, abs % 60, 2);
    }
}

/// Go's `strconv.Quote` as time's error messages use it.
fn quote(s: &str) -> String {
    super::strings::go_quote(s.as_bytes())
}

/// Go's `time.ParseInLocation(layout, value, loc)`, for the layout elements templates use.
pub(crate) fn parse_in_location(
    layout: &str,
    value: &str,
    loc: &TimeZone,
) -> Result<GoTime, String> {
    let fail = |value_elem: &str, layout_elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value),
            quote(layout),
            quote(value_elem),
            quote(layout_elem)
        )
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (0i64, -1i64, -1i64, 0i64, 0i64, 0i64, 0i64);
    let mut yday = -1;
    let mut pm_set = None;
    let mut offset: Option<i64> = None;
    let mut zone_name: Option<String> = None;
    let mut rest_layout = layout;
    let mut v = value;
    loop {
        let (prefix, chunk, after) = next_chunk(rest_layout);
        let std_text = &rest_layout[prefix.len()..rest_layout.len() - after.len()];
        // Literal text must match, with runs of spaces matching loosely as Go allows.
        let Some(stripped) = skip_literal(v, prefix) else {
            return Err(fail(v, prefix));
        };
        v = stripped;
        let Some(chunk) = chunk else {
            if !v.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    quote(value),
                    quote(v)
                ));
            }
            break;
        };
        rest_layout = after;
        let before = v;
        let range_err = |what: &str| format!("parsing time {}: {what} out of range", quote(value));
        match chunk {
            Chunk::LongYear => {
                let (n, r) = take_digits(v, 4, 4).ok_or_else(|| fail(before, std_text))?;
                year = n;
                v = r;
            }
            Chunk::Year => {
                let (n, r) = take_digits(v, 2, 2).ok_or_else(|| fail(before, std_text))?;
                year = if n >= 69 { n + 1900 } else { n + 2000 };
                v = r;
            }
            Chunk::LongMonth | Chunk::Month => {
                let long = chunk == Chunk::LongMonth;
                let (i, r) =
                    lookup_name(v, &LONG_MONTHS, long).ok_or_else(|| fail(before, std_text))?;
                month = i as i64 + 1;
                v = r;
            }
            Chunk::LongWeekDay | Chunk::WeekDay => {
                let long = chunk == Chunk::LongWeekDay;
                let (_, r) =
                    lookup_name(v, &LONG_DAYS, long).ok_or_else(|| fail(before, std_text))?;
                v = r;
            }
            Chunk::NumMonth | Chunk::ZeroMonth => {
                let fixed = chunk == Chunk::ZeroMonth;
                let (n, r) = take_num(v, fixed).ok_or_else(|| fail(before, std_text))?;
                if !(1..=12).contains(&n) {
                    return Err(range_err("month"));
                }
                month = n;
                v = r;
            }
            Chunk::Day | Chunk::UnderDay | Chunk::ZeroDay => {
                let mut s = v;
                if chunk == Chunk::UnderDay && s.starts_with(' ') {
                    s = &s[1..];
                }
                let (n, r) =
                    take_num(s, chunk == Chunk::ZeroDay).ok_or_else(|| fail(before, std_text))?;
                day = n;
                v = r;
            }
            Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                let s = if chunk == Chunk::UnderYearDay {
                    v.trim_start_matches(' ')
                } else {
                    v
                };
                let (n, r) = take_digits(s, 3, if chunk == Chunk::ZeroYearDay { 3 } else { 1 })
                    .ok_or_else(|| fail(before, std_text))?;
                yday = n;
                v = r;
            }
            Chunk::Hour => {
                let (n, r) = take_num(v, false).ok_or_else(|| fail(before, std_text))?;
                if !(0..24).contains(&n) {
                    return Err(range_err("hour"));
                }
                hour = n;
                v = r;
            }
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let (n, r) = take_num(v, chunk == Chunk::ZeroHour12)
                    .ok_or_else(|| fail(before, std_text))?;
                if !(0..=12).contains(&n) {
                    return Err(range_err("hour"));
                }
                hour = n;
                v = r;
            }
            Chunk::Minute | Chunk::ZeroMinute => {
                let (n, r) = take_num(v, chunk == Chunk::ZeroMinute)
                    .ok_or_else(|| fail(before, std_text))?;
                if !(0..60).contains(&n) {
                    return Err(range_err("minute"));
                }
                min = n;
                v = r;
            }
            Chunk::Second | Chunk::ZeroSecond => {
                let (n, r) = take_num(v, chunk == Chunk::ZeroSecond)
                    .ok_or_else(|| fail(before, std_text))?;
                if !(0..60).contains(&n) {
                    return Err(range_err("second"));
                }
                sec = n;
                v = r;
                // A fraction right after the seconds is accepted even if the layout has none.
                let next_is_fraction = matches!(
                    next_chunk(rest_layout),
                    ("", Some(Chunk::Fraction { .. }), _)
                );
                if !next_is_fraction
                    && v.len() >= 2
                    && (v.starts_with('.') || v.starts_with(','))
                    && v.as_bytes()[1].is_ascii_digit()
                {
                    let digits = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nanos = fraction_nanos(&v[1..1 + digits]);
                    v = &v[1 + digits..];
                }
            }
            Chunk::Fraction { digits, trim, .. } => {
                if !(v.starts_with('.') || v.starts_with(',')) {
                    if trim {
                        continue;
                    }
                    return Err(fail(before, std_text));
                }
                let count = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                if !trim && count != digits {
                    return Err(fail(before, std_text));
                }
                nanos = fraction_nanos(&v[1..1 + count]);
                v = &v[1 + count..];
            }
            Chunk::PM | Chunk::Pm => {
                let word = v.get(..2).ok_or_else(|| fail(before, std_text))?;
                pm_set = match (chunk, word) {
                    (Chunk::PM, "PM") | (Chunk::Pm, "pm") => Some(true),
                    (Chunk::PM, "AM") | (Chunk::Pm, "am") => Some(false),
                    _ => return Err(fail(before, std_text)),
                };
                v = &v[2..];
            }
            Chunk::Tz => {
                if v.starts_with("UTC") {
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    v = &v[3..];
                } else {
                    let len = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if len < 3 {
                        return Err(fail(before, std_text));
                    }
                    zone_name = Some(v[..len].to_string());
                    v = &v[len..];
                }
            }
            _ => {
                // Numeric and ISO 8601 offsets.
                let iso = matches!(
                    chunk,
                    Chunk::Iso8601Tz
                        | Chunk::Iso8601SecondsTz
                        | Chunk::Iso8601ShortTz
                        | Chunk::Iso8601ColonTz
                        | Chunk::Iso8601ColonSecondsTz
                );
                if iso && v.starts_with('Z') {
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    v = &v[1..];
                    continue;
                }
                let (off, r) = parse_offset(v, chunk).ok_or_else(|| fail(before, std_text))?;
                offset = Some(off);
                v = r;
            }
        }
    }
    if let Some(pm) = pm_set {
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    if yday >= 0 {
        let (m, d) = month_day_from_yday(year, yday)
            .ok_or_else(|| format!("parsing time {}: day-of-year out of range", quote(value)))?;
        if (month >= 0 && month != m) || (day >= 0 && day != d) {
            return Err(format!(
                "parsing time {}: day-of-year does not match month",
                quote(value)
            ));
        }
        month = m;
        day = d;
    }
    if month < 0 {
        month = 1;
    }
    if day < 0 {
        day = 1;
    }
    if day > days_in_month(year, month) {
        return Err(format!("parsing time {}: day out of range", quote(value)));
    }
    let dt = DateTime::new(
        i16::try_from(year)
            .map_err(|_| format!("parsing time {}: year out of range", quote(value)))?,
        month as i8,
        day as i8,
        hour as i8,
        min as i8,
        sec as i8,
        nanos as i32,
    )
    .map_err(|e| format!("parsing time {}: {e}", quote(value)))?;
    if let Some(off) = offset {
        let fixed = Offset::from_seconds(off as i32).map_err(|e| e.to_string())?;
        let ts = fixed.to_timestamp(dt).map_err(|e| e.to_string())?;
        // Go keeps the given location when its offset agrees; else a fabricated zone.
        if loc.to_offset(ts).seconds() == off as i32 && zone_name.as_deref() != Some("UTC") {
            return Ok(GoTime::new(ts, loc.clone()));
        }
        if off == 0 && zone_name.as_deref() == Some("UTC") {
            return Ok(GoTime::new(ts, TimeZone::UTC));
        }
        let mut t = GoTime::new(ts, TimeZone::fixed(fixed));
        t.zone_name = Some(zone_name.unwrap_or_default());
        return Ok(t);
    }
    if let Some(name) = zone_name {
        // An abbreviation: the location's own if it uses it around then, else offset 0.
        let guess = loc
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(|e| e.to_string())?;
        if loc.to_offset_info(guess).abbreviation() == name {
            return Ok(GoTime::new(guess, loc.clone()));
        }
        let ts = Offset::UTC.to_timestamp(dt).map_err(|e| e.to_string())?;
        let mut t = GoTime::new(ts, TimeZone::UTC);
        t.zone_name = Some(name);
        return Ok(t);
    }
    let ts = loc
        .to_ambiguous_timestamp(dt)
        .compatible()
        .map_err(|e| e.to_string())?;
    Ok(GoTime::new(ts, loc.clone()))
}

/// Matches layout literal text, as Go's `skip`: spaces in the layout match one or more spaces.
fn skip_literal<'a>(mut v: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(c) = prefix.chars().next() {
        if c == ' ' {
            if !v.is_empty() && !v.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            v = v.trim_start_matches(' ');
            continue;
        }
        v = v.strip_prefix(c)?;
        prefix = &prefix[c.len_utf8()..];
    }
    Some(v)
}

fn take_digits(v: &str, max: usize, min: usize) -> Option<(i64, &str)> {
    let count = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if count < min || count == 0 {
        return None;
    }
    Some((v[..count].parse().ok()?, &v[count..]))
}

/// Go's `getnum`: one or two digits, exactly two when `fixed`.
fn take_num(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &v[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &v[2..],
    ))
}

fn lookup_name<'a>(v: &'a str, names: &[&str], long: bool) -> Option<(usize, &'a str)> {
    for (i, name) in names.iter().enumerate() {
        let want = if long { name } else { &name[..3] };
        if v.len() >= want.len() && v[..want.len()].eq_ignore_ascii_case(want) {
            return Some((i, &v[want.len()..]));
        }
    }
    None
}

fn fraction_nanos(digits: &str) -> i64 {
    let mut padded: String = digits.chars().take(9).collect();
    while padded.len() < 9 {
        padded.push('0');
    }
    padded.parse().unwrap_or(0)
}

fn parse_offset(v: &str, chunk: Chunk) -> Option<(i64, &str)> {
    let sign = match v.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &v[1..];
    let two = |s: &str| -> Option<i64> {
        let d = s.get(..2)?;
        if !d.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        d.parse().ok()
    };
    let (h, m, s, used) = match chunk {
        Chunk::NumShortTz | Chunk::Iso8601ShortTz => (two(body)?, 0, 0, 2),
        Chunk::NumTz | Chunk::Iso8601Tz => (two(body)?, two(body.get(2..)?)?, 0, 4),
        Chunk::NumColonTz | Chunk::Iso8601ColonTz => {
            if body.as_bytes().get(2) != Some(&b':') {
                return None;
            }
            (two(body)?, two(body.get(3..)?)?, 0, 5)
        }
        Chunk::NumSecondsTz | Chunk::Iso8601SecondsTz => {
            (two(body)?, two(body.get(2..)?)?, two(body.get(4..)?)?, 6)
        }
        _ => {
            if body.as_bytes().get(2) != Some(&b':') || body.as_bytes().get(5) != Some(&b':') {
                return None;
            }
            (two(body)?, two(body.get(3..)?)?, two(body.get(6..)?)?, 8)
        }
    };
    Some((sign * (h * 3600 + m * 60 + s), &body[used..]))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn month_day_from_yday(year: i64, yday: i64) -> Option<(i64, i64)> {
    let mut left = yday;
    for m in 1..=12 {
        let len = days_in_month(year, m);
        if left <= len && left >= 1 {
            return Some((m, left));
        }
        left -= len;
    }
    None
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Below a second: the largest unit that keeps a leading digit.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction_text(u, scale));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let hours = secs_total / 3600;
        let minutes = secs_total / 60 % 60;
        let secs = secs_total % 60;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&fraction_text(secs * 1_000_000_000 + frac, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// `n / scale` with the remainder as decimals, trailing zeros dropped.
fn fraction_text(n: u64, scale: u64) -> String {
    let whole = n / scale;
    let rem = n % scale;
    if rem == 0 || scale == 1 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(text));
    let mut s = text;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(after) = s.strip_prefix('.') {
            let frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after[..frac_len];
            s = &after[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale: u128 = match unit {
            "" => return Err(format!("time: missing unit in duration {}", quote(text))),
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(text)
                ))
            }
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(30)];
            let f: u128 = digits.parse().map_err(|_| invalid())?;
            value += f * scale / 10u128.pow(digits.len() as u32);
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > 1u128 << 63 {
            return Err(invalid());
        }
    }
    if total == 1u128 << 63 && !neg {
        return Err(invalid());
    }
    let signed = total as i128;
    Ok((if neg { -signed } else { signed }) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8, ns: i32) -> GoTime {
        let dt = DateTime::new(y, mo, d, h, mi, s, ns).unwrap();
        GoTime::new(Offset::UTC.to_timestamp(dt).unwrap(), TimeZone::UTC)
    }

    #[test]
    fn formats_like_go() {
        let t = utc(2024, 3, 5, 14, 7, 9, 120_000_000);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2024-03-05T14:07:09Z"
        );
        assert_eq!(t.format("Mon Jan _2 3:04PM"), "Tue Mar  5 2:07PM");
        assert_eq!(
            t.format("02/01/06 .000 .999 MST -0700"),
            "05/03/24 .120 .12 UTC +0000"
        );
        assert_eq!(t.format("January 2, 2006 002"), "March 5, 2024 065");
        assert_eq!(t.go_string(), "2024-03-05 14:07:09.12 +0000 UTC");
        assert_eq!(GoTime::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn parses_like_go() {
        let t = parse_in_location("2006-01-02 15:04", "2024-03-05 14:07", &TimeZone::UTC).unwrap();
        assert_eq!(t.unix(), 1709647620);
        let t = parse_in_location(
            "2006-01-02T15:04:05Z07:00",
            "2024-03-05T14:07:09+02:00",
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(t.format("15:04 -07:00"), "14:07 +02:00");
        let err = parse_in_location("2006-01-02", "x", &TimeZone::UTC).unwrap_err();
        assert_eq!(
            err,
            "parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\""
        );
        let err = parse_in_location("2006-01-02", "2024-13-01", &TimeZone::UTC).unwrap_err();
        assert_eq!(err, "parsing time \"2024-13-01\": month out of range");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(3_700_000_000_000), "1h1m40s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(-61_000_000_000), "-1m1s");
        assert_eq!(duration_string(2_500_000_000), "2.5s");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("-1.5s").unwrap(), -1_500_000_000);
        assert_eq!(
            parse_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            parse_duration("1x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"1x\""
        );
    }
}
