//! Exact Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`), held as nano-units in an i128.
//! Parsed, compared, added and printed back in Kubernetes' canonical form for quota status.

use std::fmt;

/// How a quantity was written, which decides how it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Ki, Mi, Gi ...
    BinarySi,
    /// m, k, M, G ... or none.
    DecimalSi,
    /// e3, E6 ...
    DecimalExponent,
}

/// An exact quantity.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Zero, printed in decimal SI.
    pub fn zero() -> Self {
        Quantity { nanos: 0, format: Format::DecimalSi }
    }

    /// A whole number of units.
    pub fn from_units(n: i64) -> Self {
        Quantity { nanos: i128::from(n) * NANO, format: Format::DecimalSi }
    }

    /// Parses Kubernetes' quantity grammar.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        let bad = || format!("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s:?}");
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(s.len());
        let (num, suffix) = s.split_at(split);
        if num.is_empty() || num == "+" || num == "-" {
            return Err(bad());
        }
        let (negative, digits) = match num.as_bytes()[0] {
            b'-' => (true, &num[1..]),
            b'+' => (false, &num[1..]),
            _ => (false, num),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let (mult_num, mult_den, format): (i128, i128, Format) = match suffix {
            "" => (1, 1, Format::DecimalSi),
            "n" => (1, NANO, Format::DecimalSi),
            "u" => (1, 1_000_000, Format::DecimalSi),
            "m" => (1, 1000, Format::DecimalSi),
            "k" => (1000, 1, Format::DecimalSi),
            "M" => (1_000_000, 1, Format::DecimalSi),
            "G" => (1_000_000_000, 1, Format::DecimalSi),
            "T" => (1_000_000_000_000, 1, Format::DecimalSi),
            "P" => (1_000_000_000_000_000, 1, Format::DecimalSi),
            "E" => (1_000_000_000_000_000_000, 1, Format::DecimalSi),
            "Ki" => (1 << 10, 1, Format::BinarySi),
            "Mi" => (1 << 20, 1, Format::BinarySi),
            "Gi" => (1 << 30, 1, Format::BinarySi),
            "Ti" => (1 << 40, 1, Format::BinarySi),
            "Pi" => (1 << 50, 1, Format::BinarySi),
            "Ei" => (1 << 60, 1, Format::BinarySi),
            exp if exp.starts_with(['e', 'E']) => {
                let e: i32 = exp[1..].parse().map_err(|_| bad())?;
                if !(-9..=18).contains(&e) {
                    return Err(format!("quantity {s:?} is out of range"));
                }
                if e >= 0 {
                    (10i128.pow(e as u32), 1, Format::DecimalExponent)
                } else {
                    (1, 10i128.pow((-e) as u32), Format::DecimalExponent)
                }
            }
            _ => return Err(bad()),
        };
        let frac_digits = frac_part.len().min(30) as u32;
        let frac_text = &frac_part[..frac_digits as usize];
        let whole: i128 = format!("{int_part}{frac_text}").trim_start_matches('0').parse().unwrap_or(0);
        let scale = 10i128.checked_pow(frac_digits).ok_or_else(bad)?;
        let value = whole
            .checked_mul(NANO)
            .and_then(|v| v.checked_mul(mult_num))
            .ok_or_else(|| format!("quantity {s:?} is too large"))?;
        let den = scale.checked_mul(mult_den).ok_or_else(bad)?;
        // Round up to a whole nano-unit, as Kubernetes does.
        let nanos = (value + den - 1) / den;
        Ok(Quantity { nanos: if negative { -nanos } else { nanos }, format })
    }

    /// Whether the quantity is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The value in milli-units, rounded up.
    pub fn to_millis_ceil(&self) -> i128 {
        (self.nanos + 999_999).div_euclid(1_000_000)
    }

    /// Sum; None on overflow.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        Some(Quantity { nanos: self.nanos.checked_add(other.nanos)?, format: self.format })
    }

    /// The same value printed in `other`'s format.
    pub fn with_format_of(&self, other: &Quantity) -> Quantity {
        Quantity { nanos: self.nanos, format: other.format }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return write!(f, "0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let n = self.nanos.abs();
        if self.format == Format::BinarySi && n % NANO == 0 {
            let units = n / NANO;
            for (shift, suffix) in [(60, "Ei"), (50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")] {
                if units % (1i128 << shift) == 0 {
                    return write!(f, "{sign}{}{suffix}", units >> shift);
                }
            }
            if units < 1024 {
                return write!(f, "{sign}{units}");
            }
        }
        // Decimal SI: the largest suffix that keeps the number whole.
        for (scale, suffix) in [
            (NANO * 1_000_000_000_000_000_000, "E"),
            (NANO * 1_000_000_000_000_000, "P"),
            (NANO * 1_000_000_000_000, "T"),
            (NANO * 1_000_000_000, "G"),
            (NANO * 1_000_000, "M"),
            (NANO * 1000, "k"),
            (NANO, ""),
            (1_000_000, "m"),
            (1000, "u"),
            (1, "n"),
        ] {
            if n % scale == 0 {
                return write!(f, "{sign}{}{suffix}", n / scale);
            }
        }
        write!(f, "{sign}{n}n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Quantity::parse(s).unwrap().to_string()
    }

    #[test]
    fn canonical_forms() {
        for (input, out) in [("1000m", "1"), ("0.5", "500m"), ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"),
            ("100T", "100T"), ("368G", "368G"), ("2", "2"), ("0", "0"), ("250m", "250m"), ("1.5Gi", "1536Mi"),
            ("2e3", "2k"), ("256M", "256M"), ("-1", "-1")] {
            assert_eq!(canon(input), out, "{input}");
        }
    }

    #[test]
    fn compares_across_formats_and_rejects_garbage() {
        assert!(Quantity::parse("1Gi").unwrap() > Quantity::parse("1G").unwrap());
        assert_eq!(Quantity::parse("1").unwrap(), Quantity::parse("1000m").unwrap());
        assert_eq!(Quantity::parse("250m").unwrap().to_millis_ceil(), 250);
        for bad in ["", "abc", "1.2.3", "5Xi", "1e99", "--1", "m"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        let sum = Quantity::parse("1").unwrap().checked_add(&Quantity::parse("500m").unwrap()).unwrap();
        assert_eq!(sum.to_string(), "1500m");
    }
}
