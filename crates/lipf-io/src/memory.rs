//! Memory the operating system reports available: readers check sizes taken from file headers
//! against it before they allocate, so that a damaged or hostile file is an error, not an abort.

/// `MemAvailable` of /proc/meminfo, bytes; `None` where it is not known.
pub fn available_bytes() -> Option<f64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| parse_mem_available(&t))
        .map(|b| b as f64)
}

/// Reads `MemAvailable` (bytes) from the text of /proc/meminfo.
pub fn parse_mem_available(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemAvailable:")?;
        let mut it = rest.split_whitespace();
        let v: u64 = it.next()?.parse().ok()?;
        let unit = it.next().unwrap_or("B");
        let mult = match unit {
            "kB" | "KB" | "kiB" | "KiB" => 1024,
            "mB" | "MB" | "MiB" => 1024 * 1024,
            "B" => 1,
            _ => return None,
        };
        v.checked_mul(mult)
    })
}

/// Fails when `bytes` exceed the available memory, naming `what`.
pub fn check_fits(what: &str, bytes: f64) -> anyhow::Result<()> {
    if let Some(avail) = available_bytes() {
        anyhow::ensure!(
            bytes <= avail,
            "{what} would need {:.3} GiB, more than the {:.3} GiB of memory available",
            bytes / (1u64 << 30) as f64,
            avail / (1u64 << 30) as f64
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_from_meminfo_text() {
        let t = "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:   8000000 kB\n";
        assert_eq!(parse_mem_available(t), Some(8_000_000 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots\n"), None);
    }
}
