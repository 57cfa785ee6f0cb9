//! Impedance spectra drawn in the field's conventions: a Nyquist plot with equal scales on both
//! axes, starting at the origin, measured or computed points as markers and models as lines;
//! a Bode figure with |Z| (log–log) and the phase (log f) in two panels of one picture.

use crate::atomic::write_atomic;
use crate::images::{encode_png, ensure_font, FONT, SERIES_RGB};
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

/// One spectrum: its name, frequencies (Hz) and impedances (Re Z, Im Z) in Ω.
pub struct Spectrum<'a> {
    pub name: &'a str,
    pub f_hz: &'a [f64],
    pub z: Vec<(f64, f64)>,
}

/// Axis ranges of a Nyquist plot: from the origin (or below, where data are) to the data's
/// extent plus a margin, widened so that one Ω spans the same number of pixels on both axes of
/// a `w × h` pixel plotting area.
pub fn nyquist_ranges(points: &[(f64, f64)], w: f64, h: f64) -> ((f64, f64), (f64, f64)) {
    let fin = points.iter().filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for &(x, y) in fin {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x1 - x0 <= 0.0 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 <= 0.0 {
        y1 = y0 + 1.0;
    }
    let (x1, y1) = (x1 + 0.05 * (x1 - x0), y1 + 0.05 * (y1 - y0));
    // Ω per pixel: the larger of the two, applied to both.
    let per_px = ((x1 - x0) / w).max((y1 - y0) / h);
    ((x0, x0 + per_px * w), (y0, y0 + per_px * h))
}

/// A tick label: plain with at most 4 significant digits between 0.01 and 10⁴, else
/// scientific (`2e7`, `1.5e-3`).
pub fn tick_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { format!("{v}") };
    }
    let trim = |t: String| {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    if (1e-2..1e4).contains(&v.abs()) {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        trim(format!("{v:.digits$}"))
    } else {
        let t = format!("{v:.3e}");
        let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
        format!("{}e{e}", trim(m.to_string()))
    }
}

const W: u32 = 900;
const H: u32 = 700;
/// Plot area of the Nyquist picture: the picture minus margins and label areas.
const NYQ_AREA: (f64, f64) = ((W - 2 * 16 - 84) as f64, (H - 2 * 16 - 50 - 40) as f64);

/// Nyquist plot: −Im Z against Re Z with equal scales; `data` as markers, `models` as lines.
pub fn nyquist_png(path: &Path, title: &str, data: &[Spectrum], models: &[Spectrum]) -> Result<()> {
    ensure_font()?;
    let pts = |s: &Spectrum| -> Vec<(f64, f64)> { s.z.iter().map(|z| (z.0, -z.1)).collect() };
    let all: Vec<(f64, f64)> = data.iter().chain(models).flat_map(pts).collect();
    let ((x0, x1), (y0, y1)) = nyquist_ranges(&all, NYQ_AREA.0, NYQ_AREA.1);
    let mut buf = vec![255u8; (W * H * 3) as usize];
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 22))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("Z' (Ω)")
            .y_desc("−Z'' (Ω)")
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()
            .map_err(|e| err(&e))?;
        let mut k = 0;
        for s in data {
            let c = SERIES_RGB[k % SERIES_RGB.len()];
            let colour = RGBColor(c[0], c[1], c[2]);
            k += 1;
            let p = pts(s);
            chart
                .draw_series(
                    p.into_iter()
                        .filter(|q| q.0.is_finite() && q.1.is_finite())
                        .map(move |q| Circle::new(q, 3, colour.filled())),
                )
                .map_err(|e| err(&e))?
                .label(s.name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, colour.filled()));
        }
        for s in models {
            let c = SERIES_RGB[k % SERIES_RGB.len()];
            let colour = RGBColor(c[0], c[1], c[2]);
            k += 1;
            chart
                .draw_series(LineSeries::new(
                    pts(s)
                        .into_iter()
                        .filter(|q| q.0.is_finite() && q.1.is_finite()),
                    colour.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    write_atomic(path, &encode_png(&buf, W, H)?)
}

/// Bode figure: |Z| against f (log–log) above, the phase of Z against f (log f) below; `data` as
/// markers, `models` as lines.
pub fn bode_png(path: &Path, title: &str, data: &[Spectrum], models: &[Spectrum]) -> Result<()> {
    ensure_font()?;
    let all = || {
        data.iter().chain(models).flat_map(|s| {
            s.f_hz
                .iter()
                .zip(&s.z)
                .filter(|(f, z)| f.is_finite() && **f > 0.0 && z.0.is_finite() && z.1.is_finite())
        })
    };
    let mag = |z: &(f64, f64)| z.0.hypot(z.1);
    let phase = |z: &(f64, f64)| z.1.atan2(z.0).to_degrees();
    let (mut f0, mut f1, mut m0, mut m1, mut p0, mut p1) =
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (f, z) in all() {
        f0 = f0.min(*f);
        f1 = f1.max(*f);
        if mag(z) > 0.0 {
            m0 = m0.min(mag(z));
            m1 = m1.max(mag(z));
        }
        p0 = p0.min(phase(z));
        p1 = p1.max(phase(z));
    }
    if f0 > f1 {
        (f0, f1, m0, m1, p0, p1) = (1.0, 10.0, 1.0, 10.0, -90.0, 0.0);
    }
    if f1 <= f0 {
        f1 = f0 * 10.0;
    }
    if m1 <= m0 {
        m1 = m0 * 10.0;
    }
    let (m0, m1) = (m0 / 1.3, m1 * 1.3);
    let pad = (0.05 * (p1 - p0)).max(1.0);
    let (p0, p1) = ((p0 - pad).min(0.0), (p1 + pad).max(0.0));
    let (w, h) = (900u32, 900u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root.titled(title, (FONT, 22)).map_err(|e| err(&e))?;
        let panels = root.split_evenly((2, 1));
        // Data as markers, models as lines, on either panel (`value` maps Z to the axis).
        macro_rules! draw_spectra {
            ($chart:expr, $value:expr) => {{
                let mut k = 0;
                for (s, marker) in data
                    .iter()
                    .map(|s| (s, true))
                    .chain(models.iter().map(|s| (s, false)))
                {
                    let c = SERIES_RGB[k % SERIES_RGB.len()];
                    let colour = RGBColor(c[0], c[1], c[2]);
                    k += 1;
                    let pts: Vec<(f64, f64)> = s
                        .f_hz
                        .iter()
                        .zip(&s.z)
                        .filter(|(f, z)| {
                            **f > 0.0 && f.is_finite() && z.0.is_finite() && z.1.is_finite()
                        })
                        .map(|(f, z)| (*f, $value(z)))
                        .filter(|p| p.1.is_finite())
                        .collect();
                    if marker {
                        $chart
                            .draw_series(
                                pts.into_iter()
                                    .map(move |q| Circle::new(q, 3, colour.filled())),
                            )
                            .map_err(|e| err(&e))?
                            .label(s.name)
                            .legend(move |(x, y)| Circle::new((x + 10, y), 3, colour.filled()));
                    } else {
                        $chart
                            .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                            .map_err(|e| err(&e))?
                            .label(s.name)
                            .legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                            });
                    }
                }
                $chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .label_font((FONT, 14))
                    .draw()
                    .map_err(|e| err(&e))?;
            }};
        }
        let mut top = ChartBuilder::on(&panels[0])
            .margin(14)
            .margin_right(36)
            .x_label_area_size(46)
            .y_label_area_size(84)
            .build_cartesian_2d((f0..f1).log_scale(), (m0..m1).log_scale())
            .map_err(|e| err(&e))?;
        top.configure_mesh()
            .x_desc("f (Hz)")
            .y_desc("|Z| (Ω)")
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| err(&e))?;
        draw_spectra!(top, mag);
        let mut bottom = ChartBuilder::on(&panels[1])
            .margin(14)
            .margin_right(36)
            .x_label_area_size(46)
            .y_label_area_size(84)
            .build_cartesian_2d((f0..f1).log_scale(), p0..p1)
            .map_err(|e| err(&e))?;
        bottom
            .configure_mesh()
            .x_desc("f (Hz)")
            .y_desc("phase of Z (°)")
            .x_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| err(&e))?;
        draw_spectra!(bottom, phase);
        root.present().map_err(|e| err(&e))?;
    }
    write_atomic(path, &encode_png(&buf, w, h)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nyquist_ranges_start_at_the_origin_with_equal_scales() {
        let pts = [(10.0, 1.0), (30.0, 8.0), (50.0, 0.5)];
        let ((x0, x1), (y0, y1)) = nyquist_ranges(&pts, 800.0, 400.0);
        assert_eq!((x0, y0), (0.0, 0.0));
        assert!(x1 >= 50.0 && y1 >= 8.0);
        assert!(((x1 - x0) / 800.0 - (y1 - y0) / 400.0).abs() < 1e-12);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(1e8), "1e8");
        assert_eq!(tick_label(2.5e7), "2.5e7");
        assert_eq!(tick_label(100.0), "100");
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(-60.0), "-60");
        assert_eq!(tick_label(1.5e-3), "1.5e-3");
    }

    #[test]
    fn plots_are_written() {
        let dir = std::env::temp_dir().join(format!("lipf-spectrum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f: Vec<f64> = (0..30).map(|k| 10f64.powf(k as f64 / 5.0)).collect();
        let z: Vec<(f64, f64)> = f
            .iter()
            .map(|f| {
                // R0 + R ∥ C
                let w = 2.0 * std::f64::consts::PI * f * 1e-3;
                let d = 1.0 + w * w;
                (10.0 + 100.0 / d, -100.0 * w / d)
            })
            .collect();
        let data = [Spectrum {
            name: "data",
            f_hz: &f,
            z: z.clone(),
        }];
        let models = [Spectrum {
            name: "model",
            f_hz: &f,
            z,
        }];
        nyquist_png(&dir.join("n.png"), "t", &data, &models).unwrap();
        bode_png(&dir.join("b.png"), "t", &data, &models).unwrap();
        for n in ["n.png", "b.png"] {
            assert!(std::fs::metadata(dir.join(n)).unwrap().len() > 10_000);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
