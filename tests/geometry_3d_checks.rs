//! 3D scaffolds and their metrics against closed forms (docs/geometry.md, "Three dimensions").

use lipf_core::backend::SimulationError;
use lipf_core::config::PoreLattice;
use lipf_core::cpu::interp::h;
use lipf_core::geometry::{self, volume};
use lipf_core::metrics;
use lipf_core::{Coefficients, Config, CpuBackend};

fn config_file(name: &str) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs/geometry")
        .join(name);
    Config::from_file(&path).unwrap()
}

/// The cylinder configuration with `lattice`; the square lattice's domain holds whole repeat
/// cells of its ideal spacing (6.27 µm at 5 µm and 50 %) as nearly as 0.25 µm cells allow.
fn cylinders(lattice: PoreLattice) -> Config {
    let mut c = config_file("cylinders-hexagonal-5um-3d.json");
    c.geometry.lattice = lattice;
    if lattice == PoreLattice::Square {
        c.name = "cylinders-square-5um-3d".into();
        c.domain.width_um = 12.5;
        c.domain.depth_um = Some(12.5);
    }
    c
}

/// Seed 000's geometric model in 3D: parallel cylinders of 5 µm at 50 % porosity. Porosity and
/// specific surface 4φ/δ within 1 % (the surface by marching tetrahedra on the ϕ = ½
/// iso-surface), J_local/J_applied = 1/(d·S) = 0.25 at d = 10 µm, τ = 1 along the cylinders,
/// local thickness the diameter.
#[test]
fn cylinder_arrays_have_their_porosity_and_four_phi_over_delta() {
    for lattice in [PoreLattice::Hexagonal, PoreLattice::Square] {
        let (info, m) = super::geometry_checks::measured(&cylinders(lattice));
        let phi = info.porosity_geometric;
        eprintln!(
            "{lattice:?}: {} cylinders, lattice porosity {phi:.4}; measured {:.4} (cells {:.4}); \
             S {:.5} against 4φ/δ {:.5}; τ {:.6} / {:.6}; local thickness median {:.3} µm",
            info.channels,
            m.porosity,
            m.porosity_cells,
            m.specific_surface.measured_per_um,
            4.0 * phi / 5.0,
            m.conductivity.tortuosity_factor,
            m.conductivity.voxel_tortuosity_factor,
            m.pore_size_distribution.median_um,
        );
        assert_eq!(m.dimensions, 3);
        assert!((phi - 0.5).abs() < 0.01, "{lattice:?}: {phi}");
        assert!((m.porosity - phi).abs() < 0.01 * phi, "{lattice:?}");
        assert!((m.porosity_cells - phi).abs() < 0.01 * phi, "{lattice:?}");
        let s = m.specific_surface.measured_per_um;
        assert!((s - 4.0 * phi / 5.0).abs() < 0.01 * s, "{lattice:?}: S {s}");
        let j10 = m
            .current_reduction
            .iter()
            .find(|p| p.depth_um == 10.0)
            .unwrap();
        assert!(
            (j10.measured - 0.25).abs() < 0.01 * 0.25 + (phi - 0.5).abs(),
            "{j10:?}"
        );
        assert!((j10.measured - j10.cylinder.unwrap()).abs() < 0.02 * j10.measured);
        // Straight pores along the current: no tortuosity in either discretisation.
        assert!((m.conductivity.tortuosity_factor - 1.0).abs() < 1e-6);
        assert!((m.conductivity.voxel_tortuosity_factor - 1.0).abs() < 1e-6);
        // Most pore volume lies in balls of nearly the full diameter.
        assert!((m.pore_size_distribution.d90_um - 5.0).abs() <= 0.25 + 1e-9);
    }
}

/// The hexagonal lattice's surface converges with the interface width: the porosity's
/// curvature bias (the mean of 1 − h(ϕ) across a curved diffuse wall) shrinks as ℓ².
#[test]
fn cylinder_porosity_bias_shrinks_with_the_interface_width() {
    let bias = |ell_um: f64| {
        let mut c = cylinders(PoreLattice::Hexagonal);
        c.model.interface_half_width_um = Some(ell_um);
        let k = Coefficients::from_config(&c);
        let f = geometry::build(&c, &k.grid, k.ell_m);
        let (j0, j1) = metrics::band_rows(&f.info, &k.grid, k.ell_m);
        let band = metrics::band_cells(&f.phi, &k.grid, (j0, j1));
        let porosity = band.iter().map(|&p| 1.0 - h(p)).sum::<f64>() / band.len() as f64;
        porosity / f.info.porosity_geometric - 1.0
    };
    let (b1, b2) = (bias(0.5), bias(0.25));
    eprintln!("porosity bias at ℓ = 0.5 µm {b1:.3e}, at 0.25 µm {b2:.3e}");
    assert!(b1 > 0.0 && b1 < 0.01);
    assert!(b2.abs() < 0.4 * b1, "{b2} against {b1}");
}

/// Overlapping spheres against the Boolean model (1 − φ = exp(−n v), S = n 4πR² (1 − φ)): the
/// drawn scaffold within 2 % in porosity and exact surface; the surface measured on the grid
/// below the exact one and approaching it under refinement.
#[test]
fn random_spheres_match_the_boolean_model() {
    let mut errors = Vec::new();
    for dx in [0.25, 0.125] {
        let mut c = config_file("random-spheres-1.5um-3d.json");
        c.domain.grid_spacing_um = dx;
        let k = Coefficients::from_config(&c);
        let g = k.grid;
        let f = geometry::build(&c, &g, k.ell_m);
        let info = &f.info;
        let (j0, j1) = metrics::band_rows(info, &g, k.ell_m);
        let band = metrics::band_cells(&f.phi, &g, (j0, j1));
        let porosity_cells = band.iter().filter(|&&p| p < 0.5).count() as f64 / band.len() as f64;
        let (y0, y1) = (j0 as f64 * g.dx_m, j1 as f64 * g.dx_m);
        let area = metrics::surface::iso_surface_area_between(
            &f.phi, g.nx, g.ny, g.nz, g.dx_m, 0.5, y0, y1,
        );
        let measured = area / (g.width_m() * (y1 - y0) * g.depth_m()) * 1e-6;
        let expected_phi = info.porosity_expected.unwrap();
        let exact = info.specific_surface_drawn_per_um.unwrap();
        let n = info.sphere_density_per_um3;
        let boolean_s = n * 4.0 * std::f64::consts::PI * 0.75f64.powi(2) * (1.0 - porosity_cells);
        eprintln!(
            "Δx = {dx} µm: {} spheres; porosity {porosity_cells:.4} against 1 − exp(−nv) = \
             {expected_phi:.4}; S exact {exact:.4}, n4πR²(1 − φ) {boolean_s:.4}, measured \
             {measured:.4} ({:+.2} %)",
            info.spheres,
            100.0 * (measured / exact - 1.0)
        );
        assert!((porosity_cells - expected_phi).abs() < 0.02 * expected_phi);
        assert!((exact - boolean_s).abs() < 0.02 * boolean_s);
        assert!(measured < exact);
        errors.push(1.0 - measured / exact);
    }
    // Sub-cell gaps and creases between spheres are what the grid misses: 5.9 % at 3 cells per
    // radius, 3.7 % at 6.
    assert!(
        errors[1] < 0.75 * errors[0] && errors[1] < 0.05,
        "{errors:?}"
    );
}

/// The impregnated Li fills every cylinder from the foil to the impregnation depth. Between the
/// foil's profile and the top's (4ℓ from each) every row holds as much Li as the room the
/// scaffold leaves, ∫(1 − ϕ), and that room is the closed form for a diffuse wall around a
/// cylinder of radius R, πR² + 2π·2ℓ²·π²/48 per cylinder (the tanh profile's first moment;
/// 3 % above πR² here). On the axis the Li's ½-crossing is the impregnation depth.
#[test]
fn li_is_impregnated_into_the_cylinders_up_to_its_depth() {
    let mut c = cylinders(PoreLattice::Hexagonal);
    c.geometry.impregnation_depth_um = 6.0;
    let k = Coefficients::from_config(&c);
    let g = k.grid;
    let f = geometry::build(&c, &g, k.ell_m);
    let foil_m = c.geometry.li_foil_thickness_um * 1e-6;
    let top_m = foil_m + 6.0e-6;
    let (r, ell) = (2.5e-6, k.ell_m);
    let per_cylinder = std::f64::consts::PI * r * r
        + 2.0 * std::f64::consts::PI * 2.0 * ell * ell * std::f64::consts::PI.powi(2) / 48.0;
    let closed_form = f.info.channels as f64 * per_cylinder / (g.dx_m * g.dx_m);
    for j in (0..g.ny).filter(|&j| g.y_m(j) > foil_m + 4.0 * ell && g.y_m(j) < top_m - 4.0 * ell) {
        let (mut li, mut room) = (0.0, 0.0);
        for kz in 0..g.nz {
            for i in 0..g.nx {
                li += f.xi[g.idx3(i, j, kz)];
                room += 1.0 - f.phi[g.idx3(i, j, kz)];
            }
        }
        assert!(
            (li / room - 1.0).abs() < 1e-3,
            "row {j}: Li {li} room {room}"
        );
        // The cell sum of the profile at Δx = ℓ/2 stays 0.5 % below the integral.
        assert!(
            (room / closed_form - 1.0).abs() < 0.01,
            "row {j}: {room} {closed_form}"
        );
    }
    // The axis of the first cylinder (¼, ¼ of the repeat cell) lies on a cell centre here.
    let (i, kz) = (
        (0.25 * f.info.channel_period_um / 0.25) as usize,
        (0.25 * f.info.period_z_um / 0.25) as usize,
    );
    let j = (0..g.ny)
        .find(|&j| j > 10 && f.xi[g.idx3(i, j + 1, kz)] < 0.5)
        .unwrap();
    let (a, b) = (f.xi[g.idx3(i, j, kz)], f.xi[g.idx3(i, j + 1, kz)]);
    let crossing = g.y_m(j) + (a - 0.5) / (a - b) * g.dx_m;
    assert!((crossing - top_m).abs() < 0.01e-6, "{crossing:e}");
}

/// A 2D section is the nz = 1 case of the same builder: `depth_um` of one cell builds the
/// section bit for bit, and a 3D slit scaffold is that section in every z.
#[test]
fn a_section_is_the_one_cell_deep_case_and_slits_extrude() {
    let mut c = Config::default();
    c.domain.width_um = 12.0;
    c.domain.height_um = 16.0;
    let k = Coefficients::from_config(&c);
    let plain = geometry::build(&c, &k.grid, k.ell_m);
    c.domain.depth_um = Some(c.domain.grid_spacing_um);
    let k1 = Coefficients::from_config(&c);
    assert_eq!(k1.grid.nz, 1);
    let one = geometry::build(&c, &k1.grid, k1.ell_m);
    assert_eq!(plain.phi, one.phi);
    assert_eq!(plain.xi, one.xi);
    c.domain.depth_um = Some(2.0);
    let k3 = Coefficients::from_config(&c);
    let deep = geometry::build(&c, &k3.grid, k3.ell_m);
    let section = k.grid.cells();
    assert_eq!(k3.grid.nz, 8);
    for z in 0..8 {
        assert_eq!(&deep.phi[z * section..(z + 1) * section], &plain.phi[..]);
        assert_eq!(&deep.xi[z * section..(z + 1) * section], &plain.xi[..]);
    }
}

/// A 3D run with what is built for 2D sections only (the explicit Nernst–Planck sub-steps, the
/// configuration's default) is refused, naming the setting and what to set.
#[test]
fn a_3d_run_with_explicit_nernst_planck_is_refused_with_a_clear_error() {
    let c = cylinders(PoreLattice::Square);
    let Err(e) = CpuBackend::new(&c) else {
        panic!("a 3D run with explicit Nernst–Planck sub-steps was accepted")
    };
    assert!(matches!(e, SimulationError::Unsupported(_)));
    let text = e.to_string();
    assert!(
        text.contains("model.nernst_planck") && text.contains("implicit"),
        "{text}"
    );
}

/// Lattice fits and sphere draws (unit checks of `geometry::volume` on small grids).
#[test]
fn sphere_draws_are_seeded_and_sections_cut_the_same_medium() {
    let g3 = lipf_core::Grid::new_3d(32, 40, 32, 0.25e-6);
    let a = volume::overlapping_spheres(&g3, (8, 32), 2e-6, 0.3, 9, 1e-6);
    let b = volume::overlapping_spheres(&g3, (8, 32), 2e-6, 0.3, 9, 1e-6);
    assert_eq!(a, b);
    // A section draws only the spheres that can cut it, and reaches the target in it.
    let g2 = lipf_core::Grid::new(200, 40, 0.25e-6);
    let s = volume::overlapping_spheres(&g2, (8, 32), 2e-6, 0.3, 9, 1e-6);
    assert!(s.region_porosity >= 0.3 && s.region_porosity < 0.33);
    assert!(s.centres_m.iter().all(|c| (c[2] - g2.z_m(0)).abs() <= 1e-6));
}

/// A folder of PNG slices is a 3D scaffold: the voxels of a cylinder scaffold written as one
/// slice per z and read back as an `image` give the same pore voxels, and a stack whose slices
/// differ in size is refused naming the slice.
#[test]
fn a_stack_of_png_slices_round_trips_a_3d_scaffold() {
    use lipf_core::config::GeometryKind;
    use lipf_core::geometry::image;
    let src = cylinders(PoreLattice::Square);
    let k = Coefficients::from_config(&src);
    let g = k.grid;
    let f = geometry::build(&src, &g, k.ell_m);
    let (j0, j1) = geometry::scaffold_rows(&src, &g);
    let rows = j1 - j0;
    let dir = std::env::temp_dir().join(format!("lipf-stack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for kz in 0..g.nz {
        // Image row 0 is the top of the scaffold region.
        let pore = (0..rows)
            .flat_map(|r| (0..g.nx).map(move |i| (i, j1 - 1 - r)))
            .map(|(i, j)| f.phi[g.idx3(i, j, kz)] < 0.5)
            .collect();
        let mask = image::Mask {
            width: g.nx,
            height: rows,
            pore,
        };
        std::fs::write(
            dir.join(format!("slice-{kz:04}.png")),
            image::encode_mask_png(&mask),
        )
        .unwrap();
    }
    let mut c = src.clone();
    c.geometry.kind = GeometryKind::Image;
    c.geometry.image_path = Some(dir.display().to_string());
    c.validate().unwrap();
    let read = geometry::build(&c, &g, k.ell_m);
    for kz in 0..g.nz {
        for j in j0..j1 {
            for i in 0..g.nx {
                let q = g.idx3(i, j, kz);
                assert_eq!(read.phi[q] < 0.5, f.phi[q] < 0.5, "voxel ({i}, {j}, {kz})");
            }
        }
    }
    // A slice of another size.
    let odd = image::Mask {
        width: g.nx + 1,
        height: rows,
        pore: vec![false; (g.nx + 1) * rows],
    };
    std::fs::write(dir.join("slice-9999.png"), image::encode_mask_png(&odd)).unwrap();
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("slice-9999.png") && e.contains("one size"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 2D section of the sphere scaffold is a section of the same Boolean medium: its pore area
/// fraction is the volume fraction 1 − exp(−n v), and its perimeter per area is π/4 of the
/// surface per volume (stereology, L_A = π S_V / 4). As in 3D the perimeter measured on the grid
/// is low where circles nearly touch or cross within a cell, and approaches the value under
/// refinement (−11.8 %, −6.6 %, −3.9 % at 3, 6 and 12 cells per sphere radius).
#[test]
fn a_section_of_random_spheres_follows_stereology() {
    let mut errors = Vec::new();
    for dx in [0.25, 0.125] {
        let mut c = config_file("random-spheres-1.5um-3d.json");
        c.domain.depth_um = None;
        c.domain.width_um = 400.0;
        c.domain.grid_spacing_um = dx;
        let k = Coefficients::from_config(&c);
        let g = k.grid;
        let f = geometry::build(&c, &g, k.ell_m);
        let (j0, j1) = metrics::band_rows(&f.info, &g, k.ell_m);
        let band = metrics::band_cells(&f.phi, &g, (j0, j1));
        let porosity = band.iter().filter(|&&p| p < 0.5).count() as f64 / band.len() as f64;
        let (y0, y1) = (j0 as f64 * g.dx_m, j1 as f64 * g.dx_m);
        let length: f64 = metrics::surface::iso_segments(&f.phi, &g, 0.5)
            .iter()
            .map(|s| s.length_between(y0, y1))
            .sum();
        let la = length / (g.width_m() * (y1 - y0)) * 1e-6;
        let expected_phi = f.info.porosity_expected.unwrap();
        let expected_la =
            std::f64::consts::FRAC_PI_4 * f.info.specific_surface_expected_per_um.unwrap();
        eprintln!(
            "section at Δx = {dx} µm: {} spheres cut it; porosity {porosity:.4} against \
             {expected_phi:.4}; perimeter per area {la:.4} against π/4 S_V = {expected_la:.4} µm⁻¹",
            f.info.spheres
        );
        assert!((porosity - expected_phi).abs() < 0.03 * expected_phi);
        errors.push(1.0 - la / expected_la);
    }
    assert!(errors[0] > 0.0 && errors[1] > 0.0);
    assert!(
        errors[1] < 0.7 * errors[0] && errors[1] < 0.08,
        "{errors:?}"
    );
}
