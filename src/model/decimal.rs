//! Exact decimals for thresholds, targets and money.
//!
//! SPEC.md requires `ceil(θ * N)` and `floor(target * N)` to be exact
//! (`0.28 * 25` is 7), so a decimal is kept as an integer numerator over a
//! power of ten and never as `f64`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most decimal places a [`Decimal`] keeps.
pub const MAX_SCALE: u32 = 9;

/// A non-negative exact decimal `units / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    units: i64,
    scale: u32,
}

/// Why a decimal was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a decimal number (write e.g. 0.75; at most 9 decimal places, no sign)")]
pub struct DecimalParseError(pub String);

impl Decimal {
    /// Numerator over [`Decimal::denominator`].
    pub fn numerator(self) -> i64 {
        self.units
    }

    pub fn denominator(self) -> i64 {
        10i64.pow(self.scale)
    }

    /// `ceil(self * n)`, exactly.
    pub fn ceil_times(self, n: i64) -> i64 {
        let p = self.units as i128 * n as i128;
        let d = self.denominator() as i128;
        ((p + d - 1).div_euclid(d)) as i64
    }

    /// `floor(self * n)`, exactly.
    pub fn floor_times(self, n: i64) -> i64 {
        (self.units as i128 * n as i128).div_euclid(self.denominator() as i128) as i64
    }

    /// Whether the fraction `part / whole` is strictly greater than `self`.
    pub fn is_exceeded_by(self, part: i64, whole: i64) -> bool {
        whole > 0 && part as i128 * self.denominator() as i128 > self.units as i128 * whole as i128
    }

    /// The smallest part of `whole` whose fraction is strictly greater
    /// than `self` (see [`Decimal::is_exceeded_by`]).
    pub fn parts_to_exceed(self, whole: i64) -> i64 {
        (self.units as i128 * whole as i128 / self.denominator() as i128) as i64 + 1
    }

    /// The value in millionths, rounded half up (for money sums).
    pub fn to_micros(self) -> i64 {
        if self.scale <= 6 {
            self.units * 10i64.pow(6 - self.scale)
        } else {
            let d = 10i64.pow(self.scale - 6);
            (self.units + d / 2) / d
        }
    }

    pub fn as_f64(self) -> f64 {
        self.units as f64 / self.denominator() as f64
    }
}

impl FromStr for Decimal {
    type Err = DecimalParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DecimalParseError(s.to_string());
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > MAX_SCALE as usize {
            return Err(err());
        }
        if s.ends_with('.') {
            return Err(err());
        }
        let scale = frac.len() as u32;
        let units: i64 = format!("{int}{frac}").parse().map_err(|_| err())?;
        if units.checked_mul(1_000_000_000).is_none() {
            return Err(err());
        }
        Ok(Decimal { units, scale })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.units);
        }
        let d = self.denominator();
        write!(
            f,
            "{}.{:0width$}",
            self.units / d,
            self.units % d,
            width = self.scale as usize
        )
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Decimal {
    /// Accepts a TOML/JSON number or a string; numbers are read through their
    /// shortest decimal representation, so `0.28` stays exactly 0.28.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(i) => i.to_string(),
            Raw::Float(f) => format!("{f}"),
            Raw::Text(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Exact fraction `part / whole` rounded half up to 6 decimals, always
/// printed with 6 (`0.007813` for 1/128). `None` when `whole` is 0.
pub fn format_rate(part: i64, whole: i64) -> Option<String> {
    let micros = rate_micros(part, whole)?;
    Some(format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000))
}

/// The rate in millionths, rounded half up.
pub fn rate_micros(part: i64, whole: i64) -> Option<i64> {
    if whole <= 0 || part < 0 {
        return None;
    }
    let (p, w) = (part as i128, whole as i128);
    Some(((2 * p * 1_000_000 + w) / (2 * w)) as i64)
}

/// A money amount in millionths, printed with at least two decimals and no
/// trailing zeros beyond them (`12.50`, `0.125`).
pub fn format_money_micros(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let mut frac = format!("{:06}", m % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{sign}{}.{frac}", m / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn exact_ceil_and_floor() {
        assert_eq!(dec("0.28").ceil_times(25), 7);
        assert_eq!(dec("0.2").ceil_times(5), 1);
        assert_eq!(dec("0.2").ceil_times(6), 2);
        assert_eq!(dec("0.2").ceil_times(0), 0);
        assert_eq!(dec("0.75").floor_times(4), 3);
        assert_eq!(dec("0.75").floor_times(7), 5);
        assert_eq!(dec("0.7").floor_times(10), 7);
        assert_eq!(dec("1").floor_times(3), 3);
    }

    #[test]
    fn strict_comparison_of_fractions() {
        assert!(!dec("0.75").is_exceeded_by(3, 4));
        assert!(dec("0.75").is_exceeded_by(4, 5));
        assert!(!dec("0.5").is_exceeded_by(1, 2));
        assert!(!dec("0.5").is_exceeded_by(0, 0));
    }

    #[test]
    fn rates_round_half_up_with_six_decimals() {
        assert_eq!(format_rate(1, 128).as_deref(), Some("0.007813"));
        assert_eq!(format_rate(3, 4).as_deref(), Some("0.750000"));
        assert_eq!(format_rate(2, 3).as_deref(), Some("0.666667"));
        assert_eq!(format_rate(1, 3).as_deref(), Some("0.333333"));
        assert_eq!(format_rate(1, 1).as_deref(), Some("1.000000"));
        assert_eq!(format_rate(0, 7).as_deref(), Some("0.000000"));
        // 1/2_000_000 = 0.0000005 rounds up.
        assert_eq!(format_rate(1, 2_000_000).as_deref(), Some("0.000001"));
        assert_eq!(format_rate(1, 0), None);
    }

    #[test]
    fn parsing() {
        assert!("".parse::<Decimal>().is_err());
        assert!("-1".parse::<Decimal>().is_err());
        assert!("1.".parse::<Decimal>().is_err());
        assert!(".5".parse::<Decimal>().is_err());
        assert!("1e3".parse::<Decimal>().is_err());
        assert_eq!(dec("12.5").to_string(), "12.5");
        assert_eq!(dec("12.5").to_micros(), 12_500_000);
        assert_eq!(format_money_micros(12_500_000), "12.50");
        assert_eq!(format_money_micros(125_000), "0.125");
        assert_eq!(format_money_micros(0), "0.00");
    }

    #[test]
    fn toml_numbers_stay_exact() {
        #[derive(Deserialize)]
        struct T {
            v: Decimal,
        }
        let t: T = toml::from_str("v = 0.28").expect("toml");
        assert_eq!(t.v, dec("0.28"));
        let t: T = toml::from_str("v = \"0.3\"").expect("toml");
        assert_eq!(t.v, dec("0.3"));
        let t: T = toml::from_str("v = 1").expect("toml");
        assert_eq!(t.v, dec("1"));
    }
}
