// np_substep.wgsl — one explicit Nernst–Planck sub-step with the stencil of
// np_coefficients.wgsl: c̃_new = c̃ + Δt_sub (a_w c̃_w + a_e c̃_e + a_s c̃_s + a_n c̃_n + a_k c̃_k + b).
//
// Update:    conc_new[k]; Δt_sub from the device-side Control (time_step.wgsl splits the step
//            into Control.substeps equal sub-steps).
// Bindings:  0 uniform GridParams; 1 stencil, 2 conc (read); 3 control (read: dt_sub);
//            4 conc_new (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell; the
//            m-th recorded sub-step is dispatched with zero workgroups when m ≥ substeps.
// Index:     k = j·nx + i, x periodic; missing neighbours have zero coefficients and a clamped
//            index.
// Twin:      crates/lipf-core/src/cpu/np_substep.rs.
// Imports:   shared/grid.wgsl, shared/control.wgsl

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> stencil: array<f32>;
@group(0) @binding(2) var<storage, read> conc: array<f32>;
@group(0) @binding(3) var<storage, read> control: Control;
@group(0) @binding(4) var<storage, read_write> conc_new: array<f32>;

@compute @workgroup_size(16, 16)
fn np_substep(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny) {
        return;
    }
    let nx = p.nx;
    let down = select(j - 1u, 0u, j == 0u) * nx;
    let up = min(j + 1u, p.ny - 1u) * nx;
    let here = j * nx;
    let k = here + i;
    let w = here + select(i - 1u, nx - 1u, i == 0u);
    let e = here + select(i + 1u, 0u, i + 1u == nx);
    let s = 6u * k;
    let flux = stencil[s] * conc[w] + stencil[s + 1u] * conc[e] + stencil[s + 2u] * conc[down + i]
        + stencil[s + 3u] * conc[up + i] + stencil[s + 4u] * conc[k] + stencil[s + 5u];
    conc_new[k] = conc[k] + control.dt_sub * flux;
}
