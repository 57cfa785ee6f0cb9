//! The run configuration: JSON with physical units in every field name.
//!
//! Every field has a default (the paper's 1.5 µm channel case at 0.25 µm spacing), unknown
//! fields are rejected with their path, and [`Config::validate`] rejects impossible values with
//! the allowed range. `docs/configuration.md` documents every field; keep the two in step.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What can go wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration error at `{path}`: {message}")]
    Parse { path: String, message: String },
    #[error("invalid value for `{path}` = {value}: {allowed}")]
    Invalid {
        path: String,
        value: String,
        allowed: String,
    },
}

/// The whole configuration of one run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Name of the run; the default output folder is `runs/<name>`.
    pub name: String,
    pub domain: Domain,
    pub geometry: Geometry,
    pub material: Material,
    pub model: Model,
    pub control: Control,
    pub time: Time,
    pub noise: Noise,
    pub output: Output,
    pub solver: Solver,
    pub limits: Limits,
    /// Li creep under stack pressure (docs/models/phase-field.md §9.10).
    pub creep: Creep,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Domain {
    /// Width of the simulated section (periodic direction), µm.
    pub width_um: f64,
    /// Height from the current collector to the top (counter-electrode side) boundary, µm.
    pub height_um: f64,
    /// Grid spacing, µm (square cells).
    pub grid_spacing_um: f64,
    /// Depth along z, the second periodic direction, µm; null (the default): a 2D section.
    /// A 3D domain (`lipf geometry` builds and measures its scaffold; phase-field runs are 2D).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_um: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GeometryKind {
    /// Li foil, straight channel array in LLZO, Li impregnated into the channels, dense cap.
    Channels,
    /// Flat Li layer under dense LLZO (the scaffold is absent): the flat-cell check.
    Flat,
    /// Random porous scaffold: pores are the union of overlapping disks of diameter
    /// `pore_size_um` in the LLZO matrix, added (seeded) until the porosity reaches `porosity`.
    RandomPores,
    /// Scaffold read from a segmented PNG (`image_path`), stretched over the scaffold region.
    Image,
    /// Straight cylindrical pores along y of diameter `pore_size_um`, on a square or hexagonal
    /// lattice (`lattice`) in the x–z plane with the spacing that gives `porosity` (seed 000's
    /// geometric model). A 2D section (nz = 1) cuts the lattice at z = Δx/2.
    Cylinders,
    /// Random porous scaffold in 3D: pores are the union of overlapping spheres of diameter
    /// `pore_size_um`, added (seeded) until the porosity reaches `porosity`; centres are drawn
    /// in the scaffold region widened by one radius, so the region is a slab cut from a
    /// uniform random medium. A 2D section (nz = 1) shows the spheres' cuts.
    RandomSpheres,
}

/// The lattice of a `cylinders` scaffold in the x–z plane.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PoreLattice {
    Square,
    Hexagonal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Geometry {
    pub kind: GeometryKind,
    /// Thickness of the dense Li foil at the bottom, µm.
    pub li_foil_thickness_um: f64,
    /// Channel (pore) width, µm.
    pub pore_size_um: f64,
    /// Target porosity of the channel array, (0, 1). The real value is reported.
    pub porosity: f64,
    /// Li pre-impregnated into the channels above the foil, µm.
    pub impregnation_depth_um: f64,
    /// Dense LLZO cap at the top, µm.
    pub dense_cap_thickness_um: f64,
    /// Seed of the random scaffold (`random_pores`); the same seed builds the same scaffold.
    pub seed: u64,
    /// Segmented scaffold image (`image`): a PNG whose pixels cover the scaffold region, or a
    /// folder of PNG slices (x–y sections along z, in file-name order) for a 3D domain.
    /// Relative paths are resolved against the current directory.
    pub image_path: Option<String>,
    /// `image`: pores are the dark pixels (grey value < 128) when true, the light ones when false.
    pub image_pores_are_dark: bool,
    /// `cylinders`: the lattice of the pore axes in the x–z plane.
    pub lattice: PoreLattice,
    /// Li nuclei placed into the pores at t = 0 (any geometry): disks with a tanh profile,
    /// cut to the room the scaffold leaves (ξ ≤ 1 − ϕ). A nucleus not touching the foil is an
    /// isolated Li particle: it grows only from electrons that leak through the electrolyte.
    pub li_nuclei: Vec<Nucleus>,
    /// Defects of the electrolyte at t = 0 (any geometry): empty cracks and voids cut into the
    /// LLZO (ϕ ≤ 1 − the defect's tanh profile). A crack opens onto the Li foil; a void is
    /// closed, reached only by ions through its walls and by electrons that leak through the
    /// electrolyte.
    pub electrolyte_defects: Vec<Defect>,
}

/// An empty defect in the electrolyte.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Defect {
    /// A straight crack from the Li foil's top up into the LLZO: its centre line at `x_um` from
    /// the left edge, `width_um` wide, `depth_um` long.
    Crack {
        x_um: f64,
        width_um: f64,
        depth_um: f64,
    },
    /// A round void centred at (`x_um`, `y_um`) (µm from the left edge and above the collector).
    Void {
        x_um: f64,
        y_um: f64,
        diameter_um: f64,
    },
}

/// A Li disk at t = 0.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Nucleus {
    /// Centre, µm from the left edge.
    pub x_um: f64,
    /// Centre, µm above the collector.
    pub y_um: f64,
    /// Radius, µm.
    pub radius_um: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Material {
    pub temperature_k: f64,
    /// Charge number n of the Li⁺ ion.
    pub charge_number: f64,
    /// Li site density of the metal c_s, mol/m³.
    pub li_site_density_mol_m3: f64,
    /// Mobile Li⁺ concentration in LLZO c0, mol/m³.
    pub li_ion_concentration_mol_m3: f64,
    /// LLZO ionic conductivity σ_p, S/m.
    pub llzo_conductivity_s_m: f64,
    /// Li⁺ diffusivity in LLZO D_p, m²/s; null derives it from σ_p by Nernst–Einstein.
    pub llzo_diffusivity_m2_s: Option<f64>,
    /// Li metal electronic conductivity σ_e, S/m.
    pub li_conductivity_s_m: f64,
    /// Electronic conductivity of the electrolyte σ_e,el, S/m (two-potential form): the leakage
    /// that lets electrons, and so Li, reach the inside of the LLZO. 0 is an ideal electronic
    /// insulator.
    pub electrolyte_electronic_conductivity_s_m: f64,
    /// Li⁺ diffusivity in the electrode D_e, m²/s.
    pub electrode_diffusivity_m2_s: f64,
    /// Exchange current density i0 of Li/LLZO, A/m².
    pub exchange_current_density_a_m2: f64,
    /// Anodic transfer coefficient α.
    pub transfer_coefficient_anodic: f64,
    /// Cathodic transfer coefficient β.
    pub transfer_coefficient_cathodic: f64,
    /// Li surface energy γ, J/m².
    pub surface_energy_j_m2: f64,
    /// Equilibrium potential E⁰ of Li/Li⁺ against the reference, V.
    pub equilibrium_potential_v: f64,
    /// An electronically rectifying interphase on the electrolyte's surfaces (seed 003's
    /// p-Si/n-TiO2 layer; two-potential form only); null: none.
    pub interphase: Option<Interphase>,
    /// A liquid (or polymer) electrolyte in place of the LLZO (docs/models/phase-field.md
    /// §9.12); null: the solid electrolyte of the `llzo_*` parameters.
    pub liquid_electrolyte: Option<LiquidElectrolyte>,
}

/// A liquid electrolyte that the Li displaces (docs/models/phase-field.md §9.12): it fills the
/// electrolyte phase ϕ of a `flat` geometry, takes no room from the Li (no obstacle), and
/// conducts Li⁺ where the Li is not. Its parameters replace σ_p, D_p and c0 of the LLZO. The
/// Li⁺ flux is the model family's, −D∇c − D c (nF/RT)∇φ_l: its migration carries the fraction
/// t₊ = D/D_NE of the ionic current (D_NE = σRT/(n²F²c0)), and the counter-ion the rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LiquidElectrolyte {
    /// Ionic conductivity σ_l, S/m.
    pub conductivity_s_m: f64,
    /// Li⁺ diffusivity D_l, m²/s; null: Nernst–Einstein from σ_l and c0 (t₊ = 1).
    pub diffusivity_m2_s: Option<f64>,
    /// Li⁺ concentration c0 of the bulk liquid, mol/m³.
    pub li_ion_concentration_mol_m3: f64,
}

impl Default for LiquidElectrolyte {
    /// 1 M LiPF6 in carbonates as in Hong & Viswanathan (2018): σ = 1.19 S/m,
    /// D = 3.197e-10 m²/s, c0 = 1000 mol/m³.
    fn default() -> Self {
        LiquidElectrolyte {
            conductivity_s_m: 1.19,
            diffusivity_m2_s: Some(3.197e-10),
            li_ion_concentration_mol_m3: 1000.0,
        }
    }
}

/// A thin layer on every electrolyte surface (docs/models/phase-field.md §9.9): seed 003's
/// p-Si/n-TiO2 interphase, tens of nm thick, far below a grid cell. It is modelled by what it does
/// to the currents that cross it: an area-specific resistance (ASR) in series, electronic (by the
/// sign of the bias: reverse when electrons are pushed from the Li into the electrolyte, as at a
/// plating contact; forward when they leave it) and ionic. The model spreads it over the cells
/// 3ℓ to 4ℓ into the electrolyte from its surface (ϕ = ½), beyond the reaction zone of the
/// diffuse contact, and the metal does not conduct there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Interphase {
    /// Electronic ASR under forward bias, Ω·m² (seed 003: as the bare electrolyte, 0).
    pub forward_electronic_asr_ohm_m2: f64,
    /// Electronic ASR under reverse bias, Ω·m². Seed 003 measured the coated pellet at
    /// 2.57e-9 S/cm against 3.25e-8 S/cm bare; for a pellet of thickness L_p that is
    /// L_p (1/σ_coated − 1/σ_bare) = L_p × 3.58e6 Ω·m. The default takes L_p = 1 mm (the pellet
    /// thickness is not given in the paper): 3.58e3 Ω·m².
    pub reverse_electronic_asr_ohm_m2: f64,
    /// Ionic ASR of the layer, Ω·m² (0: the layer passes ions as the electrolyte does; seed 003
    /// measured the same bulk ionic conductivity with and without it).
    pub ionic_asr_ohm_m2: f64,
}

impl Default for Interphase {
    fn default() -> Self {
        Interphase {
            forward_electronic_asr_ohm_m2: 0.0,
            reverse_electronic_asr_ohm_m2: 1e-3 * (1.0 / 2.57e-7 - 1.0 / 3.25e-6),
            ionic_asr_ohm_m2: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OverpotentialForm {
    /// Two current-continuity problems: ions in the electrolyte (σ_p h(ϕ)), electrons in the
    /// metal and, weakly, in the electrolyte (σ_Li h(ξ) + σ_e,el h(ϕ)); η = φ_s − φ_l − E⁰ at
    /// every site, so Li forms only where both carriers arrive (docs/models/phase-field.md §9.6;
    /// default).
    TwoPotential,
    /// Metal equipotential at the collector potential, ionic potential solved with the ionic
    /// conductivity σ_p min(1, h(ϕ) + h(ξ)), η = V − φ_l − E⁰: every Li cell is at the collector
    /// potential whether or not it is connected to it (docs/models/phase-field.md §9.6; kept for
    /// comparison with earlier results).
    Consistent,
    /// The source paper's single potential with σ_eff = σ_e h(ξ) + σ_p h(ϕ), η = φ − E⁰.
    SinglePotential,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DoubleWell {
    /// ∂f/∂ξ written so that the discrete tanh front is an equilibrium at every offset from the
    /// grid: flat fronts move without lattice pinning even at ℓ = 2Δx (default; see
    /// docs/models/phase-field.md).
    Sharp,
    /// The textbook polynomial 2W1 ξ(1−ξ)(1−2ξ) (PFHub benchmarks use this).
    Polynomial,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Model {
    /// Interface half-width ℓ, µm; null means 2 grid spacings.
    pub interface_half_width_um: Option<f64>,
    /// Allen–Cahn relaxation rate Lσ·W1, 1/s.
    pub allen_cahn_rate_per_s: f64,
    /// Anisotropy strength δ of κ1(θ) = κ0[1 + δ cos(ω(θ − θ0))].
    pub anisotropy_strength: f64,
    /// Anisotropy mode ω (integer fold).
    pub anisotropy_mode: u32,
    /// Anisotropy orientation θ0, degrees.
    pub anisotropy_angle_deg: f64,
    /// Cross term A of the free energy, in units of W1.
    pub cross_term_over_w1: f64,
    /// Discretisation of the Li double well's slope.
    pub double_well: DoubleWell,
    /// Strength B of the one-sided scaffold obstacle B (ξ − 0.45)₊² in cells with ϕ > ½, in units
    /// of W1. It acts only inside the scaffold and only on ξ above 0.45, so it keeps Li out of
    /// the LLZO without touching the Li/LLZO contact (docs/models/phase-field.md).
    pub scaffold_obstacle_over_w1: f64,
    /// Which overpotential enters Butler–Volmer.
    pub overpotential: OverpotentialForm,
    /// Conductivity (and diffusivity) floor of pores relative to σ_p (D_p); in the two-potential
    /// form the floor of both the ionic and the electronic conductivity.
    pub pore_conductivity_floor: f64,
    /// Cap of the metal conductivity relative to σ_p (single-potential and two-potential forms).
    pub metal_conductivity_cap: f64,
    /// Initial c̃ = c/c0 in the pores (closed reservoirs; see docs/models/phase-field.md).
    pub pore_initial_concentration: f64,
    /// Allen–Cahn relaxation of the initial profiles before t = 0 (no reaction), s.
    pub equilibration_time_s: f64,
    /// Time integration of Nernst–Planck.
    pub nernst_planck: NernstPlanck,
    /// Time integration of the obstacle term of the ξ update.
    pub obstacle_step: ObstacleStep,
    /// Time integration of the gradient term κ∇²ξ of the ξ update.
    pub allen_cahn_gradient: AllenCahnGradient,
    /// Amplitude of the conserved Langevin noise on ξ, s^-1/2 (0: none; docs/models/phase-field.md
    /// §9.11): every grid face moves A·√Δt·m·ζ of Li between its two cells each step, with ζ of
    /// zero mean and unit variance and m = 16ξ²(1−ξ)² of the face's cells (the smaller): Li is
    /// moved along and across interfaces, never created. Per face, not scaled with Δx.
    pub noise_amplitude_per_sqrt_s: f64,
    /// Seed of the noise (a counter-based generator: the same seed gives the same noise on both
    /// backends, in any batch or thread layout, and after a resume).
    pub noise_seed: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ObstacleStep {
    /// Forward Euler with the rest of the ξ update; the stiffness 2LσB limits the step to
    /// 1/(LσB) (0.9 s at the defaults with the safety factor; the reference).
    Explicit,
    /// Backward Euler over the step (docs/models/phase-field.md §4): no step limit from B, the
    /// same steady excess. Not with creep (the split from the creep step then misplaces the
    /// contact's plating).
    Implicit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AllenCahnGradient {
    /// Forward Euler with the rest of the ξ update; the gradient term limits the step to
    /// Δx²/(2·dims·Lσκ) (the reference).
    Explicit,
    /// Stabilised semi-implicit (docs/models/phase-field.md §4.1): the increment of the step
    /// solves (1 − Δt Lσ κ_max ∇²) δ = Δt r, so the gradient term acts on the new ξ; no step limit
    /// from Δx, the same steady states, Li conserved to the solver's tolerance. Both backends.
    Implicit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NernstPlanck {
    /// Backward Euler over the whole step in the Slotboom variable u = c̃ e^{fφ}, one
    /// multigrid-preconditioned CG solve per step: no Δx² limit (docs/models/phase-field.md
    /// §9.4).
    Implicit,
    /// Forward-Euler sub-steps at the explicit diffusion limit Δx²/(4D) within each step
    /// (the reference; cost grows as 1/Δx² per simulated second).
    Explicit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ControlMode {
    Galvanostatic,
    Potentiostatic,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Control {
    pub mode: ControlMode,
    /// Applied plating current density (galvanostatic), A/m²; positive plates Li.
    pub current_density_a_m2: f64,
    /// Collector potential against the counter electrode (potentiostatic), V; negative plates.
    pub cell_voltage_v: f64,
    /// A galvanostatic protocol: segments of constant current or rest, each ended by its
    /// duration, its charge or a voltage limit, run `repeat` times or until the end of the run
    /// (crate::protocol; docs/protocols.md). Empty: `current_density_a_m2` throughout. When
    /// given, it replaces `current_density_a_m2`.
    pub protocol: Vec<ProtocolSegment>,
    /// How many times the segment list runs (cycles); `None`: until `time.end_time_s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u64>,
    /// A current ramp over the cycles (critical-current tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp: Option<Ramp>,
    /// Criteria that end the run before its end time (cell voltage, short circuit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopCriteria>,
}

pub use crate::protocol::{ProtocolSegment, Ramp, SegmentKind, StopCriteria};

impl Control {
    /// The protocol's period, s, when every segment ends by its duration alone (0 without a
    /// protocol; `None` when a segment ends by charge or voltage).
    pub fn protocol_period_s(&self) -> Option<f64> {
        self.protocol
            .iter()
            .map(|s| s.fixed_duration_s())
            .sum::<Option<f64>>()
    }

    /// Index of the protocol segment that holds time `t_s` (a time within 1e-9 of the period
    /// before a segment's end belongs to the next segment), and that segment's end, s; for a
    /// protocol of fixed durations.
    fn segment_at(&self, t_s: f64, period: f64) -> (usize, f64) {
        let cycles = (t_s / period).floor();
        let mut end = cycles * period;
        for (k, s) in self.protocol.iter().enumerate() {
            end += s.fixed_duration_s().unwrap_or(0.0);
            if t_s < end - 1e-9 * period {
                return (k, end);
            }
        }
        (0, end + self.protocol[0].fixed_duration_s().unwrap_or(0.0))
    }

    /// The applied current density at time `t_s`, A/m² (galvanostatic control), for a protocol
    /// of fixed durations without ramp; otherwise the first segment's current (the run follows
    /// a protocol with crate::protocol::Tracker).
    pub fn current_density_at(&self, t_s: f64) -> f64 {
        if self.protocol.is_empty() {
            return self.current_density_a_m2;
        }
        match self.protocol_period_s() {
            Some(p) if p > 0.0 && self.ramp.is_none() => {
                self.protocol[self.segment_at(t_s, p).0].current()
            }
            _ => self.protocol[0].current(),
        }
    }

    /// The first time after `t_s` at which a protocol of fixed durations changes the current,
    /// s (`None` without one).
    pub fn next_change_after(&self, t_s: f64) -> Option<f64> {
        match self.protocol_period_s() {
            Some(p) if p > 0.0 && !self.protocol.is_empty() => Some(self.segment_at(t_s, p).1),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Time {
    /// Simulated time, s.
    pub end_time_s: f64,
    /// Fraction of the explicit stability limit used as the time step, (0, 1].
    pub stability_safety: f64,
    /// Largest change of ξ allowed in one step in any cell.
    pub max_xi_change_per_step: f64,
    /// Optional upper bound on the step, s.
    pub max_dt_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Noise {
    /// Amplitude of the initial uniform noise on ξ in interface cells (0 = none).
    pub amplitude: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    /// Interval between field snapshots (HDF5, PNG), s.
    pub snapshot_interval_s: f64,
    /// Interval between time-series samples, s.
    pub timeseries_interval_s: f64,
    /// Wall-clock interval between checkpoints, minutes (also written at every snapshot).
    pub checkpoint_interval_min: f64,
    /// Write PNG images of every snapshot.
    pub images: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Solver {
    /// Potential solve: residual (sum of |current imbalance|) relative to the applied current.
    pub relative_tolerance: f64,
    /// Largest number of preconditioned CG iterations per solve.
    pub max_iterations: usize,
    /// Gauss–Seidel sweeps before and after each coarse correction.
    pub smoothing_sweeps: usize,
    /// Multigrid cycle of the preconditioner.
    pub cycle: Cycle,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    /// Each coarse problem visited once per cycle.
    V,
    /// Each coarse problem solved by two cycles of the next level (the second on the first's
    /// residual): about 2× a V-cycle's work on the fine level's terms, but the aggregation
    /// multigrid's iteration count then grows far less under refinement (default).
    W,
}

/// Budgets a run must stay within. `lipf check` and `lipf run` estimate the run (steps,
/// sub-steps, snapshots, output size, memory) before allocating anything and refuse a
/// configuration whose estimate exceeds a budget, naming the budget; raise it here to allow
/// the run. They protect against runs that could never finish or never fit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest number of time steps (estimated from the step-size limits).
    pub max_steps: f64,
    /// Largest number of Nernst–Planck sub-steps per time step.
    pub max_substeps_per_step: f64,
    /// Largest number of field snapshots.
    pub max_snapshots: f64,
    /// Largest size of the outputs (fields.h5, images), GiB.
    pub max_output_gib: f64,
    /// Largest memory of the backend's fields and work arrays, GiB (`lipf run` also refuses
    /// more than the memory the operating system reports available).
    pub max_memory_gib: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 1e8,
            max_substeps_per_step: 1e5,
            max_snapshots: 1e5,
            max_output_gib: 500.0,
            max_memory_gib: 256.0,
        }
    }
}

/// What the metal may do at the current collector under creep.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CreepCollector {
    /// The anode may thicken or thin: metal crosses the bottom boundary, which holds the stack
    /// pressure (the collector moves; the Li pushed out is counted as anode thickening).
    Open,
    /// The collector is fixed: plated Li can only go into free space inside the domain.
    Closed,
}

/// Li creep under stack pressure: power-law creep of the metal, ε̇ = ε̇_ref (σ/σ_ref)^n,
/// linearised at the stack pressure into a pressure-driven (Darcy) flow of the metal through
/// channels of the flow width (docs/models/phase-field.md §9.10).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Creep {
    /// Off: no flow of the metal (plated Li stays where it is deposited).
    pub enabled: bool,
    /// Stack pressure on the anode, MPa: the pressure of the metal at the collector (open
    /// collector) and the stress at which the creep law is linearised.
    pub stack_pressure_mpa: f64,
    /// Power-law creep stress exponent n (Masias et al. 2019: 6.56 at room temperature).
    pub stress_exponent: f64,
    /// Reference stress σ_ref of the creep law, MPa.
    pub reference_stress_mpa: f64,
    /// Uniaxial strain rate at the reference stress, 1/s.
    pub reference_strain_rate_per_s: f64,
    /// Width of the channels the metal flows through, µm (the Poiseuille length of the Darcy
    /// mobility w²/(12μ)); null: the geometry's pore size.
    pub flow_width_um: Option<f64>,
    /// Darcy mobility of the metal, m²/(Pa·s); null: from the creep law (overrides it when set).
    pub mobility_m2_pa_s: Option<f64>,
    pub collector: CreepCollector,
    /// Free surfaces hold zero pressure by a penalty: a cell with free room f takes up metal at
    /// the rate (penalty · f · K/Δx²) p. A numerical parameter: results converge as it grows.
    pub free_surface_penalty: f64,
}

impl Default for Creep {
    fn default() -> Self {
        Creep {
            enabled: false,
            stack_pressure_mpa: 1.0,
            stress_exponent: 6.56,
            reference_stress_mpa: 0.8,
            reference_strain_rate_per_s: 5e-4,
            flow_width_um: None,
            mobility_m2_pa_s: None,
            collector: CreepCollector::Open,
            free_surface_penalty: 1000.0,
        }
    }
}

impl Creep {
    /// The flow width w, m: the configured one, or the geometry's pore size.
    pub fn flow_width_m(&self, geometry: &Geometry) -> f64 {
        crate::units::um_to_m(self.flow_width_um.unwrap_or(geometry.pore_size_um))
    }

    /// The Darcy mobility K of the metal, m²/(Pa·s): the configured one, or w² ε̇(σ_s)/(4σ_s)
    /// from the creep law at the stack pressure σ_s (Poiseuille flow between walls w apart of a
    /// fluid with the secant viscosity μ = σ_s/(3 ε̇(σ_s))).
    pub fn mobility(&self, geometry: &Geometry) -> f64 {
        if let Some(k) = self.mobility_m2_pa_s {
            return k;
        }
        let w = self.flow_width_m(geometry);
        let sigma_pa = crate::units::mpa_to_pa(self.stack_pressure_mpa);
        let n = self.stress_exponent
            - if crate::mutants::active("creep-exponent") {
                0.5
            } else {
                0.0
            };
        let rate = self.reference_strain_rate_per_s
            * (self.stack_pressure_mpa / self.reference_stress_mpa).powf(n);
        w * w * rate / (4.0 * sigma_pa)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "pore-1.5um".into(),
            domain: Domain::default(),
            geometry: Geometry::default(),
            material: Material::default(),
            model: Model::default(),
            control: Control::default(),
            time: Time::default(),
            noise: Noise::default(),
            output: Output::default(),
            solver: Solver::default(),
            limits: Limits::default(),
            creep: Creep::default(),
        }
    }
}

impl Default for Domain {
    fn default() -> Self {
        Domain {
            width_um: 50.0,
            height_um: 50.0,
            grid_spacing_um: 0.25,
            depth_um: None,
        }
    }
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry {
            kind: GeometryKind::Channels,
            li_foil_thickness_um: 2.0,
            pore_size_um: 1.5,
            porosity: 0.5,
            impregnation_depth_um: 5.0,
            dense_cap_thickness_um: 5.0,
            seed: 1,
            image_path: None,
            image_pores_are_dark: true,
            lattice: PoreLattice::Hexagonal,
            li_nuclei: Vec::new(),
            electrolyte_defects: Vec::new(),
        }
    }
}

impl Default for Material {
    fn default() -> Self {
        Material {
            temperature_k: 298.15,
            charge_number: 1.0,
            li_site_density_mol_m3: 7.69e4,
            li_ion_concentration_mol_m3: 5.3e3,
            llzo_conductivity_s_m: 0.032,
            llzo_diffusivity_m2_s: None,
            li_conductivity_s_m: 1.1e7,
            electrolyte_electronic_conductivity_s_m: 3.25e-6,
            electrode_diffusivity_m2_s: 7.5e-13,
            exchange_current_density_a_m2: 10.4,
            transfer_coefficient_anodic: 0.5,
            transfer_coefficient_cathodic: 0.5,
            surface_energy_j_m2: 0.5,
            equilibrium_potential_v: 0.0,
            interphase: None,
            liquid_electrolyte: None,
        }
    }
}

impl Default for Model {
    fn default() -> Self {
        Model {
            interface_half_width_um: None,
            allen_cahn_rate_per_s: 1e-3,
            anisotropy_strength: 0.04,
            anisotropy_mode: 4,
            anisotropy_angle_deg: 0.0,
            cross_term_over_w1: 0.0,
            double_well: DoubleWell::Sharp,
            scaffold_obstacle_over_w1: 1000.0,
            overpotential: OverpotentialForm::TwoPotential,
            nernst_planck: NernstPlanck::Explicit,
            obstacle_step: ObstacleStep::Explicit,
            allen_cahn_gradient: AllenCahnGradient::Explicit,
            noise_amplitude_per_sqrt_s: 0.0,
            noise_seed: 0,
            pore_conductivity_floor: 1e-6,
            metal_conductivity_cap: 1e6,
            pore_initial_concentration: 1.0,
            equilibration_time_s: 0.5,
        }
    }
}

impl Default for Control {
    fn default() -> Self {
        Control {
            mode: ControlMode::Galvanostatic,
            current_density_a_m2: 2.0,
            cell_voltage_v: -0.01,
            protocol: Vec::new(),
            repeat: None,
            ramp: None,
            stop: None,
        }
    }
}

impl Default for Time {
    fn default() -> Self {
        Time {
            end_time_s: 1000.0,
            stability_safety: 0.9,
            max_xi_change_per_step: 0.02,
            max_dt_s: None,
        }
    }
}

impl Default for Noise {
    fn default() -> Self {
        Noise {
            amplitude: 0.0,
            seed: 1,
        }
    }
}

impl Default for Output {
    fn default() -> Self {
        Output {
            snapshot_interval_s: 100.0,
            timeseries_interval_s: 1.0,
            checkpoint_interval_min: 10.0,
            images: true,
        }
    }
}

impl Default for Solver {
    fn default() -> Self {
        Solver {
            relative_tolerance: 1e-5,
            max_iterations: 200,
            smoothing_sweeps: 2,
            cycle: Cycle::W,
        }
    }
}

impl Config {
    /// Parses JSON text; unknown fields and type errors name the path of the offending field.
    ///
    /// The document must be one JSON object and nothing after it; every section (`domain`,
    /// `geometry`, ...) must be an object too (serde would otherwise read an array
    /// positionally).
    pub fn from_json_str(text: &str) -> Result<Config, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Parse {
                path: ".".into(),
                message: e.to_string(),
            })?;
        let default = serde_json::to_value(Config::default()).expect("configuration serialises");
        require_objects(&value, &default, "")?;
        let de = &mut serde_json::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::Parse {
                path: if path.is_empty() { ".".into() } else { path },
                message: e.into_inner().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and validates a configuration file. A config without a `name` is named after the file.
    ///
    /// `//` and `/* */` comments are allowed (JSON with comments, as editors know it).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Config::from_file_with(path, &[])
    }

    /// [`Config::from_file`] with `--set PATH=VALUE` overrides applied before validation
    /// (`control.current_density_a_m2=5`, `name=run-5`; VALUE is JSON, or else a string).
    pub fn from_file_with(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let text = strip_json_comments(&text);
        let text = if overrides.is_empty() {
            text
        } else {
            apply_overrides(&text, overrides)?
        };
        let mut value = serde_json::from_str::<serde_json::Value>(&text).ok();
        let has_name = value.as_ref().and_then(|v| v.get("name")).is_some();
        // A relative image path names a file beside the configuration, wherever lipf runs.
        let mut text = text;
        if let Some(image) = value
            .as_mut()
            .and_then(|v| v.get_mut("geometry"))
            .and_then(|g| g.get_mut("image_path"))
        {
            if let Some(rel) = image.as_str().filter(|p| Path::new(p).is_relative()) {
                let dir = path.parent().unwrap_or(Path::new(""));
                let joined = dir.join(rel);
                // Absolute, so that the resolved configuration (stored in outputs, written for
                // study cases) names the same file from any folder.
                let abs = std::path::absolute(&joined).unwrap_or(joined);
                *image = serde_json::Value::String(abs.display().to_string());
                text = value.as_ref().expect("parsed").to_string();
            }
        }
        let mut config = Config::from_json_str(&text)?;
        if !has_name {
            if let Some(stem) = path.file_stem() {
                config.name = stem.to_string_lossy().into_owned();
                validate_name(&config.name).map_err(|e| match e {
                    ConfigError::Invalid { value, allowed, .. } => ConfigError::Invalid {
                        path: "name".into(),
                        value,
                        allowed: format!(
                            "{allowed} (the configuration has no `name`, so the file name was \
                             used; give a `name`)"
                        ),
                    },
                    e => e,
                })?;
            }
        }
        Ok(config)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("configuration serialises")
    }

    pub fn nx(&self) -> usize {
        (self.domain.width_um / self.domain.grid_spacing_um).round() as usize
    }

    pub fn ny(&self) -> usize {
        (self.domain.height_um / self.domain.grid_spacing_um).round() as usize
    }

    /// Cells along z: 1 for a 2D section.
    pub fn nz(&self) -> usize {
        self.domain
            .depth_um
            .map_or(1, |d| (d / self.domain.grid_spacing_um).round() as usize)
    }

    /// The same configuration on a 2D section (no `domain.depth_um`).
    pub fn section(&self) -> Config {
        let mut c = self.clone();
        c.domain.depth_um = None;
        c
    }

    /// A 3D domain (`domain.depth_um` set to more than one cell).
    pub fn is_3d(&self) -> bool {
        self.nz() > 1
    }

    /// Refuses what a phase-field run cannot do yet, naming the field: in 3D the explicit
    /// Nernst–Planck sub-steps and creep are 2D-only.
    pub fn require_runnable(&self) -> Result<(), ConfigError> {
        if !self.is_3d() {
            return Ok(());
        }
        if self.model.nernst_planck != NernstPlanck::Implicit {
            return Err(invalid(
                "model.nernst_planck",
                "\"explicit\"",
                "3D runs take the implicit Nernst–Planck step (set it to \"implicit\"); the \
                 explicit sub-steps are built for 2D sections only",
            ));
        }
        if self.creep.enabled {
            return Err(invalid(
                "creep.enabled",
                true,
                "Li creep is built for 2D sections only; 3D runs need creep.enabled = false",
            ));
        }
        Ok(())
    }

    /// Rejects impossible values with the field's path, its value and the allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_name(&self.name)?;
        let d = &self.domain;
        positive("domain.grid_spacing_um", d.grid_spacing_um)?;
        positive("domain.width_um", d.width_um)?;
        positive("domain.height_um", d.height_um)?;
        if let Some(depth) = d.depth_um {
            positive("domain.depth_um", depth)?;
        }
        for (path, len) in [
            ("domain.width_um", d.width_um),
            ("domain.height_um", d.height_um),
            ("domain.depth_um", d.depth_um.unwrap_or(d.grid_spacing_um)),
        ] {
            let cells = len / d.grid_spacing_um;
            if (cells - cells.round()).abs() > 1e-6 * cells.max(1.0) {
                return Err(invalid(
                    path,
                    len,
                    format!(
                        "must be an integer multiple of domain.grid_spacing_um = {} µm",
                        d.grid_spacing_um
                    ),
                ));
            }
            if cells.round() < 1.0 || cells.round() > 65536.0 {
                return Err(invalid(
                    path,
                    len,
                    format!(
                        "must hold between 1 and 65536 cells of {} µm",
                        d.grid_spacing_um
                    ),
                ));
            }
        }
        if self.ny() < 4 {
            return Err(invalid(
                "domain.height_um",
                d.height_um,
                format!("must hold at least 4 cells of {} µm", d.grid_spacing_um),
            ));
        }

        let g = &self.geometry;
        for (n, nu) in g.li_nuclei.iter().enumerate() {
            let path = |f: &str| format!("geometry.li_nuclei[{n}].{f}");
            positive(&path("radius_um"), nu.radius_um)?;
            for (field, v, side, len) in [
                ("x_um", nu.x_um, "domain.width_um", self.domain.width_um),
                ("y_um", nu.y_um, "domain.height_um", self.domain.height_um),
            ] {
                if !(v >= 0.0 && v <= len) {
                    return Err(invalid(
                        &path(field),
                        v,
                        format!("must lie in [0, {side} = {len}]"),
                    ));
                }
            }
        }
        for (n, defect) in g.electrolyte_defects.iter().enumerate() {
            let path = |f: &str| format!("geometry.electrolyte_defects[{n}].{f}");
            let (x, y, sizes): (f64, Option<f64>, &[(&str, f64)]) = match *defect {
                Defect::Crack {
                    x_um,
                    width_um,
                    depth_um,
                } => (
                    x_um,
                    None,
                    &[("width_um", width_um), ("depth_um", depth_um)],
                ),
                Defect::Void {
                    x_um,
                    y_um,
                    diameter_um,
                } => (x_um, Some(y_um), &[("diameter_um", diameter_um)]),
            };
            for &(field, v) in sizes {
                positive(&path(field), v)?;
            }
            let mut coords = vec![("x_um", x, "domain.width_um", self.domain.width_um)];
            if let Some(y) = y {
                coords.push(("y_um", y, "domain.height_um", self.domain.height_um));
            }
            for (field, v, side, len) in coords {
                if !(v >= 0.0 && v <= len) {
                    return Err(invalid(
                        &path(field),
                        v,
                        format!("must lie in [0, {side} = {len}]"),
                    ));
                }
            }
            if let Defect::Crack { depth_um, .. } = *defect {
                let room = self.domain.height_um - g.li_foil_thickness_um;
                if depth_um > room {
                    return Err(invalid(
                        &path("depth_um"),
                        depth_um,
                        format!("must fit between the foil and the top of the domain ({room} µm)"),
                    ));
                }
            }
        }
        non_negative("geometry.li_foil_thickness_um", g.li_foil_thickness_um)?;
        non_negative("geometry.dense_cap_thickness_um", g.dense_cap_thickness_um)?;
        non_negative("geometry.impregnation_depth_um", g.impregnation_depth_um)?;
        let stack = g.li_foil_thickness_um + g.dense_cap_thickness_um;
        if stack >= d.height_um {
            return Err(invalid(
                "geometry.li_foil_thickness_um",
                g.li_foil_thickness_um,
                format!(
                    "foil ({} µm) + dense cap ({} µm) must be thinner than domain.height_um = {} µm",
                    g.li_foil_thickness_um, g.dense_cap_thickness_um, d.height_um
                ),
            ));
        }
        validate_scaffold_kind(g, d)?;
        if g.kind == GeometryKind::Channels {
            if !(g.porosity > 0.0 && g.porosity < 1.0) {
                return Err(invalid(
                    "geometry.porosity",
                    g.porosity,
                    "allowed range is (0, 1)",
                ));
            }
            positive("geometry.pore_size_um", g.pore_size_um)?;
            if g.pore_size_um < 2.0 * d.grid_spacing_um {
                return Err(invalid(
                    "geometry.pore_size_um",
                    g.pore_size_um,
                    format!(
                        "must span at least 2 grid cells (≥ {} µm at domain.grid_spacing_um = {})",
                        2.0 * d.grid_spacing_um,
                        d.grid_spacing_um
                    ),
                ));
            }
            let period = g.pore_size_um / g.porosity;
            if period > d.width_um + 1e-9 {
                return Err(invalid(
                    "geometry.pore_size_um",
                    g.pore_size_um,
                    format!(
                        "one channel period (pore / porosity = {period:.3} µm) must fit in domain.width_um = {} µm",
                        d.width_um
                    ),
                ));
            }
            let scaffold = d.height_um - stack;
            if g.impregnation_depth_um > scaffold {
                return Err(invalid(
                    "geometry.impregnation_depth_um",
                    g.impregnation_depth_um,
                    format!("must not exceed the scaffold height {scaffold} µm"),
                ));
            }
        }

        let m = &self.material;
        positive("material.temperature_k", m.temperature_k)?;
        positive("material.charge_number", m.charge_number)?;
        positive("material.li_site_density_mol_m3", m.li_site_density_mol_m3)?;
        positive(
            "material.li_ion_concentration_mol_m3",
            m.li_ion_concentration_mol_m3,
        )?;
        positive("material.llzo_conductivity_s_m", m.llzo_conductivity_s_m)?;
        if let Some(dp) = m.llzo_diffusivity_m2_s {
            positive("material.llzo_diffusivity_m2_s", dp)?;
        }
        positive("material.li_conductivity_s_m", m.li_conductivity_s_m)?;
        non_negative(
            "material.electrolyte_electronic_conductivity_s_m",
            m.electrolyte_electronic_conductivity_s_m,
        )?;
        non_negative(
            "material.electrode_diffusivity_m2_s",
            m.electrode_diffusivity_m2_s,
        )?;
        positive(
            "material.exchange_current_density_a_m2",
            m.exchange_current_density_a_m2,
        )?;
        unit_interval(
            "material.transfer_coefficient_anodic",
            m.transfer_coefficient_anodic,
        )?;
        unit_interval(
            "material.transfer_coefficient_cathodic",
            m.transfer_coefficient_cathodic,
        )?;
        positive("material.surface_energy_j_m2", m.surface_energy_j_m2)?;
        finite(
            "material.equilibrium_potential_v",
            m.equilibrium_potential_v,
        )?;
        if let Some(ip) = &m.interphase {
            if self.model.overpotential != OverpotentialForm::TwoPotential {
                return Err(invalid(
                    "material.interphase",
                    "an interphase",
                    "needs model.overpotential = \"two_potential\" (the layer acts on the electrons, \
                     which only that form follows)",
                ));
            }
            // The layer's band holds ℓ/Δx cells along a grid line when that is a whole number.
            let ell = md_ell(&self.model, d.grid_spacing_um);
            let cells = ell / d.grid_spacing_um;
            if (cells - cells.round()).abs() > 1e-6 {
                return Err(invalid(
                    "model.interface_half_width_um",
                    ell,
                    format!(
                        "with material.interphase, must be a whole number of grid spacings \
                         ({} µm): the layer's band, 3ℓ to 4ℓ from its surface, then holds ℓ/Δx \
                         cells along every grid line",
                        d.grid_spacing_um
                    ),
                ));
            }
            non_negative(
                "material.interphase.forward_electronic_asr_ohm_m2",
                ip.forward_electronic_asr_ohm_m2,
            )?;
            non_negative(
                "material.interphase.reverse_electronic_asr_ohm_m2",
                ip.reverse_electronic_asr_ohm_m2,
            )?;
            non_negative("material.interphase.ionic_asr_ohm_m2", ip.ionic_asr_ohm_m2)?;
        }

        if let Some(liq) = &m.liquid_electrolyte {
            positive(
                "material.liquid_electrolyte.conductivity_s_m",
                liq.conductivity_s_m,
            )?;
            if let Some(dl) = liq.diffusivity_m2_s {
                positive("material.liquid_electrolyte.diffusivity_m2_s", dl)?;
            }
            positive(
                "material.liquid_electrolyte.li_ion_concentration_mol_m3",
                liq.li_ion_concentration_mol_m3,
            )?;
            let needs = |path: &str, value: String, what: &str| {
                Err(invalid(
                    path,
                    value,
                    format!("{what} with material.liquid_electrolyte"),
                ))
            };
            if self.model.overpotential != OverpotentialForm::TwoPotential {
                return needs(
                    "model.overpotential",
                    format!("{:?}", self.model.overpotential),
                    "must be \"two_potential\" (the liquid conducts ions only where the Li, which \
                     conducts the electrons, is not)",
                );
            }
            if self.geometry.kind != GeometryKind::Flat {
                return needs(
                    "geometry.kind",
                    format!("{:?}", self.geometry.kind),
                    "must be \"flat\" (a Li foil under the liquid; seed the deposit with \
                     geometry.li_nuclei)",
                );
            }
            if !self.geometry.electrolyte_defects.is_empty() {
                return needs(
                    "geometry.electrolyte_defects",
                    format!("{} defect(s)", self.geometry.electrolyte_defects.len()),
                    "must be empty (cracks and voids are defects of a solid)",
                );
            }
            if m.interphase.is_some() {
                return needs(
                    "material.interphase",
                    "an interphase".into(),
                    "must be null (it is a layer on a solid electrolyte)",
                );
            }
            if self.creep.enabled {
                return needs(
                    "creep.enabled",
                    "true".into(),
                    "must be false (the Li pushes no solid: the liquid makes room)",
                );
            }
        }

        let md = &self.model;
        if let Some(l) = md.interface_half_width_um {
            positive("model.interface_half_width_um", l)?;
            if l < 0.99 * d.grid_spacing_um {
                return Err(invalid(
                    "model.interface_half_width_um",
                    l,
                    format!(
                        "must be at least one grid spacing ({} µm) so the interface is resolved",
                        d.grid_spacing_um
                    ),
                ));
            }
        }
        positive("model.allen_cahn_rate_per_s", md.allen_cahn_rate_per_s)?;
        if md.anisotropy_mode > 12 {
            return Err(invalid(
                "model.anisotropy_mode",
                md.anisotropy_mode,
                "allowed range is 0..=12",
            ));
        }
        let w = md.anisotropy_mode as f64;
        let limit = if w > 1.0 { 1.0 / (w * w - 1.0) } else { 1.0 };
        if !(md.anisotropy_strength >= 0.0 && md.anisotropy_strength < limit) {
            return Err(invalid(
                "model.anisotropy_strength",
                md.anisotropy_strength,
                format!("allowed range is [0, 1/(ω²−1)) = [0, {limit:.4}) for ω = {w}"),
            ));
        }
        finite("model.anisotropy_angle_deg", md.anisotropy_angle_deg)?;
        non_negative("model.cross_term_over_w1", md.cross_term_over_w1)?;
        non_negative(
            "model.noise_amplitude_per_sqrt_s",
            md.noise_amplitude_per_sqrt_s,
        )?;
        if md.noise_amplitude_per_sqrt_s > 0.0 && self.material.interphase.is_some() {
            return Err(invalid(
                "model.noise_amplitude_per_sqrt_s",
                md.noise_amplitude_per_sqrt_s,
                "0 with material.interphase: the interphase band holds ξ, and the noise would \
                 move Li through it",
            ));
        }
        non_negative(
            "model.scaffold_obstacle_over_w1",
            md.scaffold_obstacle_over_w1,
        )?;
        if !(md.pore_conductivity_floor > 0.0 && md.pore_conductivity_floor <= 1e-2) {
            return Err(invalid(
                "model.pore_conductivity_floor",
                md.pore_conductivity_floor,
                "allowed range is (0, 1e-2] (relative to σ_p)",
            ));
        }
        if md.metal_conductivity_cap < 10.0 {
            return Err(invalid(
                "model.metal_conductivity_cap",
                md.metal_conductivity_cap,
                "must be at least 10 (relative to σ_p)",
            ));
        }
        if !(md.pore_initial_concentration >= 0.0 && md.pore_initial_concentration.is_finite()) {
            return Err(invalid(
                "model.pore_initial_concentration",
                md.pore_initial_concentration,
                "must be ≥ 0",
            ));
        }
        non_negative("model.equilibration_time_s", md.equilibration_time_s)?;

        let c = &self.control;
        finite("control.current_density_a_m2", c.current_density_a_m2)?;
        finite("control.cell_voltage_v", c.cell_voltage_v)?;
        if c.mode == ControlMode::Galvanostatic && c.current_density_a_m2 == 0.0 {
            return Err(invalid(
                "control.current_density_a_m2",
                c.current_density_a_m2,
                "must be non-zero under galvanostatic control",
            ));
        }
        crate::protocol::validate(c)?;
        if c.cell_voltage_v.abs() > 1.0 {
            return Err(invalid(
                "control.cell_voltage_v",
                c.cell_voltage_v,
                "allowed range is [-1, 1] V",
            ));
        }

        let cr = &self.creep;
        if cr.enabled && self.model.obstacle_step == ObstacleStep::Implicit {
            return Err(invalid(
                "model.obstacle_step",
                "\"implicit\"",
                "\"explicit\" with creep.enabled: the implicit obstacle resists the plating a \
                 full contact takes before the creep step can move it away (the flat cell at \
                 10 A/m² left its voltage by 68 %)",
            ));
        }
        if cr.enabled {
            positive("creep.stack_pressure_mpa", cr.stack_pressure_mpa)?;
            if !(cr.stress_exponent >= 1.0 && cr.stress_exponent <= 20.0) {
                return Err(invalid(
                    "creep.stress_exponent",
                    cr.stress_exponent,
                    "allowed range is [1, 20]",
                ));
            }
            positive("creep.reference_stress_mpa", cr.reference_stress_mpa)?;
            positive(
                "creep.reference_strain_rate_per_s",
                cr.reference_strain_rate_per_s,
            )?;
            if let Some(w) = cr.flow_width_um {
                positive("creep.flow_width_um", w)?;
            }
            if let Some(k) = cr.mobility_m2_pa_s {
                positive("creep.mobility_m2_pa_s", k)?;
            }
            if !(cr.free_surface_penalty >= 1.0 && cr.free_surface_penalty.is_finite()) {
                return Err(invalid(
                    "creep.free_surface_penalty",
                    cr.free_surface_penalty,
                    "must be ≥ 1 (it makes free surfaces hold zero pressure)",
                ));
            }
        }

        let t = &self.time;
        positive("time.end_time_s", t.end_time_s)?;
        if !(t.stability_safety > 0.0 && t.stability_safety <= 1.0) {
            return Err(invalid(
                "time.stability_safety",
                t.stability_safety,
                "allowed range is (0, 1]",
            ));
        }
        if !(t.max_xi_change_per_step > 0.0 && t.max_xi_change_per_step <= 0.5) {
            return Err(invalid(
                "time.max_xi_change_per_step",
                t.max_xi_change_per_step,
                "allowed range is (0, 0.5]",
            ));
        }
        if let Some(dt) = t.max_dt_s {
            positive("time.max_dt_s", dt)?;
        }
        if !(self.noise.amplitude >= 0.0 && self.noise.amplitude <= 0.5) {
            return Err(invalid(
                "noise.amplitude",
                self.noise.amplitude,
                "allowed range is [0, 0.5]",
            ));
        }
        let o = &self.output;
        positive("output.snapshot_interval_s", o.snapshot_interval_s)?;
        positive("output.timeseries_interval_s", o.timeseries_interval_s)?;
        positive("output.checkpoint_interval_min", o.checkpoint_interval_min)?;
        if o.checkpoint_interval_min > 1e6 {
            return Err(invalid(
                "output.checkpoint_interval_min",
                o.checkpoint_interval_min,
                "allowed range is (0, 1e6] min",
            ));
        }
        let l = &self.limits;
        for (path, v) in [
            ("limits.max_steps", l.max_steps),
            ("limits.max_substeps_per_step", l.max_substeps_per_step),
            ("limits.max_snapshots", l.max_snapshots),
            ("limits.max_output_gib", l.max_output_gib),
            ("limits.max_memory_gib", l.max_memory_gib),
        ] {
            positive(path, v)?;
        }
        let s = &self.solver;
        if !(s.relative_tolerance > 0.0 && s.relative_tolerance < 1e-2) {
            return Err(invalid(
                "solver.relative_tolerance",
                s.relative_tolerance,
                "allowed range is (0, 1e-2)",
            ));
        }
        if s.max_iterations == 0 {
            return Err(invalid("solver.max_iterations", 0, "must be at least 1"));
        }
        if s.smoothing_sweeps == 0 || s.smoothing_sweeps > 8 {
            return Err(invalid(
                "solver.smoothing_sweeps",
                s.smoothing_sweeps,
                "allowed range is 1..=8",
            ));
        }
        Ok(())
    }
}

/// The rules of the `random_pores`, `random_spheres`, `cylinders` and `image` scaffolds
/// (channels and flat are checked inline).
fn validate_scaffold_kind(g: &Geometry, d: &Domain) -> Result<(), ConfigError> {
    let scaffold = d.height_um - g.li_foil_thickness_um - g.dense_cap_thickness_um;
    match g.kind {
        GeometryKind::Channels | GeometryKind::Flat => {}
        GeometryKind::RandomPores | GeometryKind::RandomSpheres | GeometryKind::Cylinders => {
            let max = match (g.kind, g.lattice) {
                // Touching cylinders: π/4 on a square lattice, π/(2√3) on a hexagonal one.
                (GeometryKind::Cylinders, PoreLattice::Square) => std::f64::consts::FRAC_PI_4,
                (GeometryKind::Cylinders, PoreLattice::Hexagonal) => {
                    std::f64::consts::PI / (2.0 * 3f64.sqrt())
                }
                _ => 0.95,
            };
            if !(g.porosity > 0.0 && g.porosity <= max) {
                return Err(invalid(
                    "geometry.porosity",
                    g.porosity,
                    format!(
                        "allowed range is (0, {max:.4}] for {}",
                        crate::geometry::kind_name(g.kind)
                    ),
                ));
            }
            positive("geometry.pore_size_um", g.pore_size_um)?;
            if g.pore_size_um < 2.0 * d.grid_spacing_um {
                return Err(invalid(
                    "geometry.pore_size_um",
                    g.pore_size_um,
                    format!(
                        "must span at least 2 grid cells (≥ {} µm at domain.grid_spacing_um = {})",
                        2.0 * d.grid_spacing_um,
                        d.grid_spacing_um
                    ),
                ));
            }
            if g.pore_size_um > scaffold.min(d.width_um) {
                return Err(invalid(
                    "geometry.pore_size_um",
                    g.pore_size_um,
                    format!(
                        "a pore must fit in the scaffold region ({} × {scaffold} µm)",
                        d.width_um
                    ),
                ));
            }
            if let Some(depth) = d.depth_um {
                if g.kind == GeometryKind::RandomPores && depth > d.grid_spacing_um {
                    return Err(invalid(
                        "geometry.kind",
                        "random_pores",
                        "random_pores draws disks in a 2D section; a 3D domain \
                         (domain.depth_um) takes random_spheres",
                    ));
                }
                if g.pore_size_um > depth {
                    return Err(invalid(
                        "geometry.pore_size_um",
                        g.pore_size_um,
                        format!("a pore must fit in the domain's depth ({depth} µm)"),
                    ));
                }
            }
        }
        GeometryKind::Image => {
            let Some(path) = &g.image_path else {
                return Err(invalid(
                    "geometry.image_path",
                    "null",
                    "must name a PNG file (or a folder of PNG slices) when geometry.kind = \"image\"",
                ));
            };
            if let Err(e) = crate::geometry::image::read_stack(
                std::path::Path::new(path),
                g.image_pores_are_dark,
            ) {
                return Err(invalid("geometry.image_path", path, e.to_string()));
            }
        }
    }
    if g.kind != GeometryKind::Flat && g.impregnation_depth_um > scaffold {
        return Err(invalid(
            "geometry.impregnation_depth_um",
            g.impregnation_depth_um,
            format!("must not exceed the scaffold height {scaffold} µm"),
        ));
    }
    Ok(())
}

/// Replaces `//` line comments and `/* */` block comments outside strings by spaces (newlines
/// kept), so that error positions stay those of the file.
pub fn strip_json_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let (mut k, mut in_str) = (0, false);
    while k < b.len() {
        let c = b[k];
        if in_str {
            out.push(c);
            if c == b'\\' && k + 1 < b.len() {
                out.push(b[k + 1]);
                k += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            k += 1;
        } else if c == b'"' {
            in_str = true;
            out.push(c);
            k += 1;
        } else if c == b'/' && b.get(k + 1) == Some(&b'/') {
            while k < b.len() && b[k] != b'\n' {
                out.push(b' ');
                k += 1;
            }
        } else if c == b'/' && b.get(k + 1) == Some(&b'*') {
            out.extend_from_slice(b"  ");
            k += 2;
            while k < b.len() && !(b[k] == b'*' && b.get(k + 1) == Some(&b'/')) {
                out.push(if b[k] == b'\n' { b'\n' } else { b' ' });
                k += 1;
            }
            if k < b.len() {
                out.extend_from_slice(b"  ");
                k += 2;
            }
        } else {
            out.push(c);
            k += 1;
        }
    }
    // Only ASCII bytes were replaced, by ASCII: still UTF-8.
    String::from_utf8(out).expect("UTF-8 preserved")
}

/// Applies `PATH=VALUE` overrides to a JSON document (objects created along the path).
pub fn apply_overrides(text: &str, overrides: &[String]) -> Result<String, ConfigError> {
    let mut v: serde_json::Value = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
        path: ".".into(),
        message: e.to_string(),
    })?;
    for o in overrides {
        let Some((key, raw)) = o.split_once('=') else {
            return Err(ConfigError::Parse {
                path: o.clone(),
                message: "an override is PATH=VALUE, e.g. control.current_density_a_m2=5".into(),
            });
        };
        let value = serde_json::from_str::<serde_json::Value>(raw)
            .unwrap_or_else(|_| serde_json::Value::String(raw.to_string()));
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(ConfigError::Parse {
                path: key.into(),
                message: "empty component in the override's path".into(),
            });
        }
        let mut cur = &mut v;
        for (n, part) in parts.iter().enumerate() {
            let Some(map) = cur.as_object_mut() else {
                return Err(ConfigError::Parse {
                    path: parts[..n].join("."),
                    message: "is not an object, so it cannot hold the override".into(),
                });
            };
            if n + 1 == parts.len() {
                map.insert(part.to_string(), value.clone());
                break;
            }
            cur = map
                .entry(part.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
    }
    Ok(v.to_string())
}

/// Longest run name, characters.
pub const NAME_MAX_CHARS: usize = 100;

/// A run name becomes a folder name (`runs/<name>`) and appears in job scripts: letters, digits,
/// `-`, `_`, `.`, not starting with `.` (so never `.`, `..` or a hidden folder), no separators.
pub fn validate_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.chars().count() <= NAME_MAX_CHARS
        && !name.starts_with('.')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "name",
            format!("{name:?}"),
            format!(
                "must be 1 to {NAME_MAX_CHARS} characters of letters, digits, '-', '_' and '.', \
                 not starting with '.' (it names the output folder)"
            ),
        ))
    }
}

/// Every value that is an object in `default` (a section) must be an object in `given` where
/// present.
fn require_objects(
    given: &serde_json::Value,
    default: &serde_json::Value,
    path: &str,
) -> Result<(), ConfigError> {
    let Some(dmap) = default.as_object() else {
        return Ok(());
    };
    let Some(gmap) = given.as_object() else {
        let kind = match given {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(ConfigError::Parse {
            path: if path.is_empty() {
                ".".into()
            } else {
                path.into()
            },
            message: format!("must be a JSON object {{ ... }}, found {kind}"),
        });
    };
    for (k, g) in gmap {
        if let Some(d) = dmap.get(k) {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            require_objects(g, d, &p)?;
        }
    }
    Ok(())
}

/// The interface half-width ℓ in µm: configured, or 2 grid spacings.
fn md_ell(md: &Model, grid_spacing_um: f64) -> f64 {
    md.interface_half_width_um.unwrap_or(2.0 * grid_spacing_um)
}

pub(crate) fn invalid(
    path: &str,
    value: impl std::fmt::Display,
    allowed: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

fn finite(path: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(path, v, "must be a finite number"))
    }
}

fn positive(path: &str, v: f64) -> Result<(), ConfigError> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(invalid(path, v, "must be > 0"))
    }
}

fn non_negative(path: &str, v: f64) -> Result<(), ConfigError> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(invalid(path, v, "must be ≥ 0"))
    }
}

fn unit_interval(path: &str, v: f64) -> Result<(), ConfigError> {
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(invalid(path, v, "allowed range is (0, 1)"))
    }
}
