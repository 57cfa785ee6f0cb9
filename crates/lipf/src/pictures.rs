//! Pictures of scaffolds and Li morphologies for `lipf geometry` and the study report: phase
//! maps (Li, LLZO, pore) laid out in labelled panels, each with a scale bar where the grid
//! spacing is known ([`panel_png_with_scale_bars`]). Text uses the DejaVu Sans font embedded in
//! the binary, as lipf-io's pictures do, so the output does not depend on installed fonts.

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Phase colours (the same as lipf-io's snapshot maps): Li metal, LLZO, pore.
pub const LI_RGB: [u8; 3] = [0x6f, 0xa8, 0xdc];
pub const LLZO_RGB: [u8; 3] = [0xc8, 0xb4, 0x8c];
pub const PORE_RGB: [u8; 3] = [0x1a, 0x1a, 0x1a];
const FRAME_RGB: [u8; 3] = [60, 60, 60];

fn ensure_font() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    if *OK
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
    {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}

/// A phase map: Li where ξ > ½, else LLZO where ϕ > ½, else pore; row 0 at the bottom.
pub struct PhaseMap<'a> {
    pub nx: usize,
    pub ny: usize,
    pub xi: &'a [f64],
    pub phi: &'a [f64],
    /// Title above the map.
    pub title: String,
}

/// An RGB canvas with texts to draw on top.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    buf: Vec<u8>,
    texts: Vec<Label>,
}

/// A text to draw: string, anchor point, size in px, anchor, colour.
type Label = (String, (i32, i32), f64, Pos, [u8; 3]);

impl Canvas {
    pub fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            buf: vec![255; w * h * 3],
            texts: Vec::new(),
        }
    }

    pub fn fill(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: [u8; 3]) {
        for y in y0.min(self.h)..(y0 + h).min(self.h) {
            for x in x0.min(self.w)..(x0 + w).min(self.w) {
                let k = 3 * (y * self.w + x);
                self.buf[k..k + 3].copy_from_slice(&c);
            }
        }
    }

    pub fn text(&mut self, s: impl Into<String>, x: usize, y: usize, size: f64, centred: bool) {
        let pos = if centred {
            Pos::new(HPos::Center, VPos::Center)
        } else {
            Pos::new(HPos::Left, VPos::Center)
        };
        self.texts
            .push((s.into(), (x as i32, y as i32), size, pos, [0, 0, 0]));
    }

    /// Multiplies the colour of the rectangle by `f` (a translucent dark box).
    fn darken(&mut self, x0: usize, y0: usize, w: usize, h: usize, f: f64) {
        for y in y0.min(self.h)..(y0 + h).min(self.h) {
            for x in x0.min(self.w)..(x0 + w).min(self.w) {
                let k = 3 * (y * self.w + x);
                for v in &mut self.buf[k..k + 3] {
                    *v = (*v as f64 * f).round() as u8;
                }
            }
        }
    }

    /// A white scale bar, labelled with its length (a round length near a fifth of the map's
    /// width), on a darkened box in the bottom-left corner of the map at (x0, y0) of w × h
    /// pixels that shows `width_um`; nothing where the map is too small.
    pub fn scale_bar(&mut self, x0: usize, y0: usize, w: usize, h: usize, width_um: f64) {
        let len_um = lipf_io::images::scale_bar_length_um(width_um);
        if len_um <= 0.0 || w < 90 || h < 48 {
            return;
        }
        let label = lipf_io::images::scale_bar_label(len_um);
        let bar = (len_um / width_um * w as f64).round() as usize;
        let text_w = (label.chars().count() as f64 * 7.5).ceil() as usize;
        let (pad, bar_h, text_h) = (6usize, 4usize, 15usize);
        let (box_w, box_h) = (bar.max(text_w) + 2 * pad, pad + text_h + 3 + bar_h + pad);
        if bar < 8 || 2 * (box_w + 6) > w || 4 * (box_h + 6) > h {
            return;
        }
        let (bx, by) = (x0 + 6, y0 + h - 6 - box_h);
        self.darken(bx, by, box_w, box_h, 0.4);
        let bar_x = bx + pad + (box_w - 2 * pad - bar) / 2;
        let bar_y = by + box_h - pad - bar_h;
        self.fill(bar_x, bar_y, bar, bar_h, [255, 255, 255]);
        self.texts.push((
            label,
            ((bx + box_w / 2) as i32, (bar_y - 3) as i32),
            13.0,
            Pos::new(HPos::Center, VPos::Bottom),
            [255, 255, 255],
        ));
    }

    /// Draws a phase map with its top-left corner at (x0, y0), `s` pixels per cell (or, if
    /// `s` = 0, one pixel per `stride` cells), a frame and the title above.
    pub fn phase_map(&mut self, m: &PhaseMap, x0: usize, y0: usize, px_per_cell: f64) {
        let (w, h) = (
            (m.nx as f64 * px_per_cell).round() as usize,
            (m.ny as f64 * px_per_cell).round() as usize,
        );
        for py in 0..h {
            let j = m.ny
                - 1
                - ((py as f64 + 0.5) / px_per_cell)
                    .floor()
                    .min((m.ny - 1) as f64) as usize;
            for px in 0..w {
                let i = ((px as f64 + 0.5) / px_per_cell)
                    .floor()
                    .min((m.nx - 1) as f64) as usize;
                let k = j * m.nx + i;
                self.fill(x0 + px, y0 + py, 1, 1, cell_colour(m.xi[k], m.phi[k]));
            }
        }
        let (l, t) = (x0.saturating_sub(1), y0.saturating_sub(1));
        self.fill(l, t, w + 2, 1, FRAME_RGB);
        self.fill(l, y0 + h, w + 2, 1, FRAME_RGB);
        self.fill(l, t, 1, h + 2, FRAME_RGB);
        self.fill(x0 + w, t, 1, h + 2, FRAME_RGB);
        self.text(
            m.title.clone(),
            x0 + w / 2,
            y0.saturating_sub(12),
            15.0,
            true,
        );
    }

    /// The legend of the phase colours, starting at (x, y), one row of swatches.
    pub fn legend(&mut self, x: usize, y: usize) {
        for (n, (c, label)) in [
            (LI_RGB, "Li (ξ > ½)"),
            (cell_colour(0.25, 1.0), "Li below ½ in LLZO"),
            (cell_colour(0.25, 0.0), "Li below ½ in a pore"),
            (LLZO_RGB, "LLZO (ϕ > ½)"),
            (PORE_RGB, "pore"),
        ]
        .into_iter()
        .enumerate()
        {
            let xx = x + 175 * n;
            self.fill(xx, y, 16, 16, c);
            self.text(label, xx + 22, y + 8, 14.0, false);
        }
    }

    pub fn png(mut self) -> Result<Vec<u8>> {
        ensure_font()?;
        {
            let root = BitMapBackend::with_buffer(&mut self.buf, (self.w as u32, self.h as u32))
                .into_drawing_area();
            for (s, at, size, pos, rgb) in &self.texts {
                let colour = RGBColor(rgb[0], rgb[1], rgb[2]);
                let style = (FONT, *size).into_font().color(&colour).pos(*pos);
                root.draw_text(s, &style, *at)
                    .map_err(|e| anyhow!("cannot draw text: {e}"))?;
            }
            root.present()
                .map_err(|e| anyhow!("cannot draw text: {e}"))?;
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.w as u32, self.h as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr = enc.write_header().context("PNG header")?;
            wr.write_image_data(&self.buf).context("PNG data")?;
            wr.finish().context("PNG end")?;
        }
        Ok(out)
    }
}

/// Li below this ξ is not drawn.
pub const XI_VISIBLE: f64 = 0.01;

/// The colour of a cell: Li where ξ > ½; where XI_VISIBLE < ξ ≤ ½, the LLZO or pore colour
/// tinted towards Li by 25–75 % as ξ rises to ½, so that Li below the ½ threshold (in the
/// diffuse interface, or pressed into the electrolyte) stays visible; else LLZO (ϕ > ½) or pore.
pub fn cell_colour(xi: f64, phi: f64) -> [u8; 3] {
    if xi > 0.5 {
        return LI_RGB;
    }
    let bg = if phi > 0.5 { LLZO_RGB } else { PORE_RGB };
    if xi.is_nan() || xi <= XI_VISIBLE {
        return bg;
    }
    let w = 0.25 + xi;
    let mut c = [0u8; 3];
    for k in 0..3 {
        c[k] = (bg[k] as f64 + w * (LI_RGB[k] as f64 - bg[k] as f64)).round() as u8;
    }
    c
}

/// Pixels per cell so that the larger side of an `nx × ny` map is about `target` pixels.
pub fn scale_for(nx: usize, ny: usize, target: f64) -> f64 {
    (target / nx.max(ny).max(1) as f64).clamp(0.25, 16.0)
}

/// A grid of phase maps: one row per entry of `rows` (a label and its maps), written as PNG.
pub fn panel_png(title: &str, rows: &[(String, Vec<PhaseMap>)], map_px: f64) -> Result<Vec<u8>> {
    panel_png_with_scale_bars(title, rows, map_px, &[])
}

/// [`panel_png`] with a scale bar on every map of row r whose grid spacing `dx_um[r]` (µm) is
/// given and positive.
pub fn panel_png_with_scale_bars(
    title: &str,
    rows: &[(String, Vec<PhaseMap>)],
    map_px: f64,
    dx_um: &[f64],
) -> Result<Vec<u8>> {
    let (mut cols, mut mw, mut mh) = (1usize, 1usize, 1usize);
    for (_, maps) in rows {
        cols = cols.max(maps.len());
        for m in maps {
            let s = scale_for(m.nx, m.ny, map_px);
            mw = mw.max((m.nx as f64 * s).round() as usize);
            mh = mh.max((m.ny as f64 * s).round() as usize);
        }
    }
    // Each row of `rows` is a block: its label, then its maps side by side. Blocks are laid
    // out left to right, wrapping at about MAX_WIDTH pixels, so that narrow maps (one channel
    // period, say) sit side by side as in the source paper's Figure 5.
    const MAX_WIDTH: usize = 1800;
    let (margin, top, gap_x, gap_y, label_h, title_h) =
        (16usize, 80usize, 30usize, 40usize, 26usize, 22usize);
    let longest = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let block_w = (cols * (mw + gap_x)).max(9 * longest + gap_x);
    let block_h = label_h + title_h + mh + gap_y;
    let per_line = ((MAX_WIDTH - 2 * margin) / block_w).clamp(1, rows.len().max(1));
    let lines = rows.len().div_ceil(per_line);
    let w = 2 * margin + per_line * block_w;
    let h = top + lines * block_h + 20;
    let mut c = Canvas::new(w.max(900), h);
    c.text(title, 16, 22, 19.0, false);
    c.legend(16, 44);
    for (r, (label, maps)) in rows.iter().enumerate() {
        let bx = margin + (r % per_line) * block_w;
        let by = top + (r / per_line) * block_h;
        c.text(label.clone(), bx, by + label_h / 2, 16.0, false);
        let y0 = by + label_h + title_h;
        for (k, m) in maps.iter().enumerate() {
            let s = scale_for(m.nx, m.ny, map_px);
            let x0 = bx + k * (mw + gap_x);
            c.phase_map(m, x0, y0, s);
            if let Some(&dx) = dx_um.get(r) {
                if dx.is_finite() && dx > 0.0 {
                    let (pw, ph) = (
                        (m.nx as f64 * s).round() as usize,
                        (m.ny as f64 * s).round() as usize,
                    );
                    c.scale_bar(x0, y0, pw, ph, m.nx as f64 * dx);
                }
            }
        }
    }
    c.png()
}
