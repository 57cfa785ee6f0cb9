//! Scaffold builder (MODEL.md §5): initial ξ (Li), static ϕ (LLZO) and c̃ on the grid.
//!
//! Each phase is a union of axis-aligned boxes. A cell's order parameter is the tanh profile of
//! its signed distance d to the union, ½[1 + tanh(d/ℓ)] (d > 0 inside), so every interface starts
//! as the equilibrium profile of half-width ℓ. The signed distance is evaluated in the periodic
//! x direction, so channels that cross x = 0 are handled.

use crate::config::{Config, GeometryKind};
use crate::grid::Grid;
use crate::units::um_to_m;
use serde::Serialize;

/// An axis-aligned box [x0, x1) × [y0, y1), m.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Rect {
    /// Signed distance (positive inside) from (x, y), periodic in x with period `width`.
    fn signed_distance(&self, x: f64, y: f64, width: f64) -> f64 {
        let cx = 0.5 * (self.x0 + self.x1);
        let hx = 0.5 * (self.x1 - self.x0);
        let cy = 0.5 * (self.y0 + self.y1);
        let hy = 0.5 * (self.y1 - self.y0);
        let mut dxp = (x - cx).rem_euclid(width);
        if dxp > 0.5 * width {
            dxp = width - dxp;
        }
        let qx = dxp - hx;
        let qy = (y - cy).abs() - hy;
        let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
        let inside = qx.max(qy).min(0.0);
        -(outside + inside)
    }
}

/// What the builder made, reported to the user and written to the outputs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GeometryInfo {
    pub kind: String,
    pub channels: usize,
    pub channel_period_um: f64,
    pub pore_size_um: f64,
    /// Porosity of the channel array as built (integer number of periods).
    pub porosity_geometric: f64,
    /// Porosity measured on the grid: mean of 1 − h(ϕ) over the scaffold rows.
    pub porosity_measured: f64,
    pub scaffold_bottom_um: f64,
    pub scaffold_top_um: f64,
    pub li_top_um: f64,
}

/// Initial fields.
pub struct InitialFields {
    pub xi: Vec<f64>,
    pub phi: Vec<f64>,
    pub conc: Vec<f64>,
    pub info: GeometryInfo,
}

fn union_profile(rects: &[Rect], x: f64, y: f64, width: f64, ell: f64) -> f64 {
    let d = rects
        .iter()
        .map(|r| r.signed_distance(x, y, width))
        .fold(f64::NEG_INFINITY, f64::max);
    if d == f64::NEG_INFINITY {
        0.0
    } else {
        0.5 * (1.0 + (d / ell).tanh())
    }
}

/// Builds the initial fields for `config` on `grid` with interface half-width `ell_m`.
pub fn build(config: &Config, grid: &Grid, ell_m: f64) -> InitialFields {
    let g = &config.geometry;
    let width = grid.width_m();
    let height = grid.height_m();
    let foil_top = um_to_m(g.li_foil_thickness_um);
    let cap_bottom = height - um_to_m(g.dense_cap_thickness_um);
    // Boxes extend beyond the domain in y so that the boundaries carry no spurious interface.
    let below = -10.0 * ell_m - grid.dx_m;
    let above = height + 10.0 * ell_m + grid.dx_m;
    let full_x = (-width, 2.0 * width);

    let mut li = vec![Rect {
        x0: full_x.0,
        x1: full_x.1,
        y0: below,
        y1: foil_top,
    }];
    let mut llzo = vec![Rect {
        x0: full_x.0,
        x1: full_x.1,
        y0: cap_bottom,
        y1: above,
    }];
    let (channels, period, pore, porosity, li_top) = match g.kind {
        GeometryKind::Flat => {
            // Dense LLZO directly on the Li layer: the scaffold region is LLZO.
            llzo[0].y0 = foil_top;
            (0, width, 0.0, 0.0, foil_top)
        }
        GeometryKind::Channels => {
            let pore = um_to_m(g.pore_size_um);
            let n = ((width * g.porosity / pore).round() as usize).max(1);
            let period = width / n as f64;
            let li_top = foil_top + um_to_m(g.impregnation_depth_um);
            for k in 0..n {
                let x0 = k as f64 * period;
                let c0 = x0 + 0.5 * (period - pore);
                let c1 = c0 + pore;
                // Walls: the period minus the channel, from the foil top to the cap.
                llzo.push(Rect {
                    x0: c1,
                    x1: x0 + period + 0.5 * (period - pore),
                    y0: foil_top,
                    y1: cap_bottom,
                });
                if li_top > foil_top {
                    li.push(Rect {
                        x0: c0,
                        x1: c1,
                        y0: foil_top - grid.dx_m,
                        y1: li_top,
                    });
                }
            }
            (n, period, pore, pore / period, li_top)
        }
    };

    let n = grid.cells();
    let mut xi = vec![0.0; n];
    let mut phi = vec![0.0; n];
    for j in 0..grid.ny {
        let y = grid.y_m(j);
        for i in 0..grid.nx {
            let x = grid.x_m(i);
            let k = grid.idx(i, j);
            phi[k] = union_profile(&llzo, x, y, width, ell_m);
            xi[k] = union_profile(&li, x, y, width, ell_m) * (1.0 - phi[k]);
        }
    }
    let pore_c = config.model.pore_initial_concentration;
    let conc = xi
        .iter()
        .zip(&phi)
        .map(|(&x, &p)| {
            let hp = crate::cpu::interp::h(p);
            let hx = crate::cpu::interp::h(x);
            // 1 in LLZO and metal; the configured value in the pores, blended over interfaces.
            let w_pore = (1.0 - hp - hx).clamp(0.0, 1.0);
            1.0 * (1.0 - w_pore) + pore_c * w_pore
        })
        .collect();

    // Measured porosity over the rows strictly inside the scaffold.
    let (mut sum, mut count) = (0.0, 0usize);
    for j in 0..grid.ny {
        let y = grid.y_m(j);
        if y > foil_top + 3.0 * ell_m && y < cap_bottom - 3.0 * ell_m {
            for i in 0..grid.nx {
                sum += 1.0 - crate::cpu::interp::h(phi[grid.idx(i, j)]);
                count += 1;
            }
        }
    }
    let info = GeometryInfo {
        kind: format!("{:?}", g.kind).to_lowercase(),
        channels,
        channel_period_um: period * 1e6,
        pore_size_um: pore * 1e6,
        porosity_geometric: porosity,
        porosity_measured: if count > 0 { sum / count as f64 } else { 0.0 },
        scaffold_bottom_um: foil_top * 1e6,
        scaffold_top_um: cap_bottom * 1e6,
        li_top_um: li_top * 1e6,
    };
    InitialFields {
        xi,
        phi,
        conc,
        info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_distance_of_box_is_periodic_and_signed() {
        let r = Rect {
            x0: 0.9,
            x1: 1.1,
            y0: 0.0,
            y1: 1.0,
        };
        assert!((r.signed_distance(1.0, 0.5, 2.0) - 0.1).abs() < 1e-12);
        // x = 0.0 and x = 2.0 are the same point: both 0.9 from the box (distance to x0 = 0.9).
        assert!((r.signed_distance(0.0, 0.5, 2.0) + 0.9).abs() < 1e-12);
        assert!((r.signed_distance(1.0, 1.5, 2.0) + 0.5).abs() < 1e-12);
    }

    #[test]
    fn channel_array_has_integer_periods_and_reports_real_porosity() {
        let c = Config::default();
        let grid = Grid::new(c.nx(), c.ny(), 0.25e-6);
        let f = build(&c, &grid, 0.5e-6);
        assert_eq!(f.info.channels, 17);
        assert!((f.info.porosity_geometric - 17.0 * 1.5 / 50.0).abs() < 1e-12);
        assert!((f.info.porosity_measured - f.info.porosity_geometric).abs() < 0.02);
    }
}
