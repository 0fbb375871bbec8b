//! Exact Kubernetes `resource.Quantity`: parsing, ordering, checked arithmetic and canonical output.
//! Values are held as an `i128` count of nano-units, so every accepted quantity is represented exactly.

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Kubernetes' error text for a string that is not a quantity.
pub const ERR_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO: i128 = 1_000_000_000;
const DEC_SUFFIXES: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];
const BIN_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// The formatting family a quantity is printed in, as in Kubernetes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Decimal SI suffixes: `n u m k M G T P E`.
    #[default]
    DecimalSI,
    /// Binary SI suffixes: `Ki Mi Gi Ti Pi Ei`.
    BinarySI,
    /// Decimal exponent notation: `1e3`.
    DecimalExponent,
}

/// An exact Kubernetes quantity; equality, ordering and hashing use the value only.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// Parses a digit string (no sign, no dot) into an `i128`, `None` on overflow.
fn digits_value(d: &str) -> Option<i128> {
    d.bytes().try_fold(0i128, |acc, b| {
        acc.checked_mul(10)?.checked_add(i128::from(b - b'0'))
    })
}

/// `ceil(n / 10^d)` for `n >= 0`.
fn ceil_div_pow10(n: i128, d: u32) -> i128 {
    match 10i128.checked_pow(d) {
        Some(p) => n / p + i128::from(n % p != 0),
        None => i128::from(n != 0),
    }
}

impl Quantity {
    /// Parses the Kubernetes quantity grammar, rounding magnitudes below 1n up to 1n like Kubernetes.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        let bad = || ERR_FORMAT.to_string();
        let too_large = || format!("quantity {s:?} is too large");
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(end);
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if frac.contains('.') || int.len() + frac.len() == 0 {
            return Err(bad());
        }
        let (exp10, exp2, mut format) =
            if let Some(&(_, e)) = DEC_SUFFIXES.iter().find(|(n, _)| *n == suffix) {
                (i64::from(e), 0u32, Format::DecimalSI)
            } else if let Some(i) = BIN_SUFFIXES[1..].iter().position(|n| *n == suffix) {
                (0, 10 * (i as u32 + 1), Format::BinarySI)
            } else if suffix.len() > 1 && suffix.starts_with(['e', 'E']) {
                let e: i64 = suffix[1..].parse().map_err(|_| bad())?;
                (e, 0, Format::DecimalExponent)
            } else {
                return Err(bad());
            };
        let all = format!("{int}{frac}");
        let digits = all.trim_start_matches('0');
        // magnitude in nanos = digits * 2^exp2 * 10^t
        let t = exp10
            .checked_add(9 - frac.len() as i64)
            .ok_or_else(too_large)?;
        let mag = if digits.is_empty() {
            0
        } else if t >= 0 {
            let p = u32::try_from(t).ok().and_then(|t| 10i128.checked_pow(t));
            digits_value(digits)
                .zip(p)
                .and_then(|(v, p)| v.checked_mul(p))
                .and_then(|v| v.checked_mul(1i128 << exp2))
                .ok_or_else(too_large)?
        } else if exp2 == 0 {
            let d = usize::try_from(-t).unwrap_or(usize::MAX);
            let keep = &digits[..digits.len().saturating_sub(d)];
            let rem = digits[keep.len()..].bytes().any(|b| b != b'0');
            digits_value(keep).ok_or_else(too_large)? + i128::from(rem)
        } else {
            let v = digits_value(digits)
                .and_then(|v| v.checked_mul(1i128 << exp2))
                .ok_or_else(too_large)?;
            ceil_div_pow10(v, u32::try_from(-t).unwrap_or(u32::MAX))
        };
        if format == Format::BinarySI && mag > 0 && mag < NANO {
            format = Format::DecimalSI;
        }
        Ok(Quantity {
            nanos: if neg { -mag } else { mag },
            format,
        })
    }

    /// Parses a JSON quantity: a string, or a number taken by its JSON text (as Kubernetes does).
    pub fn from_json(v: &Value) -> Result<Quantity, String> {
        match v {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => Err(ERR_FORMAT.to_string()),
        }
    }

    /// Builds a quantity from a nano-unit count and a format.
    pub fn from_nanos(nanos: i128, format: Format) -> Quantity {
        Quantity { nanos, format }
    }

    /// Builds a whole-unit DecimalSI quantity (like `resource.NewQuantity(v, DecimalSI)`).
    pub fn from_units(v: i64) -> Quantity {
        Quantity::from_nanos(i128::from(v) * NANO, Format::DecimalSI)
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The format family this quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// True when the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// The value in milli-units, rounded away from zero (Kubernetes `MilliValue`).
    pub fn to_millis_ceil(&self) -> i128 {
        let p = 1_000_000;
        self.nanos / p + (self.nanos % p).signum()
    }

    /// The value in whole units, rounded away from zero (Kubernetes `Value`).
    pub fn to_units_ceil(&self) -> i128 {
        self.nanos / NANO + (self.nanos % NANO).signum()
    }

    /// The same value printed in `other`'s format family.
    pub fn with_format_of(&self, other: &Quantity) -> Quantity {
        Quantity::from_nanos(self.nanos, other.format)
    }

    /// Checked sum; like Kubernetes `Add`, a zero receiver takes the format of `other`.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let format = if self.is_zero() {
            other.format
        } else {
            self.format
        };
        Some(Quantity::from_nanos(
            self.nanos.checked_add(other.nanos)?,
            format,
        ))
    }

    /// Checked difference; like Kubernetes `Sub`, a zero receiver takes the format of `other`.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        let format = if self.is_zero() {
            other.format
        } else {
            self.format
        };
        Some(Quantity::from_nanos(
            self.nanos.checked_sub(other.nanos)?,
            format,
        ))
    }

    /// The canonical string as a JSON value.
    pub fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let binary = self.format == Format::BinarySI
            && self.nanos.abs() >= 1024 * NANO
            && self.nanos % NANO == 0;
        if binary {
            let (mut m, mut e) = (self.nanos / NANO, 0);
            while e < 6 && m % 1024 == 0 {
                m /= 1024;
                e += 1;
            }
            return write!(f, "{m}{}", BIN_SUFFIXES[e]);
        }
        let (mut m, mut e) = (self.nanos, -9i32);
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        let r = e.rem_euclid(3);
        m *= 10i128.pow(r as u32);
        e -= r;
        if self.format == Format::DecimalExponent {
            return match e {
                0 => write!(f, "{m}"),
                _ => write!(f, "{m}e{e}"),
            };
        }
        if e > 18 {
            m *= 10i128.pow((e - 18) as u32);
            e = 18;
        }
        let suffix = DEC_SUFFIXES
            .iter()
            .find(|(_, x)| *x == e)
            .map_or("", |s| s.0);
        write!(f, "{m}{suffix}")
    }
}

impl FromStr for Quantity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn canon(s: &str) -> String {
        q(s).to_string()
    }

    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("1000m", "1"),
            ("0.5", "500m"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("100T", "100T"),
            ("368G", "368G"),
            ("2", "2"),
            ("0", "0"),
            ("0Gi", "0"),
            ("-0", "0"),
            ("1.5k", "1500"),
            ("1500", "1500"),
            ("1k", "1k"),
            ("10000", "10k"),
            ("0.1", "100m"),
            ("100m", "100m"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("1Ki", "1Ki"),
            ("1023", "1023"),
            ("2048Ki", "2Mi"),
            ("1e3", "1e3"),
            ("1E6", "1e6"),
            ("1.5e3", "1500"),
            ("12e-3", "12e-3"),
            ("1e0", "1"),
            ("5n", "5n"),
            ("1u", "1u"),
            ("0.000000001", "1n"),
            ("0.0000000001", "1n"),
            ("+3", "3"),
            ("-3m", "-3m"),
            ("-1Ki", "-1Ki"),
            ("1.", "1"),
            (".5", "500m"),
            ("7E", "7E"),
            ("1Ei", "1Ei"),
            ("1024Ei", "1024Ei"),
            ("1000E", "1000E"),
            ("1e21", "1e21"),
            ("0.5Gi", "512Mi"),
            ("1.1Ki", "1126400m"),
        ] {
            assert_eq!(canon(input), want, "input {input}");
        }
    }

    #[test]
    fn round_trips_are_stable() {
        for s in [
            "1", "500m", "1Gi", "1536Mi", "100T", "368G", "1e3", "12e-3", "5n", "-2Ki",
        ] {
            assert_eq!(canon(&canon(s)), s);
            assert_eq!(q(s).format(), q(&canon(s)).format());
        }
    }

    #[test]
    fn formats_detected() {
        assert_eq!(q("1Gi").format(), Format::BinarySI);
        assert_eq!(q("1G").format(), Format::DecimalSI);
        assert_eq!(q("1e9").format(), Format::DecimalExponent);
        assert_eq!(q("0.0001Ki").format(), Format::DecimalSI);
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "", "abc", "1.2.3", "1Kb", "1e", "e3", "1 ", " 1", "--1", "1ki", "1.5x", ".", "+",
            "1e3.5",
        ] {
            assert_eq!(Quantity::parse(s), Err(ERR_FORMAT.to_string()), "{s}");
        }
        assert!(Quantity::parse("1e40").unwrap_err().contains("too large"));
        assert!(Quantity::parse("99999999999999999999999999999999999999999").is_err());
        assert!(Quantity::parse("1e-100").is_ok());
        assert_eq!(q("1e-100").nanos(), 1);
        assert_eq!(q("-1e-100").nanos(), -1);
    }

    #[test]
    fn exact_values_and_ordering() {
        assert_eq!(q("1Gi").nanos(), 1_073_741_824 * NANO);
        assert_eq!(q("1.5").nanos(), 1_500_000_000);
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Ki"), q("1024"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("999m") < q("1"));
        assert!(q("-1") < q("0"));
        let mut v = vec![q("2"), q("500m"), q("1Ki")];
        v.sort();
        assert_eq!(v, vec![q("500m"), q("2"), q("1Ki")]);
    }

    #[test]
    fn arithmetic() {
        let s = q("512Mi").checked_add(&q("512Mi")).unwrap();
        assert_eq!(s.to_string(), "1Gi");
        let s = Quantity::default().checked_add(&q("1Gi")).unwrap();
        assert_eq!(s.format(), Format::BinarySI);
        let s = q("1").checked_add(&q("500m")).unwrap();
        assert_eq!(s.to_string(), "1500m");
        let d = q("1").checked_sub(&q("1500m")).unwrap();
        assert_eq!(d.to_string(), "-500m");
        assert!(d.is_negative());
        let big = Quantity::from_nanos(i128::MAX, Format::DecimalSI);
        assert!(big.checked_add(&q("1n")).is_none());
        assert!(q("0").is_zero() && q("0m").is_zero());
    }

    #[test]
    fn scaled_values_round_away_from_zero() {
        assert_eq!(q("1").to_millis_ceil(), 1000);
        assert_eq!(q("1500u").to_millis_ceil(), 2);
        assert_eq!(q("-1500u").to_millis_ceil(), -2);
        assert_eq!(q("100m").to_units_ceil(), 1);
        assert_eq!(q("2Ki").to_units_ceil(), 2048);
    }

    #[test]
    fn with_format_of_and_json() {
        let sum = q("1073741824");
        assert_eq!(sum.with_format_of(&q("2Gi")).to_string(), "1Gi");
        assert_eq!(
            q("1536Mi").with_format_of(&q("1")).to_string(),
            "1610612736"
        );
        assert_eq!(q("1k").with_format_of(&q("1e3")).to_string(), "1e3");
        let j: Value = serde_json::json!(0.5);
        assert_eq!(Quantity::from_json(&j).unwrap().to_string(), "500m");
        assert_eq!(
            Quantity::from_json(&serde_json::json!(2))
                .unwrap()
                .to_json(),
            "2"
        );
        assert!(Quantity::from_json(&Value::Null).is_err());
        assert_eq!("3Gi".parse::<Quantity>().unwrap(), q("3072Mi"));
    }
}
