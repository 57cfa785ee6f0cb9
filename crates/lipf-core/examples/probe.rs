use lipf_core::*;
fn main() {
    let mut cfg = Config::default();
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 && !args[1].is_empty() {
        cfg = Config::from_file(std::path::Path::new(&args[1])).unwrap();
    }
    let t_end: f64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(2.0);
    let t0 = std::time::Instant::now();
    let mut b = CpuBackend::new(&cfg).unwrap();
    println!("{}", b.coeffs.describe());
    println!("init {:?}  dt_stable {:e}", t0.elapsed(), b.dt_stable_s());
    let stop = StopFlag::new();
    let t0 = std::time::Instant::now();
    let mut t = 0.0;
    while t < t_end {
        t = (t + t_end / 10.0).min(t_end);
        b.advance(t, &stop).unwrap();
        let s = b.scalars();
        let st = b.state().clone();
        println!("t={:.3} step={} i={:.5} V={:.6} li={:.6e} Q={:.6e} ferr={:.3e} it={} llzo={:.3e} cmin={:.4}",
            s.time_s, s.step, s.current_density_a_m2, s.cell_voltage_v, s.li_amount_mol_m2 - st.li_amount0_mol_m2,
            s.charge_c_m2, observables::faraday_error(&b.coeffs, &st), s.solver_iterations, s.li_in_electrolyte_mol_m2,
            st.conc.iter().cloned().fold(f64::INFINITY, f64::min));
    }
    let st = b.state();
    println!(
        "wall {:?}, steps {}, {:.3} ms/step, iters total {}",
        t0.elapsed(),
        st.step,
        t0.elapsed().as_secs_f64() * 1e3 / st.step as f64,
        st.solver_iterations_total
    );
}
