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

#[cfg(test)]
mod tests {
    use super::*;

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
