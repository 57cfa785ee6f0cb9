//! Segmented scaffold images (PNG): one pixel per scaffold voxel of a section, pores and LLZO
//! told apart by their grey value (threshold 128). Any PNG colour type and bit depth is
//! accepted; colour is reduced to luma (Rec. 601). Row 0 of a [`Mask`] is the top of the image.
//! A 3D scaffold is a stack of such sections: a folder of PNG slices ([`read_stack`]), one x–y
//! section per z, in the order of their file names.

use std::path::Path;

/// A binary image: `width × height`, row-major from the top row; true = pore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    pub pore: Vec<bool>,
}

impl Mask {
    /// Pixel (column x, row y from the top).
    pub fn at(&self, x: usize, y: usize) -> bool {
        self.pore[y * self.width + x]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a readable PNG: {message}")]
    Decode { path: String, message: String },
    #[error("{path} is empty (0 pixels)")]
    Empty { path: String },
    #[error(
        "{path} claims {width} × {height} pixels; at most {MAX_IMAGE_PIXELS} pixels (and \
         {MAX_IMAGE_SIDE} per side) are read"
    )]
    TooLarge {
        path: String,
        width: u32,
        height: u32,
    },
}

/// Largest image side read, pixels (the largest grid has 65536 cells per side).
pub const MAX_IMAGE_SIDE: u32 = 65536;
/// Largest image read, pixels (checked from the header, before anything is allocated).
pub const MAX_IMAGE_PIXELS: u64 = 1 << 28;

/// Reads a segmented PNG; `pores_are_dark` selects which side of the threshold is pore.
pub fn read_mask(path: &Path, pores_are_dark: bool) -> Result<Mask, ImageError> {
    let bytes = std::fs::read(path).map_err(|source| ImageError::Io {
        path: path.display().to_string(),
        source,
    })?;
    decode_mask(&bytes, pores_are_dark).map_err(|e| match e {
        ImageError::Decode { message, .. } => ImageError::Decode {
            path: path.display().to_string(),
            message,
        },
        ImageError::Empty { .. } => ImageError::Empty {
            path: path.display().to_string(),
        },
        ImageError::TooLarge { width, height, .. } => ImageError::TooLarge {
            path: path.display().to_string(),
            width,
            height,
        },
        other => other,
    })
}

/// Most slices read from a folder (the largest grid has 65536 cells along z).
pub const MAX_STACK_SLICES: usize = 65536;

/// The slices of a scaffold image: the PNG itself, or every `*.png` in a folder in the order of
/// their file names (a stack of x–y sections along z, all of one size).
pub fn read_stack(path: &Path, pores_are_dark: bool) -> Result<Vec<Mask>, ImageError> {
    if !path.is_dir() {
        return Ok(vec![read_mask(path, pores_are_dark)?]);
    }
    let io = |source| ImageError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| x.eq_ignore_ascii_case("png"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ImageError::Empty {
            path: format!("{} (a folder without PNG slices)", path.display()),
        });
    }
    if files.len() > MAX_STACK_SLICES {
        return Err(ImageError::Decode {
            path: path.display().to_string(),
            message: format!(
                "{} slices; at most {MAX_STACK_SLICES} are read",
                files.len()
            ),
        });
    }
    let mut slices: Vec<Mask> = Vec::with_capacity(files.len());
    for f in &files {
        let m = read_mask(f, pores_are_dark)?;
        if let Some(first) = slices.first() {
            if (m.width, m.height) != (first.width, first.height) {
                return Err(ImageError::Decode {
                    path: f.display().to_string(),
                    message: format!(
                        "a slice of {} × {} pixels in a stack of {} × {} (every slice of a \
                         stack has one size)",
                        m.width, m.height, first.width, first.height
                    ),
                });
            }
        }
        slices.push(m);
    }
    Ok(slices)
}

/// Decodes PNG bytes into a mask.
pub fn decode_mask(bytes: &[u8], pores_are_dark: bool) -> Result<Mask, ImageError> {
    let err = |e: png::DecodingError| ImageError::Decode {
        path: String::new(),
        message: e.to_string(),
    };
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(err)?;
    let (hw, hh) = (reader.info().width, reader.info().height);
    if hw > MAX_IMAGE_SIDE || hh > MAX_IMAGE_SIDE || hw as u64 * hh as u64 > MAX_IMAGE_PIXELS {
        return Err(ImageError::TooLarge {
            path: String::new(),
            width: hw,
            height: hh,
        });
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(err)?;
    let (w, h) = (info.width as usize, info.height as usize);
    if w == 0 || h == 0 {
        return Err(ImageError::Empty {
            path: String::new(),
        });
    }
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => 3, // expanded to RGB by the transformation
    };
    let mut pore = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * info.line_size..y * info.line_size + w * channels];
        for x in 0..w {
            let p = &row[x * channels..(x + 1) * channels];
            let luma = if channels >= 3 {
                0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
            } else {
                p[0] as f64
            };
            let dark = luma < 128.0;
            pore.push(dark == pores_are_dark);
        }
    }
    Ok(Mask {
        width: w,
        height: h,
        pore,
    })
}

/// Encodes a mask as an 8-bit grey PNG: pores black (0), LLZO white (255), top row first.
pub fn encode_mask_png(mask: &Mask) -> Vec<u8> {
    let data: Vec<u8> = mask.pore.iter().map(|&p| if p { 0 } else { 255 }).collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, mask.width as u32, mask.height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("PNG header into memory");
        w.write_image_data(&data).expect("PNG data into memory");
        w.finish().expect("PNG end into memory");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    /// A PNG of a signature, an IHDR claiming `w × h` grey pixels, an empty IDAT and IEND.
    fn header_only_png(w: u32, h: u32) -> Vec<u8> {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        let mut chunk = |kind: &[u8; 4], data: &[u8]| {
            v.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            v.extend_from_slice(&body);
            v.extend_from_slice(&crc32(&body).to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        // An empty zlib stream: the decoder reaches the pixel data, which is missing.
        chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(b"IEND", &[]);
        v
    }

    #[test]
    fn an_image_claiming_a_huge_size_is_refused_from_its_header() {
        let bytes = header_only_png(100_000, 100_000);
        assert!(bytes.len() < 100, "{} bytes", bytes.len());
        match decode_mask(&bytes, true) {
            Err(ImageError::TooLarge { width, height, .. }) => {
                assert_eq!((width, height), (100_000, 100_000))
            }
            other => panic!("{other:?}"),
        }
        // Within the limits, the missing pixel data is a decode error, not an abort.
        assert!(matches!(
            decode_mask(&header_only_png(64, 64), true),
            Err(ImageError::Decode { .. })
        ));
    }

    #[test]
    fn mask_png_round_trips() {
        let mask = Mask {
            width: 7,
            height: 5,
            pore: (0..35).map(|k| (k * 13) % 5 < 2).collect(),
        };
        let png = encode_mask_png(&mask);
        assert_eq!(decode_mask(&png, true).unwrap(), mask);
        let inverted = decode_mask(&png, false).unwrap();
        assert!(inverted.pore.iter().zip(&mask.pore).all(|(a, b)| a != b));
    }
}
