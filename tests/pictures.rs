//! Pictures and visualisation files: the run's time-series plot, the morphology animation,
//! colour-bar labels, scale bars, the study report's plots and table, the XDMF description.

use lipf_core::observables::Scalars;
use lipf_core::{Grid, State};
use lipf_io::images;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lipf-pictures-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn row(t: f64) -> Scalars {
    Scalars {
        time_s: t,
        step: (t * 100.0) as u64,
        current_density_a_m2: 2.0 + 0.1 * (t * 3.0).sin(),
        cell_voltage_v: -0.012 - 0.002 * t.sqrt(),
        li_amount_mol_m2: 0.5 + 2.0 * t / 96485.0,
        charge_c_m2: 2.0 * t,
        li_in_electrolyte_mol_m2: 0.0,
        leakage_current_density_a_m2: 0.0,
        solver_iterations: 10,
    }
}

/// A channel scaffold (LLZO walls, pores between) with `li_rows` rows of Li at the bottom.
fn state(nx: usize, ny: usize, dx_m: f64, step: u64, li_rows: usize) -> State {
    let n = nx * ny;
    let wall = |k: usize| (k % nx) % 20 < 8 && k / nx >= 10;
    State {
        xi: (0..n)
            .map(|k| {
                if k / nx < li_rows && !wall(k) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect(),
        phi: (0..n).map(|k| if wall(k) { 1.0 } else { 0.0 }).collect(),
        conc: (0..n)
            .map(|k| 0.99998 + 5e-5 * (k % nx) as f64 / nx as f64)
            .collect(),
        potential: (0..n).map(|k| -1e-3 * (k / nx) as f64).collect(),
        v_collector: -0.01,
        time_s: step as f64 * 0.1,
        step,
        current_density_a_m2: 2.0,
        ..State::zeros(Grid::new(nx, ny, dx_m))
    }
}

fn distinct_colours(rgb: &[u8]) -> usize {
    let mut c: Vec<&[u8]> = rgb.chunks(3).collect();
    c.sort();
    c.dedup();
    c.len()
}

#[test]
fn run_plot_has_three_panels_and_copes_with_one_row_nan_and_no_rows() {
    let dir = temp_dir("run-plot");
    let rows: Vec<Scalars> = (0..=200).map(|k| row(k as f64 * 0.05)).collect();
    let p = dir.join("voltage.png");
    images::write_run_plot(&p, &rows).unwrap();
    let (w, h, rgb) = images::read_png_rgb(&p).unwrap();
    assert_eq!((w, h), (900, 900));
    assert!(distinct_colours(&rgb) > 20);
    // The first series colour (tab10 blue) appears in each third of the picture.
    let blue = [0x1f, 0x77, 0xb4];
    for third in 0..3 {
        let band = &rgb[third * rgb.len() / 3..(third + 1) * rgb.len() / 3];
        assert!(
            band.chunks(3).any(|px| px == blue),
            "no curve in panel {third}"
        );
    }

    let mut gappy = rows.clone();
    for r in gappy.iter_mut().step_by(7) {
        r.cell_voltage_v = f64::NAN;
        r.li_amount_mol_m2 = f64::NAN;
    }
    images::write_run_plot(&dir.join("gappy.png"), &gappy).unwrap();
    images::write_run_plot(&dir.join("one.png"), &rows[..1]).unwrap();
    images::write_run_plot(&dir.join("none.png"), &[]).unwrap();
    let mut all_nan = rows[..3].to_vec();
    all_nan.iter_mut().for_each(|r| r.cell_voltage_v = f64::NAN);
    images::write_run_plot(&dir.join("nan.png"), &all_nan).unwrap();
    for f in ["gappy.png", "one.png", "none.png", "nan.png"] {
        let (w, h, rgb) = images::read_png_rgb(&dir.join(f)).unwrap();
        assert_eq!((w, h), (900, 900), "{f}");
        assert!(distinct_colours(&rgb) > 2, "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn morphology_animation_has_one_frame_per_snapshot() {
    let dir = temp_dir("gif");
    let path = dir.join("morphology.gif");
    let anim = lipf_io::animation::MorphologyAnimation::new(&path);
    let (nx, ny) = (80, 60);
    for k in 0..4u64 {
        anim.append(&state(nx, ny, 0.25e-6, 10 * k, 5 + 10 * k as usize))
            .unwrap();
    }
    let frames = anim.frames().unwrap();
    assert_eq!(
        frames.iter().map(|f| f.0).collect::<Vec<_>>(),
        [0, 10, 20, 30]
    );
    assert_eq!(frames[3].1, 3.0);
    // Resumed from the checkpoint of step 10: the next snapshot replaces the later frames.
    anim.append(&state(nx, ny, 0.25e-6, 15, 12)).unwrap();
    assert_eq!(
        anim.frames()
            .unwrap()
            .iter()
            .map(|f| f.0)
            .collect::<Vec<_>>(),
        [0, 10, 15]
    );
    // The file is a valid GIF the size of the phase picture, frames differ from each other.
    images::write_snapshot_images(&dir, "s", &state(nx, ny, 0.25e-6, 0, 5)).unwrap();
    let (pw, ph, _) = images::read_png_rgb(&dir.join("s_phases.png")).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"GIF89a"));
    let w = u16::from_le_bytes([bytes[6], bytes[7]]) as u32;
    let h = u16::from_le_bytes([bytes[8], bytes[9]]) as u32;
    assert_eq!((w, h), (pw, ph));
    assert_eq!(*bytes.last().unwrap(), 0x3B);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn colour_bar_labels_of_a_tiny_range_are_distinct() {
    for (lo, hi) in [
        (0.99998, 1.00003),
        (0.9999998, 1.0000003),
        (1.0 - 3e-12, 1.0 + 2e-12),
        (-1e-12, 3e-12),
        (12345.678, 12345.679),
        (-0.0123, 0.0),
        (0.0, 1.0),
    ] {
        let ticks = images::colour_bar_ticks(lo, hi, 600);
        let mut labels: Vec<&str> = ticks.iter().map(|(_, s)| s.as_str()).collect();
        assert!(labels.len() >= 2, "{lo} {hi}: {ticks:?}");
        assert!(ticks.iter().all(|(v, _)| (lo..=hi).contains(v)));
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), ticks.len(), "{lo} {hi}: {ticks:?}");
        assert!(labels.iter().all(|s| s.chars().count() <= 20), "{ticks:?}");
    }
    let t = images::colour_bar_ticks(0.9999998, 1.0000003, 600);
    assert!(t.iter().any(|(_, s)| s.starts_with("1 + ")), "{t:?}");
    assert_eq!(images::colour_bar_ticks(1.0, 1.0, 600).len(), 1);
}

#[test]
fn phase_maps_carry_a_scale_bar() {
    assert_eq!(images::scale_bar_length_um(50.0), 10.0);
    assert_eq!(images::scale_bar_length_um(20.0), 5.0);
    assert_eq!(images::scale_bar_length_um(6.0), 1.0);
    assert_eq!(images::scale_bar_length_um(1.5), 0.2);
    assert_eq!(images::scale_bar_label(0.5), "0.5 µm");
    let dir = temp_dir("scale");
    let (nx, ny) = (100, 100);
    // An all-Li map: the only white pixels inside the map are the bar and its label.
    let mut s = state(nx, ny, 0.5e-6, 0, ny);
    s.phi.iter_mut().for_each(|v| *v = 0.0);
    images::write_snapshot_images(&dir, "s", &s).unwrap();
    let (w, _, rgb) = images::read_png_rgb(&dir.join("s_phases.png")).unwrap();
    let s_px = images::cell_pixels(nx, ny);
    let (x0, y0) = (70usize, 44usize); // the map's top-left corner
    let map = s_px * nx;
    let white_run = (y0..y0 + map)
        .map(|y| {
            (x0..x0 + map)
                .filter(|&x| rgb[3 * (y * w as usize + x)..][..3] == [255, 255, 255])
                .count()
        })
        .max()
        .unwrap();
    // 50 µm wide: a 10 µm bar is a fifth of the map.
    assert!(
        (white_run as f64 - map as f64 / 5.0).abs() <= 2.0,
        "{white_run} of {map}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn panels_with_scale_bars_differ_from_panels_without() {
    let s = state(120, 90, 0.25e-6, 0, 20);
    let map = || lipf::pictures::PhaseMap {
        nx: 120,
        ny: 90,
        xi: &s.xi,
        phi: &s.phi,
        title: "t = 0 s".into(),
    };
    let plain = lipf::pictures::panel_png("p", &[("a".into(), vec![map()])], 300.0).unwrap();
    let bar = lipf::pictures::panel_png_with_scale_bars(
        "p",
        &[("a".into(), vec![map()])],
        300.0,
        &[0.25],
    )
    .unwrap();
    assert_ne!(plain, bar);
}

#[test]
fn metrics_csv_leaves_missing_values_empty() {
    let rows = vec![
        lipf::report::CaseRow {
            name: "undefined".into(),
            label: "0.6 µm".into(),
            pore_size_um: 0.6,
            grid_spacing_um: 0.25,
            homogeneity: f64::NAN,
            faraday_error: f64::NAN,
            ..Default::default()
        },
        lipf::report::CaseRow {
            name: "a,b".into(),
            pore_size_um: 5.0,
            grid_spacing_um: 0.25,
            homogeneity: 0.5,
            ..Default::default()
        },
    ];
    let (csv, md) = lipf::report::metrics_tables(&rows);
    assert!(!csv.contains('—'), "{csv}");
    assert!(md.contains('—'));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first.len(), header.len());
    let h = header
        .iter()
        .position(|&c| c == "homogeneity_final")
        .unwrap();
    assert_eq!(first[h], "");
    let f = header
        .iter()
        .position(|&c| c == "faraday_balance_error")
        .unwrap();
    assert_eq!(first[f], "");
    assert!(csv.lines().nth(2).unwrap().starts_with("\"a,b\",5.000,"));
}

#[test]
fn line_plot_without_any_value_has_no_legend_but_a_note() {
    let dir = temp_dir("empty-plot");
    let nan = vec![(0.0, f64::NAN), (1.0, f64::NAN)];
    let p = dir.join("h.png");
    images::line_plot_png_with_note(
        &p,
        "Homogeneity of the fill",
        "x",
        "H",
        &[("5.0 µm", nan.clone()), ("0.6 µm", nan)],
        Some("H is undefined in every case"),
    )
    .unwrap();
    let (_, _, rgb) = images::read_png_rgb(&p).unwrap();
    // No curve colour and no legend swatch: only greys.
    assert!(rgb.chunks(3).all(|c| c[0] == c[1] && c[1] == c[2]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn xdmf_describes_a_plane_of_zero_thickness() {
    // One point thick in z: a 2D surface in x–y for ParaView (checked in ParaView itself by
    // scripts/check-xdmf-paraview).
    let text = lipf_io::xdmf::xdmf(&Grid::new(200, 120, 0.25e-6), "fields.h5", &[(0, 0.0)]);
    assert!(text.contains(r#"<Topology TopologyType="3DCoRectMesh" Dimensions="1 121 201"/>"#));
    assert!(text.contains(r#"<Geometry GeometryType="ORIGIN_DXDYDZ">"#));
    assert!(text.contains(
        r#"Dimensions="3" NumberType="Float" Precision="8" Format="XML">0.25 0.25 0.25<"#
    ));
    assert_eq!(
        text.matches(r#"<DataItem Dimensions="1 120 200""#).count(),
        5
    );
    assert!(text.contains("fields.h5:/snapshots/000000/xi"));
    assert!(text.contains("fields.h5:/static/phi"));
    assert!(!text.contains("2DCoRectMesh"));
}

#[test]
fn panel_maps_show_li_below_one_half() {
    use lipf::pictures::{cell_colour, LI_RGB, LLZO_RGB, PORE_RGB, XI_VISIBLE};
    assert_eq!(cell_colour(0.6, 1.0), LI_RGB);
    assert_eq!(cell_colour(0.0, 1.0), LLZO_RGB);
    assert_eq!(cell_colour(0.5 * XI_VISIBLE, 0.0), PORE_RGB);
    // Li below ½ inside the LLZO and in a pore: neither the background nor Li, and more Li is
    // closer to the Li colour.
    for bg_phi in [1.0, 0.0] {
        let bg = cell_colour(0.0, bg_phi);
        let dist = |c: [u8; 3]| {
            c.iter()
                .zip(LI_RGB)
                .map(|(&a, b)| (a as i32 - b as i32).abs())
                .sum::<i32>()
        };
        let (low, high) = (cell_colour(0.05, bg_phi), cell_colour(0.45, bg_phi));
        assert_ne!(low, bg);
        assert_ne!(high, LI_RGB);
        assert!(
            dist(high) < dist(low) && dist(low) < dist(bg),
            "{low:?} {high:?}"
        );
    }
}
