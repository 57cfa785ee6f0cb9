//! Galerkin coarsening of the 5-point (2D) or 7-point (3D) operator for piecewise-constant
//! aggregation over 2×2 (2×2×2) blocks: with P = aggregate indicator, Pᵀ A P is again such an
//! operator whose face conductances are the sums of the fine conductances crossing each coarse
//! face, whose boundary conductances are the sums over the aggregate's boundary cells, and whose
//! diagonal S is the aggregate's sum. This keeps strong conductivity contrasts (LLZO against
//! floored pores) exact on every level. A direction of one cell is not coarsened further (its
//! coarse length is 1 again). Twin: `shaders/mg_coarsen.wgsl`.

use super::mg_restrict::{aggregate, coarse_len};
use super::operator::Operator;

pub fn mg_coarsen(fine: &Operator, coarse: &mut Operator) {
    let (nxf, nyf, nzf) = (fine.nx, fine.ny, fine.nz);
    let (nxc, nyc, nzc) = (coarse_len(nxf), coarse_len(nyf), coarse_len(nzf));
    assert_eq!((coarse.nx, coarse.ny, coarse.nz), (nxc, nyc, nzc));
    let idx = |i: usize, j: usize, k: usize| (k * nyf + j) * nxf + i;
    for kc in 0..nzc {
        let sk = aggregate(kc, nzf);
        for jc in 0..nyc {
            let sj = aggregate(jc, nyf);
            for ic in 0..nxc {
                let si = aggregate(ic, nxf);
                let c = (kc * nyc + jc) * nxc + ic;
                let (mut tx, mut ty, mut s) = (0.0, 0.0, 0.0);
                for k in sk.clone() {
                    for j in sj.clone() {
                        // East face of the aggregate: the east faces of its last fine column.
                        tx += fine.tx[idx(si.end - 1, j, k)];
                        for i in si.clone() {
                            s += fine.s[idx(i, j, k)];
                        }
                    }
                }
                for k in sk.clone() {
                    for i in si.clone() {
                        ty += fine.ty[idx(i, sj.end - 1, k)];
                    }
                }
                // With one coarse cell along a periodic direction its faces join the aggregate
                // to itself.
                coarse.tx[c] = if nxc > 1 { tx } else { 0.0 };
                coarse.ty[c] = ty;
                coarse.s[c] = s;
                if nzc > 1 {
                    let mut tz = 0.0;
                    for j in sj.clone() {
                        for i in si.clone() {
                            tz += fine.tz[idx(i, j, sk.end - 1)];
                        }
                    }
                    coarse.tz[c] = tz;
                }
            }
        }
        for ic in 0..nxc {
            let mut t = 0.0;
            for k in sk.clone() {
                for i in aggregate(ic, nxf) {
                    t += fine.tbot[k * nxf + i];
                }
            }
            coarse.tbot[kc * nxc + ic] = t;
        }
    }
    coarse.update_diagonal();
}
