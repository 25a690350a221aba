//! Protection against differencing (complementary suppression).
//!
//! SPEC.md section 4 suppresses a segment with fewer than `k` eligible
//! licensees. That alone can be undone by subtraction: the whole
//! organisation's figures minus every shown region's figures are the
//! figures of the one suppressed region. uptake's servers and reports
//! therefore apply one more rule:
//!
//! > Within every group of segments that differ in one dimension only (the
//! > segments that add up to one segment of the coarser table, e.g. all
//! > departments of one region in one week, or all regions in one week),
//! > either no segment with eligible licensees is suppressed, or **at least
//! > two are and together they hold at least `k`** eligible licensees.
//! > Otherwise the smallest shown segment of the group is suppressed as
//! > well, and the rule is checked again until it holds in every group.
//!
//! Subtracting shown segments from a shown total then yields the sum of at
//! least two suppressed segments holding at least `k` licensees, never one
//! segment's figures. Segments without eligible licensees hide nothing and
//! need no partner. This is the usual "no lone suppressed cell in a row or
//! column" rule of statistical offices. Its known limit: in tables of two or
//! more dimensions, solving several groups' equations together can in rare
//! patterns still pin down a cell; it is not a full linear-programming
//! audit.
//!
//! Filters (`region=`, `department=`, `wave=`) take part as dimensions:
//! a filtered table is protected as the slice of the table broken down by
//! the filter's dimensions too, so filtered and unfiltered answers cannot be
//! subtracted either. A viewer's scope is their whole organisation: the
//! rule holds within it.

use std::collections::BTreeMap;

use crate::model::Week;

use super::{Dimension, Filter, Request};

/// How the segments of a computed table map onto the table asked for.
#[derive(Debug, Clone)]
pub struct View {
    /// Positions of the asked dimensions among the computed ones.
    asked: Vec<usize>,
    /// Positions and values of the filter's dimensions.
    fixed: Vec<(usize, String)>,
}

impl View {
    /// Whether a computed segment belongs to the asked table.
    pub fn keeps(&self, segment: &[String]) -> bool {
        self.fixed.iter().all(|(i, v)| segment.get(*i) == Some(v))
    }

    /// The asked dimensions' values of a computed segment.
    pub fn project(&self, segment: &[String]) -> Vec<String> {
        self.asked.iter().map(|&i| segment[i].clone()).collect()
    }
}

/// The request to compute for a protected one: the filter's dimensions are
/// added to the asked ones and the filter is lifted (the scope stays). An
/// unprotected request is computed as it is.
pub fn widen(request: &Request) -> (Request, Option<View>) {
    if !request.protected {
        return (request.clone(), None);
    }
    let mut dims = request.dims.clone();
    let mut fixed = Vec::new();
    let Filter {
        region,
        department,
        wave,
    } = &request.filter;
    for (d, value) in [
        (Dimension::Region, region),
        (Dimension::Department, department),
        (Dimension::Wave, wave),
    ] {
        if let Some(v) = value {
            let at = match dims.iter().position(|x| *x == d) {
                Some(i) => i,
                None => {
                    dims.push(d);
                    dims.len() - 1
                }
            };
            fixed.push((at, v.clone()));
        }
    }
    let view = View {
        asked: (0..request.dims.len()).collect(),
        fixed,
    };
    let wide = Request {
        dims,
        filter: Filter::default(),
        ..request.clone()
    };
    (wide, Some(view))
}

/// The cells of a computed table: (week, segment) with its eligible
/// licensees and whether it is suppressed.
pub type Cells = BTreeMap<(Week, Vec<String>), (i64, bool)>;

/// Applies [`complementary`] to distinct cells.
pub fn protect_cells(cells: &mut Cells, k: i64) {
    let keyed: Vec<(Week, &[String], i64)> = cells
        .iter()
        .map(|((w, s), (n, _))| (*w, s.as_slice(), *n))
        .collect();
    let mut suppressed: Vec<bool> = cells.values().map(|(_, s)| *s).collect();
    complementary(&keyed, k, &mut suppressed);
    for ((_, cell), s) in cells.iter_mut().zip(suppressed) {
        cell.1 = s;
    }
}

/// Marks further cells suppressed until the rule of this module holds.
/// `cells` are (week, segment values, eligible); `suppressed` holds the
/// cells' primary suppression on entry.
pub fn complementary(cells: &[(Week, &[String], i64)], k: i64, suppressed: &mut [bool]) {
    let dims = cells.first().map_or(0, |c| c.1.len());
    if dims == 0 || k <= 1 {
        return;
    }
    loop {
        let mut changed = false;
        for d in 0..dims {
            let mut groups: BTreeMap<(Week, Vec<&str>), Vec<usize>> = BTreeMap::new();
            for (i, (week, segment, _)) in cells.iter().enumerate() {
                let parent = segment
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != d)
                    .map(|(_, v)| v.as_str())
                    .collect();
                groups.entry((*week, parent)).or_default().push(i);
            }
            for members in groups.values() {
                let hidden: Vec<i64> = members
                    .iter()
                    .filter(|&&i| suppressed[i] && cells[i].2 > 0)
                    .map(|&i| cells[i].2)
                    .collect();
                if hidden.is_empty() || (hidden.len() >= 2 && hidden.iter().sum::<i64>() >= k) {
                    continue;
                }
                let smallest = members
                    .iter()
                    .copied()
                    .filter(|&i| !suppressed[i] && cells[i].2 > 0)
                    .min_by(|&a, &b| (cells[a].2, cells[a].1).cmp(&(cells[b].2, cells[b].1)));
                if let Some(i) = smallest {
                    suppressed[i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cells: &[(&[&str], i64)], k: i64) -> Vec<bool> {
        let week: Week = "2027-W01".parse().expect("week");
        let segments: Vec<Vec<String>> = cells
            .iter()
            .map(|(s, _)| s.iter().map(|v| v.to_string()).collect())
            .collect();
        let input: Vec<(Week, &[String], i64)> = cells
            .iter()
            .zip(&segments)
            .map(|((_, n), s)| (week, s.as_slice(), *n))
            .collect();
        let mut suppressed: Vec<bool> = cells.iter().map(|(_, n)| *n < k).collect();
        complementary(&input, k, &mut suppressed);
        suppressed
    }

    #[test]
    fn a_single_small_segment_takes_the_next_smallest_with_it() {
        let s = run(&[(&["A"], 50), (&["B"], 3), (&["C"], 20), (&["D"], 9)], 5);
        assert_eq!(s, [false, true, false, true]);
    }

    #[test]
    fn small_segments_that_together_reach_k_are_enough() {
        let s = run(&[(&["A"], 50), (&["B"], 3), (&["C"], 2)], 5);
        assert_eq!(s, [false, true, true]);
        // two small ones below k together: a third is needed
        let s = run(&[(&["A"], 50), (&["B"], 1), (&["C"], 2), (&["D"], 6)], 5);
        assert_eq!(s, [false, true, true, true]);
    }

    #[test]
    fn empty_segments_hide_nothing_and_need_no_partner() {
        let s = run(&[(&["A"], 50), (&["B"], 0), (&["C"], 20)], 5);
        assert_eq!(s, [false, true, false]);
    }

    #[test]
    fn both_margins_of_a_two_dimensional_table_are_protected() {
        // region × department; (R1, D2) is small. Within R1 the next
        // smallest (R1, D1) goes; then within D1 and D2 the partner in R2.
        let s = run(
            &[
                (&["R1", "D1"], 10),
                (&["R1", "D2"], 2),
                (&["R2", "D1"], 30),
                (&["R2", "D2"], 40),
            ],
            5,
        );
        assert_eq!(s, [true, true, true, true]);
        // Every row and column ends with two hidden cells or none.
        let s = run(
            &[
                (&["R1", "D1"], 10),
                (&["R1", "D2"], 2),
                (&["R1", "D3"], 50),
                (&["R2", "D1"], 30),
                (&["R2", "D2"], 40),
                (&["R2", "D3"], 60),
            ],
            5,
        );
        assert_eq!(s, [true, true, false, true, true, false]);
    }

    #[test]
    fn a_filter_becomes_a_dimension_of_the_computed_table() {
        let week: Week = "2027-W01".parse().expect("week");
        let request = Request {
            dims: vec![Dimension::Team],
            from: week,
            to: week,
            filter: Filter {
                region: Some("DACH".into()),
                department: None,
                wave: None,
            },
            scope: Default::default(),
            protected: true,
        };
        let (wide, view) = widen(&request);
        assert_eq!(wide.dims, [Dimension::Team, Dimension::Region]);
        assert!(wide.filter.is_empty());
        let view = view.expect("view");
        let row = vec!["T1".to_string(), "DACH".to_string()];
        assert!(view.keeps(&row));
        assert!(!view.keeps(&["T1".to_string(), "Nordics".to_string()]));
        assert_eq!(view.project(&row), ["T1"]);
    }
}
