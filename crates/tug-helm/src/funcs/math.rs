//! Sprig's arithmetic. The plain functions (`add`, `mul`, `max`, ...) convert every operand
//! with cast's `ToInt64` and compute in wrapping int64, so `add 1.5 1.5` is 2. The `f`
//! functions go through shopspring/decimal: exact decimal arithmetic on each float's shortest
//! spelling (so `addf 0.1 0.2` is 0.3), division to 16 decimal places.

use super::conv::{to_float64, to_int64};
use super::{arg, arg_int, fixed, variadic};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("add1", &[Any], |a| {
            Ok(Value::Int64(to_int64(&arg(&a, 0)).wrapping_add(1)))
        }),
        variadic("add", &[], Any, |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(0, i64::wrapping_add),
            ))
        }),
        fixed("sub", &[Any, Any], |a| {
            Ok(Value::Int64(
                to_int64(&arg(&a, 0)).wrapping_sub(to_int64(&arg(&a, 1))),
            ))
        }),
        fixed("div", &[Any, Any], |a| {
            let d = nonzero(to_int64(&arg(&a, 1)))?;
            Ok(Value::Int64(to_int64(&arg(&a, 0)).wrapping_div(d)))
        }),
        fixed("mod", &[Any, Any], |a| {
            let d = nonzero(to_int64(&arg(&a, 1)))?;
            Ok(Value::Int64(to_int64(&arg(&a, 0)).wrapping_rem(d)))
        }),
        variadic("mul", &[Any], Any, |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(1, i64::wrapping_mul),
            ))
        }),
        fixed("randInt", &[Int, Int], |a| {
            let (min, max) = (arg_int(&a, 0), arg_int(&a, 1));
            let span = max.wrapping_sub(min);
            if span <= 0 {
                return Err(FuncError::msg("invalid argument to Intn"));
            }
            let r = super::crypto::random_below(span as u64) as i64;
            Ok(Value::Int(r + min))
        }),
        fixed("add1f", &[Any], |a| {
            decimal_fold(&arg(&a, 0), &[Value::Int(1)], Decimal::add)
        }),
        variadic("addf", &[], Any, |a| {
            decimal_fold(&Value::Float(0.0), &a, Decimal::add)
        }),
        variadic("subf", &[Any], Any, |a| {
            decimal_fold(&arg(&a, 0), tail(&a), Decimal::sub)
        }),
        variadic("mulf", &[Any], Any, |a| {
            decimal_fold(&arg(&a, 0), tail(&a), Decimal::mul)
        }),
        variadic("divf", &[Any], Any, |a| {
            decimal_fold(&arg(&a, 0), tail(&a), Decimal::div)
        }),
        variadic("biggest", &[Any], Any, |a| {
            Ok(Value::Int64(int_extreme(&a, true)))
        }),
        variadic("max", &[Any], Any, |a| {
            Ok(Value::Int64(int_extreme(&a, true)))
        }),
        variadic("min", &[Any], Any, |a| {
            Ok(Value::Int64(int_extreme(&a, false)))
        }),
        variadic("maxf", &[Any], Any, |a| {
            Ok(Value::Float(float_extreme(&a, true)))
        }),
        variadic("minf", &[Any], Any, |a| {
            Ok(Value::Float(float_extreme(&a, false)))
        }),
        fixed("ceil", &[Any], |a| {
            Ok(Value::Float(to_float64(&arg(&a, 0)).ceil()))
        }),
        fixed("floor", &[Any], |a| {
            Ok(Value::Float(to_float64(&arg(&a, 0)).floor()))
        }),
        variadic("round", &[Any, Int], Float64, |a| {
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            Ok(Value::Float(round(
                to_float64(&arg(&a, 0)),
                arg_int(&a, 1),
                round_on,
            )))
        }),
    ]
}

/// The arguments after the first.
fn tail(a: &[Value]) -> &[Value] {
    a.get(1..).unwrap_or(&[])
}

fn nonzero(d: i64) -> Result<i64, FuncError> {
    if d == 0 {
        return Err(FuncError::msg("runtime error: integer divide by zero"));
    }
    Ok(d)
}

fn int_extreme(a: &[Value], biggest: bool) -> i64 {
    let mut it = a.iter().map(to_int64);
    let first = it.next().unwrap_or(0);
    it.fold(
        first,
        |acc, x| if biggest { acc.max(x) } else { acc.min(x) },
    )
}

/// Go's `math.Max`/`math.Min`: NaN wins, and +0 beats -0 for max (-0 for min).
fn float_extreme(a: &[Value], biggest: bool) -> f64 {
    let mut it = a.iter().map(to_float64);
    let first = it.next().unwrap_or(0.0);
    it.fold(first, |acc, x| {
        if acc.is_nan() || x.is_nan() {
            f64::NAN
        } else if acc == x {
            if biggest == acc.is_sign_negative() {
                x
            } else {
                acc
            }
        } else if (x > acc) == biggest {
            x
        } else {
            acc
        }
    })
}

/// Sprig's `round`: rounds away from the fraction `round_on` at `places` decimals, using
/// float arithmetic (so `round 1.005 2` is 1).
fn round(val: f64, places: i64, round_on: f64) -> f64 {
    let pow = if places.unsigned_abs() <= 300 {
        10f64.powi(places as i32)
    } else {
        10f64.powf(places as f64)
    };
    let digit = pow * val;
    let rounded = if digit.fract() >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

fn decimal_fold(
    first: &Value,
    rest: &[Value],
    op: fn(Decimal, Decimal) -> Result<Decimal, FuncError>,
) -> Result<Value, FuncError> {
    let mut acc = Decimal::from_float(to_float64(first))?;
    for x in rest {
        acc = op(acc, Decimal::from_float(to_float64(x))?)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

/// A decimal `mantissa × 10^exp`, wide enough for the products of two float64 spellings.
/// Results that would overflow fall back to float arithmetic (shopspring uses big integers,
/// so it differs only for operands around 1e±19 apart).
#[derive(Clone, Copy, Debug)]
enum Decimal {
    Exact { mantissa: i128, exp: i32 },
    Approx(f64),
}

/// shopspring/decimal's `DivisionPrecision`.
const DIVISION_PRECISION: i32 = 16;

impl Decimal {
    /// shopspring's `NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_float(f: f64) -> Result<Decimal, FuncError> {
        if !f.is_finite() {
            let spelled = crate::value::format_float_v(f);
            return Err(FuncError::msg(format!(
                "Cannot create a Decimal from {spelled}"
            )));
        }
        let sci = format!("{f:e}");
        let (digits, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let mantissa: i128 = format!("{int_part}{frac_part}").parse().unwrap_or(0);
        Ok(Decimal::Exact {
            mantissa,
            exp: exp - frac_part.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        match self {
            Decimal::Exact { mantissa, exp } => format!("{mantissa}e{exp}").parse().unwrap_or(0.0),
            Decimal::Approx(f) => f,
        }
    }

    fn aligned(a: Decimal, b: Decimal) -> Option<(i128, i128, i32)> {
        let (
            Decimal::Exact {
                mantissa: m1,
                exp: e1,
            },
            Decimal::Exact {
                mantissa: m2,
                exp: e2,
            },
        ) = (a, b)
        else {
            return None;
        };
        let exp = e1.min(e2);
        let scale = |m: i128, e: i32| -> Option<i128> {
            m.checked_mul(10i128.checked_pow(u32::try_from(e - exp).ok()?)?)
        };
        Some((scale(m1, e1)?, scale(m2, e2)?, exp))
    }

    fn add(a: Decimal, b: Decimal) -> Result<Decimal, FuncError> {
        Ok(Decimal::aligned(a, b)
            .and_then(|(x, y, exp)| {
                Some(Decimal::Exact {
                    mantissa: x.checked_add(y)?,
                    exp,
                })
            })
            .unwrap_or_else(|| Decimal::Approx(a.to_f64() + b.to_f64())))
    }

    fn sub(a: Decimal, b: Decimal) -> Result<Decimal, FuncError> {
        Ok(Decimal::aligned(a, b)
            .and_then(|(x, y, exp)| {
                Some(Decimal::Exact {
                    mantissa: x.checked_sub(y)?,
                    exp,
                })
            })
            .unwrap_or_else(|| Decimal::Approx(a.to_f64() - b.to_f64())))
    }

    fn mul(a: Decimal, b: Decimal) -> Result<Decimal, FuncError> {
        if let (
            Decimal::Exact {
                mantissa: m1,
                exp: e1,
            },
            Decimal::Exact {
                mantissa: m2,
                exp: e2,
            },
        ) = (a, b)
        {
            if let Some(m) = m1.checked_mul(m2) {
                return Ok(Decimal::Exact {
                    mantissa: m,
                    exp: e1 + e2,
                });
            }
        }
        Ok(Decimal::Approx(a.to_f64() * b.to_f64()))
    }

    /// shopspring's `Div`: the quotient rounded half away from zero to 16 decimal places.
    fn div(a: Decimal, b: Decimal) -> Result<Decimal, FuncError> {
        if b.to_f64() == 0.0 {
            return Err(FuncError::msg("decimal division by 0"));
        }
        if let (
            Decimal::Exact {
                mantissa: m1,
                exp: e1,
            },
            Decimal::Exact {
                mantissa: m2,
                exp: e2,
            },
        ) = (a, b)
        {
            // m1·10^e1 / (m2·10^e2) · 10^16 = m1·10^(e1 - e2 + 16) / m2, kept as an integer.
            let shift = e1 - e2 + DIVISION_PRECISION;
            let quotient = if shift >= 0 {
                u32::try_from(shift)
                    .ok()
                    .and_then(|s| 10i128.checked_pow(s))
                    .and_then(|p| m1.checked_mul(p))
                    .map(|n| (n, m2))
            } else {
                u32::try_from(-shift)
                    .ok()
                    .and_then(|s| 10i128.checked_pow(s))
                    .and_then(|p| m2.checked_mul(p))
                    .map(|d| (m1, d))
            };
            if let Some((n, d)) = quotient {
                let (q, r) = (n / d, n % d);
                let round_up = r.unsigned_abs() * 2 >= d.unsigned_abs();
                let q = if round_up {
                    q + (n.signum() * d.signum())
                } else {
                    q
                };
                return Ok(Decimal::Exact {
                    mantissa: q,
                    exp: -DIVISION_PRECISION,
                });
            }
        }
        Ok(Decimal::Approx(a.to_f64() / b.to_f64()))
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
    fn integer_math_truncates() {
        let add = call("add", vec![Value::Float(1.5), Value::Float(1.5)]).unwrap();
        assert_eq!(add.format_v(), "2");
        assert_eq!(add.type_name(), "int64");
        assert_eq!(
            call("div", vec![Value::Int(7), Value::Int(2)])
                .unwrap()
                .format_v(),
            "3"
        );
        assert_eq!(
            call("div", vec![Value::Int(7), Value::Int(0)])
                .unwrap_err()
                .to_string(),
            "runtime error: integer divide by zero"
        );
        assert_eq!(
            call("max", vec![Value::Int(1), "7".into(), Value::Float(3.9)])
                .unwrap()
                .format_v(),
            "7"
        );
    }

    #[test]
    fn decimal_math() {
        let f = |name: &str, args: Vec<f64>| {
            call(name, args.into_iter().map(Value::Float).collect())
                .unwrap()
                .format_v()
        };
        assert_eq!(f("addf", vec![0.1, 0.2]), "0.3");
        assert_eq!(f("subf", vec![1.0, 0.9]), "0.1");
        assert_eq!(f("mulf", vec![1.1, 3.0]), "3.3");
        assert_eq!(f("divf", vec![1.0, 3.0]), "0.3333333333333333");
        assert_eq!(f("divf", vec![2.0, 3.0]), "0.6666666666666667");
        assert_eq!(f("add1f", vec![1.5]), "2.5");
    }

    #[test]
    fn rounding() {
        assert_eq!(round(2.5, 0, 0.5), 3.0);
        assert_eq!(round(1.005, 2, 0.5), 1.0);
        assert_eq!(round(1.23456, 3, 0.5), 1.235);
        assert_eq!(round(-2.5, 0, 0.5), -3.0);
    }
}
