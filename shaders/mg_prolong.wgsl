// mg_prolong.wgsl — prolongation: add the scaled coarse correction to every fine cell of its
// aggregate (piecewise constant).
//
// Update:    fine[c] += scale · coarse[((k/2)·nyc + j/2)·nxc + i/2].
// Bindings:  0 uniform TransferParams; 1 coarse (read); 2 fine (read_write).
// Dispatch:  (ceil(nxf/16), ceil(nyf/16), nzf) workgroups of 16×16, one invocation per fine cell.
// Index:     c = (k·nyf + j)·nxf + i.
// Twin:      crates/lipf-core/src/cpu/mg_prolong.rs.
// Imports:   shared/multigrid.wgsl

@group(0) @binding(0) var<uniform> p: TransferParams;
@group(0) @binding(1) var<storage, read> coarse: array<f32>;
@group(0) @binding(2) var<storage, read_write> fine: array<f32>;

@compute @workgroup_size(16, 16)
fn mg_prolong(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let k = gid.z;
    // Invocations past the fine grid's edge do nothing.
    if (i >= p.nxf || j >= p.nyf || k >= p.nzf) {
        return;
    }
    fine[(k * p.nyf + j) * p.nxf + i] += p.scale * coarse[((k / 2u) * p.nyc + j / 2u) * p.nxc + i / 2u];
}
