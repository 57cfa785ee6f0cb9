//! Galerkin coarsening of the 5-point operator for piecewise-constant aggregation: with
//! P = aggregate indicator, Pᵀ A P is again a 5-point operator whose face conductances are the
//! sums of the fine conductances crossing each coarse face, whose boundary conductances are the
//! sums over the aggregate's boundary cells, and whose diagonal S is the aggregate's sum. This
//! keeps strong conductivity contrasts (LLZO against floored pores) exact on every level.
//! Twin: `shaders/mg_coarsen.wgsl`.

use super::mg_restrict::coarse_len;
use super::operator::Operator;

pub fn mg_coarsen(fine: &Operator, coarse: &mut Operator) {
    let (nxf, nyf) = (fine.nx, fine.ny);
    let (nxc, nyc) = (coarse_len(nxf), coarse_len(nyf));
    assert_eq!((coarse.nx, coarse.ny), (nxc, nyc));
    for jc in 0..nyc {
        let j0 = 2 * jc;
        let j1 = (j0 + 2).min(nyf);
        for ic in 0..nxc {
            let i0 = 2 * ic;
            let i1 = (i0 + 2).min(nxf);
            let kc = jc * nxc + ic;
            let (mut tx, mut ty, mut s) = (0.0, 0.0, 0.0);
            for j in j0..j1 {
                // East face of the aggregate: the east faces of its last fine column.
                tx += fine.tx[j * nxf + i1 - 1];
                for i in i0..i1 {
                    s += fine.s[j * nxf + i];
                }
            }
            for i in i0..i1 {
                ty += fine.ty[(j1 - 1) * nxf + i];
            }
            // With one coarse column the periodic east face joins the aggregate to itself.
            coarse.tx[kc] = if nxc > 1 { tx } else { 0.0 };
            coarse.ty[kc] = ty;
            coarse.s[kc] = s;
        }
    }
    for ic in 0..nxc {
        coarse.tbot[ic] = (2 * ic..(2 * ic + 2).min(nxf)).map(|i| fine.tbot[i]).sum();
    }
    coarse.update_diagonal();
}
