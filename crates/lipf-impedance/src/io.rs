//! Spectra in and out: CSV reading (measured data), the output table `impedance.csv`, the
//! HDF5 file `impedance.h5` (feature `hdf5`), the fit table and the plots.

use crate::circuit::SeriesCircuit;
use crate::drt::DrtResult;
use crate::fit::FitResult;
use crate::kk::KkResult;
use crate::sweep::Spectrum;
use anyhow::{bail, Context, Result};
use num_complex::Complex64 as C64;
use std::fmt::Write as _;
use std::path::Path;

/// Reads a spectrum from CSV text: three numeric columns frequency (Hz), Re Z (Ω), Im Z (Ω),
/// separated by commas, semicolons, tabs or spaces. Lines starting with `#` and a header line
/// are skipped. If the header names the third column `-im…`/`-z''…` (i.e. it holds −Im Z), it
/// is negated. Rows may come in any frequency order.
pub fn read_spectrum_csv(text: &str) -> Result<Spectrum> {
    let mut f = Vec::new();
    let mut z = Vec::new();
    let mut negate = false;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line
            .split([',', ';', '\t', ' '])
            .filter(|s| !s.is_empty())
            .collect();
        let nums: Vec<Option<f64>> = cols.iter().map(|c| c.parse::<f64>().ok()).collect();
        if nums.iter().take(3).any(|n| n.is_none()) {
            if f.is_empty() {
                // Header.
                if let Some(third) = cols.get(2) {
                    let t = third.to_lowercase();
                    negate = t.starts_with('-') || t.starts_with("minus");
                }
                continue;
            }
            bail!("line {}: expected three numbers, got `{line}`", lineno + 1);
        }
        if nums.len() < 3 {
            bail!(
                "line {}: expected three columns (f, Re Z, Im Z), got `{line}`",
                lineno + 1
            );
        }
        let (fk, re, im) = (nums[0].unwrap(), nums[1].unwrap(), nums[2].unwrap());
        if !(fk > 0.0 && fk.is_finite() && re.is_finite() && im.is_finite()) {
            bail!(
                "line {}: frequency must be > 0 and values finite: `{line}`",
                lineno + 1
            );
        }
        if re == 0.0 && im == 0.0 {
            bail!(
                "line {}: Z = 0 Ω at {fk} Hz; the analyses weight by 1/|Z| and plot log |Z|, so \
                 a spectrum must not contain Z = 0: `{line}`",
                lineno + 1
            );
        }
        f.push(fk);
        z.push(C64::new(re, if negate { -im } else { im }));
    }
    if f.len() < 3 {
        bail!("a spectrum needs at least 3 frequencies, found {}", f.len());
    }
    let s = Spectrum::new(f, z);
    s.validate().map_err(|e| anyhow::anyhow!(e))?;
    Ok(s)
}

pub fn read_spectrum_csv_file(path: &Path) -> Result<Spectrum> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_spectrum_csv(&text).with_context(|| format!("in {}", path.display()))
}

/// Everything computed for one spectrum, for the outputs.
pub struct Analysis<'a> {
    pub spectrum: &'a Spectrum,
    pub model_1d: Option<&'a SeriesCircuit>,
    pub fit: Option<&'a FitResult>,
    pub kk: Option<&'a KkResult>,
    pub drt: Option<&'a DrtResult>,
}

/// Checks that everything the outputs would hold is finite (no NaN or infinity may reach an
/// output file); the error names the quantity and the frequency or index.
pub fn check_finite_outputs(a: &Analysis) -> Result<()> {
    let sp = a.spectrum;
    sp.validate()
        .map_err(|e| anyhow::anyhow!("spectrum: {e}"))?;
    let bad = |v: f64| !v.is_finite();
    let check_z = |what: &str, z: &[C64]| -> Result<()> {
        for (k, z) in z.iter().enumerate() {
            if bad(z.re) || bad(z.im) {
                bail!(
                    "{what} is {z} Ω at {} Hz (not finite); no outputs written",
                    sp.f_hz[k]
                );
            }
        }
        Ok(())
    };
    for (k, z) in sp.z.iter().enumerate() {
        let (m, ph) = (z.norm(), z.arg());
        if bad(m) || bad(m.log10()) || bad(ph) {
            bail!(
                "|Z| or the phase of Z = {z} Ω at {} Hz is not finite; no outputs written",
                sp.f_hz[k]
            );
        }
    }
    if let Some(m) = a.model_1d {
        check_z("the 1-D physical model", &m.spectrum(&sp.f_hz))?;
    }
    if let Some(fit) = a.fit {
        let c = &fit.circuit;
        if bad(c.r0_ohm) || c.elements.iter().any(|e| bad(e.r_ohm) || bad(e.c_f)) || bad(fit.chi2) {
            bail!("the R0 + n RC fit did not give finite parameters ({c:?}); no outputs written");
        }
        check_z("the fit", &c.spectrum(&sp.f_hz))?;
    }
    if let Some(kk) = a.kk {
        for (k, (re, im)) in kk.residual_re.iter().zip(&kk.residual_im).enumerate() {
            if bad(*re) || bad(*im) {
                bail!(
                    "the Kramers–Kronig residual at {} Hz is not finite ({re}, {im}); no outputs written",
                    sp.f_hz[k]
                );
            }
        }
        if bad(kk.mu) || bad(kk.r0_ohm) || kk.r_ohm.iter().chain(&kk.tau_s).any(|v| bad(*v)) {
            bail!(
                "the Kramers–Kronig fit is not finite (μ = {}); no outputs written",
                kk.mu
            );
        }
    }
    if let Some(d) = a.drt {
        if let Some(k) = (0..d.tau_s.len()).find(|&k| bad(d.tau_s[k]) || bad(d.gamma_ohm[k])) {
            bail!(
                "the DRT is not finite at point {k} (τ = {} s, γ = {} Ω); no outputs written",
                d.tau_s[k],
                d.gamma_ohm[k]
            );
        }
        if bad(d.lambda) || d.peaks.iter().any(|p| bad(p.tau_s) || bad(p.r_ohm)) {
            bail!(
                "the DRT (λ = {}) or its peaks are not finite; no outputs written",
                d.lambda
            );
        }
    }
    Ok(())
}

/// `impedance.csv`: one row per frequency, highest first. Refuses (see
/// [`check_finite_outputs`]) when any value would not be finite.
pub fn impedance_csv(a: &Analysis) -> Result<String> {
    check_finite_outputs(a)?;
    let mut s = String::from("f_hz,z_re_ohm,z_im_ohm,z_abs_ohm,phase_deg");
    if a.model_1d.is_some() {
        s.push_str(",model_1d_re_ohm,model_1d_im_ohm");
    }
    if a.fit.is_some() {
        s.push_str(",fit_re_ohm,fit_im_ohm");
    }
    if a.kk.is_some() {
        s.push_str(",kk_residual_re,kk_residual_im");
    }
    s.push('\n');
    for k in 0..a.spectrum.len() {
        let z = a.spectrum.z[k];
        let w = a.spectrum.omega(k);
        let _ = write!(
            s,
            "{:.10e},{:.10e},{:.10e},{:.10e},{:.6}",
            a.spectrum.f_hz[k],
            z.re,
            z.im,
            z.norm(),
            z.arg().to_degrees()
        );
        if let Some(m) = a.model_1d {
            let zm = m.impedance(w);
            let _ = write!(s, ",{:.10e},{:.10e}", zm.re, zm.im);
        }
        if let Some(fit) = a.fit {
            let zf = fit.circuit.impedance(w);
            let _ = write!(s, ",{:.10e},{:.10e}", zf.re, zf.im);
        }
        if let Some(kk) = a.kk {
            let _ = write!(s, ",{:.6e},{:.6e}", kk.residual_re[k], kk.residual_im[k]);
        }
        s.push('\n');
    }
    Ok(s)
}

/// The fit table (Markdown): R₀ and every RC element with R, C, τ and f_c, and for comparison
/// the 1-D physical model's elements.
pub fn fit_table(fit: &FitResult, model_1d: Option<&SeriesCircuit>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Equivalent-circuit fit: R0 + {} RC (Levenberg–Marquardt, modulus weighting)\n",
        fit.circuit.elements.len()
    );
    let _ = writeln!(
        s,
        "rms relative residual {:.3e}, χ² {:.3e}, {} iterations\n",
        fit.rms_relative, fit.chi2, fit.iterations
    );
    let _ = writeln!(
        s,
        "| element | R (Ω) | C (F) | τ (s) | f_c (Hz) |\n|---|---|---|---|---|"
    );
    let _ = writeln!(s, "| R0 | {:.5e} | | | |", fit.circuit.r0_ohm);
    for (k, e) in fit.circuit.elements.iter().enumerate() {
        let _ = writeln!(
            s,
            "| RC{} | {:.5e} | {:.5e} | {:.5e} | {:.5e} |",
            k + 1,
            e.r_ohm,
            e.c_f,
            e.tau_s(),
            e.f_c_hz()
        );
    }
    if let Some(m) = model_1d {
        let _ = writeln!(s, "\n# 1-D physical model (same parameters)\n");
        let _ = writeln!(
            s,
            "| element | R (Ω) | C (F) | τ (s) | f_c (Hz) |\n|---|---|---|---|---|"
        );
        let _ = writeln!(s, "| R_Elec | {:.5e} | | | |", m.r0_ohm);
        for e in &m.elements {
            let _ = writeln!(
                s,
                "| {} | {:.5e} | {:.5e} | {:.5e} | {:.5e} |",
                e.name,
                e.r_ohm,
                e.c_f,
                e.tau_s(),
                e.f_c_hz()
            );
        }
    }
    s
}

/// Nyquist, Bode (|Z| and phase), DRT and KK-residual plots into `dir`.
pub fn write_plots(dir: &Path, a: &Analysis, title: &str) -> Result<Vec<std::path::PathBuf>> {
    use lipf_io::images::line_plot_png;
    use lipf_io::spectrum_plots::{bode_png, nyquist_png, Spectrum};
    let mut out = Vec::new();
    let f = &a.spectrum.f_hz;
    let pairs = |z: &[C64]| -> Vec<(f64, f64)> { z.iter().map(|z| (z.re, z.im)).collect() };
    let curve = |c: &SeriesCircuit| pairs(&c.spectrum(f));
    // The spectrum (computed by the network or measured) as markers; the models as lines.
    let data = [Spectrum {
        name: "spectrum",
        f_hz: f,
        z: pairs(&a.spectrum.z),
    }];
    let mut models = Vec::new();
    if let Some(m) = a.model_1d {
        models.push(Spectrum {
            name: "1-D physical model",
            f_hz: f,
            z: curve(m),
        });
    }
    if let Some(fit) = a.fit {
        models.push(Spectrum {
            name: "fit R0 + n RC",
            f_hz: f,
            z: curve(&fit.circuit),
        });
    }
    let p = dir.join("nyquist.png");
    nyquist_png(&p, &format!("Nyquist — {title}"), &data, &models)?;
    out.push(p);
    let p = dir.join("bode.png");
    bode_png(&p, &format!("Bode — {title}"), &data, &models)?;
    out.push(p);
    if let Some(d) = a.drt {
        let pts: Vec<(f64, f64)> = d
            .tau_s
            .iter()
            .zip(&d.gamma_ohm)
            .map(|(t, g)| (t.log10(), *g))
            .collect();
        let p = dir.join("drt.png");
        line_plot_png(
            &p,
            &format!(
                "DRT (λ = {:.2e}{}) — {title}",
                d.lambda,
                if d.lambda_from_gcv { ", GCV" } else { "" }
            ),
            "log10(τ / s)",
            "γ (Ω)",
            &[("γ(ln τ)", pts)],
        )?;
        out.push(p);
    }
    if let Some(kk) = a.kk {
        let re: Vec<(f64, f64)> = f
            .iter()
            .zip(&kk.residual_re)
            .map(|(f, r)| (f.log10(), 100.0 * r))
            .collect();
        let im: Vec<(f64, f64)> = f
            .iter()
            .zip(&kk.residual_im)
            .map(|(f, r)| (f.log10(), 100.0 * r))
            .collect();
        let p = dir.join("kk_residuals.png");
        line_plot_png(
            &p,
            &format!(
                "Lin-KK residuals (M = {}, μ = {:.3}) — {title}",
                kk.m, kk.mu
            ),
            "log10(f / Hz)",
            "residual (% of |Z|)",
            &[("Δ real", re), ("Δ imag", im)],
        )?;
        out.push(p);
    }
    Ok(out)
}

/// `impedance.h5`: the spectrum and analyses, with the configuration and units.
#[cfg(feature = "hdf5")]
pub fn write_h5(path: &Path, a: &Analysis, config_json: &str) -> Result<()> {
    use hdf5::types::VarLenUnicode;
    let tmp = lipf_io::atomic::tmp_path(path)?;
    let write = || -> Result<()> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::create(&tmp)?;
        let s = |v: &str| -> Result<VarLenUnicode> { Ok(v.parse::<VarLenUnicode>()?) };
        file.new_attr::<VarLenUnicode>()
            .create("format")?
            .write_scalar(&s("lipf-impedance")?)?;
        file.new_attr::<VarLenUnicode>()
            .create("lipf_version")?
            .write_scalar(&s(env!("CARGO_PKG_VERSION"))?)?;
        file.new_attr::<VarLenUnicode>()
            .create("config_json")?
            .write_scalar(&s(config_json)?)?;
        file.new_attr::<VarLenUnicode>()
            .create("convention")?
            .write_scalar(&s(
                "Z = V/I with V = 1 V at the working electrode; Im Z < 0 for capacitive behaviour",
            )?)?;
        let ds = |g: &hdf5::Group, name: &str, v: &[f64], unit: &str| -> Result<()> {
            let d = g.new_dataset_builder().with_data(v).create(name)?;
            d.new_attr::<VarLenUnicode>()
                .create("units")?
                .write_scalar(&s(unit)?)?;
            Ok(())
        };
        let root = file.group("/")?;
        let sp = a.spectrum;
        ds(&root, "frequency_hz", &sp.f_hz, "Hz")?;
        ds(
            &root,
            "z_re_ohm",
            &sp.z.iter().map(|z| z.re).collect::<Vec<_>>(),
            "ohm",
        )?;
        ds(
            &root,
            "z_im_ohm",
            &sp.z.iter().map(|z| z.im).collect::<Vec<_>>(),
            "ohm",
        )?;
        if let Some(m) = a.model_1d {
            let g = file.create_group("model_1d")?;
            let z = m.spectrum(&sp.f_hz);
            ds(
                &g,
                "z_re_ohm",
                &z.iter().map(|z| z.re).collect::<Vec<_>>(),
                "ohm",
            )?;
            ds(
                &g,
                "z_im_ohm",
                &z.iter().map(|z| z.im).collect::<Vec<_>>(),
                "ohm",
            )?;
            ds(
                &g,
                "r_ohm",
                &m.elements.iter().map(|e| e.r_ohm).collect::<Vec<_>>(),
                "ohm",
            )?;
            ds(
                &g,
                "c_f",
                &m.elements.iter().map(|e| e.c_f).collect::<Vec<_>>(),
                "F",
            )?;
        }
        if let Some(fit) = a.fit {
            let g = file.create_group("fit")?;
            ds(&g, "r0_ohm", &[fit.circuit.r0_ohm], "ohm")?;
            ds(
                &g,
                "r_ohm",
                &fit.circuit
                    .elements
                    .iter()
                    .map(|e| e.r_ohm)
                    .collect::<Vec<_>>(),
                "ohm",
            )?;
            ds(
                &g,
                "c_f",
                &fit.circuit
                    .elements
                    .iter()
                    .map(|e| e.c_f)
                    .collect::<Vec<_>>(),
                "F",
            )?;
            ds(
                &g,
                "tau_s",
                &fit.circuit
                    .elements
                    .iter()
                    .map(|e| e.tau_s())
                    .collect::<Vec<_>>(),
                "s",
            )?;
        }
        if let Some(kk) = a.kk {
            let g = file.create_group("kk")?;
            ds(&g, "residual_re", &kk.residual_re, "1 (relative to |Z|)")?;
            ds(&g, "residual_im", &kk.residual_im, "1 (relative to |Z|)")?;
            ds(&g, "tau_s", &kk.tau_s, "s")?;
            ds(&g, "r_ohm", &kk.r_ohm, "ohm")?;
        }
        if let Some(d) = a.drt {
            let g = file.create_group("drt")?;
            ds(&g, "tau_s", &d.tau_s, "s")?;
            ds(&g, "gamma_ohm", &d.gamma_ohm, "ohm")?;
            ds(
                &g,
                "peak_tau_s",
                &d.peaks.iter().map(|p| p.tau_s).collect::<Vec<_>>(),
                "s",
            )?;
            ds(
                &g,
                "peak_r_ohm",
                &d.peaks.iter().map(|p| p.r_ohm).collect::<Vec<_>>(),
                "ohm",
            )?;
            ds(&g, "lambda", &[d.lambda], "1")?;
        }
        file.close()?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    lipf_io::atomic::commit(&tmp, path)
}

/// A voxel file's contents: dimensions, voxel size and phase codes (x fastest).
#[derive(Debug, Clone)]
pub struct VoxelFile {
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
    pub voxel_size_um: f64,
    pub codes: Vec<u8>,
}

/// Reads a voxel file: an HDF5 dataset `/voxels` of phase codes (0 pore, 1 electrolyte,
/// 2 metal), shape (nz, ny, nx) or (ny, nx) (a one-voxel-thick section), with the attribute
/// `voxel_size_um` on the dataset or the file. The codes are normally u8; other integer or
/// float types are accepted when every value is exactly 0, 1 or 2 (anything else, e.g. a
/// fraction 0.5, is refused naming the first such voxel).
///
/// Before the data is read, the size in the header is checked against `budget`: the memory of
/// reading it plus the network that `solver` needs (see [`crate::memory`]).
#[cfg(feature = "hdf5")]
pub fn read_voxel_file(
    path: &Path,
    budget: &crate::memory::MemoryBudget,
    solver: crate::memory::SolverMemory,
) -> Result<VoxelFile> {
    use hdf5::types::{IntSize, TypeDescriptor};
    let read = || -> Result<VoxelFile> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::open(path)?;
        let ds = file
            .dataset("voxels")
            .context("no dataset /voxels (expected u8 phase codes)")?;
        let shape = ds.shape();
        let (nx, ny, nz) = match shape.as_slice() {
            [nz, ny, nx] => (*nx, *ny, *nz),
            // A section: rows become the z layers, one voxel thick.
            [ny, nx] => (*nx, 1, *ny),
            _ => bail!("/voxels has shape {shape:?}; expected (nz, ny, nx) or (ny, nx)"),
        };
        if nx == 0 || ny == 0 || nz == 0 {
            bail!("/voxels has shape {shape:?}: an empty structure");
        }
        let dtype = ds.dtype()?.to_descriptor()?;
        let native_u8 = matches!(dtype, TypeDescriptor::Unsigned(IntSize::U1));
        let numeric = matches!(
            dtype,
            TypeDescriptor::Unsigned(_)
                | TypeDescriptor::Integer(_)
                | TypeDescriptor::Float(_)
                | TypeDescriptor::Boolean
        );
        if !numeric {
            bail!("/voxels holds {dtype} values; expected u8 phase codes 0, 1, 2");
        }
        let nv = nx as f64 * ny as f64 * nz as f64;
        let reading = if native_u8 { nv } else { 9.0 * nv };
        budget
            .check(
                &format!("the structure of {nx} × {ny} × {nz} voxels in /voxels"),
                reading + crate::memory::network_memory_bytes(nx, ny, nz, solver),
            )
            .map_err(|e| anyhow::anyhow!(e))?;
        let codes = if native_u8 {
            let data = ds.read_raw::<u8>()?;
            if let Some(v) = data.iter().position(|&c| c > crate::structure::CODE_METAL) {
                let (i, j, k) = (v % nx, (v / nx) % ny, v / (nx * ny));
                bail!(
                    "/voxels: voxel {v} (x {i}, y {j}, z {k}) has value {}: voxel values must be \
                     the phase codes 0 (pore), 1 (electrolyte) or 2 (metal)",
                    data[v]
                );
            }
            data
        } else {
            let data = ds.read_raw::<f64>()?;
            crate::structure::codes_from_values(&data, nx, ny)
                .map_err(|e| anyhow::anyhow!("/voxels ({dtype}): {e}"))?
        };
        if codes.len() as f64 != nv {
            bail!("/voxels: {} values for shape {shape:?}", codes.len());
        }
        let size = match ds.attr("voxel_size_um") {
            Ok(a) => a.read_scalar::<f64>()?,
            Err(_) => file
                .attr("voxel_size_um")
                .context(
                    "no attribute voxel_size_um on /voxels or the file (give --voxel-size-um)",
                )?
                .read_scalar::<f64>()?,
        };
        Ok(VoxelFile {
            nx,
            ny,
            nz,
            voxel_size_um: size,
            codes,
        })
    };
    read().with_context(|| format!("cannot read voxel file {}", path.display()))
}

/// The grid of a phase-field snapshot (`fields.h5` of `lipf run`) or of a scaffold as built:
/// a 2-D section (`nz` = 1) or a volume, x fastest, then y, then z.
#[derive(Debug, Clone)]
pub struct FieldsSection {
    /// The snapshot's name in the file (`NNNNNN`).
    pub snapshot: String,
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
    pub dx_um: f64,
    pub xi: Vec<f32>,
    pub phi: Vec<f32>,
}

/// Reads snapshot `snapshot` (a number or `last`) of a phase-field output: ξ from
/// `/snapshots/NNNNNN/xi`, ϕ from `/static/phi`, (ny, nx) for a 2-D run or (nz, ny, nx) for a
/// 3-D one, the grid spacing from the attribute `dx_um` of `/grid`. The dataset shapes are checked against `budget` (reading plus the network that
/// `solver` needs) before the data is read; every value must be finite (the error names the
/// dataset and the first offending cell).
#[cfg(feature = "hdf5")]
pub fn read_fields_section(
    path: &Path,
    snapshot: &str,
    budget: &crate::memory::MemoryBudget,
    solver: crate::memory::SolverMemory,
) -> Result<FieldsSection> {
    let read = || -> Result<FieldsSection> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::open(path)?;
        let mut names = file
            .group("snapshots")
            .context("no group /snapshots (is this a `lipf run` fields.h5?)")?
            .member_names()?;
        names.sort();
        let name = if snapshot == "last" {
            names.last().cloned().context("no snapshots in the file")?
        } else {
            let k: u64 = snapshot
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--snapshot {snapshot}: a number or `last`"))?;
            let name = format!("{k:06}");
            if !names.contains(&name) {
                match (names.first(), names.last()) {
                    (Some(a), Some(b)) => bail!(
                        "no snapshot {name}: the file has {} snapshots, {a} … {b}",
                        names.len()
                    ),
                    _ => bail!("no snapshot {name}: the file has no snapshots"),
                }
            }
            name
        };
        let dx_um: f64 = file
            .group("grid")
            .and_then(|g| g.attr("dx_um"))
            .context("no attribute dx_um on /grid")?
            .read_scalar()?;
        if !(dx_um.is_finite() && dx_um > 0.0) {
            bail!("/grid dx_um = {dx_um}: must be a finite length > 0 µm");
        }
        let xi_name = format!("/snapshots/{name}/xi");
        let phi_name = "/static/phi";
        read_grid_pair(
            path,
            file,
            [&xi_name, phi_name],
            &format!("snapshot {name}"),
            (budget, solver),
            name,
            dx_um,
        )
    };
    read().with_context(|| format!("cannot read phase-field output {}", path.display()))
}

/// ξ and ϕ of a phase-field file, datasets `names` of the open `file`, (ny, nx) or (nz, ny, nx)
/// and the same shape: checked against the memory budget (reading plus the network `solver`
/// needs) before the data is read, every value finite (the error names the dataset and the first
/// offending cell). `what` names the data in the budget's message (`the 3 × 4 × 5 volume of
/// snapshot 000002`).
#[cfg(feature = "hdf5")]
fn read_grid_pair(
    path: &Path,
    file: hdf5::File,
    [xi_name, phi_name]: [&str; 2],
    what: &str,
    (budget, solver): (&crate::memory::MemoryBudget, crate::memory::SolverMemory),
    snapshot: String,
    dx_um: f64,
) -> Result<FieldsSection> {
    let shape = |n: &str| -> Result<[usize; 3]> {
        let ds = file.dataset(n).with_context(|| format!("no dataset {n}"))?;
        match ds.shape().as_slice() {
            [ny, nx] => Ok([1, *ny, *nx]),
            [nz, ny, nx] => Ok([*nz, *ny, *nx]),
            s => bail!("{n} has shape {s:?}; expected (ny, nx) or (nz, ny, nx)"),
        }
    };
    let [nz, ny, nx] = shape(xi_name)?;
    let dims_phi = shape(phi_name)?;
    if [nz, ny, nx] != dims_phi {
        let [nz2, ny2, nx2] = dims_phi;
        bail!("{xi_name} is {nz} × {ny} × {nx} but {phi_name} is {nz2} × {ny2} × {nx2}");
    }
    if nx == 0 || ny == 0 || nz == 0 {
        bail!("{xi_name} is {nz} × {ny} × {nx}: an empty grid");
    }
    let cells = nx as f64 * ny as f64 * nz as f64;
    let extent = if nz == 1 {
        format!("the {ny} × {nx} section of {what}")
    } else {
        format!("the {nz} × {ny} × {nx} volume of {what}")
    };
    budget
        .check(
            &extent,
            9.0 * cells + crate::memory::network_memory_bytes(nx, nz, ny, solver),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
    drop(file);
    let (_, xi) = lipf_io::h5::read_grid_f32(path, xi_name)?;
    crate::structure::check_finite_field(xi_name, nx, &xi).map_err(|e| anyhow::anyhow!(e))?;
    let (_, phi) = lipf_io::h5::read_grid_f32(path, phi_name)?;
    crate::structure::check_finite_field(phi_name, nx, &phi).map_err(|e| anyhow::anyhow!(e))?;
    Ok(FieldsSection {
        snapshot,
        nx,
        ny,
        nz,
        dx_um,
        xi,
        phi,
    })
}

/// Whether `path` is the scaffold file of `lipf geometry` (root attribute `format` =
/// `lipf-scaffold`) rather than a run's `fields.h5`.
#[cfg(feature = "hdf5")]
pub fn is_scaffold_file(path: &Path) -> bool {
    lipf_io::h5::read_root_attr_str(path, "format").is_ok_and(|f| f == "lipf-scaffold")
}

/// Reads the scaffold as built from `scaffold.h5` of `lipf geometry`: ϕ and the initial ξ,
/// (ny, nx) or (nz, ny, nx), and the root attribute `dx_um`, checked like a snapshot (memory
/// budget before the data is read, finite values). The section's `snapshot` is `as-built`, and
/// `nz` is 1 for a 2-D scaffold.
#[cfg(feature = "hdf5")]
pub fn read_scaffold_fields(
    path: &Path,
    budget: &crate::memory::MemoryBudget,
    solver: crate::memory::SolverMemory,
) -> Result<FieldsSection> {
    let read = || -> Result<FieldsSection> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::open(path)?;
        let dx_um: f64 = file
            .attr("dx_um")
            .context("no attribute dx_um")?
            .read_scalar()?;
        if !(dx_um.is_finite() && dx_um > 0.0) {
            bail!("dx_um = {dx_um}: must be a finite length > 0 µm");
        }
        read_grid_pair(
            path,
            file,
            ["/xi", "/phi"],
            "the scaffold",
            (budget, solver),
            "as-built".into(),
            dx_um,
        )
    };
    read().with_context(|| format!("cannot read scaffold {}", path.display()))
}

/// The structure of a phase-field file: snapshot `snapshot` of a run's `fields.h5`, or the
/// scaffold as built of a `scaffold.h5` of `lipf geometry` (2-D or 3-D, [`is_scaffold_file`];
/// `snapshot` is then ignored), with the snapshot's name. The phase rule and the axes are those
/// of [`crate::structure::Structure::from_phase_field_volume`].
#[cfg(feature = "hdf5")]
pub fn phase_field_structure(
    path: &Path,
    snapshot: &str,
    budget: &crate::memory::MemoryBudget,
    solver: crate::memory::SolverMemory,
    m: &crate::params::MaterialsSi,
) -> Result<(crate::structure::Structure, String)> {
    let sec = if is_scaffold_file(path) {
        read_scaffold_fields(path, budget, solver)?
    } else {
        read_fields_section(path, snapshot, budget, solver)?
    };
    let s = crate::structure::Structure::from_phase_field_volume(
        sec.nx,
        sec.ny,
        sec.nz,
        lipf_core::units::um_to_m(sec.dx_um),
        &sec.xi,
        &sec.phi,
        m,
    )
    .map_err(|e| anyhow::anyhow!("snapshot {} of {}: {e}", sec.snapshot, path.display()))?;
    Ok((s, sec.snapshot))
}

/// The analyses of a spectrum, as `lipf impedance` and the Python package run them: the lin-KK
/// test, the DRT, and the R0 + n RC fit started from the DRT's peaks (none with 0 elements).
pub struct Analyses {
    pub kk: KkResult,
    pub drt: DrtResult,
    pub fit: Option<FitResult>,
}

/// Runs [`Analyses`] on `spectrum` with the configuration's settings.
pub fn analyse(spectrum: &Spectrum, a: &crate::config::AnalysisConfig) -> Analyses {
    let kk = crate::kk::lin_kk(spectrum, a.kk_elements);
    let drt = crate::drt::drt(
        spectrum,
        crate::drt::DrtOptions {
            lambda: a.drt_lambda,
            fwhm_factor: a.drt_fwhm_factor,
        },
    );
    let fit = (a.fit_elements > 0).then(|| {
        let guesses: Vec<(f64, f64)> = drt.peaks.iter().map(|p| (p.tau_s, p.r_ohm)).collect();
        crate::fit::fit_rc(spectrum, a.fit_elements, &guesses)
    });
    Analyses { kk, drt, fit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_comments_and_minus_im_column_is_read() {
        let text = "# measured\nfreq;Z';-Z''\n1e3;10.5;2.0\n1e2;12\n10;1;1\n5;1;1\n";
        assert!(
            read_spectrum_csv(text).is_err(),
            "a two-column row is an error"
        );
        let text = "# measured\nfreq\tZ'\t-Z''\n1e3\t10.5\t2.0\n1e2\t12.0\t3.5\n10\t15\t1\n";
        let s = read_spectrum_csv(text).unwrap();
        assert_eq!(s.f_hz, vec![1e3, 1e2, 10.0]);
        assert_eq!(s.z[1], C64::new(12.0, -3.5));
        let text = "f_hz,z_re_ohm,z_im_ohm\n1,2,-3\n2,2,-1\n3,2,-0.5\n";
        let s = read_spectrum_csv(text).unwrap();
        assert_eq!(s.z[0], C64::new(2.0, -3.0));
    }

    #[test]
    fn impedance_csv_round_trips_through_the_reader() {
        let s = Spectrum::new(
            vec![1e4, 1e2, 1.0],
            vec![
                C64::new(1.0, -0.5),
                C64::new(2.0, -1.0),
                C64::new(3.0, -0.1),
            ],
        );
        let text = impedance_csv(&Analysis {
            spectrum: &s,
            model_1d: None,
            fit: None,
            kk: None,
            drt: None,
        })
        .unwrap();
        let back = read_spectrum_csv(&text).unwrap();
        for (a, b) in back.z.iter().zip(&s.z) {
            assert!((a - b).norm() < 1e-9);
        }
    }

    #[test]
    fn csv_row_with_zero_impedance_is_refused_naming_the_line() {
        let text = "f,re,im\n1e3,1,-1\n1e2,0,0\n10,2,-1\n";
        let e = format!("{:#}", read_spectrum_csv(text).unwrap_err());
        assert!(e.contains("line 3") && e.contains("Z = 0"), "{e}");
        let text = "f,re,im\n5,1,-1\n5,2,-1\n5,3,-1\n";
        let e = format!("{:#}", read_spectrum_csv(text).unwrap_err());
        assert!(e.contains("same frequency"), "{e}");
    }

    #[test]
    fn no_nan_reaches_impedance_csv() {
        let s = Spectrum::new(
            vec![1e4, 1e2, 1.0],
            vec![C64::new(1.0, -0.5), C64::new(0.0, 0.0), C64::new(3.0, -0.1)],
        );
        let a = Analysis {
            spectrum: &s,
            model_1d: None,
            fit: None,
            kk: None,
            drt: None,
        };
        let e = format!("{:#}", impedance_csv(&a).unwrap_err());
        assert!(e.contains("Z = 0"), "{e}");
        // A NaN from an analysis is refused too, naming the quantity and frequency.
        let s = Spectrum::new(
            vec![1e4, 1e2, 1.0],
            vec![
                C64::new(1.0, -0.5),
                C64::new(2.0, -1.0),
                C64::new(3.0, -0.1),
            ],
        );
        let kk = crate::kk::KkResult {
            m: 1,
            mu: 1.0,
            r0_ohm: 1.0,
            tau_s: vec![1e-3],
            r_ohm: vec![1.0],
            residual_re: vec![0.0, f64::NAN, 0.0],
            residual_im: vec![0.0; 3],
            max_abs_residual: f64::NAN,
        };
        let a = Analysis {
            spectrum: &s,
            model_1d: None,
            fit: None,
            kk: Some(&kk),
            drt: None,
        };
        let e = format!("{:#}", impedance_csv(&a).unwrap_err());
        assert!(e.contains("Kramers") && e.contains("100 Hz"), "{e}");
    }

    /// The analyses of a valid spectrum give finite outputs (the guard does not fire on
    /// ordinary data).
    #[test]
    fn analyses_of_a_valid_spectrum_pass_the_output_check() {
        let f = crate::params::log_frequencies(0.1, 1e6, 5);
        let c = SeriesCircuit {
            r0_ohm: 5.0,
            elements: vec![crate::circuit::RcElement {
                name: "t",
                r_ohm: 100.0,
                c_f: 1e-6,
            }],
        };
        let s = Spectrum::new(f.clone(), c.spectrum(&f));
        let kk = crate::kk::lin_kk(&s, None);
        let d = crate::drt::drt(&s, Default::default());
        let fit = crate::fit::fit_rc(&s, 1, &[]);
        let a = Analysis {
            spectrum: &s,
            model_1d: None,
            fit: Some(&fit),
            kk: Some(&kk),
            drt: Some(&d),
        };
        check_finite_outputs(&a).unwrap();
        assert!(!impedance_csv(&a).unwrap().contains("NaN"));
    }

    #[cfg(feature = "hdf5")]
    mod files {
        use super::super::*;
        use crate::memory::{MemoryBudget, SolverMemory};
        use std::path::PathBuf;

        fn tmp(name: &str) -> PathBuf {
            let d = std::env::temp_dir()
                .join(format!("lipf-impedance-io-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            d.join("f.h5")
        }

        fn budget() -> MemoryBudget {
            MemoryBudget::with_available(1.0, None).unwrap()
        }

        fn voxel_file<T: hdf5::H5Type>(path: &Path, shape: &[usize], data: Option<&[T]>) {
            let f = hdf5::File::create(path).unwrap();
            let ds = f.new_dataset::<T>().shape(shape).create("voxels").unwrap();
            if let Some(d) = data {
                ds.write_raw(d).unwrap();
            }
            f.new_attr::<f64>()
                .create("voxel_size_um")
                .unwrap()
                .write_scalar(&0.5)
                .unwrap();
        }

        #[test]
        fn float_voxel_values_are_refused_naming_the_voxel() {
            let p = tmp("float");
            voxel_file::<f32>(&p, &[2, 3], Some(&[1.0, 1.0, 1.0, 1.0, 0.5, 1.0]));
            let e = format!(
                "{:#}",
                read_voxel_file(&p, &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(e.contains("voxel 4") && e.contains("0.5"), "{e}");
            // Integer-valued floats and other integer types are fine.
            voxel_file::<f64>(&p, &[2, 3], Some(&[1.0, 1.0, 1.0, 0.0, 2.0, 1.0]));
            let v = read_voxel_file(&p, &budget(), SolverMemory::Cocg).unwrap();
            assert_eq!(v.codes, vec![1, 1, 1, 0, 2, 1]);
            assert_eq!((v.nx, v.ny, v.nz), (3, 1, 2));
            voxel_file::<i16>(&p, &[1, 2, 2], Some(&[1, -1, 1, 1]));
            let e = format!(
                "{:#}",
                read_voxel_file(&p, &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(e.contains("voxel 1") && e.contains("-1"), "{e}");
            voxel_file::<u8>(&p, &[1, 2, 2], Some(&[1, 1, 3, 1]));
            let e = format!(
                "{:#}",
                read_voxel_file(&p, &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(e.contains("voxel 2") && e.contains("value 3"), "{e}");
            let _ = std::fs::remove_dir_all(p.parent().unwrap());
        }

        #[test]
        fn huge_voxel_header_is_refused_before_reading() {
            let p = tmp("huge");
            // Declared 2000³ (8 GB of u8), never written: only the header says so.
            voxel_file::<u8>(&p, &[2000, 2000, 2000], None);
            let e = format!(
                "{:#}",
                read_voxel_file(&p, &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(
                e.contains("2000 × 2000 × 2000") && e.contains("--max-memory-gib"),
                "{e}"
            );
            let _ = std::fs::remove_dir_all(p.parent().unwrap());
        }

        fn fields_file(path: &Path, xi: &[f32], phi: &[f32], shape: [usize; 2]) {
            let f = hdf5::File::create(path).unwrap();
            let g = f.create_group("grid").unwrap();
            g.new_attr::<f64>()
                .create("dx_um")
                .unwrap()
                .write_scalar(&0.5)
                .unwrap();
            let st = f.create_group("static").unwrap();
            st.new_dataset::<f32>()
                .shape(shape)
                .create("phi")
                .unwrap()
                .write_raw(phi)
                .unwrap();
            let sn = f
                .create_group("snapshots")
                .unwrap()
                .create_group("000010")
                .unwrap();
            sn.new_dataset::<f32>()
                .shape(shape)
                .create("xi")
                .unwrap()
                .write_raw(xi)
                .unwrap();
        }

        #[test]
        fn non_finite_snapshot_is_refused_naming_dataset_and_cell() {
            let p = tmp("fields");
            fields_file(&p, &[f32::NAN; 6], &[1.0; 6], [2, 3]);
            let e = format!(
                "{:#}",
                read_fields_section(&p, "last", &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(
                e.contains("/snapshots/000010/xi")
                    && e.contains("row 0, column 0")
                    && e.contains("NaN"),
                "{e}"
            );
            let mut phi = [1.0f32; 6];
            phi[5] = f32::INFINITY;
            fields_file(&p, &[0.0; 6], &phi, [2, 3]);
            let e = format!(
                "{:#}",
                read_fields_section(&p, "10", &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(
                e.contains("/static/phi") && e.contains("row 1, column 2"),
                "{e}"
            );
            fields_file(&p, &[0.0; 6], &[1.0; 6], [2, 3]);
            let s = read_fields_section(&p, "10", &budget(), SolverMemory::Cocg).unwrap();
            assert_eq!((s.snapshot.as_str(), s.nx, s.ny), ("000010", 3, 2));
            let e = format!(
                "{:#}",
                read_fields_section(&p, "7", &budget(), SolverMemory::Cocg).unwrap_err()
            );
            assert!(
                e.contains("no snapshot 000007") && e.contains("000010"),
                "{e}"
            );
            let _ = std::fs::remove_dir_all(p.parent().unwrap());
        }
    }
}
