//! Runs the smoke case for a few steps on the GPU and on the CPU and prints both.
//! `cargo run --release -p lipf-gpu --example gpu_probe [CONFIG] [T]`
use lipf_core::{Backend, Config, CpuBackend, StopFlag};
use lipf_gpu::{AdapterRequest, GpuBackend};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or("configs/smoke.json".into());
    let t: f64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(0.05);
    let cfg = Config::from_file(std::path::Path::new(&path)).unwrap();
    let req = AdapterRequest {
        allow_software: true,
        name_contains: None,
    };
    let t0 = std::time::Instant::now();
    let mut gpu = GpuBackend::new(&cfg, &req).unwrap();
    eprintln!("gpu init {:?} {}", t0.elapsed(), gpu.name());
    let mut cpu = CpuBackend::new(&cfg).unwrap();
    let stop = StopFlag::new();
    let mut tt = 0.0;
    while tt < t - 1e-12 {
        tt = (tt + 0.01f64).min(t);
        let t1 = std::time::Instant::now();
        gpu.advance(tt, &stop).unwrap();
        let dg = t1.elapsed();
        cpu.advance(tt, &stop).unwrap();
        let g = gpu.scalars();
        let c = cpu.scalars();
        eprintln!("{:?}", gpu.device_control());
        eprintln!("t={tt:.3} gpu: step {} V {:.6e} i {:.5} li {:.9e} it {} cap {} ({:?}) | cpu: step {} V {:.6e} i {:.5} li {:.9e} it {}",
            g.step, g.cell_voltage_v, g.current_density_a_m2, g.li_amount_mol_m2, g.solver_iterations, gpu.recorded_cg_iterations(), dg,
            c.step, c.cell_voltage_v, c.current_density_a_m2, c.li_amount_mol_m2, c.solver_iterations);
    }
    let gs = gpu.state().clone();
    let cs = cpu.state().clone();
    for (name, a, b) in [
        ("xi", &gs.xi, &cs.xi),
        ("conc", &gs.conc, &cs.conc),
        ("potential", &gs.potential, &cs.potential),
        ("eta", &gs.eta, &cs.eta),
    ] {
        let (k, d) = a
            .iter()
            .zip(b.iter())
            .enumerate()
            .map(|(k, (x, y))| (k, (x - y).abs()))
            .fold((0, 0.0), |m, v| if v.1 > m.1 { v } else { m });
        eprintln!(
            "{name}: worst |diff| {d:e} at {k}: gpu {} cpu {}",
            a[k], b[k]
        );
    }
    let c = gpu.coeffs.clone();
    let err = |s: &lipf_core::State, li: f64| {
        ((c.nf_c_mol * (li - s.li_amount0_mol_m2) - s.charge_c_m2) / s.charge_c_m2).abs()
    };
    eprintln!(
        "faraday gpu {:e} cpu {:e}",
        err(&gs, gpu.scalars().li_amount_mol_m2),
        err(&cs, cpu.scalars().li_amount_mol_m2)
    );
}
