//! Memory estimates and the memory budget: a structure is refused before anything large is
//! allocated when the network and the solver would need more memory than the budget allows.
//!
//! The estimate follows the allocations of [`crate::Network::build`] and of one frequency of
//! the sweep, per voxel: the structure (1 B), the bond list (about 3 bonds of 80 B), the
//! position table (3 × 32 B), the sparsity pattern (about 7 entries of 8 B, built through
//! per-node lists of about 100 B), the bond admittances and matrix values (about 160 B of
//! complex numbers) and the solver's vectors (16 B each: 6 for COCG, 8 for COCR). The sparse
//! LU adds its fill: with the band-like orderings of voxel grids, L and U hold about
//! 2·n·w entries of 24 B, w the product of the two smallest dimensions (the width of a layer
//! of the grid). Input files add what their reading needs.

use std::fmt;

/// Bytes in one GiB.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Default of `--max-memory-gib`.
pub const DEFAULT_MAX_MEMORY_GIB: f64 = 16.0;

/// Which solver the memory estimate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolverMemory {
    /// The sparse LU (fill grows with the layer width of the grid).
    DirectLu,
    /// COCG on the CPU.
    Cocg,
    /// COCR on the CPU (two more vectors than COCG).
    Cocr,
    /// COCG on the GPU: the host keeps the network and its device layout.
    Gpu,
}

/// Estimated peak memory, bytes, of building the network of an nx × ny × nz structure and
/// solving it at one frequency with `solver`. Computed in floating point, so that absurd sizes
/// give a huge number instead of an overflow.
pub fn network_memory_bytes(nx: usize, ny: usize, nz: usize, solver: SolverMemory) -> f64 {
    let n = nx as f64 * ny as f64 * nz as f64;
    // Building: structure, union-find and node tables, bonds, per-node pattern lists, pattern,
    // positions.
    let build = n * (1.0 + 13.0 + 240.0 + 104.0 + 64.0 + 96.0);
    // Kept after building (structure, bonds, positions, pattern, node table) plus one
    // frequency: admittances, values, right-hand side, solution, solver vectors.
    let kept = n * (1.0 + 240.0 + 96.0 + 64.0 + 4.0);
    let vectors = match solver {
        SolverMemory::DirectLu => 2.0,
        SolverMemory::Cocg => 6.0,
        SolverMemory::Cocr => 8.0,
        // Host copies of the vectors and the device layout of bonds and nodes.
        SolverMemory::Gpu => 6.0 + 12.0,
    };
    let solve = n * (48.0 + 112.0 + 16.0 + 16.0 + 16.0 * vectors);
    let fill = match solver {
        SolverMemory::DirectLu => {
            let mut d = [nx as f64, ny as f64, nz as f64];
            d.sort_by(f64::total_cmp);
            let width = (d[0] * d[1]).min(n);
            2.0 * n * width * 24.0
        }
        _ => 0.0,
    };
    build.max(kept + solve + fill)
}

/// The memory a command may use: the smaller of the configured maximum (`--max-memory-gib`)
/// and the available memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryBudget {
    /// The configured maximum, GiB.
    pub max_gib: f64,
    /// Available memory (MemAvailable), bytes, when known.
    pub available_bytes: Option<u64>,
}

impl MemoryBudget {
    /// A budget of at most `max_gib` GiB and the available memory of this machine.
    pub fn new(max_gib: f64) -> Result<MemoryBudget, String> {
        MemoryBudget::with_available(
            max_gib,
            lipf_io::memory::available_bytes().map(|b| b as u64),
        )
    }

    /// A budget of at most `max_gib` GiB and `available_bytes` (None: unknown).
    pub fn with_available(
        max_gib: f64,
        available_bytes: Option<u64>,
    ) -> Result<MemoryBudget, String> {
        if !(max_gib.is_finite() && max_gib > 0.0) {
            return Err(format!(
                "`--max-memory-gib` = {max_gib}: must be a finite number of GiB > 0"
            ));
        }
        Ok(MemoryBudget {
            max_gib,
            available_bytes,
        })
    }

    /// The budget, bytes.
    pub fn bytes(&self) -> f64 {
        let max = self.max_gib * GIB;
        match self.available_bytes {
            Some(a) => max.min(a as f64),
            None => max,
        }
    }

    /// Whether the available memory, not the configured maximum, sets the budget.
    pub fn limited_by_available(&self) -> bool {
        self.available_bytes
            .is_some_and(|a| (a as f64) < self.max_gib * GIB)
    }

    /// Ok when `bytes` (an estimate for `what`) fits the budget; otherwise an error with the
    /// estimate, the budget and how to raise it.
    pub fn check(&self, what: &str, bytes: f64) -> Result<(), String> {
        if bytes <= self.bytes() {
            return Ok(());
        }
        let how = if self.limited_by_available() {
            "the budget is the memory available on this machine (MemAvailable in /proc/meminfo): \
             free memory or use a smaller structure"
                .to_string()
        } else {
            format!(
                "use a smaller structure (or a solver that needs less memory), or raise the \
                 limit with `--max-memory-gib` (now {})",
                self.max_gib
            )
        };
        Err(format!(
            "{what} needs about {} of memory (estimate), more than the budget of {} ({self}); {how}",
            fmt_gib(bytes),
            fmt_gib(self.bytes()),
        ))
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the smaller of --max-memory-gib {}", self.max_gib)?;
        match self.available_bytes {
            Some(a) => write!(f, " and {} available", fmt_gib(a as f64)),
            None => write!(f, "; available memory unknown"),
        }
    }
}

/// A byte count in GiB, readable for tiny and absurd sizes alike.
pub fn fmt_gib(bytes: f64) -> String {
    let g = bytes / GIB;
    if g >= 1e6 {
        format!("{g:.2e} GiB")
    } else if g >= 10.0 {
        format!("{g:.0} GiB")
    } else {
        format!("{g:.2} GiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_structure_of_1000_cubed_voxels_is_refused_with_estimate_budget_and_remedy() {
        let b = MemoryBudget::with_available(16.0, None).unwrap();
        let need = network_memory_bytes(1000, 1000, 1000, SolverMemory::Cocg);
        let e = b
            .check("the network of 1000 × 1000 × 1000 voxels", need)
            .unwrap_err();
        assert!(
            e.contains("1000 × 1000 × 1000") && e.contains("GiB") && e.contains("16"),
            "{e}"
        );
        assert!(e.contains("--max-memory-gib"), "{e}");
        // The default structure (50³) fits easily.
        let small = network_memory_bytes(50, 50, 50, SolverMemory::Cocg);
        assert!(small < 0.5 * GIB, "{small}");
        assert!(b.check("50³", small).is_ok());
    }

    #[test]
    fn available_memory_caps_the_budget_and_the_message_says_so() {
        let b = MemoryBudget::with_available(16.0, Some(1 << 30)).unwrap();
        assert_eq!(b.bytes(), GIB);
        let e = b.check("x", 2.0 * GIB).unwrap_err();
        assert!(e.contains("MemAvailable") && e.contains("1.00 GiB"), "{e}");
        assert!(MemoryBudget::with_available(f64::NAN, None).is_err());
        assert!(MemoryBudget::with_available(0.0, None).is_err());
        assert!(MemoryBudget::with_available(-1.0, None).is_err());
    }

    #[test]
    fn direct_solver_estimate_grows_faster_than_the_krylov_one() {
        let k = network_memory_bytes(30, 30, 30, SolverMemory::Cocg);
        let d = network_memory_bytes(30, 30, 30, SolverMemory::DirectLu);
        assert!(d > 10.0 * k, "{d} vs {k}");
        // Absurd header sizes do not overflow.
        let huge = network_memory_bytes(usize::MAX, usize::MAX, 2, SolverMemory::Cocg);
        assert!(huge.is_finite() || huge.is_infinite());
        assert!(MemoryBudget::with_available(16.0, None)
            .unwrap()
            .check("huge", huge)
            .is_err());
    }
}
