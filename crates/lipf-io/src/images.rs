//! PNG pictures: maps of one snapshot and line plots of time series.
//!
//! [`write_snapshot_images`] writes five images per snapshot:
//!
//! * `<stem>_phases.png` — which phase each cell is in, in three fixed colours: Li where ξ > ½
//!   (blue), otherwise the electrolyte (LLZO, or a liquid) where ϕ > ½ (tan), otherwise pore
//!   (near black); with a legend.
//! * `<stem>_xi_log.png` — log₁₀ ξ (floor 1e-6): Li at every fraction, including what the
//!   thresholded phase map cannot show (Li in the electrolyte below ξ = ½).
//! * `<stem>_potential.png` — the ionic potential φ_l, V, on a viridis colour scale.
//! * `<stem>_electronic_potential.png` — the electronic potential φ_s, V.
//! * `<stem>_conc.png` — the Li⁺ concentration c/c0 on a viridis colour scale.
//!
//! Every map is drawn with square cells of [`cell_pixels`] pixels (about 600 px of height for
//! the domain, at least 2 px per cell) and the top of the picture is the top of the domain (the
//! current collector, row j = 0, is at the bottom). Maps carry a title with the quantity, its
//! unit and the simulated time, the domain size in µm on the axes; the phase map a scale bar (a
//! round length near a fifth of the width, bottom left), the colour maps a colour bar spanning
//! the field's minimum to maximum with tick labels that stay distinct however narrow the range
//! ([`colour_bar_ticks`]). Non-finite cells are drawn grey and ignored by the colour scale.
//!
//! [`line_plot_png`] draws x–y line series (e.g. cell voltage against time) with axes and a
//! legend. [`write_run_plot`] draws a run's `voltage.png`: cell voltage, current density and
//! deposited Li against time in three panels. The animated phase map is in
//! [`crate::animation`].
//!
//! Text is rendered with DejaVu Sans, embedded in the binary (see `assets/fonts/`), so the
//! output does not depend on the fonts installed. All files are written atomically.

use crate::atomic::write_atomic;
use anyhow::{anyhow, Context, Result};
use lipf_core::observables::Scalars;
use lipf_core::units::m_to_um;
use lipf_core::State;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub(crate) const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font with plotters once per process.
pub(crate) fn ensure_font() -> Result<()> {
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

    /// Multiplies the colour of the rectangle (x0, y0, w, h) by `f` (a translucent dark box).
    fn darken(&mut self, x0: usize, y0: usize, w: usize, h: usize, f: f64) {
        let (x1, y1) = ((x0 + w).min(self.w), (y0 + h).min(self.h));
        for y in y0.min(y1)..y1 {
            for x in x0.min(x1)..x1 {
                let k = 3 * (y * self.w + x);
                for v in &mut self.buf[k..k + 3] {
                    *v = (*v as f64 * f).round() as u8;
                }
            }
        }
    }

    /// Draws texts (string, position, size in px, anchor) in black with plotters.
    fn text(&mut self, items: &[(String, (i32, i32), f64, Pos)]) -> Result<()> {
        self.text_rgb(items, [0, 0, 0])
    }

    /// Draws texts (string, position, size in px, anchor) in colour `rgb` with plotters.
    fn text_rgb(&mut self, items: &[(String, (i32, i32), f64, Pos)], rgb: Rgb) -> Result<()> {
        ensure_font()?;
        let colour = RGBColor(rgb[0], rgb[1], rgb[2]);
        let root = BitMapBackend::with_buffer(&mut self.buf, (self.w as u32, self.h as u32))
            .into_drawing_area();
        for (s, at, size, pos) in items {
            let style = (FONT, *size).into_font().color(&colour).pos(*pos);
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

pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
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

/// The plane a map shows: `nx` × `ny` cells (row ny − 1 at the top), its sides in µm and the name
/// of its vertical axis when that is not y.
#[derive(Clone, Copy)]
struct MapFrame<'a> {
    nx: usize,
    ny: usize,
    width_um: f64,
    height_um: f64,
    vertical: Option<&'a str>,
}

impl MapFrame<'_> {
    /// The x–y section of `state` (y, the growth direction, upwards).
    fn section(state: &State) -> MapFrame<'static> {
        let g = state.grid;
        MapFrame {
            nx: g.nx,
            ny: g.ny,
            width_um: m_to_um(g.width_m()),
            height_um: m_to_um(g.height_m()),
            vertical: None,
        }
    }
}

/// Draws a map: `colour(k)` for cell k, flipped so that row ny − 1 is at the top; frames it
/// and labels the axes with the domain size.
fn draw_map(
    c: &mut Canvas,
    l: &Layout,
    f: &MapFrame,
    colour: impl Fn(usize) -> Rgb,
    texts: &mut Vec<(String, (i32, i32), f64, Pos)>,
) {
    for j in 0..f.ny {
        let y = l.map_y + (f.ny - 1 - j) * l.s;
        for i in 0..f.nx {
            c.fill_rect(l.map_x + i * l.s, y, l.s, l.s, colour(j * f.nx + i));
        }
    }
    c.frame(l.map_x, l.map_y, l.map_w, l.map_h, FRAME_RGB);
    let right = Pos::new(HPos::Right, VPos::Center);
    let x_lab = (l.map_x - 6) as i32;
    texts.push((
        format!("{} µm", fmt_sig(f.height_um, 4)),
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
    let axes = match f.vertical {
        None => format!("x: 0 – {} µm", fmt_sig(f.width_um, 4)),
        Some(v) => format!(
            "x: 0 – {} µm,  {v} (upwards): 0 – {} µm",
            fmt_sig(f.width_um, 4),
            fmt_sig(f.height_um, 4)
        ),
    };
    texts.push((
        axes,
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

/// A round length for a scale bar on a map `width_um` wide: 1, 2 or 5 × 10ᵏ µm, the one
/// closest (on a log scale) to a fifth of the width. Non-positive or non-finite widths give 0.
pub fn scale_bar_length_um(width_um: f64) -> f64 {
    if !(width_um.is_finite() && width_um > 0.0) {
        return 0.0;
    }
    let target = width_um / 5.0;
    let e = target.log10().floor();
    let mut best = f64::NAN;
    for k in [e - 1.0, e, e + 1.0] {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powf(k);
            if best.is_nan() || (v / target).ln().abs() < (best / target).ln().abs() {
                best = v;
            }
        }
    }
    // Remove the last-digit noise of 10^k (e.g. 0.30000000000000004).
    fmt_sig(best, 3).parse().unwrap_or(best)
}

/// The label of a scale bar of `len_um`: "5 µm", "0.5 µm", "200 µm".
pub fn scale_bar_label(len_um: f64) -> String {
    format!("{} µm", fmt_sig(len_um, 3))
}

/// Pixel geometry of a scale bar drawn in the bottom-left corner of a map at (map_x, map_y)
/// of map_w × map_h pixels showing `width_um`: (box x, box y, box w, box h, bar x, bar y, bar
/// length, label centre x, label bottom y), or `None` where the map is too small to carry one.
#[allow(clippy::type_complexity)]
pub(crate) fn scale_bar_geometry(
    map_x: usize,
    map_y: usize,
    map_w: usize,
    map_h: usize,
    width_um: f64,
    label: &str,
) -> Option<(
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
)> {
    let len_um = scale_bar_length_um(width_um);
    if len_um <= 0.0 || map_w < 90 || map_h < 48 {
        return None;
    }
    let bar = (len_um / width_um * map_w as f64).round() as usize;
    // DejaVu Sans at 13 px: about 7.5 px per character.
    let text_w = (label.chars().count() as f64 * 7.5).ceil() as usize;
    let (pad, bar_h, text_h) = (6usize, 4usize, 15usize);
    let box_w = bar.max(text_w) + 2 * pad;
    let box_h = pad + text_h + 3 + bar_h + pad;
    // Keep the box to a corner: at most half the width and a quarter of the height.
    if bar < 8 || 2 * (box_w + 6) > map_w || 4 * (box_h + 6) > map_h {
        return None;
    }
    let (bx, by) = (map_x + 6, map_y + map_h - 6 - box_h);
    let bar_x = bx + pad + (box_w - 2 * pad - bar) / 2;
    let bar_y = by + box_h - pad - bar_h;
    Some((
        bx,
        by,
        box_w,
        box_h,
        bar_x,
        bar_y,
        bar,
        bx + box_w / 2,
        bar_y - 3,
    ))
}

/// Draws a white scale bar with its label on a darkened box in the bottom-left corner of the
/// map (nothing where the map is too small).
fn draw_scale_bar(c: &mut Canvas, l: &Layout, width_um: f64) -> Result<()> {
    let label = scale_bar_label(scale_bar_length_um(width_um));
    let Some((bx, by, bw, bh, x, y, len, lx, ly)) =
        scale_bar_geometry(l.map_x, l.map_y, l.map_w, l.map_h, width_um, &label)
    else {
        return Ok(());
    };
    c.darken(bx, by, bw, bh, SCALE_BOX_SHADE);
    c.fill_rect(x, y, len, 4, [255, 255, 255]);
    c.text_rgb(
        &[(
            label,
            (lx as i32, ly as i32),
            13.0,
            Pos::new(HPos::Center, VPos::Bottom),
        )],
        [255, 255, 255],
    )
}

/// Brightness factor of the box behind a scale bar.
pub(crate) const SCALE_BOX_SHADE: f64 = 0.4;

/// The phase map of `state` as an RGB raster: (width, height, pixels).
pub(crate) fn phases_rgb(state: &State) -> Result<(usize, usize, Vec<u8>)> {
    let c = phases_canvas(state)?;
    Ok((c.w, c.h, c.buf))
}

/// Colours of the phase pictures, for a fixed palette: Li, LLZO, pore, frame, grey.
pub(crate) const PHASE_COLOURS: [Rgb; 5] = [LI_RGB, LLZO_RGB, PORE_RGB, FRAME_RGB, NAN_RGB];

/// The three-colour phase map.
fn phases_png(state: &State) -> Result<Vec<u8>> {
    phases_canvas(state)?.png()
}

fn phases_canvas(state: &State) -> Result<Canvas> {
    let g = state.grid;
    let l = Layout::new(g.nx, g.ny);
    let mut c = Canvas::new(l.w, l.h);
    let mut texts = vec![title("Phases", state.time_s)];
    draw_map(
        &mut c,
        &l,
        &MapFrame::section(state),
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
        (LLZO_RGB, "electrolyte (ϕ > ½)"),
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
    draw_scale_bar(&mut c, &l, m_to_um(g.width_m()))?;
    Ok(c)
}

/// A viridis map of `field` with a colour bar.
fn colour_map_png(state: &State, field: &[f64], what: &str) -> Result<Vec<u8>> {
    colour_map_frame_png(&MapFrame::section(state), state.time_s, field, what)
}

/// A viridis map of `field` on the plane `f` with a colour bar; NaN cells grey.
fn colour_map_frame_png(f: &MapFrame, time_s: f64, field: &[f64], what: &str) -> Result<Vec<u8>> {
    let mut l = Layout::new(f.nx, f.ny);
    let (lo, hi) = finite_range(field);
    let span = hi - lo;
    let ticks = colour_bar_ticks(lo, hi, l.panel_h);
    // Widen the picture for long labels (DejaVu Sans at 14 px: about 8.5 px per character).
    let longest = ticks
        .iter()
        .map(|(_, s)| s.chars().count())
        .max()
        .unwrap_or(0);
    l.w =
        l.w.max(l.panel_x + BAR_W + 9 + (longest as f64 * 8.5).ceil() as usize + 8);
    let mut c = Canvas::new(l.w, l.h);
    let mut texts = vec![title(what, time_s)];
    let to_t = |v: f64| if span > 0.0 { (v - lo) / span } else { 0.5 };
    draw_map(
        &mut c,
        &l,
        f,
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
    for (v, label) in ticks {
        tick(&mut c, v, label);
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

/// Minimum vertical distance in pixels between two colour-bar labels.
const TICK_GAP_PX: f64 = 18.0;

/// The ticks of a colour bar `bar_px` pixels high spanning [lo, hi] (maximum at the top): the
/// maximum, the minimum and the round values between them that keep 18 px from
/// both, each with its label. Labels are plain numbers with 4 to 7 significant digits, the
/// fewest that tell every label apart (c/c0 in [0.99998, 1.00003]: `1.00003`, `1.00001`, …);
/// where even 7 digits cannot (a range tiny against its values, e.g. c/c0 in
/// [0.9999998, 1.0000003]) they are written in offset notation, `1 + 3e-7`, `1 − 2e-7`,
/// around a round reference value. A degenerate range gives one tick.
pub fn colour_bar_ticks(lo: f64, hi: f64, bar_px: usize) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return vec![(lo, fmt_sig(lo, 4))];
    }
    let span = hi - lo;
    let y_of = |v: f64| (hi - v) / span * bar_px.saturating_sub(1) as f64;
    let mut values = vec![hi, lo];
    let (ticks, _) = nice_ticks(lo, hi, 5);
    for v in ticks {
        let y = y_of(v);
        if (y - y_of(hi)).abs() >= TICK_GAP_PX && (y - y_of(lo)).abs() >= TICK_GAP_PX {
            values.push(v);
        }
    }
    let distinct = |labels: &[String]| {
        let mut l = labels.to_vec();
        l.sort();
        l.dedup();
        l.len() == labels.len()
    };
    let big = lo.abs().max(hi.abs());
    for sig in 4..=7 {
        let labels: Vec<String> = values.iter().map(|&v| fmt_scaled(v, big, sig)).collect();
        if distinct(&labels) {
            return values.into_iter().zip(labels).collect();
        }
    }
    // Offset notation around the roundest value within a span of the middle.
    let mid = 0.5 * (lo + hi);
    let mut q = 10f64.powf(span.log10().ceil() + 1.0);
    let mut offset = (mid / q).round() * q;
    while (offset - mid).abs() > span && q > 0.0 {
        q /= 10.0;
        offset = (mid / q).round() * q;
    }
    let offset_s = fmt_resolved(offset, q);
    for sig in 2..=8 {
        let labels: Vec<String> = values
            .iter()
            .map(|&v| {
                let d = v - offset;
                let ds = fmt_sig(d.abs(), sig);
                if ds == "0" {
                    offset_s.clone()
                } else if d > 0.0 {
                    format!("{offset_s} + {ds}")
                } else {
                    format!("{offset_s} − {ds}")
                }
            })
            .collect();
        if distinct(&labels) {
            return values.into_iter().zip(labels).collect();
        }
    }
    values.into_iter().map(|v| (v, fmt_sig(v, 17))).collect()
}

/// `v` written with the digits that resolve `q` (a power of ten).
fn fmt_resolved(v: f64, q: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = v.abs().log10().floor() - q.log10().round() + 1.0;
    fmt_sig(v, digits.clamp(1.0, 17.0) as usize)
}

/// Significant digits that resolve `step` for values up to max(|lo|, |hi|).
#[cfg_attr(not(test), allow(dead_code))]
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

/// ξ below this is drawn at the bottom of the logarithmic ξ map.
pub const XI_LOG_FLOOR: f64 = 1e-6;

/// Writes `<stem>_phases.png`, `<stem>_xi_log.png` (log₁₀ ξ: Li at every fraction, which a phase
/// map thresholded at ½ hides), `<stem>_potential.png`, `<stem>_electronic_potential.png` and
/// `<stem>_conc.png` of `state` into `dir` (created if missing) and returns their paths.
pub fn write_snapshot_images(dir: &Path, stem: &str, state: &State) -> Result<Vec<PathBuf>> {
    let n = state.cells();
    for (name, len) in [
        ("xi", state.xi.len()),
        ("phi", state.phi.len()),
        ("conc", state.conc.len()),
        ("potential", state.potential.len()),
        ("electronic_potential", state.electronic_potential.len()),
    ] {
        anyhow::ensure!(
            len == n,
            "field {name} has {len} values, the {}×{} grid {n}",
            state.grid.nx,
            state.grid.ny
        );
    }
    let xi_log: Vec<f64> = state
        .xi
        .iter()
        .map(|&x| x.max(XI_LOG_FLOOR).log10())
        .collect();
    let images = [
        ("phases", phases_png(state)?),
        (
            "xi_log",
            colour_map_png(state, &xi_log, "log₁₀ ξ, Li fraction (floor 1e-6)")?,
        ),
        (
            "potential",
            colour_map_png(state, &state.potential, "Ionic potential φ_l (V)")?,
        ),
        (
            "electronic_potential",
            colour_map_png(
                state,
                &state.electronic_potential,
                "Electronic potential φ_s (V)",
            )?,
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

/// The projection of a 3D run's Li front: a map over the x–z columns (x across, z upwards) of
/// the front height `heights_um` (µm above the collector, index k·nx + i; NaN columns grey),
/// with a colour bar. `nx` × `nz` columns of `dx_um`.
pub fn front_height_png(
    nx: usize,
    nz: usize,
    dx_um: f64,
    time_s: f64,
    heights_um: &[f64],
    what: &str,
) -> Result<Vec<u8>> {
    anyhow::ensure!(
        heights_um.len() == nx * nz,
        "{} front heights for {nx} × {nz} columns",
        heights_um.len()
    );
    let f = MapFrame {
        nx,
        ny: nz,
        width_um: nx as f64 * dx_um,
        height_um: nz as f64 * dx_um,
        vertical: Some("z"),
    };
    colour_map_frame_png(&f, time_s, heights_um, what)
}

/// Line colours of [`line_plot_png`] (matplotlib's tab10).
pub(crate) const SERIES_RGB: [Rgb; 10] = [
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

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The runs of consecutive finite points of `pts` (a line is broken where a value is missing).
fn finite_runs(pts: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut cur = Vec::new();
    for &p in pts {
        if p.0.is_finite() && p.1.is_finite() {
            cur.push(p);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Draws `pts` as lines broken at missing values, isolated points as dots, and gives the
/// series the legend entry `name` (if any).
fn draw_line(
    chart: &mut Chart<'_, '_>,
    pts: &[(f64, f64)],
    rgb: Rgb,
    name: Option<&str>,
) -> Result<(), String> {
    let colour = RGBColor(rgb[0], rgb[1], rgb[2]);
    let style = colour.stroke_width(2);
    for run in finite_runs(pts) {
        if run.len() == 1 {
            chart
                .draw_series(std::iter::once(Circle::new(run[0], 3, colour.filled())))
                .map_err(|e| e.to_string())?;
        } else {
            chart
                .draw_series(LineSeries::new(run, style))
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(name) = name {
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    Ok(())
}

/// Draws line `series` (name, points) into a PNG at `path` with a title, axis labels and a
/// legend. Missing (non-finite) points break a line; a point between two missing ones is drawn
/// as a dot. A series without a single finite point is listed in the legend as "(no data)";
/// when no series has one, the plot holds no legend but a note saying so (`empty_note`, if
/// given, explains why).
pub fn line_plot_png(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<()> {
    line_plot_png_with_note(path, title, x_label, y_label, series, None)
}

/// [`line_plot_png`] with the note to draw when no series holds a finite point.
pub fn line_plot_png_with_note(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    empty_note: Option<&str>,
) -> Result<()> {
    ensure_font()?;
    let (w, h) = (900u32, 560u32);
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = || series.iter().flat_map(|(_, v)| v.iter()).filter(finite);
    let has_data = points().next().is_some();
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
        if has_data {
            for (k, (name, pts)) in series.iter().enumerate() {
                let label = if pts.iter().any(|p| finite(&p)) {
                    name.to_string()
                } else {
                    format!("{name} (no data)")
                };
                draw_line(
                    &mut chart,
                    pts,
                    SERIES_RGB[k % SERIES_RGB.len()],
                    Some(&label),
                )
                .map_err(|e| err(&e))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font((FONT, 14))
                .draw()
                .map_err(|e| err(&e))?;
        } else {
            let area = chart.plotting_area().strip_coord_spec();
            let (aw, ah) = area.dim_in_pixel();
            let centre = Pos::new(HPos::Center, VPos::Center);
            let mut lines = vec![if series.is_empty() {
                "no data".to_string()
            } else {
                "no finite value to plot".to_string()
            }];
            if let Some(note) = empty_note {
                lines.extend(wrap(note, 70));
            }
            let n = lines.len() as i32;
            for (k, line) in lines.iter().enumerate() {
                let style = (FONT, if k == 0 { 20.0 } else { 15.0 })
                    .into_font()
                    .color(&RGBColor(90, 90, 90))
                    .pos(centre);
                let y = ah as i32 / 2 + (2 * k as i32 - (n - 1)) * 12;
                area.draw_text(line, &style, (aw as i32 / 2, y))
                    .map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    write_atomic(path, &encode_png(&buf, w, h)?)
}

/// `text` broken into lines of at most about `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Molar volume of Li metal, m³/mol (6.941 g/mol at 0.534 g/cm³): 1 mol/m² of Li is 13 µm of
/// dense Li.
pub const LI_MOLAR_VOLUME_M3_MOL: f64 = 1.2998e-5;
use lipf_core::units::FARADAY_C_MOL;

/// Writes the time-series plot of one run (`voltage.png`) to `path`: see [`run_plot_png`].
pub fn write_run_plot(path: &Path, rows: &[Scalars]) -> Result<()> {
    write_atomic(path, &run_plot_png(rows)?)
}

/// [`write_run_plot`] with vertical grey lines at the times `marks` (a protocol's segment
/// boundaries) in every panel.
pub fn write_run_plot_marked(path: &Path, rows: &[Scalars], marks: &[f64]) -> Result<()> {
    write_atomic(path, &run_plot_png_marked(rows, marks)?)
}

/// The time series of one run as a PNG of three panels over a shared time axis: the cell
/// voltage (mV), the plating current density (A/m²) and the Li deposited since the first row
/// (mol/m²; the panel states the thickness of dense Li per mol/m²), the latter both as counted in the fields
/// (Δ c_s∫ξ dA / width) and as passed by the current (∫ i dt / F), so that the two lines lie
/// on each other when charge is conserved. Missing values break the lines; a single row is
/// drawn as dots; no rows give empty axes with a note.
pub fn run_plot_png(rows: &[Scalars]) -> Result<Vec<u8>> {
    run_plot_png_marked(rows, &[])
}

/// [`run_plot_png`] with vertical lines at the times `marks`.
pub fn run_plot_png_marked(rows: &[Scalars], marks: &[f64]) -> Result<Vec<u8>> {
    ensure_font()?;
    let (w, h) = (900u32, 900u32);
    let li0 = rows
        .iter()
        .map(|r| r.li_amount_mol_m2)
        .find(|v| v.is_finite())
        .unwrap_or(0.0);
    let pts = |f: &dyn Fn(&Scalars) -> f64| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.time_s, f(r))).collect()
    };
    type Panel<'a> = (&'a str, Vec<(&'a str, Vec<(f64, f64)>)>);
    let panels: [Panel; 3] = [
        (
            "cell voltage (mV)",
            vec![("cell voltage", pts(&|r| 1e3 * r.cell_voltage_v))],
        ),
        (
            "current density (A/m²)",
            vec![("current density", pts(&|r| r.current_density_a_m2))],
        ),
        (
            "Li deposited (mol/m²)",
            vec![
                (
                    "Li in the fields, Δ(c_s ∫ξ dA)/width",
                    pts(&|r| r.li_amount_mol_m2 - li0),
                ),
                (
                    "charge passed, ∫i dt / F",
                    pts(&|r| r.charge_c_m2 / FARADAY_C_MOL),
                ),
            ],
        ),
    ];
    let (x0, x1) = axis_range(rows.iter().map(|r| r.time_s), 0.0);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw the run plot: {e}");
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let last_t = rows.iter().rev().map(|r| r.time_s).find(|t| t.is_finite());
        let title = match last_t {
            Some(t) => format!(
                "Cell voltage, current and deposited Li up to t = {} s",
                fmt_sig(t, 5)
            ),
            None => "Cell voltage, current and deposited Li".to_string(),
        };
        let body = root.titled(&title, (FONT, 22)).map_err(|e| err(&e))?;
        let (_, bh) = body.dim_in_pixel();
        let x_area = 50u32;
        let ph = (bh.saturating_sub(x_area)) / 3;
        let (top, rest) = body.split_vertically(ph);
        let (mid, bottom) = rest.split_vertically(ph);
        for (k, (area, (y_label, series))) in [top, mid, bottom].iter().zip(&panels).enumerate() {
            let is_last = k == 2;
            let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
            let values = || series.iter().flat_map(|(_, v)| v.iter()).filter(finite);
            let (y0, y1) = axis_range(values().map(|p| p.1), 0.08);
            let mut builder = ChartBuilder::on(area);
            builder
                .margin_left(16)
                .margin_right(16)
                .margin_top(10)
                .margin_bottom(if is_last { 8 } else { 4 })
                .x_label_area_size(if is_last { x_area } else { 0 })
                .y_label_area_size(92);
            let mut chart = builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(&e))?;
            let x_fmt = |v: &f64| fmt_sig(*v, 6);
            let big = y0.abs().max(y1.abs());
            let y_fmt = move |v: &f64| fmt_scaled(*v, big, 4);
            let mut mesh = chart.configure_mesh();
            mesh.y_desc(*y_label)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .y_labels(6)
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 16))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(220, 220, 220));
            if is_last {
                mesh.x_desc("time (s)");
            }
            mesh.draw().map_err(|e| err(&e))?;
            for &t in marks
                .iter()
                .filter(|t| t.is_finite() && **t > x0 && **t < x1)
            {
                chart
                    .draw_series(LineSeries::new(
                        [(t, y0), (t, y1)],
                        RGBColor(170, 170, 170).stroke_width(1),
                    ))
                    .map_err(|e| err(&e))?;
            }
            let has_data = values().next().is_some();
            for (n, (name, p)) in series.iter().enumerate() {
                let name = (series.len() > 1).then_some(*name);
                draw_line(&mut chart, p, SERIES_RGB[n % SERIES_RGB.len()], name)
                    .map_err(|e| err(&e))?;
            }
            if series.len() > 1 && has_data {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .label_font((FONT, 14))
                    .draw()
                    .map_err(|e| err(&e))?;
            }
            if !has_data {
                let pa = chart.plotting_area().strip_coord_spec();
                let (aw, ah) = pa.dim_in_pixel();
                let style = (FONT, 16.0)
                    .into_font()
                    .color(&RGBColor(90, 90, 90))
                    .pos(Pos::new(HPos::Center, VPos::Center));
                pa.draw_text("no data", &style, (aw as i32 / 2, ah as i32 / 2))
                    .map_err(|e| err(&e))?;
            }
            if is_last {
                let pa = chart.plotting_area().strip_coord_spec();
                let (aw, ah) = pa.dim_in_pixel();
                let style = (FONT, 14.0)
                    .into_font()
                    .color(&RGBColor(90, 90, 90))
                    .pos(Pos::new(HPos::Right, VPos::Bottom));
                pa.draw_text(
                    &format!(
                        "1 mol/m² of Li ≈ {} µm of dense Li",
                        fmt_sig(1e6 * LI_MOLAR_VOLUME_M3_MOL, 3)
                    ),
                    &style,
                    (aw as i32 - 8, ah as i32 - 8),
                )
                .map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    encode_png(&buf, w, h)
}

/// Decodes a PNG file into (width, height, RGB pixels); grey and RGBA images are converted.
pub fn read_png_rgb(path: &Path) -> Result<(u32, u32, Vec<u8>)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .with_context(|| format!("{} is not a PNG", path.display()))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .with_context(|| format!("cannot decode {}", path.display()))?;
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => buf.chunks(2).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        png::ColorType::Indexed => anyhow::bail!("{}: unexpanded palette image", path.display()),
    };
    Ok((info.width, info.height, rgb))
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
            xi: (0..n)
                .map(|k| if row(k) == 0.0 { 1.0 } else { 0.0 })
                .collect(),
            phi: (0..n)
                .map(|k| if row(k) == 2.0 { 1.0 } else { 0.0 })
                .collect(),
            conc: vec![1.0; n],
            potential: (0..n).map(row).collect(),
            time_s: 1.0,
            step: 1,
            ..State::zeros(lipf_core::Grid::new(nx, ny, 1e-6))
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
