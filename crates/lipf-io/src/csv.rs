//! `timeseries.csv`: the scalar observables of a run, one row per sample.
//!
//! Columns (units in the names): `time_s, step, current_density_a_m2, cell_voltage_v,
//! li_amount_mol_m2, charge_c_m2, li_in_electrolyte_mol_m2, solver_iterations,
//! leakage_current_density_a_m2`. Numbers are written in
//! the shortest form that parses back to the identical f64 (plain decimals for ordinary
//! magnitudes, `1.5e-9` style otherwise), so the file is exact and readable by any CSV reader.

use lipf_core::observables::Scalars;
use std::fmt::Write;

/// The header line (without newline).
pub const HEADER: &str = "time_s,step,current_density_a_m2,cell_voltage_v,li_amount_mol_m2,\
                          charge_c_m2,li_in_electrolyte_mol_m2,solver_iterations,\
                          leakage_current_density_a_m2";

/// The whole CSV text: header and one line per row, each terminated by `\n`.
pub fn timeseries_csv(rows: &[Scalars]) -> String {
    let mut s = String::with_capacity(64 * (rows.len() + 1));
    s.push_str(HEADER);
    s.push('\n');
    for r in rows {
        push_row(&mut s, r);
    }
    s
}

/// One data line (with trailing newline), for writers that append as they go.
pub fn timeseries_csv_row(row: &Scalars) -> String {
    let mut s = String::with_capacity(128);
    push_row(&mut s, row);
    s
}

fn push_row(s: &mut String, r: &Scalars) {
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "{},{},{},{},{},{},{},{},{}",
        num(r.time_s),
        r.step,
        num(r.current_density_a_m2),
        num(r.cell_voltage_v),
        num(r.li_amount_mol_m2),
        num(r.charge_c_m2),
        num(r.li_in_electrolyte_mol_m2),
        r.solver_iterations,
        num(r.leakage_current_density_a_m2)
    );
}

/// Shortest round-trip representation: plain decimal for 1e-4 ≤ |v| < 1e15 (and 0), otherwise
/// scientific. Non-finite values are written as `nan`, `inf`, `-inf`.
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_stay_short() {
        for v in [
            0.0,
            1.0,
            -2.5,
            1e-20,
            3.3e-5,
            123456.789,
            1e300,
            -7.5e-310,
            0.1 + 0.2,
        ] {
            let s = num(v);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
        }
        assert_eq!(num(100.0), "100");
        assert_eq!(num(1e-20), "1e-20");
        assert_eq!(num(f64::NAN), "nan");
    }

    #[test]
    fn csv_has_header_and_one_line_per_row() {
        let rows = [
            Scalars {
                time_s: 0.5,
                step: 3,
                current_density_a_m2: 2.0,
                cell_voltage_v: -0.0125,
                li_amount_mol_m2: 0.1538,
                charge_c_m2: 1.0,
                li_in_electrolyte_mol_m2: 0.0,
                leakage_current_density_a_m2: 0.0,
                solver_iterations: 12,
            },
            Scalars::default(),
        ];
        let text = timeseries_csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[1], "0.5,3,2,-0.0125,0.1538,1,0,12,0");
        assert_eq!(lines[2], "0,0,0,0,0,0,0,0,0");
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
        assert_eq!(timeseries_csv_row(&rows[0]), format!("{}\n", lines[1]));
    }
}
