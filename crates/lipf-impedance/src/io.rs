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
            .split(|c: char| c == ',' || c == ';' || c == '\t' || c == ' ')
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
        f.push(fk);
        z.push(C64::new(re, if negate { -im } else { im }));
    }
    if f.len() < 3 {
        bail!("a spectrum needs at least 3 frequencies, found {}", f.len());
    }
    Ok(Spectrum::new(f, z))
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

/// `impedance.csv`: one row per frequency, highest first.
pub fn impedance_csv(a: &Analysis) -> String {
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
    s
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
    let mut out = Vec::new();
    let nyq = |z: &[C64]| -> Vec<(f64, f64)> { z.iter().map(|z| (z.re, -z.im)).collect() };
    let f = &a.spectrum.f_hz;
    let curve = |c: &SeriesCircuit| c.spectrum(f);
    let mut series: Vec<(&str, Vec<(f64, f64)>)> = vec![("network", nyq(&a.spectrum.z))];
    if let Some(m) = a.model_1d {
        series.push(("1-D physical model", nyq(&curve(m))));
    }
    if let Some(fit) = a.fit {
        series.push(("fit R0 + n RC", nyq(&curve(&fit.circuit))));
    }
    let p = dir.join("nyquist.png");
    line_plot_png(
        &p,
        &format!("Nyquist — {title}"),
        "Z' (Ω)",
        "−Z'' (Ω)",
        &series,
    )?;
    out.push(p);

    let bode = |z: &[C64], phase: bool| -> Vec<(f64, f64)> {
        f.iter()
            .zip(z)
            .map(|(f, z)| {
                (
                    f.log10(),
                    if phase {
                        z.arg().to_degrees()
                    } else {
                        z.norm().log10()
                    },
                )
            })
            .collect()
    };
    for (phase, name, ylab) in [
        (false, "bode_magnitude.png", "log10(|Z| / Ω)"),
        (true, "bode_phase.png", "phase (°)"),
    ] {
        let mut series = vec![("network", bode(&a.spectrum.z, phase))];
        if let Some(m) = a.model_1d {
            series.push(("1-D physical model", bode(&curve(m), phase)));
        }
        if let Some(fit) = a.fit {
            series.push(("fit R0 + n RC", bode(&curve(&fit.circuit), phase)));
        }
        let p = dir.join(name);
        line_plot_png(
            &p,
            &format!("Bode — {title}"),
            "log10(f / Hz)",
            ylab,
            &series,
        )?;
        out.push(p);
    }
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

/// Reads a voxel file: an HDF5 dataset `/voxels`, u8 phase codes (0 pore, 1 electrolyte,
/// 2 metal), shape (nz, ny, nx) or (ny, nx) (a one-voxel-thick section), with the attribute
/// `voxel_size_um` on the dataset or the file.
#[cfg(feature = "hdf5")]
pub fn read_voxel_file(path: &Path) -> Result<(usize, usize, usize, f64, Vec<u8>)> {
    let read = || -> Result<(usize, usize, usize, f64, Vec<u8>)> {
        let file = hdf5::File::open(path)?;
        let ds = file.dataset("voxels")?;
        let shape = ds.shape();
        let data = ds.read_raw::<u8>()?;
        let size = match ds.attr("voxel_size_um") {
            Ok(a) => a.read_scalar::<f64>()?,
            Err(_) => file.attr("voxel_size_um")?.read_scalar::<f64>()?,
        };
        let (nx, ny, nz) = match shape.as_slice() {
            [nz, ny, nx] => (*nx, *ny, *nz),
            // A section: rows become the z layers, one voxel thick.
            [ny, nx] => (*nx, 1, *ny),
            _ => bail!("/voxels has shape {shape:?}; expected (nz, ny, nx) or (ny, nx)"),
        };
        Ok((nx, ny, nz, size, data))
    };
    read().with_context(|| format!("cannot read voxel file {}", path.display()))
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
        });
        let back = read_spectrum_csv(&text).unwrap();
        for (a, b) in back.z.iter().zip(&s.z) {
            assert!((a - b).norm() < 1e-9);
        }
    }
}
