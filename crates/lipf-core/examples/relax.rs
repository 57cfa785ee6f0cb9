use lipf_core::cpu::xi_rate::*;
use lipf_core::*;
fn main() {
    let mut cfg = Config::default();
    let a: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1.0);
    cfg.model.cross_term_over_w1 = a;
    cfg.model.equilibration_time_s = 0.0;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let c = b.coeffs.clone();
    let n = c.grid.cells();
    let p = XiRateParams::new(&c, false);
    let q = c.nf_c_mol * c.cs_mol_m3 * c.grid.dx_m * c.grid.dx_m / c.grid.width_m();
    let mut ra = vec![0.0; n];
    let mut g = vec![0.0; n];
    let mut t = 0.0;
    for target in [0.25, 0.5, 1.0, 2.0, 4.0, 8.0] {
        b.equilibrate(target - t).unwrap();
        t = target;
        let s = b.state().clone();
        xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta, &mut ra, &mut g);
        let net: f64 = ra.iter().sum::<f64>() * q;
        let abs: f64 = ra.iter().map(|x| x.abs()).sum::<f64>() * q;
        let mx = ra.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let li = observables::li_amount_mol_m2(&c, &s);
        println!("t={t} A/W1={a} max|r_ac|={mx:.3e} net AC current {net:.3e} A/m2  abs {abs:.3e} A/m2  li {li:.5e}");
    }
}
