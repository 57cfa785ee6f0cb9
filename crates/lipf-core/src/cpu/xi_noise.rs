//! Conserved Langevin noise on ξ (docs/models/phase-field.md §9.11). Twin:
//! `shaders/xi_noise.wgsl`.
//!
//! Every face of the grid moves A·√Δt·m_f·ζ_f of Li from one of its cells to the other in a
//! step: ζ_f has zero mean and unit variance, m_f = min(m_L, m_R) with m = 16ξ²s², s = (1 − cϕ − ξ)₊
//! the room a cell has left, confines the noise to interfaces where Li has room (m = 1 at ξ = ½
//! in a pore, 0 in the bulk phases and at a contact that the obstacle holds full: c = 1 with the
//! scaffold obstacle on, 0 without it, when s = 1 − ξ), and what one cell gives the other takes, so ∫ξ (the Li, and with it the charge balance) is unchanged to
//! rounding. This kernel writes the per-cell sum D = A Σ_f ±m_f ζ_f (s^-1/2); `xi_update` adds
//! √Δt D once the step's Δt is known.
//!
//! ζ_f comes from Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
//! as 1, 2, 3", SC '11, doi:10.1145/2063384.2063405), a counter-based generator: the number of
//! face f in step n is a pure function of (seed, n, f), the same on the CPU and in WGSL, in any
//! thread layout, and after a resume. The top 24 bits of its first output word give a uniform
//! variate on a grid of 2^24 points, exact in f32 and f64 alike, scaled to unit variance:
//! ζ = (⌊x / 2^8⌋ − 2^23)·√12 / 2^24.

use super::par::for_rows;

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;
/// The fourth counter word of the noise ("nois"): keeps its stream apart from any other use of
/// the generator with the same seed.
pub const NOISE_STREAM: u32 = 0x6E6F_6973;
/// √12 / 2^24: a uniform variate on 2^24 points centred on 0, times this, has unit variance.
pub const ZETA_SCALE: f64 = 3.464_101_615_137_754_6 / 16_777_216.0;

fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32-10 of `counter` under `key`.
pub fn philox4x32(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// ζ of face `face` in step `step` (zero mean, unit variance, uniform on 2^24 points).
pub fn zeta(seed: u64, step: u64, face: u32) -> f64 {
    let x = philox4x32(
        [face, step as u32, (step >> 32) as u32, NOISE_STREAM],
        [seed as u32, (seed >> 32) as u32],
    )[0];
    ((x >> 8) as i32 - (1 << 23)) as f64 * ZETA_SCALE
}

/// m = 16ξ²s² with s = (1 − cϕ − ξ)₊ the room left, ξ clamped to [0, 1]; `room_phi` is c (1 with
/// the scaffold obstacle, 0 without). At ϕ = 0, or with c = 0, it is 16ξ²(1−ξ)²: 1 at ξ = ½, 0 in
/// the bulk phases. Where Li fills the room the scaffold leaves (ξ = 1 − ϕ) it is 0, so the noise
/// moves no Li into a cell without room.
pub fn interface_weight(xi: f64, phi: f64, room_phi: f64) -> f64 {
    let x = xi.clamp(0.0, 1.0);
    let s = (1.0 - room_phi * phi - x).max(0.0);
    let q = 4.0 * x * s;
    q * q
}

/// D = A Σ_f ±m_f ζ_f per cell for step `step` on a grid of shape [nx, ny, nz]. Faces: the east
/// face of cell k = (i, j, kz) is face 2k (periodic in x: the east face of the last column joins
/// it to the first), its north face 2k + 1 (none through the top and bottom boundaries), and when
/// nz > 1 its front face 2n + k (n cells; periodic in z). A face moves m_f ζ_f from its west,
/// south or back cell to its east, north or front cell.
#[allow(clippy::too_many_arguments)]
pub fn xi_noise(
    [nx, ny, nz]: [usize; 3],
    amplitude_per_sqrt_s: f64,
    room_phi: f64,
    seed: u64,
    step: u64,
    xi: &[f64],
    phi: &[f64],
    out: &mut [f64],
) {
    let n = nx * ny * nz;
    let m = |k: usize| interface_weight(xi[k], phi[k], room_phi);
    let east = |i: usize| if i + 1 == nx { 0 } else { i + 1 };
    let west = |i: usize| if i == 0 { nx - 1 } else { i - 1 };
    // What the east face of cell i of row r moves from it to its east neighbour.
    let fx = |i: usize, r: usize| {
        let (k, ke) = (r * nx + i, r * nx + east(i));
        m(k).min(m(ke)) * zeta(seed, step, 2 * k as u32)
    };
    // What the north face of cell i of row r moves from it to the cell above.
    let fy = |i: usize, r: usize| {
        if r % ny + 1 >= ny {
            return 0.0;
        }
        let (k, kn) = (r * nx + i, (r + 1) * nx + i);
        m(k).min(m(kn)) * zeta(seed, step, 2 * k as u32 + 1)
    };
    // What the front face of cell k moves from it to the cell in front (nz > 1).
    let fz = |k: usize| {
        let front = (k + nx * ny) % n;
        m(k).min(m(front)) * zeta(seed, step, (2 * n + k) as u32)
    };
    for_rows(&mut out[..n], nx, |r, row| {
        for (i, d) in row.iter_mut().enumerate() {
            let south = if r % ny > 0 { fy(i, r - 1) } else { 0.0 };
            let mut flux = fx(west(i), r) - fx(i, r) + south - fy(i, r);
            if nz > 1 {
                let k = r * nx + i;
                flux += fz((k + n - nx * ny) % n) - fz(k);
            }
            *d = amplitude_per_sqrt_s * flux;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors of Philox4x32-10 (Random123's kat_vectors).
    #[test]
    fn philox_matches_the_published_known_answers() {
        assert_eq!(
            philox4x32([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn zeta_has_zero_mean_and_unit_variance() {
        let n = 200_000u32;
        let (mut s, mut s2) = (0.0, 0.0);
        for f in 0..n {
            let z = zeta(7, 3, f);
            assert!(z.abs() <= 3f64.sqrt());
            s += z;
            s2 += z * z;
        }
        let (mean, var) = (s / n as f64, s2 / n as f64);
        // Standard errors: 1/√n = 2.2e-3 for the mean, √(0.8/n) = 2e-3 for the variance of a
        // uniform variate; bounds at 5 of them.
        assert!(mean.abs() < 0.011, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
    }

    #[test]
    fn in_3d_the_noise_moves_li_across_the_z_faces_too_and_creates_none() {
        let shape = [9, 7, 5];
        let n = 9 * 7 * 5;
        // ξ varies along x and z, away from 0 and 1: every face carries noise.
        let xi: Vec<f64> = (0..n)
            .map(|k| 0.5 + 0.4 * ((k / 63) as f64 * 1.3 + (k % 9) as f64 * 0.2).sin())
            .collect();
        let phi = vec![0.0; n];
        let mut d = vec![0.0; n];
        xi_noise(shape, 0.3, 1.0, 11, 5, &xi, &phi, &mut d);
        let sum: f64 = d.iter().sum();
        let size: f64 = d.iter().map(|v| v.abs()).sum();
        assert!(size > 1.0, "the noise does something ({size})");
        assert!(sum.abs() < 1e-14 * size, "Σ D = {sum:e} of Σ|D| = {size:e}");
        // The z faces take part: one section alone does not conserve.
        let section: f64 = d[..63].iter().sum();
        assert!(
            section.abs() > 1e-3 * size,
            "Σ D over section 0 = {section:e}"
        );
        // Reproducible for a seed and step.
        let mut again = vec![0.0; n];
        xi_noise(shape, 0.3, 1.0, 11, 5, &xi, &phi, &mut again);
        assert_eq!(d, again);
    }

    #[test]
    fn the_noise_moves_li_between_cells_and_creates_none() {
        let (nx, ny) = (23, 17);
        let xi: Vec<f64> = (0..nx * ny)
            .map(|k| 0.5 + 0.45 * ((k as f64) * 0.37).sin())
            .collect();
        let phi = vec![0.0; nx * ny];
        let mut d = vec![0.0; nx * ny];
        xi_noise([nx, ny, 1], 0.3, 1.0, 11, 5, &xi, &phi, &mut d);
        let sum: f64 = d.iter().sum();
        let size: f64 = d.iter().map(|v| v.abs()).sum();
        assert!(size > 1.0, "the noise does something ({size})");
        assert!(sum.abs() < 1e-14 * size, "Σ D = {sum:e} of Σ|D| = {size:e}");
        // Reproducible, and another step or seed gives other numbers.
        let mut again = vec![0.0; nx * ny];
        xi_noise([nx, ny, 1], 0.3, 1.0, 11, 5, &xi, &phi, &mut again);
        assert_eq!(d, again);
        xi_noise([nx, ny, 1], 0.3, 1.0, 11, 6, &xi, &phi, &mut again);
        assert_ne!(d, again);
        xi_noise([nx, ny, 1], 0.3, 1.0, 12, 5, &xi, &phi, &mut again);
        assert_ne!(d, again);
        // Nothing in the bulk phases.
        let bulk = vec![1.0; nx * ny];
        xi_noise([nx, ny, 1], 0.3, 1.0, 11, 5, &bulk, &phi, &mut again);
        assert!(again.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn the_noise_moves_no_li_into_cells_without_room() {
        // A Li/scaffold contact: ξ = 1 − ϕ in every cell, ϕ rising through the interface. With
        // the obstacle's room (c = 1) no cell has room and nothing moves; without it (c = 0) the
        // weight is 16ξ²(1−ξ)² and the same field is noisy.
        let (nx, ny) = (8, 16);
        let phi: Vec<f64> = (0..nx * ny)
            .map(|k| (((k / nx) as f64 - 7.5) / 2.0).tanh() * 0.5 + 0.5)
            .collect();
        let xi: Vec<f64> = phi.iter().map(|p| 1.0 - p).collect();
        let mut d = vec![1.0; nx * ny];
        xi_noise([nx, ny, 1], 0.3, 1.0, 3, 1, &xi, &phi, &mut d);
        assert!(d.iter().all(|&v| v == 0.0), "{d:?}");
        xi_noise([nx, ny, 1], 0.3, 0.0, 3, 1, &xi, &phi, &mut d);
        assert!(d.iter().any(|&v| v.abs() > 1e-2));
        // In a pore (ϕ = 0) the weight is the room-free one whatever c.
        for x in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let q = 4.0 * x * (1.0 - x);
            assert_eq!(interface_weight(x, 0.0, 1.0), q * q);
            assert_eq!(interface_weight(x, 0.7, 0.0), q * q);
        }
        // Half the room taken by the scaffold: the weight peaks at ξ = ¼ with (1 − ϕ)⁴.
        assert!((interface_weight(0.25, 0.5, 1.0) - 0.0625).abs() < 1e-15);
        assert_eq!(interface_weight(0.5, 0.5, 1.0), 0.0);
    }
}
