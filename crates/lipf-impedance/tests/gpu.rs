//! The GPU impedance solver (WGSL COCG, f64) against its CPU twins and the sparse LU.
//!
//! Without a device: both shaders validate with naga (with the FLOAT64 capability), their
//! structs have the layout of the Rust twins, and the device algorithm run on the CPU twins
//! (`TwinCocg`) agrees with the sparse LU.
//!
//! With a device (software adapters such as lavapipe count: they run the same WGSL): every
//! kernel against its CPU twin on random data, and `GpuCocg` against the sparse LU within 10⁻⁶
//! relative on small cases. Without an adapter with f64 these tests print why and pass, unless
//! LIPF_REQUIRE_GPU_ADAPTER=1 (set in CI), where they fail.

use lipf_impedance::kernels::{self, TwinCocg};
use lipf_impedance::network::Network;
use lipf_impedance::params::{log_frequencies, Materials};
use lipf_impedance::structure::Structure;
use lipf_impedance::{sweep, DirectLu, ModelStructure, Spectrum};

const SHADERS: [&str; 2] = ["impedance_apply", "impedance_cocg"];

/// The kernel file followed by the shared modules its header's `Imports:` line names, joined
/// as the registry joins them.
fn shader_source(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
    let read = |p: std::path::PathBuf| {
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let mut src = read(dir.join(format!("{name}.wgsl")));
    let imports: Vec<String> = src
        .lines()
        .take_while(|l| l.starts_with("//"))
        .filter_map(|l| l.strip_prefix("// Imports:"))
        .flat_map(|l| {
            l.split(',')
                .map(|m| m.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for m in imports {
        src.push_str(&read(dir.join(&m)));
    }
    src
}

fn validate(name: &str, src: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(src).unwrap_or_else(|e| {
        panic!(
            "{name}.wgsl does not parse:\n{}",
            e.emit_to_string_with_path(src, name)
        )
    });
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::FLOAT64,
    )
    .validate(&module)
    .unwrap_or_else(|e| {
        panic!(
            "{name}.wgsl is not valid WGSL:\n{}",
            e.emit_to_string_with_path(src, name)
        )
    });
    module
}

#[test]
fn impedance_shaders_validate_with_float64_and_their_structs_match_the_rust_twins() {
    let mut checked = 0;
    for name in SHADERS {
        let src = shader_source(name);
        #[cfg(feature = "gpu")]
        assert_eq!(
            lipf_gpu::shaders::shader(name).source,
            src,
            "registry copy of {name}.wgsl is stale"
        );
        let module = validate(name, &src);
        // Without f64 the shaders are rejected: they really are f64.
        assert!(
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty()
            )
            .validate(&module)
            .is_err(),
            "{name}.wgsl validates without FLOAT64"
        );
        let header: String = src
            .lines()
            .take_while(|l| l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(header.starts_with(&format!("// {name}.wgsl")));
        for field in ["Update:", "Bindings:", "Dispatch:", "Index:", "Twin:"] {
            assert!(header.contains(field), "{name}.wgsl: header lacks {field}");
        }
        let twin = format!("crates/lipf-impedance/src/kernels/{name}.rs");
        assert!(
            header.contains(&twin),
            "{name}.wgsl: header does not name {twin}"
        );
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        for (sname, fields, size) in kernels::layouts() {
            let Some((h, ty)) = module
                .types
                .iter()
                .find(|(_, t)| t.name.as_deref() == Some(sname))
            else {
                continue;
            };
            let naga::TypeInner::Struct { members, .. } = &ty.inner else {
                panic!("{sname} is not a struct")
            };
            let wgsl: Vec<(String, usize)> = members
                .iter()
                .map(|m| (m.name.clone().unwrap(), m.offset as usize))
                .collect();
            let ours: Vec<(String, usize)> =
                fields.iter().map(|(n, o)| (n.to_string(), *o)).collect();
            assert_eq!(wgsl, ours, "{sname} in {name}.wgsl");
            assert_eq!(
                layouter[h].size as usize, size,
                "size of {sname} in {name}.wgsl"
            );
            checked += 1;
        }
    }
    // ImpedanceParams in both, CocgControl in impedance_cocg.
    assert_eq!(checked, 3);
}

// ---------------------------------------------------------------------------------------------
// Cases.

fn model(voxels: usize, contact: f64) -> Network {
    let m = Materials::default();
    let s = Structure::model_structure(
        &ModelStructure {
            edge_um: 50.0,
            voxels,
            contact_area_fraction: contact,
            grain_layers: 50,
        },
        &m.si(),
    );
    Network::build(&s, &m.si()).unwrap()
}

/// A dense slab with ideal contacts (one RC arc).
fn slab(n: usize, nz: usize) -> Network {
    let m = Materials {
        polarization_resistance_ohm_cm2: 0.0,
        ..Materials::default()
    };
    let s = Structure::dense(n, n, nz, 1e-6, &m.si());
    Network::build(&s, &m.si()).unwrap()
}

/// A random pore / electrolyte / ohmic-metal block (floating metal, open pore bonds).
fn three_phase(nx: usize, ny: usize, nz: usize, seed: u64) -> Network {
    let msi = Materials {
        metal_conductivity_s_m: Some(1.0),
        ..Materials::default()
    }
    .si();
    let mut state = seed;
    let codes = (0..nx * ny * nz)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 3) as u8
        })
        .collect();
    let s = Structure::from_codes(nx, ny, nz, 1e-6, codes, &msi).unwrap();
    Network::build(&s, &msi).unwrap()
}

fn max_rel_diff(a: &Spectrum, b: &Spectrum) -> f64 {
    a.z.iter()
        .zip(&b.z)
        .map(|(x, y)| (x - y).norm() / y.norm())
        .fold(0.0, f64::max)
}

#[test]
fn twin_cocg_of_the_device_kernels_agrees_with_the_sparse_lu_within_1e_6() {
    let f = log_frequencies(1.0, 1e7, 1);
    for (what, net) in [
        ("model structure 8³", model(8, 0.3)),
        ("slab 4×4×10", slab(4, 10)),
        ("three phases 5×4×6", three_phase(5, 4, 6, 12345)),
    ] {
        let (direct, _) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
        let (twin, rep) = sweep(&net, &f, &mut TwinCocg::new(), |_, _, _| {}).unwrap();
        let diff = max_rel_diff(&twin, &direct);
        eprintln!(
            "{what}: twin COCG vs LU {diff:.2e}, iterations {:?}",
            rep.iterations
        );
        assert!(diff < 1e-6, "{what}: twin COCG vs LU: {diff:e}");
        assert!(rep.relative_residual.iter().all(|&r| r <= 1e-9));
    }
}

// ---------------------------------------------------------------------------------------------
// With a device.

#[cfg(feature = "gpu")]
mod device {
    use super::*;
    use lipf_gpu::AdapterRequest;
    use lipf_impedance::gpu::{GpuCocg, GpuMachine, ImpedanceDevice, Step, Vector};
    use lipf_impedance::kernels::impedance_apply::{self as ap, NetworkLayout};
    use lipf_impedance::kernels::impedance_cocg as cg;
    use lipf_impedance::kernels::{CocgControl, ImpedanceParams};
    use lipf_impedance::solver::{FrequencySolver, FrequencySystem};
    use num_complex::Complex64 as C64;
    use std::sync::{Arc, OnceLock};

    /// The f64 device of these tests (any adapter, software included), opened once.
    fn device() -> Option<Arc<ImpedanceDevice>> {
        static DEV: OnceLock<Result<Arc<ImpedanceDevice>, String>> = OnceLock::new();
        let d = DEV.get_or_init(|| {
            ImpedanceDevice::new(&AdapterRequest {
                allow_software: true,
                name_contains: None,
            })
            .map_err(|e| e.to_string())
        });
        match d {
            Ok(d) => {
                eprintln!("GPU impedance tests on {}", d.ctx.adapter.label());
                Some(d.clone())
            }
            Err(e) => {
                if std::env::var("LIPF_REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
                    panic!("LIPF_REQUIRE_GPU_ADAPTER=1 but no usable adapter: {e}");
                }
                eprintln!(
                    "skipped: no adapter with f64 ({e}); set LIPF_REQUIRE_GPU_ADAPTER=1 to make this a failure"
                );
                None
            }
        }
    }

    struct Rng(u64);
    impl Rng {
        fn f(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        }
        fn c(&mut self) -> C64 {
            C64::new(self.f(), self.f())
        }
        fn cv(&mut self, n: usize) -> Vec<C64> {
            (0..n).map(|_| self.c()).collect()
        }
    }

    fn close_c(what: &str, gpu: &[C64], cpu: &[C64], tol: f64) {
        assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
        let scale = cpu.iter().map(|z| z.norm()).fold(0.0, f64::max);
        assert!(scale > 0.0, "{what}: all zero");
        let (k, err) = gpu
            .iter()
            .zip(cpu)
            .map(|(g, c)| (g - c).norm())
            .enumerate()
            .fold((0, 0.0), |a, (k, e)| if e > a.1 { (k, e) } else { a });
        assert!(
            err <= tol * scale,
            "{what}: worst at {k}: gpu {} cpu {} (|Δ| {err:e}, scale {scale:e})",
            gpu[k],
            cpu[k]
        );
    }

    fn close_f(what: &str, gpu: &[f64], cpu: &[f64], tol: f64) {
        let g: Vec<C64> = gpu.iter().map(|&x| C64::new(x, 0.0)).collect();
        let c: Vec<C64> = cpu.iter().map(|&x| C64::new(x, 0.0)).collect();
        close_c(what, &g, &c, tol);
    }

    fn flat(p: &[[f64; 4]]) -> Vec<f64> {
        p.iter().flatten().copied().collect()
    }

    fn control_values(c: &CocgControl) -> Vec<f64> {
        vec![
            c.rho[0], c.rho[1], c.alpha[0], c.alpha[1], c.beta[0], c.beta[1], c.rr, c.bb,
        ]
    }

    #[test]
    fn each_gpu_impedance_kernel_matches_its_cpu_twin() {
        let Some(dev) = device() else { return };
        // Pores, ohmic and floating metal, electrodes: every kind of adjacency entry.
        let net = three_phase(14, 12, 9, 777);
        let l = NetworkLayout::new(&net);
        let (n, nb) = (l.n, l.n_bonds());
        let mut m = GpuMachine::new(dev, &l).unwrap();
        // Three workgroups: every invocation visits several items (the grid-stride loops).
        let p = ImpedanceParams {
            groups: 3,
            omega: 2.0 * std::f64::consts::PI * 1234.5,
            tol: 1e-3,
            accept_tol: 2e-3,
            max_iter: 7,
            ..m.params
        };
        assert!(n > 3 * 256 && nb > 3 * 256, "case too small: {n} nodes");
        m.write_params(p);
        let mut rng = Rng(99);
        let tol = 1e-13;

        // bond_admittance: against the twin and against Bond::admittance of the network.
        m.run(&[Step::BondAdmittance]);
        let y_gpu = m.read_vector(Vector::YBond);
        let mut y = vec![C64::new(0.0, 0.0); nb];
        ap::bond_admittance(&p, &l.elems, &l.bond_n, &mut y);
        close_c("bond_admittance", &y_gpu, &y, tol);
        close_c(
            "bond_admittance vs network",
            &y,
            &net.bond_admittances(p.omega),
            tol,
        );

        // assemble_node on random bond admittances.
        let y = rng.cv(nb);
        m.write_vector(Vector::YBond, &y);
        m.run(&[Step::AssembleNode]);
        let mut dinv = vec![[C64::new(0.0, 0.0); 2]; n];
        let mut rhs = vec![C64::new(0.0, 0.0); n];
        ap::assemble_node(&p, &l.node_ptr, &l.adj, &y, &mut dinv, &mut rhs);
        let dg = m.read_dinv();
        close_c(
            "assemble_node d",
            &dg.iter().map(|d| d[0]).collect::<Vec<_>>(),
            &dinv.iter().map(|d| d[0]).collect::<Vec<_>>(),
            tol,
        );
        close_c(
            "assemble_node 1/d",
            &dg.iter().map(|d| d[1]).collect::<Vec<_>>(),
            &dinv.iter().map(|d| d[1]).collect::<Vec<_>>(),
            tol,
        );
        close_c("assemble_node rhs", &m.read_vector(Vector::Rhs), &rhs, tol);
        // The assembled operator is the network's matrix: A·x against the CSC product.
        let yb = net.bond_admittances(p.omega);
        let (val, b_net) = net.assemble(&yb);
        let mut d2 = vec![[C64::new(0.0, 0.0); 2]; n];
        let mut rhs2 = vec![C64::new(0.0, 0.0); n];
        ap::assemble_node(&p, &l.node_ptr, &l.adj, &yb, &mut d2, &mut rhs2);
        close_c("rhs vs Network::assemble", &rhs2, &b_net, 1e-14);
        let xr = rng.cv(n);
        let mut ax_net = vec![C64::new(0.0, 0.0); n];
        lipf_impedance::network::sym_matvec(&net.col_ptr, &net.row_idx, &val, &xr, &mut ax_net);
        let ax: Vec<C64> = (0..n)
            .map(|i| ap::apply_row(i, &l.node_ptr, &l.adj, &yb, &d2, &xr))
            .collect();
        close_c("apply_row vs sym_matvec", &ax, &ax_net, 1e-13);

        // apply_dot: q = A p on random vectors.
        let pv = rng.cv(n);
        m.write_dinv(&dinv);
        m.write_vector(Vector::P, &pv);
        m.run(&[Step::ApplyDot]);
        let mut q = vec![C64::new(0.0, 0.0); n];
        let mut part = vec![[0.0; 4]; 3];
        ap::apply_dot(&p, &y, &l.node_ptr, &l.adj, &dinv, &pv, &mut q, &mut part);
        close_c("apply_dot q", &m.read_vector(Vector::Q), &q, tol);
        close_f(
            "apply_dot partials",
            &flat(&m.read_partials()),
            &flat(&part),
            tol,
        );

        // residual: r = b − A x.
        let x = rng.cv(n);
        let rhs_r = rng.cv(n);
        m.write_vector(Vector::X, &x);
        m.write_vector(Vector::Rhs, &rhs_r);
        m.run(&[Step::Residual]);
        let mut r = vec![C64::new(0.0, 0.0); n];
        ap::residual(
            &p,
            &y,
            &l.node_ptr,
            &l.adj,
            &dinv,
            &rhs_r,
            &x,
            &mut r,
            &mut part,
        );
        close_c("residual r", &m.read_vector(Vector::R), &r, tol);
        close_f(
            "residual partials",
            &flat(&m.read_partials()),
            &flat(&part),
            tol,
        );

        // update_xr and update_p with a random α, β.
        let ctl = CocgControl {
            alpha: [rng.f(), rng.f()],
            beta: [rng.f(), rng.f()],
            ..Default::default()
        };
        let (x0, r0, p0, q0) = (rng.cv(n), rng.cv(n), rng.cv(n), rng.cv(n));
        m.write_control(&ctl);
        for (v, d) in [
            (Vector::X, &x0),
            (Vector::R, &r0),
            (Vector::P, &p0),
            (Vector::Q, &q0),
        ] {
            m.write_vector(v, d);
        }
        m.run(&[Step::UpdateXr]);
        let (mut x1, mut r1) = (x0.clone(), r0.clone());
        cg::update_xr(&p, &ctl, &dinv, &mut x1, &mut r1, &p0, &q0, &mut part);
        close_c("update_xr x", &m.read_vector(Vector::X), &x1, tol);
        close_c("update_xr r", &m.read_vector(Vector::R), &r1, tol);
        close_f(
            "update_xr partials",
            &flat(&m.read_partials()),
            &flat(&part),
            tol,
        );
        m.run(&[Step::UpdateP]);
        let mut p1 = p0.clone();
        cg::update_p(&p, &ctl, &dinv, &r1, &mut p1);
        close_c("update_p", &m.read_vector(Vector::P), &p1, tol);

        // The finishing kernels, on random partials, in every branch.
        let partials: Vec<[f64; 4]> = (0..3)
            .map(|_| [rng.f(), rng.f(), rng.f().abs(), rng.f().abs()])
            .collect();
        let running = CocgControl {
            rho: [rng.f(), rng.f()],
            bb: 1.0,
            iterations: 2,
            ..Default::default()
        };
        let cases: Vec<(&str, Step, CocgControl, Vec<[f64; 4]>)> = vec![
            ("finish_init", Step::FinishInit, running, partials.clone()),
            (
                "finish_init (converged)",
                Step::FinishInit,
                running,
                vec![[0.1, 0.2, 1e-10, 1.0], [0.0; 4], [0.0; 4]],
            ),
            ("finish_alpha", Step::FinishAlpha, running, partials.clone()),
            (
                "finish_alpha (breakdown)",
                Step::FinishAlpha,
                running,
                vec![[0.0; 4]; 3],
            ),
            (
                "finish_alpha (stopped)",
                Step::FinishAlpha,
                CocgControl {
                    state: kernels::CONVERGED,
                    alpha: [1.0, 1.0],
                    ..running
                },
                partials.clone(),
            ),
            ("finish_beta", Step::FinishBeta, running, partials.clone()),
            (
                "finish_beta (converged)",
                Step::FinishBeta,
                running,
                vec![[0.3, 0.1, 1e-7, 0.0], [0.0; 4], [0.0; 4]],
            ),
            (
                "finish_beta (limit)",
                Step::FinishBeta,
                CocgControl {
                    iterations: 6,
                    ..running
                },
                partials.clone(),
            ),
        ];
        for (what, step, c0, parts) in cases {
            m.write_control(&c0);
            m.write_partials(&parts);
            let got = m.run(&[step]);
            let mut want = c0;
            match step {
                Step::FinishInit => cg::finish_init(&p, &parts, &mut want),
                Step::FinishAlpha => cg::finish_alpha(&p, &parts, &mut want),
                _ => cg::finish_beta(&p, &parts, &mut want),
            }
            assert_eq!(
                (got.state, got.iterations),
                (want.state, want.iterations),
                "{what}"
            );
            close_f(what, &control_values(&got), &control_values(&want), tol);
        }
    }

    #[test]
    fn gpu_cocg_agrees_with_the_sparse_lu_within_1e_6() {
        let Some(dev) = device() else { return };
        let f = log_frequencies(0.1, 1e7, 1);
        let t0 = std::time::Instant::now();
        for (what, net) in [
            ("slab 8×8×12", slab(8, 12)),
            ("model structure 8³ (30 % contact)", model(8, 0.3)),
            ("model structure 12³ (10 % contact)", model(12, 0.1)),
            ("three phases 7×6×8", three_phase(7, 6, 8, 4242)),
        ] {
            let (direct, _) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
            let mut gpu = GpuCocg::on(dev.clone());
            let (spec, rep) = sweep(&net, &f, &mut gpu, |_, _, _| {}).unwrap();
            let diff = max_rel_diff(&spec, &direct);
            let (twin, trep) = sweep(&net, &f, &mut TwinCocg::new(), |_, _, _| {}).unwrap();
            eprintln!(
                "{what}: GPU COCG vs LU {diff:.2e}, vs twin {:.2e}; iterations {:?} (twin {:?}), {} submissions",
                max_rel_diff(&spec, &twin),
                rep.iterations,
                trep.iterations,
                gpu.submissions()
            );
            assert!(diff < 1e-6, "{what}: GPU COCG vs LU: {diff:e}");
            assert!(
                rep.relative_residual.iter().all(|&r| r <= 1e-9),
                "{what}: {:?}",
                rep.relative_residual
            );
            assert!(rep.iterations.iter().any(|&i| i > 0));
            // The device runs the twins' arithmetic: the same iteration counts up to rounding.
            for (g, t) in rep.iterations.iter().zip(&trep.iterations) {
                assert!(
                    g.abs_diff(*t) <= 2 + t / 50,
                    "{what}: {:?} vs twin {:?}",
                    rep.iterations,
                    trep.iterations
                );
            }
        }
        eprintln!("GPU COCG cases: {:.1} s", t0.elapsed().as_secs_f64());
    }

    #[test]
    fn gpu_cocg_is_warm_started_with_the_incoming_solution() {
        let Some(dev) = device() else { return };
        let net = model(8, 0.5);
        let omega = 2.0 * std::f64::consts::PI * 1e3;
        let y = net.bond_admittances(omega);
        let (val, rhs) = net.assemble(&y);
        let sys = FrequencySystem {
            network: &net,
            omega,
            bond_y: &y,
            val: &val,
            rhs: &rhs,
        };
        let mut gpu = GpuCocg::on(dev);
        let mut v = vec![C64::new(0.0, 0.0); net.n];
        let cold = gpu.solve(&sys, &mut v).unwrap();
        assert!(
            cold.iterations > 10,
            "cold start took {} iterations",
            cold.iterations
        );
        // From its own solution: converged at the start, no iteration.
        let again = gpu.solve(&sys, &mut v).unwrap();
        assert_eq!(again.iterations, 0, "warm restart from the solution");
        assert!(again.relative_residual <= 1e-10);
        // From a neighbouring frequency's solution: fewer iterations than from zero.
        let omega2 = omega * 10f64.powf(0.1);
        let y2 = net.bond_admittances(omega2);
        let (val2, rhs2) = net.assemble(&y2);
        let sys2 = FrequencySystem {
            network: &net,
            omega: omega2,
            bond_y: &y2,
            val: &val2,
            rhs: &rhs2,
        };
        let warm = gpu.solve(&sys2, &mut v).unwrap();
        let mut v0 = vec![C64::new(0.0, 0.0); net.n];
        let cold2 = gpu.solve(&sys2, &mut v0).unwrap();
        assert!(
            warm.iterations < cold2.iterations,
            "warm {} vs cold {} iterations",
            warm.iterations,
            cold2.iterations
        );
    }
}
