//! The admissible-range check of the fields (twin of `shaders/range_check.wgsl`).
//!
//! For each field, the smallest cell index whose value is out of range or not finite, or
//! [`IN_RANGE`] when every cell is admissible: ξ within [XI_MIN, XI_MAX], c̃ at least CONC_MIN,
//! the potential finite. Leaving the ranges stops a run.

/// Admissible range of ξ.
pub const XI_MIN: f64 = -0.1;
pub const XI_MAX: f64 = 1.1;
/// Smallest admissible c̃.
pub const CONC_MIN: f64 = -0.01;
/// Status of a field whose every cell is admissible.
pub const IN_RANGE: u32 = u32::MAX;
/// Field order of the status: ξ, c̃, potential.
pub const FIELDS: [&str; 3] = ["xi", "c", "potential"];

/// Smallest out-of-range cell index per field (ξ, c̃, potential); [`IN_RANGE`] where none.
pub fn range_check(xi: &[f64], conc: &[f64], potential: &[f64]) -> [u32; 3] {
    let first = |f: &[f64], ok: &dyn Fn(f64) -> bool| {
        f.iter()
            .position(|&v| !(v.is_finite() && ok(v)))
            .map_or(IN_RANGE, |k| k as u32)
    };
    [
        first(xi, &|v| (XI_MIN..=XI_MAX).contains(&v)),
        first(conc, &|v| v >= CONC_MIN),
        first(potential, &|_| true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bad_cell_per_field() {
        let mut xi = vec![0.5; 10];
        let mut c = vec![1.0; 10];
        let mut p = vec![0.0; 10];
        assert_eq!(range_check(&xi, &c, &p), [IN_RANGE; 3]);
        xi[7] = 1.2;
        xi[4] = f64::NAN;
        c[3] = -0.02;
        p[9] = f64::INFINITY;
        assert_eq!(range_check(&xi, &c, &p), [4, 3, 9]);
        // The ends of the ranges are admissible.
        let (xi, c) = (vec![XI_MIN, XI_MAX], vec![CONC_MIN, 1e300]);
        assert_eq!(range_check(&xi, &c, &[0.0, 0.0]), [IN_RANGE; 3]);
    }
}
