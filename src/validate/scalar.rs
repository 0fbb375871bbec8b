//! Resolution of plain YAML scalars by the YAML 1.2 core schema (null, bool, int, float,
//! else string), as JSON values.

use serde_json::{Number, Value};

/// Whether a resolved plain scalar is of the core type named by a `!!` tag.
pub(crate) fn fits(v: &Value, tag: &str) -> bool {
    match tag {
        "null" => v.is_null(),
        "bool" => v.is_boolean(),
        "int" => v.is_i64() || v.is_u64(),
        _ => v.is_number(),
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema. Infinities and NaN, which JSON cannot
/// hold, are errors.
pub(crate) fn resolve_plain(s: &str) -> Result<Value, String> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(v) = resolve_int(s) {
        return Ok(v);
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Err(format!(
            "{s} is not a finite number and cannot be represented"
        ));
    }
    if is_float(unsigned) {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Ok(Value::Number(n));
        }
        return Err(format!("{s} is out of range for a number"));
    }
    Ok(Value::String(s.to_string()))
}

/// Core-schema integers: decimal (with sign), `0o` octal and `0x` hexadecimal. Decimals beyond
/// 64 bits become floating point, as in JSON.
fn resolve_int(s: &str) -> Option<Value> {
    let digits = |d: &str, radix: u32| !d.is_empty() && d.chars().all(|c| c.is_digit(radix));
    if let Some(oct) = s.strip_prefix("0o") {
        return digits(oct, 8)
            .then(|| i64::from_str_radix(oct, 8).ok().map(Value::from))
            .flatten();
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return digits(hex, 16)
            .then(|| i64::from_str_radix(hex, 16).ok().map(Value::from))
            .flatten();
    }
    if !digits(s.strip_prefix(['-', '+']).unwrap_or(s), 10) {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = s.trim_start_matches('+').parse::<u64>() {
        return Some(Value::from(u));
    }
    s.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

/// `( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE][-+]?[0-9]+ )?` on an unsigned text.
fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let all_digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_resolution() {
        let r = |s| resolve_plain(s).unwrap();
        assert_eq!(r("~"), Value::Null);
        assert_eq!(r("True"), Value::Bool(true));
        assert_eq!(r("yes"), Value::from("yes"));
        assert_eq!(r("-12"), Value::from(-12));
        assert_eq!(r("0x1f"), Value::from(31));
        assert_eq!(r("0o17"), Value::from(15));
        assert_eq!(r("1.5"), Value::from(1.5));
        assert_eq!(r(".5e2"), Value::from(50.0));
        assert_eq!(r("1.5.3Gi"), Value::from("1.5.3Gi"));
        assert_eq!(r("1e"), Value::from("1e"));
        assert_eq!(r("."), Value::from("."));
        assert!(resolve_plain(".inf").is_err());
    }
}
