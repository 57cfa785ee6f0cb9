//! Criterion benchmarks of the explicit update (xi_rate, xi_update, np_substep), the multigrid's
//! finest-level kernels on the CPU (a red–black smoothing sweep, the residual), and the copy
//! kernel, on the CPU reference kernels and, when an adapter is present, on the GPU backend's
//! WGSL kernels. `lipf bench` reports the same figures as cell updates per second and as
//! fractions of the copy bandwidth; these benches track them over time.
//!
//! Throughput is reported in cells per second. A software adapter (lavapipe, llvmpipe) runs the
//! WGSL on the CPU: its group is named `software-adapter`, never `gpu`.
//!
//! `LIPF_BENCH_SIZE` sets the grid (n × n, default 256).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lipf_core::cpu::mg_residual::mg_residual;
use lipf_core::cpu::mg_smooth::mg_smooth;
use lipf_core::cpu::operator::Operator;
use lipf_core::cpu::{np_substep::np_substep, par::for_rows, xi_rate, xi_update::xi_update};
use lipf_gpu::bench::{BenchFields, GpuExplicit};
use std::time::Duration;

fn size() -> usize {
    std::env::var("LIPF_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

fn cpu_kernels(c: &mut Criterion) {
    let f = BenchFields::new(size());
    let (nx, ny) = (f.nx(), f.ny());
    let n = nx * ny;
    let p = xi_rate::XiRateParams::new(&f.coeffs, true);
    let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
    let mut xi = f.xi.clone();
    let (mut c1, mut c2) = (f.conc.clone(), f.conc.clone());
    let mut dst = vec![0.0; n];
    let mut group = c.benchmark_group(format!("cpu-{nx}x{ny}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(n as u64));
    group.bench_function("xi_rate", |b| {
        b.iter(|| xi_rate::xi_rate(&p, &f.xi, &f.phi, &f.conc, &f.eta, &mut a, &mut g))
    });
    group.bench_function("xi_update", |b| {
        b.iter(|| xi_update(nx, 1e-12, &a, None, &mut xi))
    });
    group.bench_function("np_substep", |b| {
        b.iter(|| {
            np_substep(nx, ny, 1e-6, &f.stencil, &c1, &mut c2);
            std::mem::swap(&mut c1, &mut c2);
        })
    });
    // A potential-like operator: conductances that follow the scaffold (ϕ), a small diagonal.
    let mut op = Operator::zeros(nx, ny);
    let sigma: Vec<f64> = f.phi.iter().map(|p| 1e-3 + (1.0 - p)).collect();
    op.set_face_conductances(&sigma);
    op.s.iter_mut().for_each(|s| *s = 1e-6);
    op.update_diagonal();
    let (rhs, mut x, mut r) = (f.conc.clone(), vec![0.0; n], vec![0.0; n]);
    group.bench_function("mg_smooth (both colours)", |b| {
        b.iter(|| {
            mg_smooth(&op, &rhs, &mut x, 0);
            mg_smooth(&op, &rhs, &mut x, 1);
        })
    });
    group.bench_function("mg_residual", |b| {
        b.iter(|| mg_residual(&op, &rhs, &x, &mut r))
    });
    group.bench_function("copy", |b| {
        b.iter(|| {
            for_rows(&mut dst, nx, |j, row| {
                row.copy_from_slice(&f.phi[j * nx..(j + 1) * nx])
            })
        })
    });
    group.finish();
}

fn gpu_kernels(c: &mut Criterion) {
    let req = lipf_gpu::AdapterRequest {
        allow_software: true,
        name_contains: std::env::var("LIPF_BENCH_ADAPTER").ok(),
    };
    let ctx = match lipf_gpu::GpuContext::new(&req) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("GPU kernels skipped: {e}");
            return;
        }
    };
    let f = BenchFields::new(size());
    let k = match GpuExplicit::new(&ctx, &f) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("GPU kernels skipped: {e}");
            return;
        }
    };
    let kind = if ctx.adapter.software {
        "software-adapter"
    } else {
        "gpu"
    };
    eprintln!("{kind}: {}", ctx.adapter.label());
    let mut group = c.benchmark_group(format!("{kind}-{}x{}", f.nx(), f.ny()));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements((f.nx() * f.ny()) as u64));
    for (i, name) in k.names().into_iter().enumerate() {
        // Each iteration is one submission of one dispatch, waited for.
        group.bench_function(name, |b| b.iter(|| k.dispatch(i, 1)));
    }
    group.finish();
}

criterion_group!(benches, cpu_kernels, gpu_kernels);
criterion_main!(benches);
