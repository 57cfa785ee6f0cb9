//! Voxel microstructures: which phase every voxel is in, where grain boundaries lie, and how the
//! working electrode touches the bottom face.
//!
//! Voxels are stored x fastest, then y, then z: index = (k·ny + j)·nx + i. The working electrode
//! (WE) is the plane below layer k = 0, the counter electrode (CE) the plane above layer
//! k = nz − 1; the four lateral faces are insulating. A 2-D section (a phase-field snapshot) is a
//! structure one voxel thick: its rows become the z layers (row 0, the current collector, is next
//! to the WE) and ny = 1.

use crate::params::{MaterialsSi, ModelStructure};
use lipf_core::units::um_to_m;
use serde::Serialize;

/// What a voxel is made of, electrically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Empty space: a plate capacitor (permittivity only).
    Pore,
    /// Ion-conducting solid electrolyte: R ∥ C per half voxel; charge transfer towards metal.
    Electrolyte,
    /// Electrode metal (Li): resistance-free (equipotential) or ohmic.
    Metal,
}

/// One entry of a structure's phase table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phase {
    pub kind: PhaseKind,
    /// Conductivity, S/m (metal: `f64::INFINITY` = resistance-free; pore: ignored).
    pub sigma_s_m: f64,
    /// Permittivity, F/m (metal: ignored).
    pub eps_f_m: f64,
}

/// Standard phase codes of voxel files and snapshots.
pub const CODE_PORE: u8 = 0;
pub const CODE_ELECTROLYTE: u8 = 1;
pub const CODE_METAL: u8 = 2;

/// A voxel microstructure.
#[derive(Debug, Clone)]
pub struct Structure {
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
    /// Voxel edge, m.
    pub voxel_m: f64,
    /// Phase table; `voxels` holds indices into it.
    pub phases: Vec<Phase>,
    pub voxels: Vec<u8>,
    /// Optional grain id per voxel: a bond between two electrolyte voxels of different grains
    /// carries one grain-boundary layer.
    pub grains: Option<Vec<u32>>,
    /// Number of planar grain-boundary layers on the interface between layers k and k + 1
    /// (length nz − 1).
    pub gb_layers_z: Vec<u32>,
    /// Per bottom face (i, j): a sub-voxel pore gap separates the WE from the voxel (the gap is
    /// a capacitor C̃_pore·A instead of a contact). Length nx·ny.
    pub we_gap: Vec<bool>,
}

/// Counts of voxels per phase kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PhaseCounts {
    pub pore: usize,
    pub electrolyte: usize,
    pub metal: usize,
}

/// Checks that every value of a (rows, `nx`) row-major field is finite; the error names the
/// field and the first offending cell (row, column) with its value.
pub fn check_finite_field(name: &str, nx: usize, values: &[f32]) -> Result<(), String> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => {
            let bad = values.iter().filter(|v| !v.is_finite()).count();
            Err(format!(
                "{name}: cell {p} (row {}, column {}) is {}, not a finite number ({bad} of {} \
                 cells are non-finite)",
                p / nx.max(1),
                p % nx.max(1),
                values[p],
                values.len()
            ))
        }
    }
}

/// Phase codes from voxel values of any numeric type: every value must be exactly one of the
/// codes 0 (pore), 1 (electrolyte), 2 (metal). Fractional values (volume fractions, phase-field
/// values) have no meaning here and are refused, naming the first offending voxel (flat index
/// and x, y, z for an nx × ny × nz structure) and its value.
pub fn codes_from_values(values: &[f64], nx: usize, ny: usize) -> Result<Vec<u8>, String> {
    let mut codes = Vec::with_capacity(values.len());
    for (v, &x) in values.iter().enumerate() {
        let c = if x == 0.0 {
            CODE_PORE
        } else if x == 1.0 {
            CODE_ELECTROLYTE
        } else if x == 2.0 {
            CODE_METAL
        } else {
            let (nx, ny) = (nx.max(1), ny.max(1));
            let (i, j, k) = (v % nx, (v / nx) % ny, v / (nx * ny));
            return Err(format!(
                "voxel {v} (x {i}, y {j}, z {k}) has value {x}: voxel values must be the phase \
                 codes 0 (pore), 1 (electrolyte) or 2 (metal); fractional or other values are \
                 not accepted (threshold or label the data first)"
            ));
        };
        codes.push(c);
    }
    Ok(codes)
}

impl Structure {
    /// The standard phase table (codes 0 pore, 1 electrolyte, 2 metal) for `m`.
    pub fn standard_phases(m: &MaterialsSi) -> Vec<Phase> {
        vec![
            Phase {
                kind: PhaseKind::Pore,
                sigma_s_m: 0.0,
                eps_f_m: m.eps_pore,
            },
            Phase {
                kind: PhaseKind::Electrolyte,
                sigma_s_m: m.sigma_bulk,
                eps_f_m: m.eps_bulk,
            },
            Phase {
                kind: PhaseKind::Metal,
                sigma_s_m: m.sigma_metal.unwrap_or(f64::INFINITY),
                eps_f_m: 0.0,
            },
        ]
    }

    /// A structure of standard phase codes without grain boundaries or pore gaps.
    pub fn from_codes(
        nx: usize,
        ny: usize,
        nz: usize,
        voxel_m: f64,
        codes: Vec<u8>,
        m: &MaterialsSi,
    ) -> Result<Structure, String> {
        if nx == 0 || ny == 0 || nz == 0 {
            return Err(format!("empty structure {nx} × {ny} × {nz}"));
        }
        let n = nx.checked_mul(ny).and_then(|v| v.checked_mul(nz));
        if n != Some(codes.len()) {
            return Err(format!(
                "{} voxel codes for a {nx} × {ny} × {nz} structure",
                codes.len()
            ));
        }
        if let Some(v) = codes.iter().position(|&c| c > CODE_METAL) {
            let (i, j, k) = (v % nx, (v / nx) % ny, v / (nx * ny));
            return Err(format!(
                "voxel {v} (x {i}, y {j}, z {k}) has code {}: not one of 0 (pore), 1 (electrolyte), 2 (metal)",
                codes[v]
            ));
        }
        if !(voxel_m.is_finite() && voxel_m > 0.0) {
            return Err(format!("voxel size {voxel_m} m must be > 0"));
        }
        Ok(Structure {
            nx,
            ny,
            nz,
            voxel_m,
            phases: Structure::standard_phases(m),
            voxels: codes,
            grains: None,
            gb_layers_z: vec![0; nz.saturating_sub(1)],
            we_gap: vec![false; nx * ny],
        })
    }

    /// A dense electrolyte block between the two electrodes (ideal contacts unless the
    /// materials say otherwise).
    pub fn dense(nx: usize, ny: usize, nz: usize, voxel_m: f64, m: &MaterialsSi) -> Structure {
        Structure::from_codes(nx, ny, nz, voxel_m, vec![CODE_ELECTROLYTE; nx * ny * nz], m)
            .expect("valid dense structure")
    }

    /// A 2-D phase-field section, (ny, nx) row-major with row 0 at the current collector: Li
    /// where ξ > ½, otherwise LLZO where ϕ > ½, otherwise pore. One voxel thick.
    pub fn from_phase_field(
        nx: usize,
        ny: usize,
        dx_m: f64,
        xi: &[f32],
        phi: &[f32],
        m: &MaterialsSi,
    ) -> Result<Structure, String> {
        Structure::from_phase_field_volume(nx, ny, 1, dx_m, xi, phi, m)
    }

    /// Phase-field fields on an nx × ny × nz grid (index (k·ny + j)·nx + i, y the growth
    /// direction with row 0 at the current collector; nz = 1 is a section), with the same
    /// phase rule as [`Structure::from_phase_field`]. The phase-field y becomes the network's z
    /// (working electrode at the collector) and its z the network's y.
    pub fn from_phase_field_volume(
        nx: usize,
        ny: usize,
        nz: usize,
        dx_m: f64,
        xi: &[f32],
        phi: &[f32],
        m: &MaterialsSi,
    ) -> Result<Structure, String> {
        let cells = nx.checked_mul(ny).and_then(|c| c.checked_mul(nz));
        if cells != Some(xi.len()) || cells != Some(phi.len()) {
            return Err(format!(
                "fields of {} and {} values for a grid of {nz} × {ny} × {nx}",
                xi.len(),
                phi.len()
            ));
        }
        check_finite_field("xi", nx, xi)?;
        check_finite_field("phi", nx, phi)?;
        let code = |x: f32, p: f32| {
            if x > 0.5 {
                CODE_METAL
            } else if p > 0.5 {
                CODE_ELECTROLYTE
            } else {
                CODE_PORE
            }
        };
        let mut codes = vec![CODE_PORE; xi.len()];
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let from = (k * ny + j) * nx + i;
                    codes[(j * nz + k) * nx + i] = code(xi[from], phi[from]);
                }
            }
        }
        Structure::from_codes(nx, nz, ny, dx_m, codes, m)
    }

    /// The seed's model structure. The contact is the centred square of side
    /// round(√A_contact · n) voxels (the fraction as built is [`Structure::contact_fraction`]);
    /// grain boundary p = 1 … N − 1 of the stack sits at z = p·L_z/N and is placed on the voxel
    /// interface nearest to it (several may share one interface; their thicknesses add).
    pub fn model_structure(s: &ModelStructure, m: &MaterialsSi) -> Structure {
        let n = s.voxels;
        let mut st = Structure::dense(n, n, n, um_to_m(s.edge_um) / n as f64, m);
        let side = ((s.contact_area_fraction.sqrt() * n as f64).round() as usize).clamp(1, n);
        let off = (n - side) / 2;
        for j in 0..n {
            for i in 0..n {
                let inside = (off..off + side).contains(&i) && (off..off + side).contains(&j);
                st.we_gap[j * n + i] = !inside;
            }
        }
        if n >= 2 {
            for p in 1..s.grain_layers.max(1) {
                let z = p as f64 * n as f64 / s.grain_layers as f64;
                let k = (z.round() as usize).clamp(1, n - 1);
                st.gb_layers_z[k - 1] += 1;
            }
        }
        st
    }

    pub fn len(&self) -> usize {
        self.nx * self.ny * self.nz
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn idx(&self, i: usize, j: usize, k: usize) -> usize {
        (k * self.ny + j) * self.nx + i
    }

    pub fn phase_of(&self, v: usize) -> Phase {
        self.phases[self.voxels[v] as usize]
    }

    pub fn counts(&self) -> PhaseCounts {
        let mut c = PhaseCounts::default();
        for v in 0..self.len() {
            match self.phase_of(v).kind {
                PhaseKind::Pore => c.pore += 1,
                PhaseKind::Electrolyte => c.electrolyte += 1,
                PhaseKind::Metal => c.metal += 1,
            }
        }
        c
    }

    /// Fraction of the bottom face in contact with the WE (not behind a pore gap).
    pub fn contact_fraction(&self) -> f64 {
        let n = self.we_gap.iter().filter(|&&g| !g).count();
        n as f64 / self.we_gap.len() as f64
    }

    /// Total number of grain-boundary layers crossed going from the WE to the CE.
    pub fn gb_layers_total(&self) -> u32 {
        self.gb_layers_z.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Materials;

    #[test]
    fn fractional_voxel_values_are_refused_naming_the_first_voxel_and_value() {
        let ok = codes_from_values(&[0.0, 1.0, 2.0, 1.0], 2, 2).unwrap();
        assert_eq!(ok, vec![0, 1, 2, 1]);
        let e = codes_from_values(&[1.0, 1.0, 1.0, 0.5, 0.25], 2, 2).unwrap_err();
        assert!(
            e.contains("voxel 3") && e.contains("x 1, y 1, z 0") && e.contains("0.5"),
            "{e}"
        );
        for bad in [-1.0, 3.0, f64::NAN, f64::INFINITY, 1.0 + 1e-12] {
            assert!(codes_from_values(&[bad], 1, 1).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn out_of_range_codes_name_the_voxel() {
        let m = Materials::default().si();
        let e = Structure::from_codes(2, 2, 2, 1e-6, vec![1, 1, 1, 1, 1, 7, 1, 1], &m).unwrap_err();
        assert!(
            e.contains("voxel 5") && e.contains("x 1, y 0, z 1") && e.contains("code 7"),
            "{e}"
        );
        let e = Structure::from_codes(usize::MAX, 2, 2, 1e-6, vec![1], &m).unwrap_err();
        assert!(e.contains("voxel codes"), "{e}");
    }

    #[test]
    fn non_finite_phase_field_values_are_refused_naming_field_and_cell() {
        let m = Materials::default().si();
        let (nx, ny) = (3, 2);
        let phi = vec![1.0f32; 6];
        let xi = vec![f32::NAN; 6];
        let e = Structure::from_phase_field(nx, ny, 1e-6, &xi, &phi, &m).unwrap_err();
        assert!(
            e.contains("xi") && e.contains("cell 0") && e.contains("NaN"),
            "{e}"
        );
        let mut xi = vec![0.0f32; 6];
        xi[4] = f32::INFINITY;
        let e = Structure::from_phase_field(nx, ny, 1e-6, &xi, &phi, &m).unwrap_err();
        assert!(e.contains("row 1, column 1") && e.contains("inf"), "{e}");
        let mut phi2 = phi.clone();
        phi2[2] = f32::NEG_INFINITY;
        let e = Structure::from_phase_field(nx, ny, 1e-6, &[0.0; 6], &phi2, &m).unwrap_err();
        assert!(e.contains("phi") && e.contains("row 0, column 2"), "{e}");
    }
}
