//! PNG pictures: maps of one snapshot and line plots of time series.
//!
//! [`write_snapshot_images`] writes three images per snapshot:
//!
//! * `<stem>_phases.png` — which phase each cell is in, in three fixed colours: Li where ξ > ½
//!   (blue), otherwise LLZO where ϕ > ½ (tan), otherwise pore (near black); with a legend.
//! * `<stem>_potential.png` — the electric potential, V, on a viridis colour scale.
//! * `<stem>_conc.png` — the Li⁺ concentration c/c0 on a viridis colour scale.
//!
//! Every map is drawn with square cells of [`cell_pixels`] pixels (about 600 px of height for
//! the domain, at least 2 px per cell) and the top of the picture is the top of the domain (the
//! current collector, row j = 0, is at the bottom). Maps carry a title with the quantity, its
//! unit and the simulated time, the domain size in µm on the axes, and the colour maps a colour
//! bar spanning the field's minimum to maximum with numeric tick labels. Non-finite cells are
//! drawn grey and ignored by the colour scale.
//!
//! [`line_plot_png`] draws x–y line series (e.g. cell voltage against time) with axes and a
//! legend.
//!
//! Text is rendered with DejaVu Sans, embedded in the binary (see `assets/fonts/`), so the
//! output does not depend on the fonts installed. All files are written atomically.

use crate::atomic::write_atomic;
use anyhow::{anyhow, Context, Result};
use lipf_core::State;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font with plotters once per process.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}

/// An sRGB colour.
pub type Rgb = [u8; 3];

const FRAME_RGB: Rgb = [60, 60, 60];
const NAN_RGB: Rgb = [128, 128, 128];
/// Phase colours: Li metal, LLZO, pore.
const LI_RGB: Rgb = [0x6f, 0xa8, 0xdc];
const LLZO_RGB: Rgb = [0xc8, 0xb4, 0x8c];
const PORE_RGB: Rgb = [0x1a, 0x1a, 0x1a];

/// Viridis, 11 evenly spaced anchors (matplotlib's map), interpolated linearly.
const VIRIDIS: [Rgb; 11] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x25, 0x76],
    [0x41, 0x44, 0x87],
    [0x35, 0x60, 0x8d],
    [0x2a, 0x78, 0x8e],
    [0x21, 0x90, 0x8c],
    [0x22, 0xa8, 0x84],
    [0x43, 0xbf, 0x71],
    [0x7a, 0xd1, 0x51],
    [0xbb, 0xdf, 0x27],
    [0xfd, 0xe7, 0x25],
];

/// Viridis colour of t ∈ [0, 1] (clamped).
pub fn viridis(t: f64) -> Rgb {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let k = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    std::array::from_fn(|c| (a[c] as f64 + f * (b[c] as f64 - a[c] as f64)).round() as u8)
}

/// Edge length in pixels of one grid cell in the maps: about 600 px for the domain height, at
/// least 2 px, at most 32 px, and narrower (down to 2 px) when the width would exceed 3000 px.
pub fn cell_pixels(nx: usize, ny: usize) -> usize {
    let mut s = ((600.0 / ny.max(1) as f64).round() as usize).clamp(2, 32);
    if nx * s > 3000 {
        s = (3000 / nx.max(1)).max(2);
    }
    s
}

/// An RGB raster that plotters can draw text on.
struct Canvas {
    w: usize,
    h: usize,
    buf: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            buf: vec![255; w * h * 3],
        }
    }

    fn fill_rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: Rgb) {
        let (x1, y1) = ((x0 + w).min(self.w), (y0 + h).min(self.h));
        for y in y0.min(y1)..y1 {
            for x in x0.min(x1)..x1 {
                let k = 3 * (y * self.w + x);
                self.buf[k..k + 3].copy_from_slice(&c);
            }
        }
    }

    /// A one-pixel frame just outside the rectangle (x0, y0, w, h).
    fn frame(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: Rgb) {
        let (l, t) = (x0.saturating_sub(1), y0.saturating_sub(1));
        let (r, b) = (x0 + w, y0 + h);
        self.fill_rect(l, t, r + 1 - l, 1, c);
        self.fill_rect(l, b, r + 1 - l, 1, c);
        self.fill_rect(l, t, 1, b + 1 - t, c);
        self.fill_rect(r, t, 1, b + 1 - t, c);
    }

    /// Draws texts (string, position, size in px, anchor) with plotters.
    fn text(&mut self, items: &[(String, (i32, i32), f64, Pos)]) -> Result<()> {
        ensure_font()?;
        let root = BitMapBackend::with_buffer(&mut self.buf, (self.w as u32, self.h as u32))
            .into_drawing_area();
        for (s, at, size, pos) in items {
            let style = (FONT, *size).into_font().color(&BLACK).pos(*pos);
            root.draw_text(s, &style, *at)
                .map_err(|e| anyhow!("cannot draw text: {e}"))?;
        }
        root.present()
            .map_err(|e| anyhow!("cannot draw text: {e}"))?;
        Ok(())
    }

    fn png(&self) -> Result<Vec<u8>> {
        encode_png(&self.buf, self.w as u32, self.h as u32)
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().context("PNG header")?;
        writer.write_image_data(rgb).context("PNG data")?;
        writer.finish().context("PNG end")?;
    }
    Ok(out)
}

const LEFT: usize = 70;
const TOP: usize = 44;
const BOTTOM: usize = 34;
const GAP: usize = 18;
const BAR_W: usize = 22;
const RIGHT_PANEL: usize = 140;
const MIN_W: usize = 440;
const MIN_PANEL_H: usize = 180;
const TITLE_PX: f64 = 19.0;
const LABEL_PX: f64 = 14.0;

/// Geometry of one map picture.
struct Layout {
    s: usize,
    map_x: usize,
    map_y: usize,
    map_w: usize,
    map_h: usize,
    panel_x: usize,
    panel_h: usize,
    w: usize,
    h: usize,
}

impl Layout {
    fn new(nx: usize, ny: usize) -> Layout {
        let s = cell_pixels(nx, ny);
        let (map_w, map_h) = (nx * s, ny * s);
        let panel_h = map_h.max(MIN_PANEL_H);
        let panel_x = LEFT + map_w + GAP;
        Layout {
            s,
            map_x: LEFT,
            map_y: TOP,
            map_w,
            map_h,
            panel_x,
            panel_h,
            w: (panel_x + RIGHT_PANEL).max(MIN_W),
            h: TOP + panel_h + BOTTOM,
        }
    }
}

/// Draws a map: `colour(k)` for cell k, flipped so that row ny − 1 is at the top; frames it
/// and labels the axes with the domain size.
fn draw_map(
    c: &mut Canvas,
    l: &Layout,
    state: &State,
    colour: impl Fn(usize) -> Rgb,
    texts: &mut Vec<(String, (i32, i32), f64, Pos)>,
) {
    let g = state.grid;
    for j in 0..g.ny {
        let y = l.map_y + (g.ny - 1 - j) * l.s;
        for i in 0..g.nx {
            c.fill_rect(l.map_x + i * l.s, y, l.s, l.s, colour(j * g.nx + i));
        }
    }
    c.frame(l.map_x, l.map_y, l.map_w, l.map_h, FRAME_RGB);
    let (w_um, h_um) = (g.width_m() * 1e6, g.height_m() * 1e6);
    let right = Pos::new(HPos::Right, VPos::Center);
    let x_lab = (l.map_x - 6) as i32;
    texts.push((
        format!("{} µm", fmt_sig(h_um, 4)),
        (x_lab, l.map_y as i32 + 6),
        LABEL_PX,
        right,
    ));
    texts.push((
        "0".into(),
        (x_lab, (l.map_y + l.map_h) as i32 - 6),
        LABEL_PX,
        right,
    ));
    texts.push((
        format!("x: 0 – {} µm", fmt_sig(w_um, 4)),
        (l.map_x as i32, (l.map_y + l.map_h + 8) as i32),
        LABEL_PX,
        Pos::new(HPos::Left, VPos::Top),
    ));
}

fn title(text: &str, time_s: f64) -> (String, (i32, i32), f64, Pos) {
    (
        format!("{text},  t = {} s", fmt_sig(time_s, 5)),
        (LEFT as i32, (TOP / 2) as i32),
        TITLE_PX,
        Pos::new(HPos::Left, VPos::Center),
    )
}

/// The three-colour phase map.
fn phases_png(state: &State) -> Result<Vec<u8>> {
    let g = state.grid;
    let l = Layout::new(g.nx, g.ny);
    let mut c = Canvas::new(l.w, l.h);
    let mut texts = vec![title("Phases", state.time_s)];
    draw_map(
        &mut c,
        &l,
        state,
        |k| {
            if state.xi[k] > 0.5 {
                LI_RGB
            } else if state.phi[k] > 0.5 {
                LLZO_RGB
            } else {
                PORE_RGB
            }
        },
        &mut texts,
    );
    for (n, (rgb, label)) in [
        (LI_RGB, "Li (ξ > ½)"),
        (LLZO_RGB, "LLZO (ϕ > ½)"),
        (PORE_RGB, "pore"),
    ]
    .into_iter()
    .enumerate()
    {
        let y = l.map_y + 4 + 26 * n;
        c.fill_rect(l.panel_x, y, 16, 16, rgb);
        c.frame(l.panel_x, y, 16, 16, FRAME_RGB);
        texts.push((
            label.into(),
            ((l.panel_x + 24) as i32, (y + 8) as i32),
            LABEL_PX,
            Pos::new(HPos::Left, VPos::Center),
        ));
    }
    c.text(&texts)?;
    c.png()
}

/// A viridis map of `field` with a colour bar.
fn colour_map_png(state: &State, field: &[f64], what: &str) -> Result<Vec<u8>> {
    let g = state.grid;
    let l = Layout::new(g.nx, g.ny);
    let mut c = Canvas::new(l.w, l.h);
    let mut texts = vec![title(what, state.time_s)];
    let (lo, hi) = finite_range(field);
    let span = hi - lo;
    let to_t = |v: f64| if span > 0.0 { (v - lo) / span } else { 0.5 };
    draw_map(
        &mut c,
        &l,
        state,
        |k| {
            let v = field[k];
            if v.is_finite() {
                viridis(to_t(v))
            } else {
                NAN_RGB
            }
        },
        &mut texts,
    );

    // Colour bar: top = maximum.
    let (bx, by, bh) = (l.panel_x, l.map_y, l.panel_h);
    for y in 0..bh {
        let t = if span > 0.0 {
            1.0 - y as f64 / (bh - 1).max(1) as f64
        } else {
            0.5
        };
        c.fill_rect(bx, by + y, BAR_W, 1, viridis(t));
    }
    c.frame(bx, by, BAR_W, bh, FRAME_RGB);
    let label_pos = Pos::new(HPos::Left, VPos::Center);
    let y_of = |v: f64| by as f64 + (1.0 - to_t(v)) * (bh - 1) as f64;
    let mut tick = |c: &mut Canvas, v: f64, label: String| {
        let y = y_of(v).round() as usize;
        c.fill_rect(bx + BAR_W, y, 5, 1, FRAME_RGB);
        texts.push((
            label,
            ((bx + BAR_W + 9) as i32, y as i32),
            LABEL_PX,
            label_pos,
        ));
    };
    if span > 0.0 {
        // Minimum and maximum with 4 significant digits of the larger magnitude, round ticks
        // in between where they do not collide with them.
        let big = lo.abs().max(hi.abs());
        tick(&mut c, hi, fmt_scaled(hi, big, 4));
        tick(&mut c, lo, fmt_scaled(lo, big, 4));
        let (ticks, step) = nice_ticks(lo, hi, 5);
        let sig = sig_for_step(lo, hi, step);
        let min_gap = 18.0;
        for v in ticks {
            let y = y_of(v);
            if (y - y_of(hi)).abs() >= min_gap && (y - y_of(lo)).abs() >= min_gap {
                tick(&mut c, v, fmt_scaled(v, big, sig));
            }
        }
    } else {
        tick(&mut c, lo, fmt_sig(lo, 4));
    }
    c.text(&texts)?;
    c.png()
}

/// Minimum and maximum of the finite values; (0, 1) if there are none.
fn finite_range(v: &[f64]) -> (f64, f64) {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Round tick values (multiples of 1, 2 or 5 × 10ᵏ) inside [lo, hi], about `n` of them, and
/// their spacing.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / n.max(2) as f64;
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return (vec![], 0.0);
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = mag
        * if norm < 1.5 {
            1.0
        } else if norm < 3.0 {
            2.0
        } else if norm < 7.0 {
            5.0
        } else {
            10.0
        };
    let (k0, k1) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    let ticks = (k0..=k1)
        .map(|k| {
            let v = k as f64 * step;
            if v.abs() < 1e-9 * step {
                0.0
            } else {
                v
            }
        })
        .collect();
    (ticks, step)
}

/// Significant digits that resolve `step` for values up to max(|lo|, |hi|).
fn sig_for_step(lo: f64, hi: f64, step: f64) -> usize {
    let big = lo.abs().max(hi.abs());
    if step.is_nan() || step <= 0.0 || big.is_nan() || big <= 0.0 {
        return 3;
    }
    let d = big.log10().floor() - step.log10().floor() + 1.0;
    (d.max(1.0) as usize).min(10)
}

/// `v` with `sig` significant digits, trailing zeros removed; scientific notation outside
/// 1e-3 ≤ |v| < 1e5.
pub(crate) fn fmt_sig(v: f64, sig: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    let e = v.abs().log10().floor() as i32;
    let s = if (-3..5).contains(&e) {
        let decimals = (sig as i32 - 1 - e).max(0) as usize;
        trim_zeros(format!("{v:.decimals$}"))
    } else {
        let s = format!("{:.*e}", sig - 1, v);
        match s.split_once('e') {
            Some((m, x)) => format!("{}e{x}", trim_zeros(m.to_string())),
            None => s,
        }
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// `v` with as many decimals as `sig` significant digits of `big` need (so that labels of one
/// scale share their decimals); [`fmt_sig`] when `big` is outside 1e-3 ≤ big < 1e5.
fn fmt_scaled(v: f64, big: f64, sig: usize) -> String {
    if !(big.is_finite() && big > 0.0 && v.is_finite()) {
        return fmt_sig(v, sig);
    }
    let e = big.log10().floor() as i32;
    if !(-3..5).contains(&e) {
        return fmt_sig(v, sig);
    }
    let decimals = (sig.max(1) as i32 - 1 - e).max(0) as usize;
    let s = trim_zeros(format!("{v:.decimals$}"));
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Writes `<stem>_phases.png`, `<stem>_potential.png` and `<stem>_conc.png` of `state` into
/// `dir` (created if missing) and returns their paths.
pub fn write_snapshot_images(dir: &Path, stem: &str, state: &State) -> Result<Vec<PathBuf>> {
    let n = state.cells();
    for (name, len) in [
        ("xi", state.xi.len()),
        ("phi", state.phi.len()),
        ("conc", state.conc.len()),
        ("potential", state.potential.len()),
    ] {
        anyhow::ensure!(
            len == n,
            "field {name} has {len} values, the {}×{} grid {n}",
            state.grid.nx,
            state.grid.ny
        );
    }
    let images = [
        ("phases", phases_png(state)?),
        (
            "potential",
            colour_map_png(state, &state.potential, "Potential (V)")?,
        ),
        (
            "conc",
            colour_map_png(state, &state.conc, "Li⁺ concentration c/c0 (1)")?,
        ),
    ];
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut paths = Vec::with_capacity(images.len());
    for (kind, bytes) in images {
        let path = dir.join(format!("{stem}_{kind}.png"));
        write_atomic(&path, &bytes)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Line colours of [`line_plot_png`] (matplotlib's tab10).
const SERIES_RGB: [Rgb; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

/// Range of finite values, widened by `pad` of the span on both sides (or around a single
/// value).
fn axis_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    if lo > hi {
        (0.0, 1.0)
    } else if hi > lo {
        let d = (hi - lo) * pad;
        (lo - d, hi + d)
    } else {
        let d = if lo != 0.0 { 0.05 * lo.abs() } else { 1.0 };
        (lo - d, hi + d)
    }
}

/// Draws line `series` (name, points) into a PNG at `path` with a title, axis labels and a
/// legend. Non-finite points are skipped; empty series are allowed.
pub fn line_plot_png(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<()> {
    ensure_font()?;
    let (w, h) = (900u32, 560u32);
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = || series.iter().flat_map(|(_, v)| v.iter()).filter(finite);
    let (x0, x1) = axis_range(points().map(|p| p.0), 0.0);
    let (y0, y1) = axis_range(points().map(|p| p.1), 0.05);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw plot {}: {e}", path.display());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 22))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        let x_fmt = |v: &f64| fmt_sig(*v, 6);
        let y_fmt = |v: &f64| fmt_sig(*v, 6);
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(220, 220, 220))
            .draw()
            .map_err(|e| err(&e))?;
        for (k, (name, pts)) in series.iter().enumerate() {
            let [r, g, b] = SERIES_RGB[k % SERIES_RGB.len()];
            let style = RGBColor(r, g, b).stroke_width(2);
            chart
                .draw_series(LineSeries::new(pts.iter().filter(finite).copied(), style))
                .map_err(|e| err(&e))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font((FONT, 14))
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    write_atomic(path, &encode_png(&buf, w, h)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_clamping() {
        assert_eq!(viridis(0.0), VIRIDIS[0]);
        assert_eq!(viridis(1.0), VIRIDIS[10]);
        assert_eq!(viridis(-3.0), VIRIDIS[0]);
        assert_eq!(viridis(7.0), VIRIDIS[10]);
        assert_eq!(viridis(0.5), VIRIDIS[5]);
        assert_eq!(viridis(f64::NAN), VIRIDIS[0]);
    }

    #[test]
    fn cell_size_targets_600_px_and_stays_in_bounds() {
        assert_eq!(cell_pixels(200, 200), 3);
        assert_eq!(cell_pixels(67, 45), 13);
        assert_eq!(cell_pixels(1, 20), 30);
        assert_eq!(cell_pixels(1, 1), 32);
        assert_eq!(cell_pixels(2000, 2000), 2);
        assert_eq!(cell_pixels(1000, 20), 3);
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_sig(0.0, 4), "0");
        assert_eq!(fmt_sig(-0.0125, 4), "-0.0125");
        assert_eq!(fmt_sig(1.0, 4), "1");
        assert_eq!(fmt_sig(123.456, 4), "123.5");
        assert_eq!(fmt_sig(50.0, 4), "50");
        assert_eq!(fmt_sig(1.5e-6, 3), "1.5e-6");
        assert_eq!(fmt_sig(2.5e7, 3), "2.5e7");
        assert_eq!(fmt_sig(-1e-12, 3), "-1e-12");
        assert_eq!(fmt_scaled(1e-4, 0.01234, 4), "0.0001");
        assert_eq!(fmt_scaled(-0.01234, 0.01234, 4), "-0.01234");
        assert_eq!(fmt_scaled(-1e-9, 0.5, 3), "0");
        assert_eq!(fmt_scaled(3e-9, 4e-9, 2), "3e-9");
    }

    fn pixel(png_bytes: &[u8], x: usize, y: usize) -> Rgb {
        let decoder = png::Decoder::new(png_bytes);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let k = 3 * (y * info.width as usize + x);
        [buf[k], buf[k + 1], buf[k + 2]]
    }

    #[test]
    fn top_of_picture_is_top_of_domain() {
        // Li in the bottom row, LLZO in the top row, pore in between; potential = row index.
        let (nx, ny) = (4, 3);
        let n = nx * ny;
        let row = |k: usize| (k / nx) as f64;
        let state = State {
            grid: lipf_core::Grid::new(nx, ny, 1e-6),
            xi: (0..n)
                .map(|k| if row(k) == 0.0 { 1.0 } else { 0.0 })
                .collect(),
            phi: (0..n)
                .map(|k| if row(k) == 2.0 { 1.0 } else { 0.0 })
                .collect(),
            conc: vec![1.0; n],
            potential: (0..n).map(row).collect(),
            eta: vec![0.0; n],
            potential0: vec![0.0; n],
            potential1: vec![0.0; n],
            v_collector: 0.0,
            time_s: 1.0,
            step: 1,
            current_density_a_m2: 0.0,
            charge_c_m2: 0.0,
            li_amount0_mol_m2: 0.0,
            solver_iterations: 0,
            solver_iterations_total: 0,
        };
        let l = Layout::new(nx, ny);
        let x = l.map_x + l.s / 2;
        let (top, mid, bottom) = (
            l.map_y + l.s / 2,
            l.map_y + l.map_h / 2,
            l.map_y + l.map_h - l.s / 2,
        );
        let png = phases_png(&state).unwrap();
        assert_eq!(pixel(&png, x, top), LLZO_RGB);
        assert_eq!(pixel(&png, x, mid), PORE_RGB);
        assert_eq!(pixel(&png, x, bottom), LI_RGB);
        let png = colour_map_png(&state, &state.potential, "Potential (V)").unwrap();
        assert_eq!(pixel(&png, x, top), viridis(1.0));
        assert_eq!(pixel(&png, x, bottom), viridis(0.0));
        // The colour bar runs from the maximum at the top to the minimum at the bottom.
        assert_eq!(pixel(&png, l.panel_x + 5, l.map_y), viridis(1.0));
        assert_eq!(
            pixel(&png, l.panel_x + 5, l.map_y + l.panel_h - 1),
            viridis(0.0)
        );
    }

    #[test]
    fn ticks_are_round_and_inside() {
        let (t, step) = nice_ticks(-0.0123, 0.0, 5);
        assert!((step - 0.002).abs() < 1e-15);
        assert!(t.iter().all(|&v| (-0.0123..=0.0).contains(&v)));
        assert_eq!(t.len(), 7);
        assert_eq!(*t.last().unwrap(), 0.0);
        assert_eq!(fmt_sig(t[1], sig_for_step(-0.0123, 0.0, step)), "-0.01");
        assert!(nice_ticks(1.0, 1.0, 5).0.is_empty());
    }
}
