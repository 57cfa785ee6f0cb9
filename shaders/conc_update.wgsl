// conc_update.wgsl — explicit Nernst–Planck step of c̃ = c/c0:
//   c̃_new = c̃ + Δt [∇·(D ∇c̃ + D c̃ f ∇φ) − (c_s/c0) r].
//
// Update:    conc_new[k] from c̃, φ, r and D (computed per cell from ξ, ϕ, as the CPU's
//            refreshed diffusivity array); harmonic-mean face diffusivities, c̃ on a face the
//            mean of its two cells; top boundary c̃ = 1, φ = 0 half a cell away; bottom no flux.
// Bindings:  0 uniform ConcParams; 1 xi, 2 phi, 3 conc, 4 potential, 5 rate (read);
//            6 control (read: dt); 7 conc_new (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i, x periodic.
// Twin:      crates/lipf-core/src/cpu/conc_update.rs (conc_update, cell_diffusivity).
// Imports:   shared/conc.wgsl, shared/control.wgsl, shared/interp.wgsl, shared/diffusivity.wgsl

@group(0) @binding(0) var<uniform> p: ConcParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> conc: array<f32>;
@group(0) @binding(4) var<storage, read> potential: array<f32>;
@group(0) @binding(5) var<storage, read> rate: array<f32>;
@group(0) @binding(6) var<storage, read> control: Control;
@group(0) @binding(7) var<storage, read_write> conc_new: array<f32>;

// Flux into cell k from neighbour m through a face of diffusivity d (per Δx², unit area).
fn face(k: u32, m: u32, d: f32) -> f32 {
    return d * ((conc[m] - conc[k]) + 0.5 * (conc[m] + conc[k]) * p.f * (potential[m] - potential[k]));
}

@compute @workgroup_size(16, 16)
fn conc_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny) {
        return;
    }
    let nx = p.nx;
    let k = j * nx + i;
    let e = j * nx + (i + 1u) % nx;
    let w = j * nx + (i + nx - 1u) % nx;
    let dk = dif(k);
    var flux = 0.0;
    if (nx > 1u) {
        flux += face(k, e, harmonic_mean(dk, dif(e)));
        flux += face(k, w, harmonic_mean(dk, dif(w)));
    }
    if (j + 1u < p.ny) {
        flux += face(k, k + nx, harmonic_mean(dk, dif(k + nx)));
    } else {
        // Dirichlet c̃ = 1, φ = 0 on the top boundary, half a cell away.
        flux += 2.0 * dk * ((1.0 - conc[k]) + p.f * (0.0 - potential[k]));
    }
    if (j > 0u) {
        flux += face(k, k - nx, harmonic_mean(dk, dif(k - nx)));
    }
    conc_new[k] = conc[k] + control.dt * (flux * p.inv_dx2 - p.sink * rate[k]);
}
