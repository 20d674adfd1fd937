//! `MAXIMUM_LAYER_SIZE`: Quay's size strings and the limit check.
//!
//! Quay parses the setting with bitmath 1.3's `parse_string_unsafe`, whose single-letter units are
//! decimal (SI): `"20G"` is 20 000 000 000 bytes, not 20 GiB. A unit with `i` (`Gi`, `GiB`) is
//! binary. Quay's config schema only admits `^[0-9]+(G|M)$`; the parser accepts the wider bitmath
//! grammar so that hand-written configs keep working.

use super::UploadError;

/// Quay's default `MAXIMUM_LAYER_SIZE` (`"20G"`).
pub const DEFAULT_MAXIMUM_LAYER_SIZE: LayerSizeLimit = LayerSizeLimit(20_000_000_000);

/// The largest blob an upload may produce, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LayerSizeLimit(pub u64);

impl Default for LayerSizeLimit {
    fn default() -> Self {
        DEFAULT_MAXIMUM_LAYER_SIZE
    }
}

impl LayerSizeLimit {
    /// Checks a would-be total size.
    ///
    /// # Errors
    /// [`UploadError::TooLarge`] when `total` exceeds the limit.
    pub fn check(self, total: u64) -> Result<(), UploadError> {
        if total > self.0 {
            return Err(UploadError::TooLarge {
                uploaded: total,
                max_allowed: self.0,
            });
        }
        Ok(())
    }
}

/// Why a size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {0:?}: expected a number with an optional unit such as 20G or 500Mi")]
pub struct InvalidSize(pub String);

/// Parses a Quay size string (`"20G"`, `"500M"`, `"1.5Gi"`, `"1024"`) into bytes.
///
/// # Errors
/// [`InvalidSize`] when the number or unit is not understood, or the value overflows `u64`.
pub fn parse_quay_size(s: &str) -> Result<u64, InvalidSize> {
    let bad = || InvalidSize(s.to_owned());
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    if number.is_empty() || number.bytes().filter(|&b| b == b'.').count() > 1 {
        return Err(bad());
    }
    let mut chars = unit.chars();
    let exponent = match chars.next().map(|c| c.to_ascii_lowercase()) {
        None | Some('b') if unit.len() <= 1 => 0,
        Some('k') => 1,
        Some('m') => 2,
        Some('g') => 3,
        Some('t') => 4,
        Some('p') => 5,
        Some('e') => 6,
        _ => return Err(bad()),
    };
    let rest: String = chars.collect::<String>().to_ascii_lowercase();
    let base: u64 = match rest.as_str() {
        _ if exponent == 0 => 1000,
        "" | "b" => 1000,
        "i" | "ib" => 1024,
        _ => return Err(bad()),
    };
    let multiplier = base.checked_pow(exponent).ok_or_else(bad)?;
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let int: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let mut total = int.checked_mul(multiplier).ok_or_else(bad)?;
    // Fractions: exact decimal arithmetic, truncated to whole bytes.
    let mut scale = multiplier;
    for digit in frac_part.bytes() {
        let d = u64::from(digit - b'0');
        let numerator = d.checked_mul(scale).ok_or_else(bad)?;
        total = total.checked_add(numerator / 10).ok_or_else(bad)?;
        scale /= 10;
        if scale == 0 {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_sizes() {
        for (s, want) in [
            ("20G", 20_000_000_000),
            ("500M", 500_000_000),
            ("1024", 1024),
            ("10k", 10_000),
            ("1Gi", 1 << 30),
            ("1GiB", 1 << 30),
            ("2MB", 2_000_000),
            ("1.5G", 1_500_000_000),
            ("0.5Ki", 512),
            (" 3 T ", 3_000_000_000_000),
            ("7b", 7),
        ] {
            assert_eq!(parse_quay_size(s), Ok(want), "{s}");
        }
        for bad in ["", "G", "20X", "1.2.3G", "-1G", "20Gx", "99999999999E"] {
            assert!(parse_quay_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limit_check() {
        let l = LayerSizeLimit(10);
        assert!(l.check(10).is_ok());
        assert_eq!(
            l.check(11),
            Err(UploadError::TooLarge {
                uploaded: 11,
                max_allowed: 10
            })
        );
        assert_eq!(LayerSizeLimit::default().0, 20_000_000_000);
    }
}
