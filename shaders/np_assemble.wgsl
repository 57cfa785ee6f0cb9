// np_assemble.wgsl — one implicit (backward-Euler) Nernst–Planck step as a symmetric positive
// definite 5-point problem in the Slotboom variable u = c̃ e^{fφ}, solved by the multigrid-
// preconditioned CG of the potentials (docs/models/phase-field.md §9.4).
//
// Update:    np_assemble: op = [tx | ty | s | diag | tbot] with the face conductances
//              T = Δt d/[Δx² M(e^{fφ_k}, e^{fφ_n})] (d the harmonic mean of the cell diffusivities,
//              M the logarithmic mean: the migration flux at c̃ = 1 is the ohmic d f Δφ), the top
//              row's Dirichlet conductance 2Δt D_k/[Δx² M(e^{fφ_k}, 1)] to u = 1 in ty,
//              S = e_k = e^{−fφ_k}, tbot = 0 (no flux
//              through the bottom) and the cached diagonal Σ T + S;
//            np_assemble_rhs (after np_assemble): the same problem in correction form, for u =
//              u0 + δu with u0 = c̃ e^{fφ} (the old c̃ with the new φ; the CPU's warm start):
//              rhs = b − A u0 and the start δu = 0 (in `u`), b = c̃ − Δt (c_s/c0) r (+ ty in the
//              top row: the boundary value u = 1 times its conductance). Since S u0 = c̃,
//              rhs_k = −Δt (c_s/c0) r_k + Σ_n T_kn (u0_n − u0_k) (+ ty (1 − u0_k) in the top row),
//              each face's u0_n − u0_k taken as e^{fφk} [(c̃_n − c̃_k) + c̃_n (e^{f(φn − φk)} − 1)]:
//              the flux keeps the f32 precision of the flux, not of u0 ≈ 1. (In the f32 form
//              A u0, diag·u0 − Σ T u0_n, the rounding of diag ≈ 4Δt D/Δx² ≫ S alone shifts c̃ by
//              ~1e-7 Δt D/Δx² per step; np_finish.wgsl adds e^{−fφ} δu to the old c̃ for the same
//              reason.) Faces are evaluated with their owners' arguments (the west and south
//              faces by the neighbour's formula), so the fluxes cancel pairwise and the sum of
//              rhs is the sink and the top inflow.
//            Δt is the step's, from the control record (time_step.wgsl).
// Bindings:  0 uniform ConcParams; 1 xi, 2 phi, 3 potential (read); 4 control (read: dt);
//            5 op (np_assemble: write; np_assemble_rhs: read, the face conductances);
//            6 rate, 7 conc (read); 8 rhs, 9 u (the correction δu; write). np_assemble binds
//            0–5, np_assemble_rhs 0 and 3–9 (at most 7 storage buffers per entry).
// Dispatch:  both (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell;
//            np_assemble_rhs after np_assemble.
// Index:     k = (kz·ny + j)·nx + i, row 0 at the collector; x and z periodic; op layout as in
//            potential_assemble.wgsl (tx at k, ty at n + k, s at 2n + k, diag at 3n + k, tbot at
//            4n + kz·nx + i, tz at 4n + nx·nz + k when nz > 1).
// Twin:      crates/lipf-core/src/cpu/np_assemble.rs (exprel, boltzmann_weight, np_assemble),
//            with Operator::update_diagonal (cpu/operator.rs) folded in: the diagonal is built
//            from the west and south faces recomputed with their owners' arguments, so it holds
//            the conductances stored by the neighbours. The CPU's (rhs, u) are (b, u0); this
//            kernel's are (b − A u0, 0), the same step (tests/gpu_checks.rs evaluates b − A u0
//            of the CPU's outputs in f64).
// Imports:   shared/conc.wgsl, shared/control.wgsl, shared/interp.wgsl, shared/diffusivity.wgsl,
//            shared/operator.wgsl, shared/grid.wgsl

@group(0) @binding(0) var<uniform> p: ConcParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> potential: array<f32>;
@group(0) @binding(4) var<storage, read> control: Control;
@group(0) @binding(5) var<storage, read_write> op: array<f32>;
@group(0) @binding(6) var<storage, read> rate: array<f32>;
@group(0) @binding(7) var<storage, read> conc: array<f32>;
@group(0) @binding(8) var<storage, read_write> rhs: array<f32>;
@group(0) @binding(9) var<storage, read_write> u: array<f32>;

// Below this |x| exprel is its Taylor series through x⁵/720 (truncation x⁶/5040 ≤ 1.5e-7 of the
// value); above it the quotient (e^x − 1)/x, whose cancellation costs 1.2e-7 (1 + x)/|x| ≤ 5e-7
// per ulp of exp's error at the switch (WGSL has no expm1).
const EXPREL_SERIES_BELOW: f32 = 0.3;

// (e^x − 1)/x, continuous through x = 0.
fn exprel(x: f32) -> f32 {
    if (abs(x) < EXPREL_SERIES_BELOW) {
        return 1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0
            + x * (1.0 / 720.0)))));
    }
    return (exp(x) - 1.0) / x;
}

// 1/M(e^{fφa}, e^{fφb}), M the logarithmic mean, from the potentials: e^{−fφa}/exprel(f(φb − φa)).
fn boltzmann_weight(phi_a: f32, phi_b: f32) -> f32 {
    return exp(-p.f * phi_a) / exprel(p.f * (phi_b - phi_a));
}

// Δt/Δx², the factor of every conductance.
fn scale() -> f32 {
    return control.dt * p.inv_dx2;
}

// T of the face between cells k and n (the argument order of the face's owner, k west or
// south of n).
fn conductance(k: u32, n: u32) -> f32 {
    return scale() * harmonic_mean(dif(k), dif(n)) * boltzmann_weight(potential[k], potential[n]);
}

// The top face of cell k: u = 1 (c̃ = 1, φ = 0) half a cell away.
fn top_conductance(k: u32) -> f32 {
    return 2.0 * scale() * dif(k) * boltzmann_weight(potential[k], 0.0);
}

@compute @workgroup_size(16, 16)
fn np_assemble(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let kz = gid.z;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny || kz >= p.nz) {
        return;
    }
    let nx = p.nx;
    let base = (kz * p.ny + j) * nx;
    let k = base + i;
    var tx = 0.0;
    var tx_west = 0.0;
    if (nx > 1u) {
        tx = conductance(k, base + (i + 1u) % nx);
        tx_west = conductance(base + (i + nx - 1u) % nx, k);
    }
    var ty: f32;
    if (j + 1u < p.ny) {
        ty = conductance(k, k + nx);
    } else {
        ty = top_conductance(k);
    }
    var ty_south = 0.0;
    if (j > 0u) {
        ty_south = conductance(k - nx, k);
    }
    var tz = 0.0;
    var tz_back = 0.0;
    if (p.nz > 1u) {
        tz = conductance(k, front_cell(k, kz, nx * p.ny, p.nz));
        tz_back = conductance(back_cell(k, kz, nx * p.ny, p.nz), k);
    }
    let s = exp(-p.f * potential[k]);
    store_operator(i, j, kz, tx, tx_west, ty, ty_south, tz, tz_back, s, 0.0);
}

// T (u_b − u_a) for the face of conductance t between a cell (φa, c̃a) and a cell or boundary
// (φb, c̃b), u = c̃ e^{fφ}: e^{fφa} [(c̃b − c̃a) + c̃b x exprel(x)], x = f(φb − φa).
fn face_flux(t: f32, phi_a: f32, c_a: f32, phi_b: f32, c_b: f32) -> f32 {
    let x = p.f * (phi_b - phi_a);
    return t * exp(p.f * phi_a) * ((c_b - c_a) + c_b * x * exprel(x));
}

// face_flux of the face between cells a and b (a west or south of b, the face's owner).
fn flux_between(t: f32, a: u32, b: u32) -> f32 {
    return face_flux(t, potential[a], conc[a], potential[b], conc[b]);
}

@compute @workgroup_size(16, 16)
fn np_assemble_rhs(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let kz = gid.z;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny || kz >= p.nz) {
        return;
    }
    let nx = p.nx;
    let n = nx * p.ny * p.nz;
    let base = (kz * p.ny + j) * nx;
    let k = base + i;
    // Σ_n T_kn (u0_n − u0_k): east, north and front faces are this cell's, west, south and back
    // the neighbours' (their flux into the neighbour, with the sign turned).
    var inflow = 0.0;
    if (nx > 1u) {
        let e = base + (i + 1u) % nx;
        let w = base + (i + nx - 1u) % nx;
        inflow += flux_between(op[k], k, e) - flux_between(op[w], w, k);
    }
    if (p.nz > 1u) {
        let tz = 4u * n + nx * p.nz;
        let f = front_cell(k, kz, nx * p.ny, p.nz);
        let b = back_cell(k, kz, nx * p.ny, p.nz);
        inflow += flux_between(op[tz + k], k, f) - flux_between(op[tz + b], b, k);
    }
    if (j + 1u < p.ny) {
        inflow += flux_between(op[n + k], k, k + nx);
    } else {
        // The top boundary: c̃ = 1, φ = 0.
        inflow += face_flux(op[n + k], potential[k], conc[k], 0.0, 1.0);
    }
    if (j > 0u) {
        inflow -= flux_between(op[n + k - nx], k - nx, k);
    }
    rhs[k] = inflow - control.dt * p.sink * rate[k];
    u[k] = 0.0;
}
