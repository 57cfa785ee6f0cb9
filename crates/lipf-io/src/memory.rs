//! Memory the operating system reports available: readers check sizes taken from file headers
//! against it before they allocate, so that a damaged or hostile file is an error, not an abort.

/// `MemAvailable` of /proc/meminfo, bytes; `None` where it is not known.
pub fn available_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
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
