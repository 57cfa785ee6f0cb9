//! Model coefficients in SI, derived once from the configuration's physical parameters
//! (docs/models/phase-field.md §10). The derivation is printed at start by
//! [`Coefficients::describe`].

use crate::config::{Config, ControlMode, OverpotentialForm};
use crate::grid::Grid;
use crate::units::{um_to_m, FARADAY_C_MOL, GAS_CONSTANT_J_MOL_K};

#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    pub grid: Grid,
    /// nF/RT, 1/V.
    pub f_over_rt_per_v: f64,
    /// n·F, C/mol.
    pub nf_c_mol: f64,
    /// Interface half-width ℓ, m.
    pub ell_m: f64,
    /// Translation-invariant double well (config `model.double_well = "sharp"`).
    pub sharp_double_well: bool,
    /// Double-well height W1 = 6γ/ℓ, J/m³.
    pub w1_j_m3: f64,
    /// Gradient coefficient κ0 = 3γℓ, J/m.
    pub kappa0_j_m: f64,
    /// Cross term A, J/m³.
    pub a_cross_j_m3: f64,
    /// Scaffold obstacle B, J/m³ (config `model.scaffold_obstacle_over_w1` × W1).
    pub b_obstacle_j_m3: f64,
    /// Allen–Cahn mobility Lσ, m³/(J s).
    pub l_sigma_m3_js: f64,
    /// Reaction rate constant Lη = i0/(3ℓ nF c_s), 1/s.
    pub l_eta_per_s: f64,
    pub anisotropy_strength: f64,
    pub anisotropy_mode: u32,
    pub anisotropy_angle_rad: f64,
    pub alpha: f64,
    pub beta: f64,
    /// Li site density c_s, mol/m³.
    pub cs_mol_m3: f64,
    /// Mobile Li⁺ concentration c0, mol/m³.
    pub c0_mol_m3: f64,
    /// LLZO conductivity σ_p, S/m.
    pub sigma_p_s_m: f64,
    /// Metal conductivity used by the single- and two-potential forms (σ_e capped), S/m.
    pub sigma_e_s_m: f64,
    /// Electronic conductivity of the electrolyte σ_e,el (two-potential form), S/m.
    pub sigma_e_el_s_m: f64,
    /// The rectifying interphase (config `material.interphase`, docs/models/phase-field.md §9.9):
    /// its band holds the cells with ϕ_lo ≤ ϕ < ϕ_hi, ϕ_lo = ½[1 + tanh 3] and ϕ_hi = ½[1 + tanh 4]
    /// (3ℓ to 4ℓ into the electrolyte); both 0 without an interphase (no cell).
    pub interphase_phi_lo: f64,
    pub interphase_phi_hi: f64,
    /// The layer's electronic ASR under forward bias over the band's width ℓ, Ω·m.
    pub ip_forward_ohm_m: f64,
    /// The layer's electronic ASR under reverse bias over ℓ, Ω·m.
    pub ip_reverse_ohm_m: f64,
    /// σ_p × the layer's ionic ASR / ℓ (dimensionless): a band cell's ionic conductivity is
    /// σ_l/(1 + k σ_l/σ_p).
    pub ip_ionic_k: f64,
    /// Conductivity floor of pores (and of the metal in the consistent form), S/m; in the
    /// two-potential form the floor of both conductivities.
    pub sigma_floor_s_m: f64,
    /// Li⁺ diffusivity in LLZO, m²/s.
    pub d_p_m2_s: f64,
    /// Li⁺ diffusivity in the electrode, m²/s.
    pub d_e_m2_s: f64,
    pub e0_v: f64,
    pub exchange_current_density_a_m2: f64,
    pub overpotential: OverpotentialForm,
    pub control: ControlMode,
    /// Time integration of Nernst–Planck.
    pub nernst_planck: crate::config::NernstPlanck,
    /// The obstacle by backward Euler (`model.obstacle_step = "implicit"`).
    pub implicit_obstacle: bool,
    /// The gradient term semi-implicitly (`model.allen_cahn_gradient = "implicit"`, §4.1).
    pub implicit_gradient: bool,
    /// The electrolyte is a liquid that the Li displaces (`material.liquid_electrolyte`, §9.12):
    /// its fraction of a cell is min(ϕ, 1 − ξ), it takes no room from the Li (B = 0), and the Li
    /// conducts electrons wherever it is.
    pub liquid_electrolyte: bool,
    /// Conserved Langevin noise on ξ (`model.noise_amplitude_per_sqrt_s`, `model.noise_seed`;
    /// amplitude 0: none).
    pub noise_amplitude_per_sqrt_s: f64,
    pub noise_seed: u64,
    /// Target plating current per unit depth (galvanostatic), A/m (current density × width).
    pub target_current_a_m: f64,
    /// Collector potential under potentiostatic control, V.
    pub cell_voltage_v: f64,
    /// A cell voltage held by a potentiostatic protocol segment under galvanostatic control, V:
    /// the collector kernel takes V from here instead of solving for the target current (the
    /// two solves of the galvanostatic step still give φ = φ0 + V φ1). None: no hold.
    pub held_voltage_v: Option<f64>,
    /// Li creep (config `creep`, docs/models/phase-field.md §9.10); None without creep.
    pub creep: Option<CreepCoefficients>,
}

/// The creep flow of the metal in SI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreepCoefficients {
    /// Darcy mobility K of the metal, m²/(Pa·s).
    pub mobility_m2_pa_s: f64,
    /// Pressure of the metal at an open collector, Pa.
    pub stack_pressure_pa: f64,
    /// Metal crosses the bottom boundary (the anode thickens or thins).
    pub open_collector: bool,
    /// Free-surface penalty γ (dimensionless).
    pub penalty: f64,
    /// Flow width w of the creep law's Darcy mobility, m.
    pub flow_width_m: f64,
}

impl CreepCoefficients {
    /// Creep velocity under the stack pressure across one flow width, K σ_s / w, m/s.
    pub fn velocity_scale_m_s(&self) -> f64 {
        self.mobility_m2_pa_s * self.stack_pressure_pa / self.flow_width_m
    }
}

impl Coefficients {
    pub fn from_config(c: &Config) -> Coefficients {
        let dx_m = um_to_m(c.domain.grid_spacing_um);
        let grid = Grid::new_3d(c.nx(), c.ny(), c.nz(), dx_m);
        let m = &c.material;
        let md = &c.model;
        let nf = m.charge_number * FARADAY_C_MOL;
        #[cfg(feature = "mutants")]
        let nf = nf * crate::mutants::factor("faraday", 1.01);
        let f_over_rt = nf / (GAS_CONSTANT_J_MOL_K * m.temperature_k);
        let ell = md
            .interface_half_width_um
            .map(um_to_m)
            .unwrap_or(2.0 * dx_m);
        let gamma = m.surface_energy_j_m2;
        let w1 = 6.0 * gamma / ell;
        let kappa0 = 3.0 * gamma * ell;
        let l_sigma = md.allen_cahn_rate_per_s / w1;
        let cs = m.li_site_density_mol_m3;
        let l_eta = m.exchange_current_density_a_m2 / (3.0 * ell * nf * cs);
        // The electrolyte phase: the LLZO, or a liquid in its place (§9.12).
        let liquid = m.liquid_electrolyte.as_ref();
        let sigma_p = liquid.map_or(m.llzo_conductivity_s_m, |l| l.conductivity_s_m);
        let c0 = liquid.map_or(m.li_ion_concentration_mol_m3, |l| {
            l.li_ion_concentration_mol_m3
        });
        // Nernst–Einstein: σ = n²F²c0 D/(RT)  ⇒  D = σ RT/(n²F²c0) = σ/(nF c0 · nF/RT).
        let d_p = liquid
            .map_or(m.llzo_diffusivity_m2_s, |l| l.diffusivity_m2_s)
            .unwrap_or(sigma_p / (nf * c0 * f_over_rt));
        // A liquid takes no room from the Li: no obstacle.
        let b_obstacle = if liquid.is_some() {
            0.0
        } else {
            md.scaffold_obstacle_over_w1 * w1
        };
        let coeffs = Coefficients {
            grid,
            f_over_rt_per_v: f_over_rt,
            nf_c_mol: nf,
            ell_m: ell,
            sharp_double_well: md.double_well == crate::config::DoubleWell::Sharp,
            w1_j_m3: w1,
            kappa0_j_m: kappa0,
            a_cross_j_m3: md.cross_term_over_w1 * w1,
            b_obstacle_j_m3: b_obstacle,
            l_sigma_m3_js: l_sigma,
            l_eta_per_s: l_eta,
            anisotropy_strength: md.anisotropy_strength,
            anisotropy_mode: md.anisotropy_mode,
            anisotropy_angle_rad: md.anisotropy_angle_deg.to_radians(),
            alpha: m.transfer_coefficient_anodic,
            beta: m.transfer_coefficient_cathodic,
            cs_mol_m3: cs,
            c0_mol_m3: c0,
            sigma_p_s_m: sigma_p,
            sigma_e_s_m: m
                .li_conductivity_s_m
                .min(md.metal_conductivity_cap * sigma_p),
            sigma_e_el_s_m: m.electrolyte_electronic_conductivity_s_m,
            interphase_phi_lo: m
                .interphase
                .as_ref()
                .map_or(0.0, |_| 0.5 * (1.0 + 3f64.tanh())),
            interphase_phi_hi: m
                .interphase
                .as_ref()
                .map_or(0.0, |_| 0.5 * (1.0 + 4f64.tanh())),
            ip_forward_ohm_m: m
                .interphase
                .as_ref()
                .map_or(0.0, |ip| ip.forward_electronic_asr_ohm_m2 / ell),
            ip_reverse_ohm_m: m
                .interphase
                .as_ref()
                .map_or(0.0, |ip| ip.reverse_electronic_asr_ohm_m2 / ell),
            ip_ionic_k: m
                .interphase
                .as_ref()
                .map_or(0.0, |ip| sigma_p * ip.ionic_asr_ohm_m2 / ell),
            sigma_floor_s_m: md.pore_conductivity_floor * sigma_p,
            d_p_m2_s: d_p,
            d_e_m2_s: m.electrode_diffusivity_m2_s,
            e0_v: m.equilibrium_potential_v,
            exchange_current_density_a_m2: m.exchange_current_density_a_m2,
            overpotential: md.overpotential,
            control: c.control.mode,
            nernst_planck: md.nernst_planck,
            implicit_obstacle: md.obstacle_step == crate::config::ObstacleStep::Implicit,
            implicit_gradient: md.allen_cahn_gradient == crate::config::AllenCahnGradient::Implicit,
            liquid_electrolyte: liquid.is_some(),
            noise_amplitude_per_sqrt_s: md.noise_amplitude_per_sqrt_s,
            noise_seed: md.noise_seed,
            target_current_a_m: c.control.current_density_at(0.0) * grid.collector_m(),
            cell_voltage_v: c.control.cell_voltage_v,
            held_voltage_v: None,
            creep: c.creep.enabled.then(|| CreepCoefficients {
                mobility_m2_pa_s: c.creep.mobility(&c.geometry),
                stack_pressure_pa: crate::units::mpa_to_pa(c.creep.stack_pressure_mpa),
                open_collector: c.creep.collector == crate::config::CreepCollector::Open,
                penalty: c.creep.free_surface_penalty,
                flow_width_m: c.creep.flow_width_m(&c.geometry),
            }),
        };
        #[cfg(feature = "mutants")]
        let coeffs = crate::mutants::coefficients(coeffs);
        coeffs
    }

    /// The dimensionless ratio of the creep velocity under the stack pressure (across one flow
    /// width) to the plating velocity |i|/(nF c_s) at the configured current; 0 without creep,
    /// infinite at zero current. Above 1 the metal flows away faster than it is deposited.
    pub fn creep_to_plating_ratio(&self) -> f64 {
        let Some(cr) = &self.creep else {
            return 0.0;
        };
        let i = self.target_current_a_m.abs() / self.grid.collector_m();
        cr.velocity_scale_m_s() / (i / (self.nf_c_mol * self.cs_mol_m3))
    }

    /// Largest Li⁺ diffusivity anywhere, m²/s (the interphase only lowers it).
    pub fn d_max_m2_s(&self) -> f64 {
        self.d_p_m2_s.max(self.d_e_m2_s)
    }

    /// Effective gradient stiffness of the anisotropic operator, κ0(1 + δ(ω²−1)) (the
    /// Kobayashi operator's largest stiffness in the direction normal to the interface).
    pub fn kappa_stiff_j_m(&self) -> f64 {
        let w = self.anisotropy_mode as f64;
        self.kappa0_j_m * (1.0 + self.anisotropy_strength * (w * w - 1.0).max(0.0))
    }

    /// Explicit stability limit of the Allen–Cahn update without the obstacle B, s; with it, see
    /// [`Coefficients::dt_step_limit_s`] and [`Coefficients::dt_obstacle_explicit_s`].
    pub fn dt_allen_cahn_s(&self) -> f64 {
        self.dt_explicit_s(0.0, true)
    }

    /// The explicit limit with the obstacle stiffness `b` (B or 0) in the local term, s; without
    /// the gradient term's Δx² part when `gradient` is false (it is then implicit).
    fn dt_explicit_s(&self, b: f64, gradient: bool) -> f64 {
        let dx2 = self.grid.dx_m * self.grid.dx_m;
        // 2·dims face pairs: 4 in a section, 6 in a volume.
        let faces = 2.0 * self.grid.dimensions() as f64;
        let diffusive = if gradient {
            dx2 / (faces * self.l_sigma_m3_js * self.kappa_stiff_j_m())
        } else {
            f64::INFINITY
        };
        // Local stiffness: f'' ≤ 2W1·s + 2A + 2B, s = max |d/dξ| of the double well's slope
        // over 2W1 (1 for the polynomial, slightly above 1 for the sharp form).
        let s = self.double_well_stiffness();
        let local = 2.0
            / (self.l_sigma_m3_js * (2.0 * self.w1_j_m3 * s + 2.0 * self.a_cross_j_m3 + 2.0 * b));
        // Both act together: 1/dt ≤ 1/dt_diff + 1/dt_local.
        1.0 / (1.0 / diffusive + 1.0 / local)
    }

    /// The stability limit of the ξ update as the backends run it, s (before the safety factor):
    /// the Allen–Cahn limit, with the explicit obstacle (the default) its 2B in the local
    /// stiffness.
    pub fn dt_step_limit_s(&self) -> f64 {
        self.dt_update_limit_s(!self.implicit_gradient)
    }

    /// The limit of the ξ update with the gradient term explicit (`gradient`) or implicit, s:
    /// the equilibration before t = 0 integrates it explicitly whatever the run does.
    pub fn dt_update_limit_s(&self, gradient: bool) -> f64 {
        let b = if self.implicit_obstacle {
            0.0
        } else {
            self.b_obstacle_j_m3
        };
        self.dt_explicit_s(b, gradient)
    }

    /// λ of the material laws (`cpu::interp::electrolyte_fraction`, `metal_room`): 1 with a
    /// liquid electrolyte, 0 with the solid.
    pub fn liquid(&self) -> f64 {
        if self.liquid_electrolyte {
            1.0
        } else {
            0.0
        }
    }

    /// c in the noise's room s = (1 − cϕ − ξ)₊ (§9.11): 1 where the scaffold obstacle keeps Li
    /// out of the scaffold, 0 with the obstacle off (ϕ then takes no room).
    pub fn noise_room_phi(&self) -> f64 {
        if self.b_obstacle_j_m3 > 0.0 {
            1.0
        } else {
            0.0
        }
    }

    /// The step at which a forward-Euler obstacle term alone would oscillate, 2/(2LσB), s: the
    /// limit the implicit obstacle removes (0.9 s at the defaults with ℓ = 0.5 µm).
    pub fn dt_obstacle_explicit_s(&self) -> f64 {
        1.0 / (self.l_sigma_m3_js * self.b_obstacle_j_m3)
    }

    /// max over ξ ∈ [0, 1] of |d²f/dξ²| of the Li double well in units of 2W1.
    pub fn double_well_stiffness(&self) -> f64 {
        if !self.sharp_double_well {
            return 1.0;
        }
        let a = 2.0 * self.grid.dx_m / self.ell_m;
        let (ea, eb) = (a.exp(), (-a).exp());
        let lam = |p: f64| crate::cpu::xi_rate::sharp_lambda(p, ea, eb) / (a * a);
        (1..1000)
            .map(|k| {
                let p = k as f64 * 1e-3;
                ((lam(p + 1e-6) - lam(p - 1e-6)) / 2e-6).abs()
            })
            .fold(1.0, f64::max)
    }

    /// Explicit stability limit of the Nernst–Planck diffusion, s.
    pub fn dt_diffusion_s(&self) -> f64 {
        let dx2 = self.grid.dx_m * self.grid.dx_m;
        dx2 / (2.0 * self.grid.dimensions() as f64 * self.d_max_m2_s())
    }

    /// Human-readable derivation of every coefficient, printed at start and by `lipf check`.
    pub fn describe(&self) -> String {
        let g = &self.grid;
        let mut s = String::new();
        let mut line = |name: &str, value: f64, unit: &str, how: &str| {
            s.push_str(&format!("  {name:<28} {value:>12.5e} {unit:<12} {how}\n"));
        };
        line(
            "grid spacing Δx",
            g.dx_m,
            "m",
            &if g.is_3d() {
                format!("{} × {} × {} cells", g.nx, g.ny, g.nz)
            } else {
                format!("{} × {} cells", g.nx, g.ny)
            },
        );
        line("nF/RT", self.f_over_rt_per_v, "1/V", "");
        line(
            "interface half-width ℓ",
            self.ell_m,
            "m",
            "configured, or 2Δx",
        );
        line("double well W1", self.w1_j_m3, "J/m³", "6γ/ℓ");
        line("gradient coefficient κ0", self.kappa0_j_m, "J/m", "3γℓ");
        line(
            "cross term A",
            self.a_cross_j_m3,
            "J/m³",
            "cross_term_over_w1 · W1",
        );
        line(
            "Allen–Cahn mobility Lσ",
            self.l_sigma_m3_js,
            "m³/(J s)",
            "allen_cahn_rate / W1",
        );
        line(
            "reaction constant Lη",
            self.l_eta_per_s,
            "1/s",
            "i0 / (3ℓ nF c_s)",
        );
        if self.liquid_electrolyte {
            line(
                "liquid conductivity σ_l",
                self.sigma_p_s_m,
                "S/m",
                "material.liquid_electrolyte",
            );
            line(
                "liquid diffusivity D_l",
                self.d_p_m2_s,
                "m²/s",
                "configured, or Nernst–Einstein σ_l RT/(n²F²c0)",
            );
            let d_ne = self.sigma_p_s_m / (self.nf_c_mol * self.c0_mol_m3 * self.f_over_rt_per_v);
            line(
                "Li⁺ transference t₊",
                self.d_p_m2_s / d_ne,
                "",
                "D_l / D_NE: the share of the current migration carries",
            );
        } else {
            line("LLZO conductivity σ_p", self.sigma_p_s_m, "S/m", "");
            line(
                "LLZO diffusivity D_p",
                self.d_p_m2_s,
                "m²/s",
                "configured, or Nernst–Einstein σ_p RT/(n²F²c0)",
            );
        }
        line("electrode diffusivity D_e", self.d_e_m2_s, "m²/s", "");
        line(
            "metal conductivity (used)",
            self.sigma_e_s_m,
            "S/m",
            "min(σ_e, cap·σ_p); single- and two-potential forms",
        );
        line(
            "electrolyte electronic σ_e,el",
            self.sigma_e_el_s_m,
            "S/m",
            "two-potential form",
        );
        if self.interphase_phi_hi > 0.0 {
            line(
                "interphase band: ϕ from",
                self.interphase_phi_lo,
                "",
                "½[1 + tanh 3] (3ℓ into the electrolyte)",
            );
            line(
                "interphase band: ϕ below",
                self.interphase_phi_hi,
                "",
                "½[1 + tanh 4] (4ℓ)",
            );
            line(
                "interphase ASR/ℓ, forward",
                self.ip_forward_ohm_m,
                "Ω·m",
                "electrons leave the electrolyte",
            );
            line(
                "interphase ASR/ℓ, reverse",
                self.ip_reverse_ohm_m,
                "Ω·m",
                "electrons enter the electrolyte (plating)",
            );
            line("interphase ionic σ_p ASR/ℓ", self.ip_ionic_k, "", "");
        }
        if let Some(cr) = &self.creep {
            line(
                "creep: Darcy mobility K",
                cr.mobility_m2_pa_s,
                "m²/(Pa s)",
                "w² ε̇(σ_s)/(4σ_s), or configured",
            );
            line("creep: stack pressure σ_s", cr.stack_pressure_pa, "Pa", "");
            line(
                "creep: velocity K σ_s / w",
                cr.velocity_scale_m_s(),
                "m/s",
                "flow across one flow width w",
            );
            line(
                "creep / plating rate",
                self.creep_to_plating_ratio(),
                "",
                "K σ_s/w over |i|/(nF c_s) at the configured current",
            );
        }
        line(
            "pore conductivity floor",
            self.sigma_floor_s_m,
            "S/m",
            "floor · σ_p",
        );
        line(
            "exchange current i0",
            self.exchange_current_density_a_m2,
            "A/m²",
            "",
        );
        line(
            "dt limit Allen–Cahn",
            self.dt_allen_cahn_s(),
            "s",
            "explicit, incl. anisotropy and double well (the obstacle apart)",
        );
        line(
            "dt limit of the ξ update",
            self.dt_step_limit_s(),
            "s",
            match (self.implicit_obstacle, self.implicit_gradient) {
                (true, false) => "Allen–Cahn (obstacle by backward Euler)",
                (false, false) => "Allen–Cahn and the explicit obstacle's 1/(LσB) together",
                (true, true) => {
                    "the double well alone (gradient semi-implicit, obstacle by backward Euler)"
                }
                (false, true) => {
                    "the double well and the explicit obstacle's 1/(LσB) (gradient semi-implicit)"
                }
            },
        );
        line(
            "dt limit diffusion",
            self.dt_diffusion_s(),
            "s",
            if g.is_3d() {
                "Δx²/(6 D_max)"
            } else {
                "Δx²/(4 D_max)"
            },
        );
        s
    }
}
