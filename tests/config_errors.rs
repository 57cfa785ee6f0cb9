//! Bad configurations are rejected with the path of the field, its value and the allowed range.

use lipf_core::{Config, ConfigError};

fn err(json: &str) -> String {
    match Config::from_json_str(json) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_field_is_rejected_with_its_path() {
    let e = err(r#"{"geometry": {"pore_size_mm": 1.0}}"#);
    assert!(e.contains("geometry") && e.contains("pore_size_mm"), "{e}");
}

#[test]
fn porosity_outside_unit_interval_names_value_and_range() {
    let e = err(r#"{"geometry": {"porosity": 1.5}}"#);
    assert!(
        e.contains("geometry.porosity") && e.contains("1.5") && e.contains("(0, 1)"),
        "{e}"
    );
}

#[test]
fn negative_conductivity_is_rejected() {
    let e = err(r#"{"material": {"llzo_conductivity_s_m": -0.03}}"#);
    assert!(
        e.contains("material.llzo_conductivity_s_m") && e.contains("-0.03") && e.contains("> 0"),
        "{e}"
    );
}

#[test]
fn grid_that_cannot_hold_the_geometry_is_rejected() {
    let e = err(
        r#"{"domain": {"height_um": 10.0}, "geometry": {"li_foil_thickness_um": 6.0, "dense_cap_thickness_um": 5.0}}"#,
    );
    assert!(
        e.contains("li_foil_thickness_um") && e.contains("thinner"),
        "{e}"
    );
    let e = err(r#"{"domain": {"width_um": 50.1}}"#);
    assert!(
        e.contains("domain.width_um") && e.contains("integer multiple"),
        "{e}"
    );
    let e = err(r#"{"geometry": {"pore_size_um": 0.3}}"#);
    assert!(
        e.contains("geometry.pore_size_um") && e.contains("2 grid cells"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_the_field() {
    let e = err(r#"{"control": {"current_density_a_m2": "two"}}"#);
    assert!(e.contains("control.current_density_a_m2"), "{e}");
}

#[test]
fn shipped_configurations_are_valid_and_default_is_the_paper_case() {
    for rel in [
        "smoke.json",
        "flat-cell.json",
        "paper/pore-5um.json",
        "paper/pore-1.5um.json",
        "paper/pore-0.6um.json",
        "dendrites/llzo-crack.json",
        "dendrites/llzo-void.json",
    ] {
        let c = Config::from_file(&super::cell_checks::config_path(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        c.validate().unwrap();
    }
    let d = Config::default();
    assert_eq!((d.nx(), d.ny()), (200, 200));
    assert_eq!(d.geometry.pore_size_um, 1.5);
    assert!(matches!(Config::from_json_str("{}"), Ok(c) if c == d));
    let _: Option<ConfigError> = None;
}

#[test]
fn interphase_needs_the_two_potential_form_and_whole_cells_per_interface_width() {
    let e = err(r#"{"material": {"interphase": {}}, "model": {"overpotential": "consistent"}}"#);
    assert!(
        e.contains("material.interphase") && e.contains("two_potential"),
        "{e}"
    );
    let e = err(r#"{"material": {"interphase": {}}, "model": {"interface_half_width_um": 0.6}}"#);
    assert!(
        e.contains("model.interface_half_width_um") && e.contains("whole number"),
        "{e}"
    );
    let e = err(r#"{"material": {"interphase": {"reverse_electronic_asr_ohm_m2": -1.0}}}"#);
    assert!(
        e.contains("material.interphase.reverse_electronic_asr_ohm_m2"),
        "{e}"
    );
    // The defaults (seed 003's asymmetry for a 1 mm pellet) are valid.
    Config::from_json_str(r#"{"material": {"interphase": {}}}"#).unwrap();
}

/// `limits.max_steps` is a budget the run keeps: a run that needs more steps stops with an
/// error naming the limit, not after the estimate only.
#[test]
fn a_run_stops_at_its_step_budget() {
    use lipf_core::{Backend, CpuBackend, StopFlag};
    let mut cfg = super::cell_checks::smoke();
    cfg.time.max_dt_s = Some(0.05);
    cfg.limits.max_steps = 5.0;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let e = b
        .advance(cfg.time.end_time_s, &StopFlag::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("limits.max_steps") && e.contains("5 steps"),
        "{e}"
    );
    assert_eq!(b.state().step, 5);
}

#[test]
fn the_implicit_obstacle_is_refused_with_creep_and_accepted_without() {
    let e = err(r#"{"model": {"obstacle_step": "implicit"}, "creep": {"enabled": true}}"#);
    assert!(
        e.contains("model.obstacle_step") && e.contains("creep.enabled"),
        "{e}"
    );
    Config::from_json_str(r#"{"model": {"obstacle_step": "implicit"}}"#).unwrap();
    let e = err(r#"{"model": {"obstacle_step": "sometimes"}}"#);
    assert!(e.contains("obstacle_step"), "{e}");
}

#[test]
fn the_noise_needs_a_non_negative_amplitude_and_no_interphase() {
    let e = err(r#"{"model": {"noise_amplitude_per_sqrt_s": -0.1}}"#);
    assert!(e.contains("model.noise_amplitude_per_sqrt_s"), "{e}");
    let e = err(r#"{"model": {"noise_amplitude_per_sqrt_s": 0.1},
            "material": {"interphase": {"forward_electronic_asr_ohm_m2": 0.1,
                                        "reverse_electronic_asr_ohm_m2": 1.0,
                                        "ionic_asr_ohm_m2": 0.01}}}"#);
    assert!(
        e.contains("model.noise_amplitude_per_sqrt_s") && e.contains("interphase"),
        "{e}"
    );
    let c = Config::from_json_str(
        r#"{"model": {"noise_amplitude_per_sqrt_s": 0.1, "noise_seed": 18446744073709551615}}"#,
    )
    .unwrap();
    assert_eq!(c.model.noise_seed, u64::MAX);
}

#[test]
fn electrolyte_defects_are_checked_by_name() {
    let e = err(
        r#"{"geometry": {"electrolyte_defects": [{"kind": "crack", "x_um": 5, "width_um": -1, "depth_um": 3}]}}"#,
    );
    assert!(
        e.contains("geometry.electrolyte_defects[0].width_um"),
        "{e}"
    );
    let e = err(
        r#"{"geometry": {"electrolyte_defects": [{"kind": "void", "x_um": 5, "y_um": 5, "diameter_um": 1},
                                                  {"kind": "void", "x_um": 5, "y_um": 1e4, "diameter_um": 1}]}}"#,
    );
    assert!(e.contains("geometry.electrolyte_defects[1].y_um"), "{e}");
    let e = err(
        r#"{"geometry": {"electrolyte_defects": [{"kind": "crack", "x_um": 5, "width_um": 1, "depth_um": 1e4}]}}"#,
    );
    assert!(
        e.contains("geometry.electrolyte_defects[0].depth_um"),
        "{e}"
    );
    let e = err(r#"{"geometry": {"electrolyte_defects": [{"kind": "fissure", "x_um": 5}]}}"#);
    assert!(e.contains("fissure"), "{e}");
    let e = err(
        r#"{"geometry": {"electrolyte_defects": [{"kind": "void", "x_um": 5, "y_um": 5, "diameter_um": 1, "depth_um": 2}]}}"#,
    );
    assert!(e.contains("depth_um"), "{e}");
}

#[test]
fn three_dimensional_domains_are_checked_like_the_others() {
    let e = err(r#"{"domain": {"depth_um": 10.1}}"#);
    assert!(
        e.contains("domain.depth_um") && e.contains("integer multiple"),
        "{e}"
    );
    let e = err(r#"{"domain": {"depth_um": -2.0}}"#);
    assert!(e.contains("domain.depth_um") && e.contains("> 0"), "{e}");
    // Disks are a 2D model: a 3D domain takes spheres.
    let e = err(
        r#"{"domain": {"depth_um": 10.0}, "geometry": {"kind": "random_pores", "pore_size_um": 1.5}}"#,
    );
    assert!(
        e.contains("geometry.kind") && e.contains("random_spheres"),
        "{e}"
    );
    // Cylinders beyond touching on their lattice.
    let e = err(
        r#"{"domain": {"depth_um": 10.0}, "geometry": {"kind": "cylinders", "lattice": "square", "porosity": 0.8}}"#,
    );
    assert!(
        e.contains("geometry.porosity") && e.contains("0.7854"),
        "{e}"
    );
    let e = err(
        r#"{"domain": {"depth_um": 1.0}, "geometry": {"kind": "random_spheres", "pore_size_um": 1.5}}"#,
    );
    assert!(
        e.contains("geometry.pore_size_um") && e.contains("depth"),
        "{e}"
    );
    let e = err(r#"{"geometry": {"lattice": "triangular"}}"#);
    assert!(e.contains("lattice") && e.contains("hexagonal"), "{e}");
}
