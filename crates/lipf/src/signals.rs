//! SIGINT (Ctrl-C) and SIGTERM (what a batch scheduler sends at the time limit or on cancel):
//! the first one raises the stop flag, so the run finishes its step, writes a checkpoint and a
//! summary, and the process then exits with 128 + the signal number (130, 143), as shells and
//! schedulers expect of an interrupted job. A second signal exits at once.

use lipf_core::StopFlag;
use std::sync::atomic::{AtomicI32, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Installs the handlers (once per process; later calls only add `stop` to the flags raised).
/// Returns an error where signals cannot be handled.
pub fn install(stop: StopFlag) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("lipf-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if RECEIVED.swap(sig, Ordering::SeqCst) != 0 {
                        eprintln!("\nsecond signal: exiting without a checkpoint");
                        std::process::exit(128 + sig);
                    }
                    let name = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" };
                    eprintln!("\n{name}: finishing the current step and writing a checkpoint…");
                    stop.stop();
                }
            })?;
    }
    #[cfg(not(unix))]
    let _ = stop;
    Ok(())
}

/// The signal that stopped the run, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit status of a process stopped by `signal` (128 + its number).
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}
