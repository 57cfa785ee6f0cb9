//! The 3-D RC network of a voxel structure (docs/models/impedance.md, "Network rules").
//!
//! Every voxel is a node; neighbouring voxels are linked by a bond: the series connection of the
//! two half-voxel elements and, between them, the interface element of the pair (charge transfer
//! between metal and electrolyte, grain boundary between two grains). Each element is a resistor
//! in parallel with a capacitor, Y_k = g_k + iωc_k; the bond admittance is 1/Σ_k 1/Y_k.
//! Resistance-free metal regions are merged into one node; those touching the WE or CE plane
//! are that electrode (Dirichlet: WE at 1 V, CE at 0 V).
//!
//! The unknowns are the potentials of the remaining nodes. At angular frequency ω they satisfy
//! A(ω)·v = b(ω), with A = Σ_bonds Y_b (e_a − e_b)(e_a − e_b)ᵀ restricted to the unknowns: a
//! complex *symmetric* (not Hermitian) matrix with the sparsity of the voxel graph.

use crate::params::MaterialsSi;
use crate::structure::{PhaseKind, Structure};
use num_complex::Complex64 as C64;
use rayon::prelude::*;

/// Node reference of a bond end: an unknown's index, or an electrode.
pub const NODE_WE: u32 = u32::MAX;
pub const NODE_CE: u32 = u32::MAX - 1;

/// A resistor g (S) in parallel with a capacitor c (F). g = c = 0 is an open circuit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Element {
    pub g: f64,
    pub c: f64,
}

impl Element {
    pub fn admittance(&self, omega: f64) -> C64 {
        C64::new(self.g, omega * self.c)
    }
}

/// Up to four elements in series between two nodes.
#[derive(Debug, Clone, Copy)]
pub struct Bond {
    pub a: u32,
    pub b: u32,
    pub n: u8,
    pub elems: [Element; 4],
}

impl Bond {
    /// Bond admittance 1/Σ 1/Y_k at ω (0 if any element is an open circuit).
    pub fn admittance(&self, omega: f64) -> C64 {
        let mut z = C64::new(0.0, 0.0);
        for e in &self.elems[..self.n as usize] {
            let y = e.admittance(omega);
            if y.re == 0.0 && y.im == 0.0 {
                return C64::new(0.0, 0.0);
            }
            z += y.inv();
        }
        z.inv()
    }
}

/// What the builder made, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NetworkInfo {
    pub voxels: usize,
    pub unknowns: usize,
    pub bonds: usize,
    pub bonds_to_we: usize,
    pub bonds_to_ce: usize,
    pub matrix_nonzeros: usize,
    pub floating_metal_regions: usize,
}

/// The assembled network: bonds, and the symmetric sparsity pattern of A (CSC; since A is
/// symmetric it is also the CSR pattern).
pub struct Network {
    pub n: usize,
    pub bonds: Vec<Bond>,
    pub col_ptr: Vec<usize>,
    pub row_idx: Vec<usize>,
    /// Per bond: value positions of (a,a), (b,b), (a,b), (b,a); usize::MAX where absent.
    pos: Vec<[usize; 4]>,
    /// Node of every voxel (NODE_WE / NODE_CE for merged electrode metal).
    pub voxel_node: Vec<u32>,
    pub info: NetworkInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("a resistance-free metal region connects the working and the counter electrode (short circuit); give `metal_conductivity_s_m` or change the structure")]
    ShortCircuit,
    #[error("no bond reaches the working electrode: the impedance is infinite")]
    NoWorkingElectrodeContact,
    #[error("no path from the working electrode to the counter electrode")]
    NoCounterElectrodeContact,
}

struct UnionFind(Vec<u32>);
impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[x as usize];
            self.0[x as usize] = self.0[p as usize];
            x = p;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.0[hi as usize] = lo;
        }
    }
}

impl Network {
    pub fn build(s: &Structure, m: &MaterialsSi) -> Result<Network, NetworkError> {
        let d = s.voxel_m;
        let area = d * d;
        let half = 0.5 * d;
        let nv = s.len();
        let ideal_metal = |v: usize| {
            let p = s.phase_of(v);
            p.kind == PhaseKind::Metal && p.sigma_s_m.is_infinite()
        };

        // Merge resistance-free metal into regions.
        let mut uf = UnionFind((0..nv as u32).collect());
        for k in 0..s.nz {
            for j in 0..s.ny {
                for i in 0..s.nx {
                    let v = s.idx(i, j, k);
                    if !ideal_metal(v) {
                        continue;
                    }
                    for (di, dj, dk) in [(1, 0, 0), (0, 1, 0), (0, 0, 1)] {
                        let (i2, j2, k2) = (i + di, j + dj, k + dk);
                        if i2 < s.nx && j2 < s.ny && k2 < s.nz {
                            let w = s.idx(i2, j2, k2);
                            if ideal_metal(w) {
                                uf.union(v as u32, w as u32);
                            }
                        }
                    }
                }
            }
        }
        let mut root_tag = vec![0u8; nv]; // bit 1: touches WE, bit 2: touches CE
        for j in 0..s.ny {
            for i in 0..s.nx {
                let v = s.idx(i, j, 0);
                if ideal_metal(v) {
                    let r = uf.find(v as u32) as usize;
                    root_tag[r] |= 1;
                }
                let v = s.idx(i, j, s.nz - 1);
                if ideal_metal(v) {
                    let r = uf.find(v as u32) as usize;
                    root_tag[r] |= 2;
                }
            }
        }
        let mut voxel_node = vec![0u32; nv];
        let mut root_node = vec![u32::MAX - 2; nv];
        let mut n = 0u32;
        let mut floating = 0;
        for (v, node) in voxel_node.iter_mut().enumerate() {
            if ideal_metal(v) {
                let r = uf.find(v as u32) as usize;
                *node = match root_tag[r] {
                    3 => return Err(NetworkError::ShortCircuit),
                    1 => NODE_WE,
                    2 => NODE_CE,
                    _ => {
                        if root_node[r] == u32::MAX - 2 {
                            root_node[r] = n;
                            n += 1;
                            floating += 1;
                        }
                        root_node[r]
                    }
                };
            } else {
                *node = n;
                n += 1;
            }
        }

        // Element rules.
        let half_elem = |v: usize| -> Option<Element> {
            let p = s.phase_of(v);
            match p.kind {
                PhaseKind::Pore => Some(Element {
                    g: 0.0,
                    c: p.eps_f_m * area / half,
                }),
                PhaseKind::Electrolyte => Some(Element {
                    g: p.sigma_s_m * area / half,
                    c: p.eps_f_m * area / half,
                }),
                PhaseKind::Metal if p.sigma_s_m.is_infinite() => None,
                PhaseKind::Metal => Some(Element {
                    g: p.sigma_s_m * area / half,
                    c: p.eps_f_m * area / half,
                }),
            }
        };
        let ct = |a: f64| -> Option<Element> {
            (m.r_pol > 0.0).then(|| Element {
                g: a / m.r_pol,
                c: m.c_dl * a,
            })
        };
        let gb = |layers: u32| -> Option<Element> {
            let t = layers as f64 * m.gb_thickness;
            (t > 0.0).then(|| Element {
                g: m.sigma_gb * area / t,
                c: m.eps_gb * area / t,
            })
        };
        let kind = |v: usize| s.phase_of(v).kind;

        let mut bonds: Vec<Bond> = Vec::with_capacity(3 * nv + 2 * s.nx * s.ny);
        let mut push = |a: u32, b: u32, list: &[Option<Element>]| {
            if a == b {
                return;
            }
            let mut bond = Bond {
                a,
                b,
                n: 0,
                elems: [Element { g: 0.0, c: 0.0 }; 4],
            };
            for e in list.iter().flatten() {
                bond.elems[bond.n as usize] = *e;
                bond.n += 1;
            }
            assert!(bond.n > 0, "zero-impedance bond between distinct nodes");
            // Electrode ends go second so that `a` is always an unknown.
            if bond.a >= NODE_CE {
                std::mem::swap(&mut bond.a, &mut bond.b);
            }
            if bond.a >= NODE_CE {
                return; // WE–CE through nothing but electrodes: excluded by ShortCircuit
            }
            bonds.push(bond);
        };

        for k in 0..s.nz {
            for j in 0..s.ny {
                for i in 0..s.nx {
                    let v = s.idx(i, j, k);
                    for axis in 0..3 {
                        let (i2, j2, k2) = match axis {
                            0 => (i + 1, j, k),
                            1 => (i, j + 1, k),
                            _ => (i, j, k + 1),
                        };
                        if i2 >= s.nx || j2 >= s.ny || k2 >= s.nz {
                            continue;
                        }
                        let w = s.idx(i2, j2, k2);
                        let (ka, kb) = (kind(v), kind(w));
                        let interface = match (ka, kb) {
                            (PhaseKind::Metal, PhaseKind::Electrolyte)
                            | (PhaseKind::Electrolyte, PhaseKind::Metal) => ct(area),
                            (PhaseKind::Electrolyte, PhaseKind::Electrolyte) => {
                                let mut layers = if axis == 2 { s.gb_layers_z[k] } else { 0 };
                                #[cfg(feature = "mutants")]
                                if axis != 2 && lipf_core::mutants::active("impedance-lateral-gb") {
                                    layers += s.gb_layers_z.get(k).copied().unwrap_or(0);
                                }
                                if let Some(g) = &s.grains {
                                    if g[v] != g[w] {
                                        layers += 1;
                                    }
                                }
                                gb(layers)
                            }
                            _ => None,
                        };
                        push(
                            voxel_node[v],
                            voxel_node[w],
                            &[half_elem(v), interface, half_elem(w)],
                        );
                    }
                }
            }
        }
        // Electrode planes.
        for j in 0..s.ny {
            for i in 0..s.nx {
                let v = s.idx(i, j, 0);
                let interface = match kind(v) {
                    PhaseKind::Electrolyte if s.we_gap[j * s.nx + i] => Some(Element {
                        g: 0.0,
                        c: m.c_pore_gap * area,
                    }),
                    PhaseKind::Electrolyte => ct(area),
                    _ if s.we_gap[j * s.nx + i] => Some(Element {
                        g: 0.0,
                        c: m.c_pore_gap * area,
                    }),
                    _ => None,
                };
                push(NODE_WE, voxel_node[v], &[interface, half_elem(v)]);
                let v = s.idx(i, j, s.nz - 1);
                let interface = match kind(v) {
                    PhaseKind::Electrolyte if m.ce_charge_transfer => ct(area),
                    _ => None,
                };
                push(NODE_CE, voxel_node[v], &[interface, half_elem(v)]);
            }
        }

        let n = n as usize;
        let bonds_to_we = bonds.iter().filter(|b| b.b == NODE_WE).count();
        let bonds_to_ce = bonds.iter().filter(|b| b.b == NODE_CE).count();
        if bonds_to_we == 0 {
            return Err(NetworkError::NoWorkingElectrodeContact);
        }
        if bonds_to_ce == 0 {
            return Err(NetworkError::NoCounterElectrodeContact);
        }

        // Sparsity pattern.
        let mut cols: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        for b in &bonds {
            if b.b < NODE_CE {
                cols[b.a as usize].push(b.b as usize);
                cols[b.b as usize].push(b.a as usize);
            }
        }
        let mut col_ptr = Vec::with_capacity(n + 1);
        let mut row_idx = Vec::new();
        col_ptr.push(0);
        for c in cols.iter_mut() {
            c.sort_unstable();
            c.dedup();
            row_idx.extend_from_slice(c);
            col_ptr.push(row_idx.len());
        }
        drop(cols);
        let find = |row: usize, col: usize| -> usize {
            let rows = &row_idx[col_ptr[col]..col_ptr[col + 1]];
            col_ptr[col] + rows.binary_search(&row).expect("pattern entry")
        };
        let pos = bonds
            .iter()
            .map(|b| {
                let a = b.a as usize;
                if b.b < NODE_CE {
                    let bb = b.b as usize;
                    [find(a, a), find(bb, bb), find(a, bb), find(bb, a)]
                } else {
                    [find(a, a), usize::MAX, usize::MAX, usize::MAX]
                }
            })
            .collect();
        let info = NetworkInfo {
            voxels: nv,
            unknowns: n,
            bonds: bonds.len(),
            bonds_to_we,
            bonds_to_ce,
            matrix_nonzeros: row_idx.len(),
            floating_metal_regions: floating,
        };
        Ok(Network {
            n,
            bonds,
            col_ptr,
            row_idx,
            pos,
            voxel_node,
            info,
        })
    }

    /// Bond admittances at ω (one per bond, in bond order).
    pub fn bond_admittances(&self, omega: f64) -> Vec<C64> {
        self.bonds.par_iter().map(|b| b.admittance(omega)).collect()
    }

    /// Matrix values (CSC order) and right-hand side at ω from the bond admittances `y`.
    pub fn assemble(&self, y: &[C64]) -> (Vec<C64>, Vec<C64>) {
        let zero = C64::new(0.0, 0.0);
        let mut val = vec![zero; self.row_idx.len()];
        let mut rhs = vec![zero; self.n];
        for ((b, p), &yb) in self.bonds.iter().zip(&self.pos).zip(y) {
            val[p[0]] += yb;
            if b.b < NODE_CE {
                val[p[1]] += yb;
                val[p[2]] -= yb;
                val[p[3]] -= yb;
            } else if b.b == NODE_WE {
                rhs[b.a as usize] += yb; // Y·V_WE with V_WE = 1 V
            }
        }
        (val, rhs)
    }

    /// Current (A) flowing from the WE into the network for node potentials `v` (V_WE = 1 V).
    pub fn we_current(&self, y: &[C64], v: &[C64]) -> C64 {
        self.bonds
            .iter()
            .zip(y)
            .filter(|(b, _)| b.b == NODE_WE)
            .map(|(b, &yb)| yb * (C64::new(1.0, 0.0) - v[b.a as usize]))
            .sum()
    }

    /// Current (A) flowing from the network into the CE (equals the WE current when the
    /// potentials solve the system: a conservation check).
    pub fn ce_current(&self, y: &[C64], v: &[C64]) -> C64 {
        self.bonds
            .iter()
            .zip(y)
            .filter(|(b, _)| b.b == NODE_CE)
            .map(|(b, &yb)| yb * v[b.a as usize])
            .sum()
    }
}

/// y = A·x for the symmetric matrix in CSC form (each output row is column i read as a row).
pub fn sym_matvec(col_ptr: &[usize], row_idx: &[usize], val: &[C64], x: &[C64], y: &mut [C64]) {
    y.par_iter_mut()
        .enumerate()
        .with_min_len(1024)
        .for_each(|(i, yi)| {
            let mut s = C64::new(0.0, 0.0);
            for p in col_ptr[i]..col_ptr[i + 1] {
                s += val[p] * x[row_idx[p]];
            }
            *yi = s;
        });
}
