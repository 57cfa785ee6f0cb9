//! CPU twin of `shaders/impedance_apply.wgsl`: the network operator A(ω), matrix-free from the
//! bond list, in the device's data layout. Each function performs the update of the WGSL entry
//! point of the same name, invocation by invocation (the grid-stride assignment of items to
//! workgroups included, so that the per-workgroup partial sums cover the same items).

use super::{group_of, ImpedanceParams};
use crate::network::{Network, NODE_CE, NODE_WE};
use num_complex::Complex64 as C64;

/// The network in the device layout: the bond elements and, per unknown node, the list of its
/// bonds with the node at the other end (in bond order).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkLayout {
    /// Unknowns.
    pub n: usize,
    /// Two entries per bond: (g0, c0, g1, c1), (g2, c2, g3, c3); unused elements are zero.
    pub elems: Vec<[f64; 4]>,
    /// Elements in series in each bond (1 to 4).
    pub bond_n: Vec<u32>,
    /// Adjacency entries of node i: `adj[node_ptr[i]..node_ptr[i + 1]]`.
    pub node_ptr: Vec<u32>,
    /// (bond, node at the other end); the other end is `NODE_WE` or `NODE_CE` for an electrode.
    pub adj: Vec<[u32; 2]>,
}

impl NetworkLayout {
    pub fn new(net: &Network) -> NetworkLayout {
        let nb = net.bonds.len();
        assert!(
            net.n < NODE_CE as usize && 2 * nb < u32::MAX as usize,
            "network too large for 32-bit device indices"
        );
        let mut elems = vec![[0.0; 4]; 2 * nb];
        let mut bond_n = vec![0u32; nb];
        let mut count = vec![0u32; net.n + 1];
        for (k, b) in net.bonds.iter().enumerate() {
            bond_n[k] = b.n as u32;
            for (e, el) in b.elems[..b.n as usize].iter().enumerate() {
                elems[2 * k + e / 2][2 * (e % 2)] = el.g;
                elems[2 * k + e / 2][2 * (e % 2) + 1] = el.c;
            }
            count[b.a as usize + 1] += 1;
            if b.b < NODE_CE {
                count[b.b as usize + 1] += 1;
            }
        }
        for i in 0..net.n {
            count[i + 1] += count[i];
        }
        let node_ptr = count;
        let mut fill: Vec<u32> = node_ptr[..net.n].to_vec();
        let mut adj = vec![[0u32; 2]; node_ptr[net.n] as usize];
        for (k, b) in net.bonds.iter().enumerate() {
            let a = b.a as usize;
            adj[fill[a] as usize] = [k as u32, b.b];
            fill[a] += 1;
            if b.b < NODE_CE {
                let o = b.b as usize;
                adj[fill[o] as usize] = [k as u32, b.a];
                fill[o] += 1;
            }
        }
        NetworkLayout {
            n: net.n,
            elems,
            bond_n,
            node_ptr,
            adj,
        }
    }

    pub fn n_bonds(&self) -> usize {
        self.bond_n.len()
    }
}

/// y_b = 1/Σ_k 1/(g_k + iωc_k); 0 when an element is an open circuit.
pub fn bond_admittance(
    p: &ImpedanceParams,
    elems: &[[f64; 4]],
    bond_n: &[u32],
    y_bond: &mut [C64],
) {
    for (b, y_out) in y_bond.iter_mut().enumerate().take(p.n_bonds as usize) {
        let mut z = C64::new(0.0, 0.0);
        let mut open = false;
        for k in 0..bond_n[b] as usize {
            let gc = elems[2 * b + k / 2];
            let y = if k % 2 == 0 {
                C64::new(gc[0], p.omega * gc[1])
            } else {
                C64::new(gc[2], p.omega * gc[3])
            };
            if y.re == 0.0 && y.im == 0.0 {
                open = true;
            } else {
                z += y.inv();
            }
        }
        *y_out = if open { C64::new(0.0, 0.0) } else { z.inv() };
    }
}

/// dinv_i = (d_i, 1/d_i) with d_i = Σ_{bonds of i} y_b; rhs_i = Σ_{bonds i–WE} y_b.
pub fn assemble_node(
    p: &ImpedanceParams,
    node_ptr: &[u32],
    adj: &[[u32; 2]],
    y_bond: &[C64],
    dinv: &mut [[C64; 2]],
    rhs: &mut [C64],
) {
    for i in 0..p.n as usize {
        let mut d = C64::new(0.0, 0.0);
        let mut b = C64::new(0.0, 0.0);
        for e in &adj[node_ptr[i] as usize..node_ptr[i + 1] as usize] {
            let y = y_bond[e[0] as usize];
            d += y;
            if e[1] == NODE_WE {
                b += y;
            }
        }
        dinv[i] = [d, d.inv()];
        rhs[i] = b;
    }
}

/// (A·x)_i = d_i x_i − Σ_{bonds i–j, j unknown} y_b x_j.
pub fn apply_row(
    i: usize,
    node_ptr: &[u32],
    adj: &[[u32; 2]],
    y_bond: &[C64],
    dinv: &[[C64; 2]],
    x: &[C64],
) -> C64 {
    let mut s = dinv[i][0] * x[i];
    for e in &adj[node_ptr[i] as usize..node_ptr[i + 1] as usize] {
        if e[1] < NODE_CE {
            s -= y_bond[e[0] as usize] * x[e[1] as usize];
        }
    }
    s
}

/// dst = A·src; partials[w] = (Σ_w srcᵀdst (re, im), 0, 0).
#[allow(clippy::too_many_arguments)]
pub fn apply_dot(
    p: &ImpedanceParams,
    y_bond: &[C64],
    node_ptr: &[u32],
    adj: &[[u32; 2]],
    dinv: &[[C64; 2]],
    src: &[C64],
    dst: &mut [C64],
    partials: &mut [[f64; 4]],
) {
    partials[..p.groups as usize].fill([0.0; 4]);
    for i in 0..p.n as usize {
        let q = apply_row(i, node_ptr, adj, y_bond, dinv, src);
        dst[i] = q;
        let d = src[i] * q;
        let w = &mut partials[group_of(i, p.groups)];
        w[0] += d.re;
        w[1] += d.im;
    }
}

/// dst = rhs − A·src; partials[w] = (Σ_w dstᵀ(M⁻¹dst) (re, im), Σ_w |dst|², Σ_w |rhs|²).
#[allow(clippy::too_many_arguments)]
pub fn residual(
    p: &ImpedanceParams,
    y_bond: &[C64],
    node_ptr: &[u32],
    adj: &[[u32; 2]],
    dinv: &[[C64; 2]],
    rhs: &[C64],
    src: &[C64],
    dst: &mut [C64],
    partials: &mut [[f64; 4]],
) {
    partials[..p.groups as usize].fill([0.0; 4]);
    for i in 0..p.n as usize {
        let r = rhs[i] - apply_row(i, node_ptr, adj, y_bond, dinv, src);
        dst[i] = r;
        let rz = r * (dinv[i][1] * r);
        let w = &mut partials[group_of(i, p.groups)];
        w[0] += rz.re;
        w[1] += rz.im;
        w[2] += r.norm_sqr();
        w[3] += rhs[i].norm_sqr();
    }
}
