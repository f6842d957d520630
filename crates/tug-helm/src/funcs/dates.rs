//! Sprig's date functions and the `time.Time` values they pass around.
//!
//! Quirks kept from Sprig: `date` and friends take a `time.Time`, an `int`, `int64` or `int32`
//! (Unix seconds); anything else, a float64 from values included, means "now". `duration`
//! takes an `int64` or a numeric string; an `int` gives `0s`.

use std::any::Any;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Instant;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::gotime::{
    duration_string, load_location, local_zone, parse_duration, parse_in_location, GoTime,
};
use super::{arg, arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::{Object, Value};

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("now", &[], |_| Ok(time_value(now()))),
        fixed("ago", &[Any], |a| {
            let t = time_arg(&arg(&a, 0), false).unwrap_or_else(now);
            let since = now_nanos() - t.unix_nanos();
            Ok(Value::from(duration_string(round_to_second(since))))
        }),
        fixed("date", &[String, Any], |a| {
            Ok(Value::from(date_in_zone(
                arg_str(&a, 0),
                &arg(&a, 1),
                "Local",
            )))
        }),
        fixed("dateInZone", &[String, Any, String], |a| {
            Ok(Value::from(date_in_zone(
                arg_str(&a, 0),
                &arg(&a, 1),
                arg_str(&a, 2),
            )))
        }),
        fixed("date_in_zone", &[String, Any, String], |a| {
            Ok(Value::from(date_in_zone(
                arg_str(&a, 0),
                &arg(&a, 1),
                arg_str(&a, 2),
            )))
        }),
        fixed("htmlDate", &[Any], |a| {
            Ok(Value::from(date_in_zone(
                "2006-01-02",
                &arg(&a, 0),
                "Local",
            )))
        }),
        fixed("htmlDateInZone", &[Any, String], |a| {
            Ok(Value::from(date_in_zone(
                "2006-01-02",
                &arg(&a, 0),
                arg_str(&a, 1),
            )))
        }),
        fixed("dateModify", &[String, Any], |a| date_modify(&a, false)),
        fixed("date_modify", &[String, Any], |a| date_modify(&a, false)),
        fixed("mustDateModify", &[String, Any], |a| date_modify(&a, true)),
        fixed("must_date_modify", &[String, Any], |a| {
            date_modify(&a, true)
        }),
        fixed("duration", &[Any], |a| {
            let secs = match arg(&a, 0) {
                Value::String(s) => super::conv::parse_go_int(&s, 10).unwrap_or(0),
                Value::Int64(n) => n,
                _ => 0,
            };
            Ok(Value::from(duration_string(
                secs.wrapping_mul(1_000_000_000),
            )))
        }),
        fixed("durationRound", &[Any], |a| {
            let d = match arg(&a, 0) {
                Value::String(s) => parse_duration(&s).unwrap_or(0),
                Value::Int64(n) => n,
                other => match time_of(&other) {
                    Some(t) => (now_nanos() - t.unix_nanos()) as i64,
                    None => 0,
                },
            };
            Ok(Value::from(duration_round(d)))
        }),
        fixed("toDate", &[String, String], |a| {
            let t = parse_in_location(arg_str(&a, 0), arg_str(&a, 1), &local_zone())
                .unwrap_or_else(|_| GoTime::zero());
            Ok(time_value(t))
        }),
        fixed("mustToDate", &[String, String], |a| {
            parse_in_location(arg_str(&a, 0), arg_str(&a, 1), &local_zone())
                .map(time_value)
                .map_err(FuncError::msg)
        }),
        fixed("unixEpoch", &[Any], |a| {
            let t = require_time(&arg(&a, 0))?;
            Ok(Value::from(t.unix().to_string()))
        }),
    ]
}

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn now() -> GoTime {
    let mut t = GoTime::new(Timestamp::now(), local_zone());
    t.monotonic = Some(process_start().elapsed().as_secs_f64());
    t
}

fn now_nanos() -> i128 {
    Timestamp::now().as_nanosecond()
}

/// Go's `Duration.Round(time.Second)`: halves away from zero.
fn round_to_second(d: i128) -> i64 {
    let s = 1_000_000_000i128;
    let r = d.rem_euclid(s);
    let down = d - r;
    let rounded = if r * 2 >= s { down + s } else { down };
    rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The `time.Time` in a value, if it holds one.
fn time_of(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<TimeObject>().map(|t| t.0.clone()),
        _ => None,
    }
}

/// Sprig's date argument: a time, or Unix seconds as `int`/`int64`; `None` for anything else.
fn time_arg(v: &Value, _in_zone: bool) -> Option<GoTime> {
    match v {
        Value::Int(n) | Value::Int64(n) => Some(GoTime::from_unix(*n)),
        other => time_of(other),
    }
}

/// A parameter declared `time.Time`: the engine's type check, in Go's words.
fn require_time(v: &Value) -> Result<GoTime, FuncError> {
    time_of(v).ok_or_else(|| {
        FuncError::msg(format!(
            "wrong type for value; expected time.Time; got {}",
            v.type_name()
        ))
    })
}

fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let t = time_arg(date, true).unwrap_or_else(now);
    let tz = load_location(zone).unwrap_or(TimeZone::UTC);
    t.in_zone(tz).format(layout)
}

fn date_modify(a: &[Value], must: bool) -> Result<Value, FuncError> {
    let t = require_time(&arg(a, 1))?;
    match parse_duration(arg_str(a, 0)) {
        Ok(d) => Ok(time_value(t.add_nanos(d))),
        Err(e) if must => Err(FuncError::msg(e)),
        Err(_) => Ok(time_value(t)),
    }
}

/// Sprig's `durationRound`: the largest whole unit strictly exceeded (years of 365 days,
/// months of 30).
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let second = 1_000_000_000u64;
    let units = [
        (second * 3600 * 24 * 365, "y"),
        (second * 3600 * 24 * 30, "mo"),
        (second * 3600 * 24, "d"),
        (second * 3600, "h"),
        (second * 60, "m"),
        (second, "s"),
    ];
    for (size, suffix) in units {
        if u > size {
            return format!("{}{suffix}", u / size);
        }
    }
    "0s".into()
}

/// A Go `time.Time` value in a template.
#[derive(Debug)]
pub(crate) struct TimeObject(pub GoTime);

pub(crate) fn time_value(t: GoTime) -> Value {
    Value::Object(Rc::new(TimeObject(t)))
}

impl Object for TimeObject {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        let t = &self.0;
        let int = |n: i64| Ok(Value::Int(n));
        Some(match name {
            "Format" => Ok(Value::from(t.format(arg_str(&args, 0)))),
            "String" => Ok(Value::from(t.go_string())),
            "Unix" => Ok(Value::Int64(t.unix())),
            "UnixMilli" => Ok(Value::Int64((t.unix_nanos() / 1_000_000) as i64)),
            "UnixMicro" => Ok(Value::Int64((t.unix_nanos() / 1_000) as i64)),
            "UnixNano" => Ok(Value::Int64(t.unix_nanos() as i64)),
            "Year" => int(t.year()),
            "Month" => Ok(Value::from(t.month_name())),
            "Day" => int(t.day()),
            "Hour" => int(t.hour()),
            "Minute" => int(t.minute()),
            "Second" => int(t.second()),
            "Nanosecond" => int(t.nanosecond()),
            "YearDay" => int(t.year_day()),
            "Weekday" => Ok(Value::from(t.weekday_name())),
            "UTC" => Ok(time_value(t.in_zone(TimeZone::UTC))),
            "Local" => Ok(time_value(t.in_zone(local_zone()))),
            "IsZero" => Ok(Value::Bool(t.unix_nanos() == GoTime::zero().unix_nanos())),
            "Add" => match args.first() {
                Some(Value::Int(d)) | Some(Value::Int64(d)) => Ok(time_value(t.add_nanos(*d))),
                _ => Err(FuncError::msg(
                    "wrong type for value; expected time.Duration",
                )),
            },
            "Before" | "After" | "Equal" => match args.first().and_then(time_of) {
                Some(o) => {
                    let (x, y) = (t.unix_nanos(), o.unix_nanos());
                    Ok(Value::Bool(match name {
                        "Before" => x < y,
                        "After" => x > y,
                        _ => x == y,
                    }))
                }
                None => Err(FuncError::msg("wrong type for value; expected time.Time")),
            },
            _ => return None,
        })
    }

    fn format_v(&self) -> String {
        self.0.go_string()
    }

    /// `time.Time` marshals to JSON as RFC 3339 with nanoseconds.
    fn to_data(&self) -> Value {
        Value::from(self.0.format("2006-01-02T15:04:05.999999999Z07:00"))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args)
    }

    #[test]
    fn durations_follow_sprig() {
        assert_eq!(
            call("duration", vec![Value::Int(3700)]).unwrap().format_v(),
            "0s"
        );
        assert_eq!(
            call("duration", vec![Value::Int64(3700)])
                .unwrap()
                .format_v(),
            "1h1m40s"
        );
        assert_eq!(
            call("duration", vec!["95".into()]).unwrap().format_v(),
            "1m35s"
        );
        assert_eq!(
            call("durationRound", vec!["2h10m".into()])
                .unwrap()
                .format_v(),
            "2h"
        );
        assert_eq!(
            call("durationRound", vec!["3600s".into()])
                .unwrap()
                .format_v(),
            "60m"
        );
        assert_eq!(
            call(
                "durationRound",
                vec![Value::Int64(400 * 86_400_000_000_000)]
            )
            .unwrap()
            .format_v(),
            "1y"
        );
    }

    #[test]
    fn dates_in_zones() {
        let d = call(
            "dateInZone",
            vec!["2006-01-02 15:04 MST".into(), Value::Int(0), "UTC".into()],
        )
        .unwrap();
        assert_eq!(d.format_v(), "1970-01-01 00:00 UTC");
        let t = call("toDate", vec!["2006-01-02".into(), "2024-02-29".into()]).unwrap();
        let modified = call("dateModify", vec!["24h".into(), t.clone()]).unwrap();
        let day = call("date", vec!["2006-01-02".into(), modified]).unwrap();
        assert_eq!(day.format_v(), "2024-03-01");
        let bad = call("toDate", vec!["2006-01-02".into(), "nope".into()]).unwrap();
        assert_eq!(bad.format_v(), "0001-01-01 00:00:00 +0000 UTC");
        assert!(call("unixEpoch", vec!["x".into()]).is_err());
        let now = call("now", vec![]).unwrap();
        assert_eq!(now.type_name(), "time.Time");
        assert_eq!(call("ago", vec![now]).unwrap().format_v(), "0s");
    }
}
