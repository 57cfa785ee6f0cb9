// mg_restrict.wgsl — restriction to the next coarser level: the sum over each 2×2 (2D) or
// 2×2×2 (3D) aggregate (the transpose of piecewise-constant prolongation).
//
// Update:    coarse[cc] = Σ fine[c] over the aggregate of cc.
// Bindings:  0 uniform TransferParams; 1 fine (read); 2 coarse (write).
// Dispatch:  (ceil(nxc/16), ceil(nyc/16), nzc) workgroups of 16×16, one invocation per coarse
//            cell.
// Index:     coarse cell (ic, jc, kc) aggregates fine columns 2ic..min(2ic+2, nxf), rows
//            2jc..min(2jc+2, nyf) and sections 2kc..min(2kc+2, nzf); c = (k·ny + j)·nx + i.
// Twin:      crates/lipf-core/src/cpu/mg_restrict.rs.
// Imports:   shared/multigrid.wgsl

@group(0) @binding(0) var<uniform> p: TransferParams;
@group(0) @binding(1) var<storage, read> fine: array<f32>;
@group(0) @binding(2) var<storage, read_write> coarse: array<f32>;

@compute @workgroup_size(16, 16)
fn mg_restrict(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ic = gid.x;
    let jc = gid.y;
    let kc = gid.z;
    // Invocations past the coarse grid's edge do nothing.
    if (ic >= p.nxc || jc >= p.nyc || kc >= p.nzc) {
        return;
    }
    var s = 0.0;
    for (var k = 2u * kc; k < min(2u * kc + 2u, p.nzf); k++) {
        for (var j = 2u * jc; j < min(2u * jc + 2u, p.nyf); j++) {
            for (var i = 2u * ic; i < min(2u * ic + 2u, p.nxf); i++) {
                s += fine[(k * p.nyf + j) * p.nxf + i];
            }
        }
    }
    coarse[(kc * p.nyc + jc) * p.nxc + ic] = s;
}
