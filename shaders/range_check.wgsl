// range_check.wgsl — the admissible-range check of the fields, on the device.
//
// Update:    status[f] = the smallest cell index whose field f is out of range or not finite
//            (f = 0: ξ outside [−0.1, 1.1]; 1: c̃ below −0.01; 2: φ not finite); the host
//            sets status to 0xffffffff before the dispatch and reads it back.
// Bindings:  0 uniform GridParams; 1 xi, 2 conc, 3 potential (read); 4 status (atomic).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D).
// Twin:      crates/lipf-core/src/cpu/range_check.rs (range_check and its constants
//            XI_MIN, XI_MAX, CONC_MIN).
// Imports:   shared/grid.wgsl, shared/float.wgsl

const XI_MIN: f32 = -0.1;
const XI_MAX: f32 = 1.1;
const CONC_MIN: f32 = -0.01;

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> conc: array<f32>;
@group(0) @binding(3) var<storage, read> potential: array<f32>;
@group(0) @binding(4) var<storage, read_write> status: array<atomic<u32>, 4>;

@compute @workgroup_size(16, 16)
fn range_check(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    let x = xi[k];
    if (!finite(x) || x < XI_MIN || x > XI_MAX) {
        atomicMin(&status[0], k);
    }
    let c = conc[k];
    if (!finite(c) || c < CONC_MIN) {
        atomicMin(&status[1], k);
    }
    if (!finite(potential[k])) {
        atomicMin(&status[2], k);
    }
}
