//! Times the model structure's sweep with the direct and the Krylov solvers.
//!
//! `cargo run --release -p lipf-impedance --example sweep_timing -- VOXELS POINTS_PER_DECADE F_MIN F_MAX [direct|cocg|cocr|all]`

use lipf_impedance::params::log_frequencies;
use lipf_impedance::solver::FrequencySolver;
use lipf_impedance::{
    sweep, DirectLu, Krylov, KrylovMethod, Materials, ModelStructure, Network, Structure,
};
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let n: usize = a.get(1).map_or(50, |s| s.parse().unwrap());
    let ppd: usize = a.get(2).map_or(10, |s| s.parse().unwrap());
    let fmin: f64 = a.get(3).map_or(1.0, |s| s.parse().unwrap());
    let fmax: f64 = a.get(4).map_or(1e7, |s| s.parse().unwrap());
    let which = a.get(5).map_or("all".to_string(), |s| s.clone());
    let m = Materials::default();
    let ms = ModelStructure {
        voxels: n,
        contact_area_fraction: 0.5,
        ..ModelStructure::default()
    };
    let t = Instant::now();
    let s = Structure::model_structure(&ms, &m.si());
    let net = Network::build(&s, &m.si()).unwrap();
    println!(
        "{n}³ voxels: {} unknowns, {} bonds, {} nonzeros; build {:.3} s",
        net.n,
        net.info.bonds,
        net.info.matrix_nonzeros,
        t.elapsed().as_secs_f64()
    );
    let f = log_frequencies(fmin, fmax, ppd);
    let mut solvers: Vec<Box<dyn FrequencySolver>> = vec![];
    if which == "direct" || which == "all" {
        solvers.push(Box::new(DirectLu::new()));
    }
    if which == "cocg" || which == "all" {
        solvers.push(Box::new(Krylov::new(KrylovMethod::Cocg)));
    }
    if which == "cocr" || which == "all" {
        solvers.push(Box::new(Krylov::new(KrylovMethod::Cocr)));
    }
    let mut reference = None;
    for mut s in solvers {
        let (spec, rep) = sweep(&net, &f, s.as_mut(), |k, fk, st| {
            eprintln!(
                "  {k:3} {fk:10.4e} Hz: {} it, res {:.2e}",
                st.iterations, st.relative_residual
            )
        })
        .unwrap();
        let its: usize = rep.iterations.iter().sum();
        println!(
            "{}: {} frequencies in {:.2} s ({:.3} s per frequency), {} iterations total",
            rep.solver,
            f.len(),
            rep.seconds_total,
            rep.seconds_total / f.len() as f64,
            its
        );
        if let Some(r) = &reference {
            let r: &lipf_impedance::Spectrum = r;
            let d = spec
                .z
                .iter()
                .zip(&r.z)
                .map(|(a, b)| (a - b).norm() / b.norm())
                .fold(0.0, f64::max);
            println!("  max relative difference to the first solver: {d:.2e}");
        } else {
            reference = Some(spec);
        }
    }
}
