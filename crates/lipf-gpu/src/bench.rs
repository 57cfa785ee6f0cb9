//! Throughput measurements for `lipf bench` and `benches/`, on the GPU backend's kernels and,
//! for comparison with the same definitions, on the CPU reference kernels.
//!
//! The explicit update is one `xi_rate` + one `xi_update` + one `np_substep` over the grid (the
//! kernels that touch every cell once per step or sub-step without a solve). Each kernel is timed
//! on its own: many dispatches recorded back to back in one submission (GPU) or called in a loop
//! (CPU), repeated until at least [`MIN_SECONDS`] have passed, after one warm-up. The copy
//! kernel (`shaders/copy.wgsl`, or a row-parallel slice copy on the CPU) moves 2 × element size
//! bytes per cell and nothing else: its bandwidth in the same run is the reference each kernel's
//! effective bandwidth (minimum bytes moved / time) is a fraction of.
//!
//! The fields are those of the default configuration (the paper's channel case, 50 × 50 µm)
//! rebuilt on an n × n grid, so the branches taken per cell are realistic; η = 0 and the
//! Nernst–Planck stencil is a plain 5-point diffusion stencil (the values do not change the work
//! per cell).

use crate::device::GpuContext;
use crate::kernels::{grid_groups, storage_bytes, storage_f32, uniform, upload_f64, Kernel};
use crate::kernels::{KernelId, Modules, FIELD_USAGE};
use crate::params::{Control, GridParams, XiRateParams};
use crate::GpuError;
use lipf_core::backend::{Backend, SimulationError, StopFlag};
use lipf_core::cpu::np_coefficients::NP_COEFFS;
use lipf_core::cpu::xi_rate as cpu_xi_rate;
use lipf_core::{Coefficients, Config};
use std::time::Instant;

/// Each timing runs at least this long, s.
pub const MIN_SECONDS: f64 = 0.2;
/// Most repetitions of one timing.
const MAX_REPEATS: usize = 1 << 14;

/// One kernel's time per dispatch (per call on the CPU) and the bytes it must move per cell.
#[derive(Debug, Clone)]
pub struct KernelTiming {
    pub name: &'static str,
    pub seconds: f64,
    /// Minimum memory traffic per cell: every input read once, every output written once.
    pub bytes_per_cell: f64,
}

/// The explicit-update figures of one grid size.
#[derive(Debug, Clone)]
pub struct SizeFigures {
    pub nx: usize,
    pub ny: usize,
    /// `xi_rate`, `xi_update`, `np_substep`.
    pub kernels: Vec<KernelTiming>,
    /// The copy kernel: time per dispatch and bytes per cell (2 × element size).
    pub copy: KernelTiming,
}

impl SizeFigures {
    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }
    /// Seconds per explicit update (sum of the kernels).
    pub fn explicit_seconds(&self) -> f64 {
        self.kernels.iter().map(|k| k.seconds).sum()
    }
    /// Cell updates per second of the explicit update.
    pub fn cell_updates_per_second(&self) -> f64 {
        self.cells() as f64 / self.explicit_seconds()
    }
    /// Bytes per second of a kernel (its minimum traffic over its time).
    pub fn bandwidth(&self, k: &KernelTiming) -> f64 {
        k.bytes_per_cell * self.cells() as f64 / k.seconds
    }
    /// Effective bandwidth of the whole explicit update, bytes/s.
    pub fn explicit_bandwidth(&self) -> f64 {
        let bytes: f64 = self.kernels.iter().map(|k| k.bytes_per_cell).sum();
        bytes * self.cells() as f64 / self.explicit_seconds()
    }
    /// The copy kernel's bandwidth, bytes/s.
    pub fn copy_bandwidth(&self) -> f64 {
        self.bandwidth(&self.copy)
    }
}

/// Host fields of the benchmark grid.
pub struct BenchFields {
    pub coeffs: Coefficients,
    pub xi: Vec<f64>,
    pub phi: Vec<f64>,
    pub conc: Vec<f64>,
    pub eta: Vec<f64>,
    /// 5-point diffusion stencil, [`NP_COEFFS`] per cell.
    pub stencil: Vec<f64>,
}

impl BenchFields {
    /// The default configuration's geometry on an n × n grid.
    pub fn new(n: usize) -> BenchFields {
        let mut config = Config::default();
        config.domain.grid_spacing_um = config.domain.width_um / n as f64;
        config.domain.height_um = config.domain.width_um;
        let coeffs = Coefficients::from_config(&config);
        let built = lipf_core::geometry::build(&config, &coeffs.grid, coeffs.ell_m);
        let cells = coeffs.grid.cells();
        let mut stencil = vec![0.0; NP_COEFFS * cells];
        for s in stencil.chunks_mut(NP_COEFFS) {
            s[..4].fill(1.0);
            s[4] = -4.0;
        }
        BenchFields {
            coeffs,
            xi: built.xi,
            phi: built.phi,
            conc: built.conc,
            eta: vec![0.0; cells],
            stencil,
        }
    }
    pub fn nx(&self) -> usize {
        self.coeffs.grid.nx
    }
    pub fn ny(&self) -> usize {
        self.coeffs.grid.ny
    }
}

/// Runs `run(r)` (which performs r repetitions) with r doubling until it takes at least
/// [`MIN_SECONDS`]; returns seconds per repetition. One warm-up call first.
fn time_adaptive(mut run: impl FnMut(usize)) -> f64 {
    run(1);
    let mut r = 1;
    loop {
        let t = Instant::now();
        run(r);
        let s = t.elapsed().as_secs_f64();
        if s >= MIN_SECONDS || r >= MAX_REPEATS {
            return s / r as f64;
        }
        // Aim straight for the target once a measurement is meaningful.
        let next = if s > 1e-3 {
            ((MIN_SECONDS * 1.2 / s) * r as f64).ceil() as usize
        } else {
            4 * r
        };
        r = next.clamp(r + 1, MAX_REPEATS);
    }
}

/// Minimum bytes per cell of each explicit kernel for elements of `e` bytes:
/// `xi_rate` reads ξ, φ, c̃, η and writes a, g; `xi_update` reads r and ξ and writes ξ, where
/// ξ is `xi_words` words (the GPU keeps ξ as an f32 pair, the CPU as one f64);
/// `np_substep` reads 6 stencil coefficients and c̃ and writes c̃.
fn explicit_kernels(e: f64, xi_words: f64) -> [(&'static str, f64); 3] {
    [
        ("xi_rate", 6.0 * e),
        ("xi_update", (1.0 + 2.0 * xi_words) * e),
        ("np_substep", (NP_COEFFS as f64 + 2.0) * e),
    ]
}

/// The explicit kernels and the copy kernel on the GPU with their buffers and bind groups, ready
/// to dispatch (also what `benches/` times).
pub struct GpuExplicit<'a> {
    ctx: &'a GpuContext,
    groups: [u32; 3],
    /// (name, minimum bytes per cell, kernel, bind groups used in turn); the copy kernel last.
    kernels: Vec<(&'static str, f64, Kernel, Vec<wgpu::BindGroup>)>,
    _buffers: Vec<wgpu::Buffer>,
}

impl<'a> GpuExplicit<'a> {
    pub fn new(ctx: &'a GpuContext, f: &BenchFields) -> Result<GpuExplicit<'a>, GpuError> {
        let (nx, ny) = (f.nx(), f.ny());
        let n = nx * ny;
        ctx.check_storage_buffer("the Nernst-Planck stencil", 4 * (NP_COEFFS * n) as u64)?;
        let groups = grid_groups(nx, ny);
        ctx.check_workgroups("a field kernel (grid width / 16)", groups[0])?;
        ctx.check_workgroups("a field kernel (grid height / 16)", groups[1])?;
        let field = |label: &str, v: &[f64]| {
            let b = storage_f32(ctx, label, v.len());
            upload_f64(ctx, &b, v);
            b
        };
        let mut m = Modules::default();
        let xi_p = uniform(
            ctx,
            "xi_rate",
            &XiRateParams::from_cpu(&cpu_xi_rate::XiRateParams::new(&f.coeffs, true)),
        );
        let grid_p = uniform(ctx, "grid", &GridParams::new(nx, ny));
        let (xi, phi, conc, eta) = (
            field("xi", &f.xi),
            field("phi", &f.phi),
            field("conc", &f.conc),
            field("eta", &f.eta),
        );
        let conc2 = field("conc2", &f.conc);
        // The low word of the f32 pair that holds ξ in `xi_update`.
        let xi_lo = storage_f32(ctx, "xi_lo", n);
        let stencil = field("stencil", &f.stencil);
        let (a, g) = (storage_f32(ctx, "a", n), storage_f32(ctx, "g", n));
        // Tiny steps: the fields stay in range however many repetitions run.
        let control = Control {
            dt: 1e-12,
            dt_sub: 1e-6,
            ..Default::default()
        };
        let control_b = storage_bytes(
            ctx,
            "control",
            std::mem::size_of::<Control>() as u64,
            FIELD_USAGE,
        );
        ctx.queue
            .write_buffer(&control_b, 0, bytemuck::bytes_of(&control));
        let k_rate = Kernel::new(ctx, &mut m, KernelId::XiRate)?;
        let k_update = Kernel::new(ctx, &mut m, KernelId::XiUpdate)?;
        let k_sub = Kernel::new(ctx, &mut m, KernelId::NpSubstep)?;
        let k_copy = Kernel::new(ctx, &mut m, KernelId::Copy)?;
        let bg_rate = vec![k_rate.bind(ctx, &[&xi_p, &xi, &phi, &conc, &eta, &a, &g, &control_b])];
        // The rate r of xi_update: `a` stands in (any field does).
        let bg_update = vec![k_update.bind(ctx, &[&grid_p, &a, &control_b, &xi, &xi_lo])];
        let bg_sub = vec![
            k_sub.bind(ctx, &[&grid_p, &stencil, &conc, &control_b, &conc2]),
            k_sub.bind(ctx, &[&grid_p, &stencil, &conc2, &control_b, &conc]),
        ];
        let bg_copy = vec![
            k_copy.bind(ctx, &[&grid_p, &phi, &eta]),
            k_copy.bind(ctx, &[&grid_p, &eta, &phi]),
        ];
        let [(n0, b0), (n1, b1), (n2, b2)] = explicit_kernels(4.0, 2.0);
        Ok(GpuExplicit {
            ctx,
            groups,
            kernels: vec![
                (n0, b0, k_rate, bg_rate),
                (n1, b1, k_update, bg_update),
                (n2, b2, k_sub, bg_sub),
                ("copy", 8.0, k_copy, bg_copy),
            ],
            _buffers: vec![
                xi_p, grid_p, xi, xi_lo, phi, conc, eta, conc2, stencil, a, g, control_b,
            ],
        })
    }

    /// Kernel names in order: `xi_rate`, `xi_update`, `np_substep`, `copy`.
    pub fn names(&self) -> Vec<&'static str> {
        self.kernels.iter().map(|k| k.0).collect()
    }

    /// Records `repeats` dispatches of kernel `index` in one submission and waits for them.
    pub fn dispatch(&self, index: usize, repeats: usize) {
        let (_, _, k, bgs) = &self.kernels[index];
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&k.pipeline);
            for i in 0..repeats {
                pass.set_bind_group(0, &bgs[i % bgs.len()], &[]);
                pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
            }
        }
        self.ctx.queue.submit(Some(enc.finish()));
        self.ctx.wait();
    }
}

/// The explicit update and the copy kernel on the GPU, f32 fields.
pub fn gpu_explicit_update(ctx: &GpuContext, f: &BenchFields) -> Result<SizeFigures, GpuError> {
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let g = GpuExplicit::new(ctx, f)?;
    let mut timings: Vec<KernelTiming> = (0..g.kernels.len())
        .map(|i| KernelTiming {
            name: g.kernels[i].0,
            seconds: time_adaptive(|r| g.dispatch(i, r)),
            bytes_per_cell: g.kernels[i].1,
        })
        .collect();
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(GpuError::Pipeline {
            kernel: "benchmark dispatches".into(),
            message: e.to_string(),
        });
    }
    let copy = timings.pop().expect("the copy kernel");
    Ok(SizeFigures {
        nx: f.nx(),
        ny: f.ny(),
        kernels: timings,
        copy,
    })
}

/// The same figures for the CPU reference kernels (f64, rayon over rows).
pub fn cpu_explicit_update(f: &BenchFields) -> SizeFigures {
    use lipf_core::cpu::{np_substep::np_substep, par::for_rows, xi_update::xi_update};
    let (nx, ny) = (f.nx(), f.ny());
    let n = nx * ny;
    let p = cpu_xi_rate::XiRateParams::new(&f.coeffs, true);
    let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
    let mut xi = f.xi.clone();
    let (mut c1, mut c2) = (f.conc.clone(), f.conc.clone());
    let mut kernels = Vec::new();
    let [(n_rate, b_rate), (n_upd, b_upd), (n_sub, b_sub)] = explicit_kernels(8.0, 1.0);
    let s = time_adaptive(|r| {
        for _ in 0..r {
            cpu_xi_rate::xi_rate(&p, &f.xi, &f.phi, &f.conc, &f.eta, &mut a, &mut g);
        }
    });
    kernels.push(KernelTiming {
        name: n_rate,
        seconds: s,
        bytes_per_cell: b_rate,
    });
    let s = time_adaptive(|r| {
        for _ in 0..r {
            xi_update(nx, 1e-12, &a, None, &mut xi);
        }
    });
    kernels.push(KernelTiming {
        name: n_upd,
        seconds: s,
        bytes_per_cell: b_upd,
    });
    let s = time_adaptive(|r| {
        for _ in 0..r {
            np_substep(nx, ny, 1e-6, &f.stencil, &c1, &mut c2);
            std::mem::swap(&mut c1, &mut c2);
        }
    });
    kernels.push(KernelTiming {
        name: n_sub,
        seconds: s,
        bytes_per_cell: b_sub,
    });
    let src = f.phi.clone();
    let mut dst = vec![0.0; n];
    let s = time_adaptive(|r| {
        for _ in 0..r {
            for_rows(&mut dst, nx, |j, row| {
                row.copy_from_slice(&src[j * nx..(j + 1) * nx])
            });
        }
    });
    std::hint::black_box((&xi, &c1, &dst));
    SizeFigures {
        nx,
        ny,
        kernels,
        copy: KernelTiming {
            name: "copy",
            seconds: s,
            bytes_per_cell: 16.0,
        },
    }
}

/// Time to solution of a run on any backend.
#[derive(Debug, Clone)]
pub struct TimeToSolution {
    pub cells: usize,
    pub simulated_s: f64,
    pub steps: u64,
    pub wall_s: f64,
    /// Wall time in the potential solve per step, ms, where the backend measures it.
    pub potential_ms_per_step: Option<f64>,
    pub solver_iterations_per_step: f64,
}

impl TimeToSolution {
    pub fn ms_per_step(&self) -> f64 {
        1e3 * self.wall_s / self.steps.max(1) as f64
    }
}

/// Advances `backend` from its current state to `end_s` without writing anything and times it
/// (the initial overpotential iteration of step 0 included). As in the run driver, every
/// multiple of each of `event_intervals_s` (time-series and snapshot intervals) is hit exactly,
/// so the steps are those of a real run.
pub fn time_to_solution(
    backend: &mut dyn Backend,
    end_s: f64,
    event_intervals_s: &[f64],
) -> Result<TimeToSolution, SimulationError> {
    let s0 = backend.scalars();
    let it0 = backend.state().solver_iterations_total;
    let p0 = backend.timings().map(|t| t.potential_s);
    let stop = StopFlag::new();
    let t = Instant::now();
    loop {
        let t = backend.scalars().time_s;
        if t >= end_s {
            break;
        }
        let next = event_intervals_s
            .iter()
            .filter(|&&dt| dt > 0.0)
            .map(|&dt| ((t / dt * (1.0 + 1e-12) + 1e-9).floor() + 1.0) * dt)
            .fold(end_s, f64::min);
        backend.advance(next, &stop)?;
    }
    let s1 = backend.scalars();
    let wall = t.elapsed().as_secs_f64();
    let steps = s1.step - s0.step;
    let it1 = backend.state().solver_iterations_total;
    let potential = match (p0, backend.timings()) {
        (Some(a), Some(b)) => Some(1e3 * (b.potential_s - a) / steps.max(1) as f64),
        _ => None,
    };
    Ok(TimeToSolution {
        cells: backend.state().cells(),
        simulated_s: s1.time_s - s0.time_s,
        steps,
        wall_s: wall,
        potential_ms_per_step: potential,
        solver_iterations_per_step: (it1 - it0) as f64 / steps.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_update_figures_add_up() {
        let f = SizeFigures {
            nx: 10,
            ny: 10,
            kernels: vec![
                KernelTiming {
                    name: "a",
                    seconds: 1.0,
                    bytes_per_cell: 8.0,
                },
                KernelTiming {
                    name: "b",
                    seconds: 3.0,
                    bytes_per_cell: 24.0,
                },
            ],
            copy: KernelTiming {
                name: "copy",
                seconds: 0.5,
                bytes_per_cell: 8.0,
            },
        };
        assert_eq!(f.explicit_seconds(), 4.0);
        assert_eq!(f.cell_updates_per_second(), 25.0);
        assert_eq!(f.explicit_bandwidth(), 32.0 * 100.0 / 4.0);
        assert_eq!(f.copy_bandwidth(), 1600.0);
    }

    #[test]
    fn cpu_benchmark_runs_on_a_small_grid() {
        let f = BenchFields::new(32);
        assert_eq!((f.nx(), f.ny()), (32, 32));
        let fig = cpu_explicit_update(&f);
        assert_eq!(fig.kernels.len(), 3);
        assert!(fig
            .kernels
            .iter()
            .all(|k| k.seconds > 0.0 && k.seconds.is_finite()));
        assert!(fig.copy_bandwidth() > 0.0);
    }
}
