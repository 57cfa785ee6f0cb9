//! Round trips of every lipf-io format through the file system.

use lipf_core::observables::Scalars;
use lipf_core::{Grid, State};
use lipf_io::{atomic, csv, images, xdmf};
use std::path::{Path, PathBuf};

/// A fresh, empty folder for one test.
fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lipf-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random numbers (xorshift64*), spread over many magnitudes and signs.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn wild(&mut self) -> f64 {
        let m = self.unit() - 0.5;
        let e = (self.next_u64() % 40) as i32 - 20;
        m * 10f64.powi(e)
    }

    fn field(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.wild()).collect()
    }
}

fn random_state(nx: usize, ny: usize, seed: u64) -> State {
    let mut r = Rng(seed);
    let n = nx * ny;
    State {
        grid: Grid::new(nx, ny, 0.25e-6),
        xi: (0..n).map(|_| r.unit()).collect(),
        phi: (0..n).map(|_| r.unit()).collect(),
        conc: (0..n).map(|_| 0.5 + r.unit()).collect(),
        potential: r.field(n),
        eta: r.field(n),
        potential0: r.field(n),
        potential1: r.field(n),
        electronic_potential: r.field(n),
        electronic_potential0: r.field(n),
        electronic_potential1: r.field(n),
        v_collector: -0.012345678901234567,
        time_s: 12.5 + r.unit(),
        step: r.next_u64(),
        current_density_a_m2: 2.0 + r.unit(),
        charge_c_m2: r.wild(),
        leakage_current_density_a_m2: r.wild(),
        leakage_charge_c_m2: r.wild(),
        ionic_throughput_c_m2: r.wild(),
        li_amount0_mol_m2: r.wild(),
        li_extruded_m: r.wild(),
        solver_iterations: r.next_u64() % 1000,
        solver_iterations_total: u64::MAX - 3,
    }
}

fn no_tmp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
}

#[test]
fn atomic_write_replaces_content_and_leaves_no_tmp() {
    let dir = test_dir("atomic");
    let p = dir.join("a.txt");
    atomic::write_atomic(&p, b"first").unwrap();
    atomic::write_atomic(&p, b"second").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"second");
    let q = dir.join("b.txt");
    atomic::copy_atomic(&p, &q).unwrap();
    assert_eq!(std::fs::read(&q).unwrap(), b"second");
    assert!(no_tmp_files(&dir));
    // A destination in a missing folder fails cleanly.
    assert!(atomic::write_atomic(&dir.join("missing/c.txt"), b"x").is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_lists_every_row() {
    let rows: Vec<Scalars> = (0..4)
        .map(|k| Scalars {
            time_s: k as f64 * 0.1,
            step: k,
            cell_voltage_v: -1e-3 * k as f64,
            ..Scalars::default()
        })
        .collect();
    let text = csv::timeseries_csv(&rows);
    assert_eq!(text.lines().count(), 5);
    assert!(text.starts_with("time_s,step,current_density_a_m2,cell_voltage_v,"));
    let last: Vec<f64> = text
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(last[0], 0.30000000000000004);
    assert_eq!(last[3], -0.003);
}

#[test]
fn xdmf_has_one_grid_per_snapshot_and_ny_nx_attributes() {
    let grid = Grid::new(7, 5, 0.5e-6);
    let text = xdmf::xdmf(&grid, "fields.h5", &[(0, 0.0), (4, 0.25)]);
    assert_eq!(text.matches("<Grid Name=\"snapshot").count(), 2);
    assert_eq!(text.matches("Dimensions=\"1 5 7\"").count(), 10);
    assert!(text.contains("<Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 6 8\"/>"));
    assert!(text.contains("GeometryType=\"ORIGIN_DXDYDZ\""));
    assert!(text.contains("fields.h5:/snapshots/000001/c"));
    assert!(text.contains("<Time Value=\"0.25\"/>"));
}

fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn snapshot_images_for_odd_grids_are_valid_pngs() {
    let dir = test_dir("images");
    for (nx, ny) in [(67, 45), (1, 20), (20, 1), (200, 200)] {
        let mut s = random_state(nx, ny, 7);
        if nx == 20 && ny == 1 {
            // A uniform field: the colour scale must cope with max = min.
            s.conc.iter_mut().for_each(|c| *c = 1.0);
        }
        s.potential[0] = f64::NAN;
        let stem = format!("snap_{nx}x{ny}");
        let paths = images::write_snapshot_images(&dir, &stem, &s).unwrap();
        assert_eq!(paths.len(), 5);
        for (p, kind) in paths.iter().zip([
            "phases",
            "xi_log",
            "potential",
            "electronic_potential",
            "conc",
        ]) {
            assert_eq!(
                p.file_name().unwrap().to_string_lossy(),
                format!("{stem}_{kind}.png")
            );
            let (w, h, _) = decode_png(p);
            assert!(w > 0 && h > 0);
            assert!(h as usize >= ny * images::cell_pixels(nx, ny));
            assert!(w as usize >= nx * images::cell_pixels(nx, ny));
            if (nx, ny) == (200, 200) {
                assert!((600..800).contains(&h), "height {h}");
            }
        }
    }
    assert!(no_tmp_files(&dir));
    // The folder is created when missing.
    let sub = dir.join("images");
    images::write_snapshot_images(&sub, "s", &random_state(3, 2, 1)).unwrap();
    assert!(sub.join("s_conc.png").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn line_plot_is_a_valid_png() {
    let dir = test_dir("plot");
    let p = dir.join("voltage.png");
    let v: Vec<(f64, f64)> = (0..200)
        .map(|k| (k as f64, -0.01 - 1e-4 * (k as f64).sqrt()))
        .collect();
    let i: Vec<(f64, f64)> = vec![(0.0, -0.01), (100.0, f64::NAN), (199.0, -0.0115)];
    images::line_plot_png(
        &p,
        "Cell voltage",
        "time (s)",
        "voltage (V)",
        &[("cell voltage", v), ("other", i)],
    )
    .unwrap();
    let (w, h, _) = decode_png(&p);
    assert!(w > 0 && h > 0);
    // Degenerate inputs: no series, a single point.
    images::line_plot_png(&dir.join("empty.png"), "empty", "x", "y", &[]).unwrap();
    images::line_plot_png(
        &dir.join("one.png"),
        "one",
        "x",
        "y",
        &[("p", vec![(1.0, 2.0)])],
    )
    .unwrap();
    assert!(no_tmp_files(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "hdf5")]
mod h5 {
    use super::*;
    use hdf5::types::VarLenUnicode;
    use lipf_io::h5::{read_checkpoint, read_dataset_f32, write_checkpoint, FieldsFile, ROW0};

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn attr_str(loc: &hdf5::Location, name: &str) -> String {
        loc.attr(name)
            .unwrap()
            .read_scalar::<VarLenUnicode>()
            .unwrap()
            .as_str()
            .to_owned()
    }

    fn attr<T: hdf5::H5Type>(loc: &hdf5::Location, name: &str) -> T {
        loc.attr(name).unwrap().read_scalar::<T>().unwrap()
    }

    fn rows(times: &[f64]) -> Vec<Scalars> {
        times
            .iter()
            .enumerate()
            .map(|(k, &t)| Scalars {
                time_s: t,
                step: 10 * k as u64,
                current_density_a_m2: 2.0,
                cell_voltage_v: -0.01 - 1e-3 * t,
                li_amount_mol_m2: 0.15 + 1e-6 * t,
                charge_c_m2: 2.0 * t,
                li_in_electrolyte_mol_m2: 1e-3 * t,
                leakage_current_density_a_m2: 1e-4 * t,
                solver_iterations: 7 + k as u64,
            })
            .collect()
    }

    #[test]
    fn checkpoint_round_trip_is_bitwise() {
        let dir = test_dir("checkpoint");
        let path = dir.join("checkpoint.h5");
        let state = random_state(5, 4, 42);
        let config = r#"{"name": "ünïcode µm", "x": [1, 2]}"#;
        write_checkpoint(&path, &state, config).unwrap();
        let (back, config_back) = read_checkpoint(&path).unwrap();
        assert_eq!(back, state);
        assert_eq!(config_back, config);
        for (a, b) in [
            (&back.xi, &state.xi),
            (&back.phi, &state.phi),
            (&back.conc, &state.conc),
            (&back.potential, &state.potential),
            (&back.eta, &state.eta),
            (&back.potential0, &state.potential0),
            (&back.potential1, &state.potential1),
        ] {
            assert_eq!(bits(a), bits(b));
        }
        assert_eq!(back.v_collector.to_bits(), state.v_collector.to_bits());
        assert_eq!(back.grid.dx_m.to_bits(), state.grid.dx_m.to_bits());
        // Overwriting works and stays atomic.
        let mut later = state.clone();
        later.step += 1;
        write_checkpoint(&path, &later, config).unwrap();
        assert_eq!(read_checkpoint(&path).unwrap().0, later);
        assert!(no_tmp_files(&dir));
        // Fields are stored (ny, nx), bottom row first.
        let (ny, nx, xi) = read_dataset_f32(&path, "xi").unwrap();
        assert_eq!((ny, nx), (4, 5));
        assert_eq!(xi[5], state.xi[5] as f32);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checkpoint_rejects_other_files() {
        let dir = test_dir("checkpoint-bad");
        let p = dir.join("not.h5");
        std::fs::write(&p, b"not hdf5").unwrap();
        assert!(read_checkpoint(&p).is_err());
        assert!(read_checkpoint(&dir.join("missing.h5")).is_err());
        let s = random_state(3, 2, 1);
        let f = dir.join("fields.h5");
        let mut ff = FieldsFile::create(&f, "{}", &s, "{}").unwrap();
        ff.publish().unwrap();
        let e = read_checkpoint(&f).unwrap_err();
        assert!(format!("{e:#}").contains("not a lipf checkpoint"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fields_file_snapshots_timeseries_and_publish() {
        let dir = test_dir("fields");
        let path = dir.join("fields.h5");
        let (nx, ny) = (7, 5);
        let mut s = random_state(nx, ny, 3);
        s.time_s = 0.0;
        s.step = 0;
        let config = r#"{"name":"t"}"#;
        let geometry = r#"{"kind":"channels","channels":3}"#;
        let mut ff = FieldsFile::create(&path, config, &s, geometry).unwrap();
        assert!(!path.exists(), "nothing is public before publish");
        ff.append_snapshot(&s).unwrap();
        let first_xi = s.xi.clone();
        s.time_s = 2.5;
        s.step = 40;
        s.xi.iter_mut().for_each(|x| *x = 1.0 - *x);
        ff.append_snapshot(&s).unwrap();
        ff.write_timeseries(&rows(&[0.0, 1.0])).unwrap();
        ff.write_timeseries(&rows(&[0.0, 1.0, 2.0])).unwrap(); // rewrite, longer
        ff.publish().unwrap();
        assert_eq!(ff.snapshots(), vec![(0, 0.0), (40, 2.5)]);
        assert!(no_tmp_files(&dir));
        assert!(dir.join(".fields.h5.work").exists());

        let f = hdf5::File::open(&path).unwrap();
        assert_eq!(attr_str(&f, "config_json"), config);
        assert_eq!(attr_str(&f, "lipf_version"), lipf_core::VERSION);
        assert_eq!(attr_str(&f, "row0"), ROW0);
        let units: serde_json::Value = serde_json::from_str(&attr_str(&f, "units")).unwrap();
        assert_eq!(units["potential"], "V");
        assert_eq!(units["time_s"], "s");
        let g = f.group("grid").unwrap();
        assert_eq!(attr::<u64>(&g, "nx"), nx as u64);
        assert_eq!(attr::<u64>(&g, "ny"), ny as u64);
        assert!((attr::<f64>(&g, "dx_um") - 0.25).abs() < 1e-12);
        let st = f.group("static").unwrap();
        assert_eq!(attr_str(&st, "geometry_json"), geometry);
        let phi = st.dataset("phi").unwrap();
        assert_eq!(phi.shape(), vec![ny, nx]);
        let phi2 = phi.read_2d::<f32>().unwrap();
        assert_eq!(phi2[[0, 3]], s.phi[3] as f32); // row 0 = bottom
        assert_eq!(phi2[[ny - 1, 0]], s.phi[(ny - 1) * nx] as f32);

        let snaps = f.group("snapshots").unwrap();
        let mut names = snaps.member_names().unwrap();
        names.sort();
        assert_eq!(names, vec!["000000", "000001"]);
        let g1 = snaps.group("000001").unwrap();
        assert_eq!(attr::<f64>(&g1, "time_s"), 2.5);
        assert_eq!(attr::<u64>(&g1, "step"), 40);
        for name in ["xi", "c", "potential"] {
            let d = g1.dataset(name).unwrap();
            assert_eq!(d.shape(), vec![ny, nx]);
            assert_eq!(attr::<f64>(&d, "time_s"), 2.5);
            assert_eq!(attr::<u64>(&d, "step"), 40);
            assert_eq!(attr_str(&d, "row0"), ROW0);
        }
        let c = g1.dataset("c").unwrap().read_raw::<f32>().unwrap();
        assert_eq!(c, s.conc.iter().map(|&v| v as f32).collect::<Vec<_>>());
        let pot = g1.dataset("potential").unwrap().read_raw::<f32>().unwrap();
        assert_eq!(pot[11], s.potential[11] as f32);

        let ts = f.group("timeseries").unwrap();
        let t = ts.dataset("time_s").unwrap().read_raw::<f64>().unwrap();
        assert_eq!(t, vec![0.0, 1.0, 2.0]);
        let v = ts
            .dataset("cell_voltage_v")
            .unwrap()
            .read_raw::<f64>()
            .unwrap();
        assert_eq!(v, vec![-0.01, -0.011, -0.012]);
        let step = ts.dataset("step").unwrap().read_raw::<u64>().unwrap();
        assert_eq!(step, vec![0, 10, 20]);
        for name in [
            "current_density_a_m2",
            "li_amount_mol_m2",
            "charge_c_m2",
            "li_in_electrolyte_mol_m2",
            "solver_iterations",
        ] {
            assert_eq!(ts.dataset(name).unwrap().size(), 3, "{name}");
        }
        drop((ts, g1, snaps, st, g, phi, f));

        let (ry, rx, xi0) = read_dataset_f32(&path, "/snapshots/000000/xi").unwrap();
        assert_eq!((ry, rx), (ny, nx));
        assert_eq!(xi0, first_xi.iter().map(|&v| v as f32).collect::<Vec<_>>());
        assert_eq!(ff.read_timeseries().unwrap(), rows(&[0.0, 1.0, 2.0]));

        // A shorter rewrite shrinks the columns.
        ff.write_timeseries(&rows(&[0.0])).unwrap();
        ff.write_timeseries(&[]).unwrap();
        assert!(ff.read_timeseries().unwrap().is_empty());
        ff.finish().unwrap();
        assert!(path.exists());
        assert!(!dir.join(".fields.h5.work").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_resume_drops_later_snapshots() {
        let dir = test_dir("resume");
        let path = dir.join("fields.h5");
        let mut s = random_state(4, 6, 9);
        let mut ff = FieldsFile::create(&path, "{}", &s, "{}").unwrap();
        for (k, t) in [0.0, 1.0, 2.0].into_iter().enumerate() {
            s.time_s = t;
            s.step = 10 * k as u64;
            ff.append_snapshot(&s).unwrap();
        }
        ff.write_timeseries(&rows(&[0.0, 0.5, 1.0, 1.5, 2.0]))
            .unwrap();
        ff.publish().unwrap();
        drop(ff);

        let (mut ff, kept) = FieldsFile::open_resume(&path, 1.0).unwrap();
        assert_eq!(kept, vec![(0, 0.0), (10, 1.0)]);
        assert_eq!(ff.snapshots(), kept);
        assert_eq!(ff.grid(), s.grid);
        assert_eq!(ff.read_timeseries().unwrap(), rows(&[0.0, 0.5, 1.0]));
        // Until published, the public file still has all three snapshots.
        let names = |p: &Path| {
            let f = hdf5::File::open(p).unwrap();
            let mut n = f.group("snapshots").unwrap().member_names().unwrap();
            n.sort();
            n
        };
        assert_eq!(names(&path).len(), 3);

        s.time_s = 1.5;
        s.step = 15;
        ff.append_snapshot(&s).unwrap();
        ff.publish().unwrap();
        assert_eq!(names(&path), vec!["000000", "000001", "000002"]);
        let f = hdf5::File::open(&path).unwrap();
        let g2 = f.group("snapshots/000002").unwrap();
        assert_eq!(attr::<f64>(&g2, "time_s"), 1.5);
        assert_eq!(attr::<u64>(&g2, "step"), 15);
        drop((g2, f));
        assert_eq!(ff.snapshots(), vec![(0, 0.0), (10, 1.0), (15, 1.5)]);

        // Keeping nothing, and keeping everything.
        drop(ff);
        let (_, none) = FieldsFile::open_resume(&path, -1.0).unwrap();
        assert!(none.is_empty());
        let (_, all) = FieldsFile::open_resume(&path, 100.0).unwrap();
        assert_eq!(all.len(), 3);
        assert!(FieldsFile::open_resume(&dir.join("missing.h5"), 1.0).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn append_rejects_a_different_grid() {
        let dir = test_dir("grid-mismatch");
        let s = random_state(4, 3, 1);
        let mut ff = FieldsFile::create(&dir.join("fields.h5"), "{}", &s, "{}").unwrap();
        assert!(ff.append_snapshot(&random_state(3, 4, 1)).is_err());
        assert!(ff.snapshots().is_empty());
        drop(ff);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
