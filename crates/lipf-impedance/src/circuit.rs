//! Series circuits R₀ + Σ_k (R_k ∥ C_k) and the seed's 1-D physical model.

use crate::params::MaterialsSi;
use crate::structure::Structure;
use num_complex::Complex64 as C64;
use serde::Serialize;

/// One RC element (R ∥ C).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RcElement {
    pub name: &'static str,
    /// Ω
    pub r_ohm: f64,
    /// F
    pub c_f: f64,
}

impl RcElement {
    pub fn tau_s(&self) -> f64 {
        self.r_ohm * self.c_f
    }
    /// Characteristic (apex) frequency 1/(2πRC), Hz.
    pub fn f_c_hz(&self) -> f64 {
        1.0 / (2.0 * std::f64::consts::PI * self.tau_s())
    }
    pub fn impedance(&self, omega: f64) -> C64 {
        if self.r_ohm == 0.0 {
            return C64::new(0.0, 0.0);
        }
        C64::new(self.r_ohm, 0.0) / C64::new(1.0, omega * self.tau_s())
    }
}

/// R₀ in series with RC elements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesCircuit {
    pub r0_ohm: f64,
    pub elements: Vec<RcElement>,
}

impl SeriesCircuit {
    pub fn impedance(&self, omega: f64) -> C64 {
        self.elements
            .iter()
            .map(|e| e.impedance(omega))
            .fold(C64::new(self.r0_ohm, 0.0), |a, b| a + b)
    }

    pub fn spectrum(&self, f_hz: &[f64]) -> Vec<C64> {
        f_hz.iter()
            .map(|f| self.impedance(2.0 * std::f64::consts::PI * f))
            .collect()
    }

    /// DC resistance R₀ + Σ R_k.
    pub fn dc_resistance(&self) -> f64 {
        self.r0_ohm + self.elements.iter().map(|e| e.r_ohm).sum::<f64>()
    }
}

/// The 1-D physical model (1D-PM) of a structure with a planar porous WE interface
/// (docs/models/impedance.md, "The 1-D physical model"):
///
/// * electrode: R_Elec = 0 (resistance-free metal, C_Elec = 0);
/// * bulk: R = L/(σ_bulk·A_SE), C = ε_bulk·A_SE/L;
/// * grain boundaries: R = n_GB·δ_GB/(σ_GB·A_SE), C = ε_GB·A_SE/(n_GB·δ_GB);
/// * interface (eqs 1–2): R_int = R_CT = R_pol/A_contact,
///   C_int = C_CT + C_Pore = C_DL·A_contact + C̃_pore·(A_SE − A_contact);
/// * counter electrode: R_pol/A_SE ∥ C_DL·A_SE when it has charge transfer.
///
/// L is the electrolyte thickness n_z·d, A_SE = n_x·n_y·d², A_contact the contact area as built
/// and n_GB the number of grain-boundary layers the structure has.
pub fn one_d_physical_model(s: &Structure, m: &MaterialsSi) -> SeriesCircuit {
    let d = s.voxel_m;
    let l = s.nz as f64 * d;
    let a_se = (s.nx * s.ny) as f64 * d * d;
    let a_contact = s.contact_fraction() * a_se;
    let mut elements = vec![RcElement {
        name: "bulk",
        r_ohm: l / (m.sigma_bulk * a_se),
        c_f: m.eps_bulk * a_se / l,
    }];
    let t_gb = s.gb_layers_total() as f64 * m.gb_thickness;
    if t_gb > 0.0 {
        elements.push(RcElement {
            name: "grain boundaries",
            r_ohm: t_gb / (m.sigma_gb * a_se),
            c_f: m.eps_gb * a_se / t_gb,
        });
    }
    let r_int = if a_contact > 0.0 {
        m.r_pol / a_contact
    } else {
        f64::INFINITY
    };
    elements.push(RcElement {
        name: "interface",
        r_ohm: r_int,
        c_f: m.c_dl * a_contact + m.c_pore_gap * (a_se - a_contact),
    });
    if m.ce_charge_transfer && m.r_pol > 0.0 {
        elements.push(RcElement {
            name: "counter electrode",
            r_ohm: m.r_pol / a_se,
            c_f: m.c_dl * a_se,
        });
    }
    SeriesCircuit {
        r0_ohm: 0.0,
        elements,
    }
}
