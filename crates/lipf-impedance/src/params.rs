//! Material and interface parameters of the impedance network, in the units the literature uses
//! (names carry the unit), and their conversion to SI in one place ([`Materials::si`]).
//!
//! Defaults are the values of the reference study of the constriction effect (Table 1, the
//! Figure 2 row): σ_bulk = 0.46 mS/cm, ε_bulk = 150 ε0, grain boundaries 10 nm thick with
//! σ_GB = 5.97 µS/cm and ε_GB = 150 ε0, R_pol = 1 Ω·cm², C_DL = 885 µF/cm², C̃_pore = 8.85 µF/cm².

use serde::{Deserialize, Serialize};

/// Vacuum permittivity, F/m.
pub const EPS0_F_M: f64 = 8.854_187_812_8e-12;

/// Transport parameters of every phase and interface.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Materials {
    /// Bulk (grain interior) ionic conductivity of the solid electrolyte, mS/cm.
    pub bulk_conductivity_ms_cm: f64,
    /// Bulk relative permittivity of the solid electrolyte, ε/ε0.
    pub bulk_permittivity_rel: f64,
    /// Grain-boundary thickness (core + space-charge region), nm.
    pub gb_thickness_nm: f64,
    /// Grain-boundary conductivity, µS/cm.
    pub gb_conductivity_us_cm: f64,
    /// Grain-boundary relative permittivity, ε/ε0.
    pub gb_permittivity_rel: f64,
    /// Charge-transfer (polarisation) resistance of an electrode/electrolyte contact, Ω·cm².
    /// 0 disables the charge-transfer element (ideal, reversible contact).
    pub polarization_resistance_ohm_cm2: f64,
    /// Double-layer capacitance of an electrode/electrolyte contact, µF/cm².
    pub double_layer_capacitance_uf_cm2: f64,
    /// Capacitance per area of a sub-voxel pore gap between the working electrode and the
    /// electrolyte (the seed model's interface layer), µF/cm². `null`: derived from
    /// `pore_permittivity_rel` and `pore_gap_thickness_nm` as ε0·ε_r/δ.
    pub pore_capacitance_uf_cm2: Option<f64>,
    /// Thickness δ_Int of the pore gap of the model structure, nm (used only to derive
    /// `pore_capacitance_uf_cm2` when that is `null`, and reported).
    pub pore_gap_thickness_nm: f64,
    /// Relative permittivity of pore space (pore voxels are plate capacitors ε0·ε_r·A/h).
    pub pore_permittivity_rel: f64,
    /// Electronic conductivity of the metal (Li) phase, S/m. `null`: resistance-free metal, every
    /// connected metal region is one equipotential node.
    pub metal_conductivity_s_m: Option<f64>,
    /// Charge transfer (R_pol ∥ C_DL) also at the counter electrode. Default false: the counter
    /// electrode is an ideal, reversible contact.
    pub counter_electrode_charge_transfer: bool,
}

impl Default for Materials {
    fn default() -> Self {
        Materials {
            bulk_conductivity_ms_cm: 0.46,
            bulk_permittivity_rel: 150.0,
            gb_thickness_nm: 10.0,
            gb_conductivity_us_cm: 5.97,
            gb_permittivity_rel: 150.0,
            polarization_resistance_ohm_cm2: 1.0,
            double_layer_capacitance_uf_cm2: 885.0,
            pore_capacitance_uf_cm2: Some(8.85),
            pore_gap_thickness_nm: 1.0,
            pore_permittivity_rel: 1.0,
            metal_conductivity_s_m: None,
            counter_electrode_charge_transfer: false,
        }
    }
}

/// The same parameters in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaterialsSi {
    /// S/m
    pub sigma_bulk: f64,
    /// F/m
    pub eps_bulk: f64,
    /// m
    pub gb_thickness: f64,
    /// S/m
    pub sigma_gb: f64,
    /// F/m
    pub eps_gb: f64,
    /// Ω·m²
    pub r_pol: f64,
    /// F/m²
    pub c_dl: f64,
    /// F/m²
    pub c_pore_gap: f64,
    /// F/m
    pub eps_pore: f64,
    /// S/m; None = resistance-free
    pub sigma_metal: Option<f64>,
    pub ce_charge_transfer: bool,
}

impl Materials {
    pub fn si(&self) -> MaterialsSi {
        let eps_pore = self.pore_permittivity_rel * EPS0_F_M;
        let gap_m = self.pore_gap_thickness_nm * 1e-9;
        MaterialsSi {
            // 1 mS/cm = 0.1 S/m
            sigma_bulk: self.bulk_conductivity_ms_cm * 0.1,
            eps_bulk: self.bulk_permittivity_rel * EPS0_F_M,
            gb_thickness: self.gb_thickness_nm * 1e-9,
            // 1 µS/cm = 1e-4 S/m
            sigma_gb: self.gb_conductivity_us_cm * 1e-4,
            eps_gb: self.gb_permittivity_rel * EPS0_F_M,
            // 1 Ω·cm² = 1e-4 Ω·m²
            r_pol: self.polarization_resistance_ohm_cm2 * 1e-4,
            // 1 µF/cm² = 1e-2 F/m²
            c_dl: self.double_layer_capacitance_uf_cm2 * 1e-2,
            c_pore_gap: match self.pore_capacitance_uf_cm2 {
                Some(c) => c * 1e-2,
                None => eps_pore / gap_m,
            },
            eps_pore,
            sigma_metal: self.metal_conductivity_s_m,
            ce_charge_transfer: self.counter_electrode_charge_transfer,
        }
    }

    /// Checks that every value is physically possible; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |name: &str, v: f64| -> Result<(), String> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("`{name}` = {v}: must be a finite number > 0"))
            }
        };
        let nonneg = |name: &str, v: f64| -> Result<(), String> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("`{name}` = {v}: must be a finite number ≥ 0"))
            }
        };
        pos("bulk_conductivity_ms_cm", self.bulk_conductivity_ms_cm)?;
        nonneg("bulk_permittivity_rel", self.bulk_permittivity_rel)?;
        nonneg("gb_thickness_nm", self.gb_thickness_nm)?;
        pos("gb_conductivity_us_cm", self.gb_conductivity_us_cm)?;
        nonneg("gb_permittivity_rel", self.gb_permittivity_rel)?;
        nonneg(
            "polarization_resistance_ohm_cm2",
            self.polarization_resistance_ohm_cm2,
        )?;
        nonneg(
            "double_layer_capacitance_uf_cm2",
            self.double_layer_capacitance_uf_cm2,
        )?;
        if let Some(c) = self.pore_capacitance_uf_cm2 {
            pos("pore_capacitance_uf_cm2", c)?;
        } else {
            pos("pore_gap_thickness_nm", self.pore_gap_thickness_nm)?;
        }
        pos("pore_permittivity_rel", self.pore_permittivity_rel)?;
        if let Some(s) = self.metal_conductivity_s_m {
            pos("metal_conductivity_s_m", s)?;
        }
        Ok(())
    }
}

/// The seed's model structure: a solid-electrolyte cube (L_x = L_y = L_z) between a porous
/// working electrode (one centred square contact of area fraction A_contact, a thin pore gap
/// elsewhere) and an ideal counter electrode, with planar grain boundaries every L_z/N.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelStructure {
    /// Edge of the electrolyte cube L_x = L_y = L_z, µm.
    pub edge_um: f64,
    /// Voxels per edge (the network has voxels³ nodes).
    pub voxels: usize,
    /// Contact area fraction A_contact/A_SE at the working electrode, (0, 1].
    pub contact_area_fraction: f64,
    /// The electrolyte is a stack of this many grain layers (grain boundaries every L_z/N,
    /// N − 1 planar boundaries). 0 or 1: no grain boundaries.
    pub grain_layers: usize,
}

impl Default for ModelStructure {
    fn default() -> Self {
        ModelStructure {
            edge_um: 50.0,
            voxels: 50,
            contact_area_fraction: 0.5,
            grain_layers: 50,
        }
    }
}

impl ModelStructure {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.edge_um.is_finite() && self.edge_um > 0.0) {
            return Err(format!("`edge_um` = {}: must be > 0", self.edge_um));
        }
        if self.voxels < 1 || self.voxels > 1000 {
            return Err(format!("`voxels` = {}: must be in 1..=1000", self.voxels));
        }
        if !(self.contact_area_fraction > 0.0 && self.contact_area_fraction <= 1.0) {
            return Err(format!(
                "`contact_area_fraction` = {}: must be in (0, 1]",
                self.contact_area_fraction
            ));
        }
        Ok(())
    }
}

/// Frequency sweep: logarithmically spaced, both ends included.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Sweep {
    pub f_min_hz: f64,
    pub f_max_hz: f64,
    pub points_per_decade: usize,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep {
            f_min_hz: 0.1,
            f_max_hz: 1e7,
            points_per_decade: 10,
        }
    }
}

impl Sweep {
    /// The frequencies, Hz, from f_max down to f_min (the order of the sweep: high frequencies
    /// first, where the iterative solver converges fastest, then warm starts towards DC).
    pub fn frequencies_hz(&self) -> Vec<f64> {
        log_frequencies(self.f_min_hz, self.f_max_hz, self.points_per_decade)
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("f_min_hz", self.f_min_hz), ("f_max_hz", self.f_max_hz)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "`{name}` = {v:e}: must be a finite frequency > 0 Hz"
                ));
            }
            if !(MIN_FREQUENCY_HZ..=MAX_FREQUENCY_HZ).contains(&v) {
                return Err(format!(
                    "`{name}` = {v:e} Hz: must be in {MIN_FREQUENCY_HZ:e} ..= {MAX_FREQUENCY_HZ:e} Hz"
                ));
            }
        }
        if self.f_max_hz <= self.f_min_hz {
            return Err(format!(
                "frequencies: need f_min_hz < f_max_hz, got {:e} and {:e}",
                self.f_min_hz, self.f_max_hz
            ));
        }
        if self.points_per_decade < 1 || self.points_per_decade > MAX_POINTS_PER_DECADE {
            return Err(format!(
                "`points_per_decade` = {}: must be in 1..={MAX_POINTS_PER_DECADE}",
                self.points_per_decade
            ));
        }
        let n = frequency_count(self.f_min_hz, self.f_max_hz, self.points_per_decade);
        if n > MAX_FREQUENCIES as f64 {
            return Err(format!(
                "the sweep {:e} Hz to {:e} Hz at {} points per decade has {:.0} frequencies, more than \
                 the limit of {MAX_FREQUENCIES}: narrow the range or lower `points_per_decade`",
                self.f_min_hz, self.f_max_hz, self.points_per_decade, n
            ));
        }
        Ok(())
    }

    /// Number of frequencies of the sweep (as a float: it is checked against
    /// [`MAX_FREQUENCIES`] before anything is allocated).
    pub fn count(&self) -> f64 {
        frequency_count(self.f_min_hz, self.f_max_hz, self.points_per_decade)
    }
}

/// Lowest frequency a sweep may reach, Hz.
pub const MIN_FREQUENCY_HZ: f64 = 1e-9;
/// Highest frequency a sweep may reach, Hz (beyond it the admittances leave the range of f64
/// arithmetic for some materials).
pub const MAX_FREQUENCY_HZ: f64 = 1e15;
/// Most frequencies a sweep may have.
pub const MAX_FREQUENCIES: usize = 100_000;
/// Most frequencies per decade.
pub const MAX_POINTS_PER_DECADE: usize = 1000;

/// Decades between `f_min` and `f_max`, computed without forming the (possibly overflowing)
/// ratio.
fn decades(f_min: f64, f_max: f64) -> f64 {
    f_max.log10() - f_min.log10()
}

/// Frequencies [`log_frequencies`] returns for these arguments (infinite or NaN for invalid
/// ones).
pub fn frequency_count(f_min: f64, f_max: f64, points_per_decade: usize) -> f64 {
    (decades(f_min, f_max) * points_per_decade as f64)
        .round()
        .max(1.0)
        + 1.0
}

/// `points_per_decade` log-spaced frequencies per decade from `f_max` down to `f_min`, both
/// ends included (the count is rounded to the nearest whole number of steps).
///
/// Panics on invalid arguments (non-finite or non-positive frequencies, f_min ≥ f_max, or more
/// than [`MAX_FREQUENCIES`] frequencies); [`Sweep::validate`] reports them as errors.
pub fn log_frequencies(f_min: f64, f_max: f64, points_per_decade: usize) -> Vec<f64> {
    let n = frequency_count(f_min, f_max, points_per_decade);
    assert!(
        f_min.is_finite() && f_min > 0.0 && f_max.is_finite() && f_max > f_min,
        "log_frequencies: need finite 0 < f_min < f_max, got {f_min} and {f_max}"
    );
    assert!(
        n <= MAX_FREQUENCIES as f64,
        "log_frequencies: {n} frequencies, more than {MAX_FREQUENCIES}"
    );
    let decades = decades(f_min, f_max);
    let steps = n as usize - 1;
    (0..=steps)
        .map(|k| {
            let t = k as f64 / steps as f64;
            10f64.powf(f_max.log10() - t * decades)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(f_min_hz: f64, f_max_hz: f64, points_per_decade: usize) -> Sweep {
        Sweep {
            f_min_hz,
            f_max_hz,
            points_per_decade,
        }
    }

    #[test]
    fn absurd_sweeps_are_refused_before_allocating_naming_the_limit() {
        // 600 decades at 1000 per decade: used to overflow the capacity of the frequency list.
        let e = sweep(1e-300, 1e300, 1000).validate().unwrap_err();
        assert!(e.contains("f_min_hz") && e.contains("1e-9"), "{e}");
        let e = sweep(1.0, 1e300, 10).validate().unwrap_err();
        assert!(e.contains("f_max_hz") && e.contains("1e15"), "{e}");
        // The count is computed without overflow and stays under the limit for every sweep
        // the range and points-per-decade limits allow.
        assert_eq!(frequency_count(1e-300, 1e300, 1000), 600_001.0);
        assert!(
            frequency_count(MIN_FREQUENCY_HZ, MAX_FREQUENCY_HZ, MAX_POINTS_PER_DECADE)
                <= MAX_FREQUENCIES as f64
        );
        let widest = sweep(MIN_FREQUENCY_HZ, MAX_FREQUENCY_HZ, MAX_POINTS_PER_DECADE);
        widest.validate().unwrap();
        assert_eq!(widest.frequencies_hz().len(), 24_001);
        for (a, b) in [
            (f64::NAN, 1e3),
            (1.0, f64::NAN),
            (1.0, f64::INFINITY),
            (0.0, 1.0),
            (-1.0, 1.0),
            (10.0, 10.0),
            (10.0, 1.0),
        ] {
            assert!(sweep(a, b, 10).validate().is_err(), "{a} {b} accepted");
        }
        assert!(sweep(0.1, 1e7, 0).validate().is_err());
        assert!(sweep(0.1, 1e7, 1001).validate().is_err());
        let ok = sweep(0.1, 1e7, 10);
        ok.validate().unwrap();
        assert_eq!(ok.frequencies_hz().len(), 81);
        assert_eq!(ok.count(), 81.0);
    }
}
