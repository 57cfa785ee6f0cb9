//! Run-time switches of the mutation gate (`scripts/mutants`, `make mutants`).
//!
//! With the cargo feature `mutants`, one build carries every mutation in [`LIST`], each a small
//! deliberate error in the model placed where the real code computes that quantity; the
//! environment variable `LIPF_MUTANT=<name>` switches one of them on for the whole process. The
//! gate runs the tests named for each mutation and asserts that at least one of them fails.
//! Without the feature no hook is compiled and [`active`] is always false.

/// Every mutation: name and what it changes.
pub const LIST: &[(&str, &str)] = &[
    ("faraday", "Faraday constant ×1.01 in nF (coefficients)"),
    (
        "no-anisotropy",
        "Kobayashi anisotropy term dropped in xi_rate (CPU and WGSL)",
    ),
    (
        "galvanostatic-target",
        "galvanostatic target current ×1.009 (coefficients)",
    ),
    ("no-obstacle", "scaffold obstacle B set to 0 (coefficients)"),
    ("l-eta", "Allen–Cahn/Butler–Volmer mobility Lη ×1/0.98"),
    (
        "gpu-no-np-substeps",
        "GPU backend dispatches no Nernst–Planck sub-step",
    ),
    (
        "impedance-lateral-gb",
        "grain-boundary layers added to the lateral bonds of the impedance network",
    ),
    (
        "linkk-unweighted",
        "lin-KK least squares with weights 1 instead of 1/|Z|",
    ),
    (
        "reaction-sign",
        "sign of the Butler–Volmer reaction flipped (CPU and WGSL)",
    ),
    (
        "no-concentration-factor",
        "concentration factor c̃ removed from the Butler–Volmer rate (CPU and WGSL)",
    ),
    (
        "creep-exponent",
        "creep law's stress exponent taken as n − 0.5 in the metal's mobility",
    ),
    (
        "creep-uncounted-outflow",
        "Li that creep moves through the collector not counted (li_extruded_m)",
    ),
];

/// The mutation named by `LIPF_MUTANT`, read once; panics on a name not in [`LIST`] (a typo
/// must not pass for a mutation that no test catches).
#[cfg(feature = "mutants")]
fn selected() -> Option<&'static str> {
    static SELECTED: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
    *SELECTED.get_or_init(|| {
        let v = std::env::var("LIPF_MUTANT").ok()?;
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        match LIST.iter().find(|(n, _)| *n == v) {
            Some((n, _)) => {
                eprintln!("lipf: mutation `{n}` is active (LIPF_MUTANT)");
                Some(*n)
            }
            None => panic!("LIPF_MUTANT={v}: no such mutation (lipf_core::mutants::LIST)"),
        }
    })
}

/// True when the mutation `name` is switched on (feature `mutants` and `LIPF_MUTANT=name`).
pub fn active(name: &str) -> bool {
    debug_assert!(
        LIST.iter().any(|(n, _)| *n == name),
        "unknown mutation `{name}`"
    );
    #[cfg(feature = "mutants")]
    {
        selected() == Some(name)
    }
    #[cfg(not(feature = "mutants"))]
    {
        false
    }
}

/// `f` when the mutation `name` is active, 1 otherwise.
pub fn factor(name: &str, f: f64) -> f64 {
    if active(name) {
        f
    } else {
        1.0
    }
}

/// The coefficient mutations, applied once at the end of [`Coefficients::from_config`]
/// (the Faraday constant is mutated where nF is formed, before everything derived from it).
///
/// [`Coefficients::from_config`]: crate::coefficients::Coefficients::from_config
#[cfg(feature = "mutants")]
pub fn coefficients(mut c: crate::coefficients::Coefficients) -> crate::coefficients::Coefficients {
    c.target_current_a_m *= factor("galvanostatic-target", 1.009);
    c.l_eta_per_s *= factor("l-eta", 1.0 / 0.98);
    if active("no-obstacle") {
        c.b_obstacle_j_m3 = 0.0;
    }
    c
}
