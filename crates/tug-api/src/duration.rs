//! Go-style durations (`1m30s`, `10m`, `500ms`) as Flux writes them in `interval` and `timeout`.
//!
//! Specs keep the user's string as written (so objects round-trip unchanged); this module
//! turns it into a [`std::time::Duration`] when a reconciler needs one.

use std::time::Duration;

/// The pattern Flux's CRDs enforce for `interval`, `retryInterval` and `timeout`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// A duration string that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

/// Parses a Go duration string (as `time.ParseDuration` does, without negative values).
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let parsed: kube::core::Duration =
        input
            .parse()
            .map_err(|e: kube::core::duration::ParseError| DurationError {
                input: input.to_string(),
                reason: e.to_string(),
            })?;
    if parsed.is_negative() {
        return Err(DurationError {
            input: input.to_string(),
            reason: "must not be negative".into(),
        });
    }
    Ok(parsed.into())
}

/// Formats a duration as Go's `time.Duration.String()` does (`9m30s`, `1h0m0s`, `1.5s`,
/// `250ms`, `0s`), the form Flux's messages show, e.g. "with a timeout of 9m30s".
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        // Below a second Go picks the largest unit that keeps the integer part non-zero.
        let (unit, scale) = match nanos {
            n if n < 1_000 => return format!("{n}ns"),
            n if n < 1_000_000 => ("µs", 1_000u128),
            _ => ("ms", 1_000_000u128),
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` with the fraction's trailing zeros dropped (`1500, 1000` → `1.5`).
fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.ilog10() as usize;
    let frac = format!("{rest:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_go_does() {
        let f = |ms: u64| format_duration(Duration::from_millis(ms));
        assert_eq!(f(0), "0s");
        assert_eq!(f(250), "250ms");
        assert_eq!(f(1500), "1.5s");
        assert_eq!(f(30_000), "30s");
        assert_eq!(f(570_000), "9m30s");
        assert_eq!(f(600_000), "10m0s");
        assert_eq!(f(3_600_000), "1h0m0s");
        assert_eq!(f(5_430_500), "1h30m30.5s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(42)), "42ns");
    }

    #[test]
    fn parses_flux_intervals() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn rejects_garbage_with_the_input_named() {
        let err = parse_duration("ten minutes").unwrap_err();
        assert!(err.to_string().contains("ten minutes"), "{err}");
        assert!(parse_duration("-5s").is_err());
    }
}
