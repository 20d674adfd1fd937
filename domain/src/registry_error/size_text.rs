//! Human-readable byte sizes as Quay's `LayerTooLarge` message prints them (bitmath's
//! `best_prefix()` on a byte count, formatted as `{value:.2f} {unit}`, binary prefixes).

/// Formats `bytes` with the largest binary prefix that keeps the value at or above 1:
/// `512.00 Byte`, `1.00 KiB`, `18.63 GiB`.
pub fn best_prefix_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["Byte", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut unit = 0;
    let mut scale = 1u64;
    while unit + 1 < UNITS.len() && bytes / scale >= 1024 {
        scale *= 1024;
        unit += 1;
    }
    let value = bytes as f64 / scale as f64;
    format!("{value:.2} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::best_prefix_bytes;

    #[test]
    fn picks_the_largest_binary_prefix() {
        for (bytes, text) in [
            (0, "0.00 Byte"),
            (512, "512.00 Byte"),
            (1024, "1.00 KiB"),
            (1536, "1.50 KiB"),
            (20_000_000_000, "18.63 GiB"),
            (u64::MAX, "16.00 EiB"),
        ] {
            assert_eq!(best_prefix_bytes(bytes), text, "{bytes}");
        }
    }
}
