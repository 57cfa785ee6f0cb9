// xi_noise.wgsl — conserved Langevin noise on ξ (docs/models/phase-field.md §9.11).
//
// Update:    noise[k] = A Σ_f ±m_f ζ_f over the faces of cell k: the east face of cell k is
//            face 2k (periodic in x), its north face 2k + 1 (none through the top and bottom
//            boundaries), with nz > 1 its front face 2n + k (periodic in z); a face moves
//            m_f ζ_f from its west, south or back cell to its east, north or front cell, m_f = min(m_L, m_R), m = 16ξ²s² with s = (1 − cϕ − ξ)₊ the room left (c = 1
//            with the scaffold obstacle, 0 without). ζ_f from Philox4x32-10 with
//            counter (f, step, stream) and key seed: the top 24 bits of the first word, centred
//            and scaled to unit variance. The step is step_base + control.step_count − 1
//            (time_step.wgsl has counted the running step). xi_update adds √Δt·noise.
// Bindings:  0 uniform NoiseParams; 1 xi (read); 2 phi (read); 3 control (read: step_count);
//            4 noise (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i.
// Twin:      crates/lipf-core/src/cpu/xi_noise.rs.
// Imports:   shared/control.wgsl, shared/grid.wgsl

struct NoiseParams {
    nx: u32,
    ny: u32,
    // A, s^-1/2.
    amplitude: f32,
    seed_lo: u32,
    seed_hi: u32,
    // The batch's first step (the host's step count at the batch start), as two words.
    step_lo: u32,
    step_hi: u32,
    // c in the room s = (1 − cϕ − ξ)₊: 1 with the scaffold obstacle, 0 without.
    room_phi: f32,
    // Sections along z (1: a 2D section).
    nz: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: NoiseParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> control: Control;
@group(0) @binding(4) var<storage, read_write> noise: array<f32>;

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;
// The fourth counter word ("nois"; twin: lipf_core::cpu::xi_noise::NOISE_STREAM).
const NOISE_STREAM: u32 = 0x6E6F6973u;
// √12 / 2^24 (twin: ZETA_SCALE).
const ZETA_SCALE: f32 = 3.4641016151377546 / 16777216.0;

// (high, low) words of the 64-bit product a·b, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xFFFFu;
    let a1 = a >> 16u;
    let b0 = b & 0xFFFFu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    let lo = (mid << 16u) | (p00 & 0xFFFFu);
    return vec2<u32>(hi, lo);
}

fn philox_first_word(counter: vec4<u32>, key: vec2<u32>) -> u32 {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
        }
        let r0 = mulhilo(PHILOX_M0, c.x);
        let r1 = mulhilo(PHILOX_M1, c.z);
        c = vec4<u32>(r1.x ^ c.y ^ k.x, r1.y, r0.x ^ c.w ^ k.y, r0.y);
    }
    return c.x;
}

fn zeta(face: u32) -> f32 {
    // The running step: step_base + step_count − 1, with the carry into the high word.
    let offset = control.step_count - 1u;
    let lo = p.step_lo + offset;
    let hi = p.step_hi + select(0u, 1u, lo < p.step_lo);
    let x = philox_first_word(vec4<u32>(face, lo, hi, NOISE_STREAM), vec2<u32>(p.seed_lo, p.seed_hi));
    return f32(i32(x >> 8u) - 8388608) * ZETA_SCALE;
}

// m = 16ξ²s², s = (1 − cϕ − ξ)₊ (twin: interface_weight).
fn weight(k: u32) -> f32 {
    let x = clamp(xi[k], 0.0, 1.0);
    let s = max(1.0 - p.room_phi * phi[k] - x, 0.0);
    let q = 4.0 * x * s;
    return q * q;
}

// What the east face of (i, j) moves from (i, j) to its east neighbour.
// What the east face of cell i of row r (= kz·ny + j) moves to its east neighbour.
fn flux_x(i: u32, r: u32) -> f32 {
    let e = select(i + 1u, 0u, i + 1u == p.nx);
    let k = r * p.nx + i;
    return min(weight(k), weight(r * p.nx + e)) * zeta(2u * k);
}

// What the north face of cell i of row r moves to the cell above (none through the top).
fn flux_y(i: u32, r: u32) -> f32 {
    if (r % p.ny + 1u >= p.ny) {
        return 0.0;
    }
    let k = r * p.nx + i;
    return min(weight(k), weight(k + p.nx)) * zeta(2u * k + 1u);
}

// What the front face of cell k of section kz moves to the cell in front (nz > 1, z periodic).
fn flux_z(k: u32, kz: u32) -> f32 {
    let section = p.nx * p.ny;
    let n = section * p.nz;
    return min(weight(k), weight(front_cell(k, kz, section, p.nz))) * zeta(2u * n + k);
}

@compute @workgroup_size(16, 16)
fn xi_noise(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let i = gid.x;
    let j = gid.y;
    let kz = gid.z;
    let r = kz * p.ny + j;
    let w = select(i - 1u, p.nx - 1u, i == 0u);
    var south = 0.0;
    if (j > 0u) {
        south = flux_y(i, r - 1u);
    }
    var flux = flux_x(w, r) - flux_x(i, r) + south - flux_y(i, r);
    let k = r * p.nx + i;
    if (p.nz > 1u) {
        let section = p.nx * p.ny;
        let kb = (kz + p.nz - 1u) % p.nz;
        flux += flux_z(back_cell(k, kz, section, p.nz), kb) - flux_z(k, kz);
    }
    noise[k] = p.amplitude * flux;
}
