//! `fields.xdmf`: an XDMF 3 file that lets ParaView (or VisIt) open the snapshots of `fields.h5`
//! as a time series without converting anything.
//!
//! Content: one temporal collection with one uniform grid per snapshot. Each grid is a
//! `3DCoRectMesh` of `1 × (ny+1) × (nx+1)` points with `ORIGIN_DXDYDZ` geometry: origin
//! (0, 0, 0) and spacing dx in µm, one point thick in z, so that it is a plane of zero
//! thickness in x–y: ParaView shows it as a 2D surface with x across and y up, collector at the
//! bottom (a `2DCoRectMesh` is placed by VTK's reader in the y–z plane, seen edge-on by the
//! default camera; a one-cell-thick 3D grid opens as an outline box). XDMF lists dimensions,
//! origin and spacing slowest first: z, y, x. The fields are cell-centred attributes: cell
//! (i, j) covers [i·dx, (i+1)·dx] × [j·dx, (j+1)·dx], x over the width and y over the height
//! with y = 0 the current collector. Each attribute's data item is declared `1 ny nx`, the
//! `(ny, nx)` dataset. `scripts/check-xdmf-paraview` opens the file in ParaView (pvbatch),
//! renders it and checks what ParaView sees. Attributes per grid:
//!
//! | name        | HDF5 dataset                        | unit |
//! |-------------|-------------------------------------|------|
//! | `xi`        | `/snapshots/NNNNNN/xi`              | 1    |
//! | `c`         | `/snapshots/NNNNNN/c`               | c/c0 |
//! | `potential` | `/snapshots/NNNNNN/potential`       | V    |
//! | `phi`       | `/static/phi` (the same every time) | 1    |
//!
//! `NNNNNN` is the zero-padded snapshot index (0, 1, 2, …), `Time` is the simulated time in s.
//! The HDF5 file name is written relative, so the `.xdmf` must sit next to the `.h5`.
//!
//! In ParaView (reader `Xdmf3ReaderS`) the grid is a flat image, drawn as a coloured surface by
//! default. ParaView's XDMF 3 readers place a 2-D co-rectilinear mesh in their y–z plane (the
//! width along y, the height along z); ParaView's automatic 2-D interaction mode then looks at
//! it from +x with z up, so it appears as the PNG maps do, the collector at the bottom.

use lipf_core::units::m_to_um;
use lipf_core::Grid;
use std::fmt::Write;

/// Name of snapshot `index` inside `/snapshots`.
pub fn snapshot_group_name(index: usize) -> String {
    format!("{index:06}")
}

/// The XDMF text for `snapshots` (`(step, time_s)`, in file order) of the fields file
/// `h5_file_name` (a path relative to the `.xdmf` file, normally `fields.h5`).
pub fn xdmf(grid: &Grid, h5_file_name: &str, snapshots: &[(u64, f64)]) -> String {
    let (nx, ny, nz) = (grid.nx, grid.ny, grid.nz);
    // A section is one layer of cells between z-points at 0 (one point); a volume has nz + 1.
    let z_points = if grid.is_3d() { nz + 1 } else { 1 };
    let dx_um = m_to_um(grid.dx_m);
    let h5 = xml_escape(h5_file_name);
    let mut s = String::new();
    // Writing to a String cannot fail.
    open_document(&mut s);
    let _ = writeln!(
        s,
        r#"    <Grid Name="lipf" GridType="Collection" CollectionType="Temporal">"#
    );
    for (index, &(step, time_s)) in snapshots.iter().enumerate() {
        let group = format!("/snapshots/{}", snapshot_group_name(index));
        let _ = writeln!(
            s,
            r#"      <Grid Name="snapshot {index:06} (step {step})" GridType="Uniform">"#
        );
        let _ = writeln!(s, r#"        <Time Value="{}"/>"#, xml_num(time_s));
        corect_mesh(&mut s, "        ", [z_points, ny + 1, nx + 1], dx_um);
        for (name, path) in [
            ("xi", format!("{group}/xi")),
            ("c", format!("{group}/c")),
            ("potential", format!("{group}/potential")),
            (
                "electronic_potential",
                format!("{group}/electronic_potential"),
            ),
            ("phi", "/static/phi".to_string()),
        ] {
            let _ = writeln!(
                s,
                r#"        <Attribute Name="{name}" AttributeType="Scalar" Center="Cell">"#
            );
            let _ = writeln!(
                s,
                r#"          <DataItem Dimensions="{nz} {ny} {nx}" NumberType="Float" Precision="4" Format="HDF">{h5}:{path}</DataItem>"#
            );
            let _ = writeln!(s, r#"        </Attribute>"#);
        }
        let _ = writeln!(s, r#"      </Grid>"#);
    }
    close_document(&mut s);
    s
}

/// The XDMF text of one static voxel grid (a 3D scaffold, `scaffold.h5`): a `3DCoRectMesh` of
/// (nz+1) × (ny+1) × (nx+1) points, spacing dx in µm, origin 0, with the cell-centred
/// `(nz, ny, nx)` datasets `attributes` (`(name, dataset path)`) of `h5_file_name`. ParaView
/// opens it as a volume: x across, y up (the growth direction, collector at y = 0), z in depth.
pub fn volume_xdmf(grid: &Grid, h5_file_name: &str, attributes: &[(&str, &str)]) -> String {
    let (nx, ny, nz) = (grid.nx, grid.ny, grid.nz);
    let h5 = xml_escape(h5_file_name);
    let mut s = String::new();
    open_document(&mut s);
    let _ = writeln!(s, r#"    <Grid Name="lipf scaffold" GridType="Uniform">"#);
    corect_mesh(
        &mut s,
        "      ",
        [nz + 1, ny + 1, nx + 1],
        m_to_um(grid.dx_m),
    );
    for (name, path) in attributes {
        let _ = writeln!(
            s,
            r#"      <Attribute Name="{}" AttributeType="Scalar" Center="Cell">"#,
            xml_escape(name)
        );
        let _ = writeln!(
            s,
            r#"        <DataItem Dimensions="{nz} {ny} {nx}" NumberType="Float" Precision="4" Format="HDF">{h5}:{}</DataItem>"#,
            xml_escape(path)
        );
        let _ = writeln!(s, r#"      </Attribute>"#);
    }
    close_document(&mut s);
    s
}

/// The XML declaration and the opening `Xdmf` and `Domain` elements.
fn open_document(s: &mut String) {
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="utf-8"?>"#);
    let _ = writeln!(s, r#"<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>"#);
    let _ = writeln!(
        s,
        r#"<Xdmf xmlns:xi="http://www.w3.org/2001/XInclude" Version="3.0">"#
    );
    let _ = writeln!(s, r#"  <Domain>"#);
}

/// Closes the outer `Grid`, the `Domain` and the document.
fn close_document(s: &mut String) {
    let _ = writeln!(s, r#"    </Grid>"#);
    let _ = writeln!(s, r#"  </Domain>"#);
    let _ = writeln!(s, r#"</Xdmf>"#);
}

/// The topology and geometry of a co-rectilinear mesh of `points` (z, y, x, slowest first) with
/// spacing `dx_um` from the origin, indented by `pad`.
fn corect_mesh(s: &mut String, pad: &str, points: [usize; 3], dx_um: f64) {
    let [pz, py, px] = points;
    let _ = writeln!(
        s,
        r#"{pad}<Topology TopologyType="3DCoRectMesh" Dimensions="{pz} {py} {px}"/>"#
    );
    let _ = writeln!(s, r#"{pad}<Geometry GeometryType="ORIGIN_DXDYDZ">"#);
    let _ = writeln!(
        s,
        r#"{pad}  <DataItem Name="Origin" Dimensions="3" NumberType="Float" Precision="8" Format="XML">0 0 0</DataItem>"#
    );
    let _ = writeln!(
        s,
        r#"{pad}  <DataItem Name="Spacing" Dimensions="3" NumberType="Float" Precision="8" Format="XML">{0} {0} {0}</DataItem>"#,
        xml_num(dx_um)
    );
    let _ = writeln!(s, r#"{pad}</Geometry>"#);
}

/// Round-trip decimal for XML attributes (no `inf`/`NaN`, which no XDMF reader parses).
fn xml_num(v: f64) -> String {
    if v.is_finite() {
        crate::csv::num(v)
    } else {
        "0".into()
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_lists_cells_slowest_first() {
        let grid = Grid::new_3d(10, 20, 30, 0.5e-6);
        let text = volume_xdmf(&grid, "scaffold.h5", &[("phi", "/phi"), ("xi", "/xi")]);
        assert!(text.contains(r#"Dimensions="31 21 11""#));
        assert_eq!(text.matches(r#"Dimensions="30 20 10""#).count(), 2);
        assert!(text.contains("scaffold.h5:/xi"));
        assert!(text.contains(">0.5 0.5 0.5<"));
    }

    #[test]
    fn one_grid_per_snapshot_with_cell_attributes() {
        let grid = Grid::new(67, 45, 0.25e-6);
        let text = xdmf(&grid, "fields.h5", &[(0, 0.0), (10, 1.5), (20, 3.0)]);
        assert_eq!(text.matches(r#"GridType="Uniform""#).count(), 3);
        assert_eq!(text.matches("<Time ").count(), 3);
        assert!(text.contains(r#"<Time Value="1.5"/>"#));
        assert_eq!(
            text.matches(r#"<Topology TopologyType="3DCoRectMesh" Dimensions="1 46 68"/>"#)
                .count(),
            3
        );
        assert_eq!(text.matches(r#"GeometryType="ORIGIN_DXDYDZ""#).count(), 3);
        assert_eq!(text.matches(r#"Dimensions="1 45 67""#).count(), 15);
        assert!(!text.contains("2DCoRectMesh") && !text.contains(r#""ORIGIN_DXDY""#));
        assert!(text.contains("fields.h5:/snapshots/000002/potential"));
        assert!(text.contains("fields.h5:/static/phi"));
        assert!(text.contains(">0 0 0<"));
        assert!(text.contains(">0.25 0.25 0.25<"));
        assert!(!text.contains("000003"));
    }

    #[test]
    fn empty_collection_is_still_well_formed() {
        let text = xdmf(&Grid::new(1, 20, 1e-6), "a&b.h5", &[]);
        assert_eq!(text.matches("<Grid ").count(), 1);
        assert!(text.trim_end().ends_with("</Xdmf>"));
    }
}
