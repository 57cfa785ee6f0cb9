// shared/grid.wgsl — the uniform of the kernels that need only the grid size, and the z
// neighbours of a cell (no entry point).
//
// Declares: struct GridParams (twin: lipf_gpu::params::GridParams); front_cell and back_cell,
//           the cells across the front (k + 1) and back (k − 1) faces of cell c of section k of
//           an nx·ny·nz grid (`section` = nx·ny), z periodic (twin:
//           lipf_core::cpu::operator::row_neighbours).
// Needs:    nothing.
// Twin:     none.

struct GridParams {
    nx: u32,
    ny: u32,
    // nx·ny·nz.
    n: u32,
    // Sections along z (1: a 2D section).
    nz: u32,
}

// The cells across the front (k + 1) and back (k − 1) faces of cell c in section k, z periodic.
fn front_cell(c: u32, k: u32, section: u32, nz: u32) -> u32 {
    if (k + 1u == nz) {
        return c + section - nz * section;
    }
    return c + section;
}

fn back_cell(c: u32, k: u32, section: u32, nz: u32) -> u32 {
    if (k == 0u) {
        return c + nz * section - section;
    }
    return c - section;
}
