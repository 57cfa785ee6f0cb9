// impedance_apply.wgsl — the impedance network operator A(ω) of docs/models/impedance.md, in f64
// complex arithmetic (vec2<f64> = (re, im)), matrix-free from the bond list.
//
// Update:    bond_admittance: y_b = 1 / Σ_k 1/(g_k + iωc_k) over the n_b ≤ 4 elements of bond b
//              (0 when an element is an open circuit, g = c = 0);
//            assemble_node: d_i = Σ_{bonds of i} y_b, dinv_i = (d_i, 1/d_i),
//              rhs_i = Σ_{bonds i–WE} y_b (V_WE = 1 V);
//            apply_dot: dst = A·src with (A·x)_i = d_i x_i − Σ_{bonds i–j, j unknown} y_b x_j,
//              partials[w] = (Σ_w srcᵀdst, 0, 0) (unconjugated);
//            residual: dst = rhs − A·src, partials[w] = (Σ_w dstᵀ(M⁻¹dst), Σ_w |dst|², Σ_w |rhs|²)
//              with M⁻¹ = diag(1/d).
// Bindings:  0 uniform ImpedanceParams; 1 elems (read; two vec4 per bond: g0 c0 g1 c1, g2 c2 g3 c3);
//            2 bond_n (read); 3 y_bond (read_write: written by bond_admittance, read elsewhere);
//            4 node_ptr (read, n + 1); 5 adj (read; per entry (bond, other node), other = 0xFFFFFFFF
//            for the WE, 0xFFFFFFFE for the CE); 6 dinv (read_write, written by assemble_node);
//            7 rhs (read_write, written by assemble_node); 8 src (read); 9 dst (read_write);
//            10 partials (read_write, one vec4<f64> per workgroup).
//            bond_admittance: 0–3; assemble_node: 0, 3–7; apply_dot: 0, 3–6, 8–10; residual: 0, 3–10.
// Dispatch:  (groups, 1, 1) workgroups of 256, grid-stride: invocation t of workgroup w visits
//            items w·256 + t + m·groups·256 (bonds for bond_admittance, nodes otherwise);
//            groups ≤ 1024. Partials are tree sums inside a workgroup, finished in a fixed order by
//            impedance_cocg.wgsl (deterministic).
// Index:     node i = unknown index of lipf_impedance::network::Network (0..n); bond b = index in
//            Network::bonds; adjacency entries of node i are adj[node_ptr[i] .. node_ptr[i + 1]].
// Twin:      crates/lipf-impedance/src/kernels/impedance_apply.rs (same names, same arithmetic).
//            f64 throughout: needs the SHADER_F64 device feature (naga Capabilities::FLOAT64).
// Imports:   shared/complex.wgsl

const NODE_CE: u32 = 0xFFFFFFFEu;
const NODE_WE: u32 = 0xFFFFFFFFu;

@group(0) @binding(0) var<uniform> params: ImpedanceParams;
@group(0) @binding(1) var<storage, read> elems: array<vec4<f64>>;
@group(0) @binding(2) var<storage, read> bond_n: array<u32>;
@group(0) @binding(3) var<storage, read_write> y_bond: array<vec2<f64>>;
@group(0) @binding(4) var<storage, read> node_ptr: array<u32>;
@group(0) @binding(5) var<storage, read> adj: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read_write> dinv: array<vec4<f64>>;
@group(0) @binding(7) var<storage, read_write> rhs: array<vec2<f64>>;
@group(0) @binding(8) var<storage, read> src: array<vec2<f64>>;
@group(0) @binding(9) var<storage, read_write> dst: array<vec2<f64>>;
@group(0) @binding(10) var<storage, read_write> partials: array<vec4<f64>>;

// 1/a as num_complex computes it: conj(a) / |a|².
fn cinv(a: vec2<f64>) -> vec2<f64> {
    let s = a.x * a.x + a.y * a.y;
    return vec2<f64>(a.x / s, -a.y / s);
}

// (A·x)_i for the vector in `src`.
fn apply_row(i: u32) -> vec2<f64> {
    var s = cmul(dinv[i].xy, src[i]);
    for (var m = node_ptr[i]; m < node_ptr[i + 1u]; m++) {
        let e = adj[m];
        if (e.y < NODE_CE) {
            s -= cmul(y_bond[e.x], src[e.y]);
        }
    }
    return s;
}

@compute @workgroup_size(256)
fn bond_admittance(@builtin(local_invocation_id) lid: vec3<u32>,
                   @builtin(workgroup_id) wid: vec3<u32>) {
    for (var b = wid.x * 256u + lid.x; b < params.n_bonds; b += params.groups * 256u) {
        var z = vec2<f64>(0.0, 0.0);
        var open = false;
        for (var k = 0u; k < bond_n[b]; k++) {
            let gc = elems[2u * b + k / 2u];
            var y: vec2<f64>;
            if (k % 2u == 0u) {
                y = vec2<f64>(gc.x, params.omega * gc.y);
            } else {
                y = vec2<f64>(gc.z, params.omega * gc.w);
            }
            if (y.x == 0.0 && y.y == 0.0) {
                open = true;
            } else {
                z += cinv(y);
            }
        }
        if (open) {
            y_bond[b] = vec2<f64>(0.0, 0.0);
        } else {
            y_bond[b] = cinv(z);
        }
    }
}

@compute @workgroup_size(256)
fn assemble_node(@builtin(local_invocation_id) lid: vec3<u32>,
                 @builtin(workgroup_id) wid: vec3<u32>) {
    for (var i = wid.x * 256u + lid.x; i < params.n; i += params.groups * 256u) {
        var d = vec2<f64>(0.0, 0.0);
        var b = vec2<f64>(0.0, 0.0);
        for (var m = node_ptr[i]; m < node_ptr[i + 1u]; m++) {
            let e = adj[m];
            let y = y_bond[e.x];
            d += y;
            if (e.y == NODE_WE) {
                b += y;
            }
        }
        dinv[i] = vec4<f64>(d, cinv(d));
        rhs[i] = b;
    }
}

@compute @workgroup_size(256)
fn apply_dot(@builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(workgroup_id) wid: vec3<u32>) {
    var acc = vec2<f64>(0.0, 0.0);
    for (var i = wid.x * 256u + lid.x; i < params.n; i += params.groups * 256u) {
        let q = apply_row(i);
        dst[i] = q;
        acc += cmul(src[i], q);
    }
    let total = ctree_sum(lid.x, vec4<f64>(acc, 0.0, 0.0));
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn residual(@builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(workgroup_id) wid: vec3<u32>) {
    var acc = vec4<f64>(0.0, 0.0, 0.0, 0.0);
    for (var i = wid.x * 256u + lid.x; i < params.n; i += params.groups * 256u) {
        let r = rhs[i] - apply_row(i);
        dst[i] = r;
        let z = cmul(dinv[i].zw, r);
        let b = rhs[i];
        acc += vec4<f64>(cmul(r, z), r.x * r.x + r.y * r.y, b.x * b.x + b.y * b.y);
    }
    let total = ctree_sum(lid.x, acc);
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}
