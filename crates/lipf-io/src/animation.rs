//! `morphology.gif`: an animated GIF of the phase map, one frame per snapshot.
//!
//! Each frame is the picture of `<stem>_phases.png` (Li blue, LLZO tan, pore black, with the
//! title, the legend and the scale bar) drawn in a fixed palette, shown for
//! [`FRAME_DELAY_CS`] hundredths of a second; the animation loops.
//!
//! The file on disk is the only state: [`append_morphology_frame`] reads it, drops the frames
//! of snapshots at or after the new one (those of a run that was interrupted and resumed from
//! an earlier checkpoint), adds the new frame and publishes the file again atomically. Memory
//! holds the compressed frames of the file and one picture, never all pictures; an interrupted
//! run leaves a valid GIF of the snapshots written so far, and a resumed run goes on appending.
//! Every frame carries a GIF comment `lipf snapshot step=S time_s=T` that records which
//! snapshot it shows ([`morphology_frames`] reads them back).

use crate::atomic::write_atomic;
use crate::images::{self, Rgb, PHASE_COLOURS, SCALE_BOX_SHADE};
use anyhow::{anyhow, bail, Context, Result};
use lipf_core::State;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Display time of one frame, 1/100 s.
pub const FRAME_DELAY_CS: u16 = 40;

const COMMENT_PREFIX: &str = "lipf snapshot ";

/// The animated phase map of a run, `morphology.gif` in the run folder: a handle on the file,
/// which holds all the state (see the module documentation).
#[derive(Debug, Clone)]
pub struct MorphologyAnimation {
    path: PathBuf,
}

impl MorphologyAnimation {
    /// The animation at `path` (created by the first [`append`](Self::append)).
    pub fn new(path: impl Into<PathBuf>) -> MorphologyAnimation {
        MorphologyAnimation { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the phase map of `state` as the next frame.
    pub fn append(&self, state: &State) -> Result<()> {
        append_morphology_frame(&self.path, state)
    }

    /// (step, time in s) of every frame, in order.
    pub fn frames(&self) -> Result<Vec<(u64, f64)>> {
        morphology_frames(&self.path)
    }
}

/// Appends the phase map of `state` to the animated GIF at `path` (created if missing). Frames
/// of snapshots at or after `state.step` are dropped first, as is a file of another picture
/// size or one that is not a GIF written here (it is replaced).
pub fn append_morphology_frame(path: &Path, state: &State) -> Result<()> {
    let (w, h, rgb) = images::phases_rgb(state)?;
    let (w16, h16) = (
        u16::try_from(w).map_err(|_| anyhow!("picture too wide for a GIF: {w} px"))?,
        u16::try_from(h).map_err(|_| anyhow!("picture too tall for a GIF: {h} px"))?,
    );
    let palette = palette();
    let indices = to_indices(&rgb, &palette);
    let flat: Vec<u8> = palette.iter().flatten().copied().collect();
    let comment = format!(
        "{COMMENT_PREFIX}step={} time_s={}",
        state.step,
        crate::csv::num(state.time_s)
    );
    let single = {
        let mut enc = gif::Encoder::new(Vec::new(), w16, h16, &flat)
            .map_err(|e| anyhow!("GIF encoder: {e}"))?;
        enc.set_repeat(gif::Repeat::Infinite)
            .map_err(|e| anyhow!("GIF encoder: {e}"))?;
        enc.write_raw_extension(gif::AnyExtension(0xFE), &[comment.as_bytes()])
            .map_err(|e| anyhow!("GIF encoder: {e}"))?;
        let mut frame = gif::Frame::from_indexed_pixels(w16, h16, indices, None);
        frame.delay = FRAME_DELAY_CS;
        enc.write_frame(&frame)
            .map_err(|e| anyhow!("GIF encoder: {e}"))?;
        enc.into_inner().map_err(|e| anyhow!("GIF encoder: {e}"))?
    };
    let new = parse(&single).context("GIF of one frame")?;
    let mut out = Vec::with_capacity(single.len());
    out.extend_from_slice(new.head);
    out.extend(new.app_extensions.iter().flat_map(|b| b.iter().copied()));
    if let Ok(old_bytes) = std::fs::read(path) {
        if let Ok(old) = parse(&old_bytes) {
            if old.head == new.head {
                for f in &old.frames {
                    if f.step.is_some_and(|s| s < state.step) {
                        out.extend_from_slice(&f.bytes);
                    }
                }
            }
        }
    }
    for f in &new.frames {
        out.extend_from_slice(&f.bytes);
    }
    out.push(0x3B);
    write_atomic(path, &out)
}

/// (step, time in s) of every frame of a GIF written by [`append_morphology_frame`], in order
/// (frames without the comment are listed as (0, NaN)).
pub fn morphology_frames(path: &Path) -> Result<Vec<(u64, f64)>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let g = parse(&bytes).with_context(|| format!("{} is not a readable GIF", path.display()))?;
    Ok(g.frames
        .iter()
        .map(|f| (f.step.unwrap_or(0), f.time_s.unwrap_or(f64::NAN)))
        .collect())
}

/// The fixed palette of the frames: white, the phase colours and the frame grey, the phase
/// colours under the scale bar's box, a ramp of greys for the text (32 entries in all).
fn palette() -> Vec<Rgb> {
    let mut p: Vec<Rgb> = vec![[255, 255, 255], [0, 0, 0]];
    p.extend(PHASE_COLOURS);
    for c in &PHASE_COLOURS[..3] {
        p.push(c.map(|v| (v as f64 * SCALE_BOX_SHADE).round() as u8));
    }
    for k in 1..=22u32 {
        let g = (k * 255 / 23) as u8;
        p.push([g, g, g]);
    }
    p.truncate(32);
    p
}

/// Palette index of every pixel: the nearest colour (squared RGB distance).
fn to_indices(rgb: &[u8], palette: &[Rgb]) -> Vec<u8> {
    let mut cache: HashMap<[u8; 3], u8> = HashMap::new();
    rgb.chunks_exact(3)
        .map(|p| {
            let c = [p[0], p[1], p[2]];
            *cache.entry(c).or_insert_with(|| {
                let d = |q: &Rgb| {
                    (0..3)
                        .map(|k| (c[k] as i32 - q[k] as i32).pow(2))
                        .sum::<i32>()
                };
                (0..palette.len())
                    .min_by_key(|&k| d(&palette[k]))
                    .unwrap_or(0) as u8
            })
        })
        .collect()
}

struct Frame {
    /// The frame's blocks: its comment, graphic control extension and image.
    bytes: Vec<u8>,
    step: Option<u64>,
    time_s: Option<f64>,
}

struct Parsed<'a> {
    /// Signature, logical screen descriptor and global colour table.
    head: &'a [u8],
    /// Application extensions (the loop count), each a complete block.
    app_extensions: Vec<&'a [u8]>,
    frames: Vec<Frame>,
}

/// Splits a GIF into its head, application extensions and frames (each frame: the extension
/// blocks before an image and the image).
fn parse(b: &[u8]) -> Result<Parsed<'_>> {
    if b.len() < 13 || !(b.starts_with(b"GIF89a") || b.starts_with(b"GIF87a")) {
        bail!("no GIF signature");
    }
    let flags = b[10];
    let mut pos = 13;
    if flags & 0x80 != 0 {
        pos += 3 << ((flags & 7) + 1);
    }
    if pos > b.len() {
        bail!("truncated colour table");
    }
    let head = &b[..pos];
    let sub_blocks = |mut p: usize| -> Result<usize> {
        loop {
            let n = *b.get(p).ok_or_else(|| anyhow!("truncated sub-block"))? as usize;
            p += 1 + n;
            if n == 0 {
                return Ok(p);
            }
        }
    };
    let mut app_extensions = Vec::new();
    let mut frames = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let (mut step, mut time_s) = (None, None);
    loop {
        match b.get(pos) {
            Some(0x3B) => break,
            Some(0x21) => {
                let label = *b
                    .get(pos + 1)
                    .ok_or_else(|| anyhow!("truncated extension"))?;
                let end = sub_blocks(pos + 2)?;
                let block = b
                    .get(pos..end)
                    .ok_or_else(|| anyhow!("truncated extension"))?;
                match label {
                    0xFF => app_extensions.push(block),
                    0xFE => {
                        let mut text = Vec::new();
                        let mut p = pos + 2;
                        while let Some(&n) = b.get(p) {
                            if n == 0 {
                                break;
                            }
                            text.extend_from_slice(b.get(p + 1..p + 1 + n as usize).unwrap_or(&[]));
                            p += 1 + n as usize;
                        }
                        let text = String::from_utf8_lossy(&text);
                        if let Some(rest) = text.strip_prefix(COMMENT_PREFIX) {
                            for kv in rest.split_whitespace() {
                                match kv.split_once('=') {
                                    Some(("step", v)) => step = v.parse().ok(),
                                    Some(("time_s", v)) => time_s = v.parse().ok(),
                                    _ => {}
                                }
                            }
                        }
                        pending.extend_from_slice(block);
                    }
                    _ => pending.extend_from_slice(block),
                }
                pos = end;
            }
            Some(0x2C) => {
                let f = *b.get(pos + 9).ok_or_else(|| anyhow!("truncated image"))?;
                let mut p = pos + 10;
                if f & 0x80 != 0 {
                    p += 3 << ((f & 7) + 1);
                }
                let end = sub_blocks(p + 1)?;
                pending.extend_from_slice(b.get(pos..end).ok_or_else(|| anyhow!("truncated"))?);
                frames.push(Frame {
                    bytes: std::mem::take(&mut pending),
                    step: step.take(),
                    time_s: time_s.take(),
                });
                pos = end;
            }
            Some(x) => bail!("unexpected GIF block 0x{x:02x} at byte {pos}"),
            None => bail!("GIF without its end"),
        }
    }
    Ok(Parsed {
        head,
        app_extensions,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(nx: usize, ny: usize, step: u64, li_rows: usize) -> State {
        let n = nx * ny;
        State {
            xi: (0..n)
                .map(|k| if k / nx < li_rows { 1.0 } else { 0.0 })
                .collect(),
            phi: (0..n)
                .map(|k| if (k % nx) < nx / 3 { 1.0 } else { 0.0 })
                .collect(),
            conc: vec![1.0; n],
            time_s: step as f64 * 0.5,
            step,
            ..State::zeros(lipf_core::Grid::new(nx, ny, 0.25e-6))
        }
    }

    #[test]
    fn frames_append_decode_and_resume_drops_later_frames() {
        let dir = std::env::temp_dir().join(format!("lipf-gif-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("morphology.gif");
        let anim = MorphologyAnimation::new(&path);
        for (k, step) in [0u64, 10, 20].into_iter().enumerate() {
            anim.append(&state(40, 30, step, 3 + 5 * k)).unwrap();
        }
        assert_eq!(
            anim.frames().unwrap(),
            vec![(0, 0.0), (10, 5.0), (20, 10.0)]
        );
        // A run resumed from the checkpoint at step 10 writes step 15 next.
        anim.append(&state(40, 30, 15, 9)).unwrap();
        assert_eq!(
            anim.frames()
                .unwrap()
                .iter()
                .map(|f| f.0)
                .collect::<Vec<_>>(),
            vec![0, 10, 15]
        );
        let mut d = gif::DecodeOptions::new();
        d.set_color_output(gif::ColorOutput::RGBA);
        let mut dec = d.read_info(std::fs::File::open(&path).unwrap()).unwrap();
        let mut n = 0;
        while dec.read_next_frame().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn palette_covers_the_phase_colours_exactly() {
        let p = palette();
        assert_eq!(p.len(), 32);
        let idx = to_indices(&PHASE_COLOURS.concat(), &p);
        for (k, c) in PHASE_COLOURS.iter().enumerate() {
            assert_eq!(p[idx[k] as usize], *c);
        }
    }
}
