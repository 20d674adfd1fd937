//! Value newtypes for Quay's string formats: byte sizes (`"20G"`) and durations (`"2w"`).

use std::fmt;
use std::time::Duration;

/// A size in bytes parsed from Quay's `MAXIMUM_LAYER_SIZE` format.
///
/// Quay's schema allows `<digits>(G|M)`; Quay's blob uploader parses the value with
/// `bitmath.parse_string_unsafe`, which reads single-letter units as SI (`20G` = 20·10⁹
/// bytes). We accept `K`, `M`, `G`, `T` (optionally followed by `B`) as SI and `Ki`, `Mi`,
/// `Gi`, `Ti` (optionally `B`) as binary units, case-insensitively, plus a bare byte count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `"20G"`, `"500M"`, `"1Gi"`, `"1048576"`.
    ///
    /// # Errors
    /// A message describing the accepted format when `s` does not match it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(digits_end);
        let num: u64 = num
            .parse()
            .map_err(|_| format!("`{s}` does not start with a whole number"))?;
        let unit = unit.to_ascii_uppercase();
        let unit = unit.strip_suffix('B').unwrap_or(&unit);
        let factor: u64 = match unit {
            "" => 1,
            "K" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            "KI" => 1 << 10,
            "MI" => 1 << 20,
            "GI" => 1 << 30,
            "TI" => 1 << 40,
            _ => return Err(format!("`{s}` has an unknown unit")),
        };
        num.checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| format!("`{s}` is too large"))
    }

    /// The size in bytes.
    #[must_use]
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// A duration in Quay's `<number><unit>` format (`s`, `m`, `h`, `d`, `w`, `y`), as read by
/// Quay's `convert_to_timedelta`. Keeps the original text for round-tripping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuayDuration {
    text: String,
    duration: Duration,
}

impl QuayDuration {
    /// Parses `"2w"`, `"30m"`, `"0s"`.
    ///
    /// # Errors
    /// A message describing the accepted format when `s` does not match it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a duration like 30s, 10m, 24h, 7d, 2w or 1y");
        let mut chars = s.chars();
        let unit = chars.next_back().ok_or_else(bad)?;
        let num: u64 = chars.as_str().parse().map_err(|_| bad())?;
        let secs_per_unit: u64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400,
            _ => return Err(bad()),
        };
        let secs = num.checked_mul(secs_per_unit).ok_or_else(bad)?;
        Ok(Self {
            text: s.to_owned(),
            duration: Duration::from_secs(secs),
        })
    }

    /// The duration.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The text as written in the config (`"2w"`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for QuayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(ByteSize::parse("20G"), Ok(ByteSize(20_000_000_000)));
        assert_eq!(ByteSize::parse("500M"), Ok(ByteSize(500_000_000)));
        assert_eq!(ByteSize::parse("1Gi"), Ok(ByteSize(1 << 30)));
        assert_eq!(ByteSize::parse("2GB"), Ok(ByteSize(2_000_000_000)));
        assert_eq!(ByteSize::parse("1024"), Ok(ByteSize(1024)));
        assert!(ByteSize::parse("G").is_err());
        assert!(ByteSize::parse("20X").is_err());
        assert!(ByteSize::parse("99999999999999T").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(
            QuayDuration::parse("2w").map(|d| d.duration().as_secs()),
            Ok(1_209_600)
        );
        assert_eq!(
            QuayDuration::parse("0s").map(|d| d.duration().as_secs()),
            Ok(0)
        );
        assert_eq!(
            QuayDuration::parse("10m").map(|d| d.to_string()),
            Ok("10m".to_owned())
        );
        assert!(QuayDuration::parse("2").is_err());
        assert!(QuayDuration::parse("").is_err());
        assert!(QuayDuration::parse("w").is_err());
        assert!(QuayDuration::parse("-1d").is_err());
    }
}
