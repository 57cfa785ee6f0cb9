// reaction_rate.wgsl — the ξ rate r = a − g η with the overpotential of the freshly solved
// potentials (two-potential and consistent forms) or of the previous one (single-potential
// form), and η itself.
//
// Update:    eta[k] = φ_s,k − φ_k − E⁰ (two-potential), V − φ_k − E⁰ (consistent) or φ_k − E⁰
//            (single potential); rate[k] = a − g η (two-potential, consistent) or a − g η*
//            (single potential).
// Bindings:  0 uniform ReactionParams; 1 a, 2 g, 3 eta_star, 4 potential (read);
//            5 control (read: v_collector); 6 rate, 7 eta (write); 8 electronic (read: φ_s, read
//            only by the two-potential form).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D).
// Twin:      crates/lipf-core/src/cpu/reaction_rate.rs (reaction_rate, overpotential).
// Imports:   shared/control.wgsl, shared/interp.wgsl

struct ReactionParams {
    nx: u32,
    ny: u32,
    form: u32,
    // Sections along z (1: a 2D section).
    nz: u32,
    e0_v: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

@group(0) @binding(0) var<uniform> p: ReactionParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> eta_star: array<f32>;
@group(0) @binding(4) var<storage, read> potential: array<f32>;
@group(0) @binding(5) var<storage, read> control: Control;
@group(0) @binding(6) var<storage, read_write> rate: array<f32>;
@group(0) @binding(7) var<storage, read_write> eta: array<f32>;
@group(0) @binding(8) var<storage, read> electronic: array<f32>;

@compute @workgroup_size(16, 16)
fn reaction_rate(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    var e: f32;
    if (p.form == FORM_TWO_POTENTIAL) {
        e = electronic[k] - potential[k] - p.e0_v;
        rate[k] = a[k] - g[k] * e;
    } else if (p.form == FORM_CONSISTENT) {
        e = control.v_collector - potential[k] - p.e0_v;
        rate[k] = a[k] - g[k] * e;
    } else {
        e = potential[k] - p.e0_v;
        rate[k] = a[k] - g[k] * eta_star[k];
    }
    eta[k] = e;
}
