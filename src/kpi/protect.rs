//! Protection against differencing (complementary suppression).
//!
//! SPEC.md section 4 suppresses a segment with fewer than `k` eligible
//! licensees. That alone can be undone by subtraction: the whole
//! organisation's figures minus every shown region's figures are the
//! figures of the one suppressed region. And an attacker may combine any
//! tables: `by=team` and `by=department` together can pin down a small
//! team of `by=department,team` even when that table hides it.
//!
//! So uptake decides, once per week range and scope, which segments of
//! **every** breakdown are shown: of the 16 tables over region,
//! department, team and wave (the whole organisation is one of them). A
//! segment is shown only when all of these hold, and every table reads its
//! cells from that one decision:
//!
//! 1. It has at least `k` eligible licensees (SPEC.md section 4).
//! 2. Partners: wherever a shown segment is split by one dimension (a
//!    region into its departments, the organisation into its regions),
//!    its hidden parts together hold no licensee or at least `k`, so that
//!    subtracting the shown parts reveals no group smaller than `k`.
//!    Otherwise the smallest shown part is hidden as well.
//! 3. The attacker's check: taking every shown segment as known and
//!    solving "a segment is the sum of its parts" wherever one term is
//!    unknown, until nothing more follows, no segment of 1 to `k`-1
//!    licensees becomes known. When one does, the smallest shown segment
//!    of a sum it takes part in (a part or the whole, nearest first) is
//!    hidden.
//!
//! Rules 2 and 3 run in turn until neither hides anything more. Hiding only
//! grows, so this ends; segments without licensees hide nothing and need
//! no partner. The check solves one unknown at a time, as subtraction
//! does; it is not a full linear-programming audit of every combination
//! of equations.
//!
//! Filters (`region=`, `department=`, `wave=`) take part as dimensions: a
//! filtered table is the slice of the table broken down by the filter's
//! dimensions too. A viewer's scope is their whole organisation: the
//! decision is made within it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::Week;

use super::{Dimension, Filter, Request, Scope};

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

/// Decisions by (week, scope, k): a week's decision depends on that week
/// only, so requests over different ranges share them. Bounded: it starts
/// afresh when full.
#[derive(Default)]
pub struct Cache {
    map: tokio::sync::Mutex<HashMap<CacheKey, Arc<WeekDecision>>>,
}

/// Week, scope, k.
pub type CacheKey = (Week, Scope, i64);

const CACHED: usize = 8192;

impl Cache {
    /// The decisions of the weeks `from..=to`. Weeks not decided yet are
    /// decided from the finest segments `finest(first, last)` returns for
    /// the range of the missing weeks. Requests wait for one computation.
    pub async fn decide<F, Fut, E>(
        &self,
        from: Week,
        to: Week,
        scope: &Scope,
        k: i64,
        finest: F,
    ) -> Result<Protection, E>
    where
        F: FnOnce(Week, Week) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(Week, Vec<String>, i64)>, E>>,
    {
        let mut map = self.map.lock().await;
        let key = |w: Week| (w, scope.clone(), k);
        let weeks: Vec<Week> = (from.number()..=to.number())
            .map(Week::from_number)
            .collect();
        let missing: Vec<Week> = weeks
            .iter()
            .copied()
            .filter(|w| !map.contains_key(&key(*w)))
            .collect();
        if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
            let cells = finest(*first, *last).await?;
            let decided = decide_weeks(cells, k);
            if map.len() + decided.len() > CACHED {
                map.clear();
            }
            for (week, decision) in decided {
                map.insert(key(week), Arc::new(decision));
            }
            // A week without any segment decides nothing: remember that too.
            for w in &missing {
                map.entry(key(*w)).or_default();
            }
        }
        Ok(Protection {
            weeks: weeks
                .into_iter()
                .filter_map(|w| map.get(&key(w)).map(|d| (w, d.clone())))
                .collect(),
        })
    }
}

/// A finest segment's values (in the order of [`Dimension::ALL`]) and its
/// eligible licensees.
type Finest = (Vec<String>, i64);

/// Decides each week of `cells` on its own, on all cores.
fn decide_weeks(cells: Vec<(Week, Vec<String>, i64)>, k: i64) -> Vec<(Week, WeekDecision)> {
    let mut by_week: BTreeMap<Week, Vec<Finest>> = BTreeMap::new();
    for (week, values, n) in cells {
        by_week.entry(week).or_default().push((values, n));
    }
    let weeks: Vec<(Week, Vec<Finest>)> = by_week.into_iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = weeks.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = weeks
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(w, cells)| (*w, WeekDecision::compute(cells, k)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Which segments of every breakdown are shown, week by week.
#[derive(Debug, Default)]
pub struct Protection {
    weeks: HashMap<Week, Arc<WeekDecision>>,
}

impl Protection {
    /// Whether a segment of a week is hidden; `dims` in any order,
    /// `values` in that order. Unknown segments are hidden.
    pub fn hidden(&self, week: Week, dims: &[Dimension], values: &[String]) -> bool {
        self.weeks.get(&week).is_none_or(|d| d.hidden(dims, values))
    }
}

/// A segment of some table: the bit mask of its dimensions and the ids of
/// its values (unused dimensions `u32::MAX`).
type NodeKey = (usize, [u32; 4]);

/// One week's decision.
#[derive(Debug, Default)]
pub struct WeekDecision {
    /// Ids of the values of each dimension.
    values: [HashMap<String, u32>; 4],
    nodes: HashMap<NodeKey, usize>,
    hidden: Vec<bool>,
}

impl WeekDecision {
    fn compute(finest: &[Finest], k: i64) -> WeekDecision {
        let dims = Dimension::ALL.len();
        let full = (1usize << dims) - 1;
        let mut values: [HashMap<String, u32>; 4] = Default::default();
        let mut nodes: HashMap<NodeKey, usize> = HashMap::new();
        let mut value: Vec<i64> = Vec::new();
        let mut nodes_of: Vec<[usize; 16]> = Vec::with_capacity(finest.len());
        for (segment, n) in finest {
            let mut ids = [u32::MAX; 4];
            for d in 0..dims {
                let next = values[d].len() as u32;
                ids[d] = *values[d].entry(segment[d].clone()).or_insert(next);
            }
            let mut of = [0usize; 16];
            for (mask, node) in of.iter_mut().enumerate() {
                let mut key = [u32::MAX; 4];
                for d in (0..dims).filter(|d| mask & (1 << d) != 0) {
                    key[d] = ids[d];
                }
                let id = *nodes.entry((mask, key)).or_insert_with(|| {
                    value.push(0);
                    value.len() - 1
                });
                value[id] += n;
                *node = id;
            }
            nodes_of.push(of);
        }
        let mut sums: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for of in &nodes_of {
            for mask in 1..=full {
                for d in (0..dims).filter(|d| mask & (1 << d) != 0) {
                    sums.entry((of[mask & !(1 << d)], d))
                        .or_default()
                        .push(of[mask]);
                }
            }
        }
        let mut sums: Vec<((usize, usize), Vec<usize>)> = sums.into_iter().collect();
        sums.sort_unstable_by_key(|(key, _)| *key);
        let sums = sums
            .into_iter()
            .map(|((whole, _), mut parts)| {
                parts.sort_unstable();
                parts.dedup();
                (whole, parts)
            })
            .collect();
        let hidden = System { value, sums }.solve(k);
        WeekDecision {
            values,
            nodes,
            hidden,
        }
    }

    fn hidden(&self, dims: &[Dimension], values: &[String]) -> bool {
        let mut key = [u32::MAX; 4];
        let mut mask = 0;
        for (d, v) in dims.iter().zip(values) {
            let i = d.index();
            let Some(id) = self.values[i].get(v) else {
                return true;
            };
            key[i] = *id;
            mask |= 1 << i;
        }
        self.nodes.get(&(mask, key)).is_none_or(|&n| self.hidden[n])
    }
}

/// Segments of every table as nodes, and the sums that tie them.
struct System {
    value: Vec<i64>,
    sums: Vec<(usize, Vec<usize>)>,
}

impl System {
    /// The hidden nodes: rule 1, then rules 2 and 3 until neither changes
    /// anything.
    fn solve(&self, k: i64) -> Vec<bool> {
        let mut hidden: Vec<bool> = self.value.iter().map(|&n| n < k).collect();
        if k <= 1 {
            return hidden;
        }
        let mut sums_of: Vec<Vec<usize>> = vec![Vec::new(); self.value.len()];
        for (s, (whole, parts)) in self.sums.iter().enumerate() {
            sums_of[*whole].push(s);
            for &p in parts {
                sums_of[p].push(s);
            }
        }
        let mut unfixable = vec![false; self.value.len()];
        loop {
            let mut changed = self.partners(k, &mut hidden);
            for leaked in self.leaks(k, &hidden, &sums_of) {
                if unfixable[leaked] {
                    continue;
                }
                match self.nearest_shown(leaked, &sums_of, &hidden) {
                    Some(i) => {
                        hidden[i] = true;
                        changed = true;
                    }
                    None => unfixable[leaked] = true,
                }
            }
            if !changed {
                return hidden;
            }
        }
    }

    fn smallest(&self, nodes: impl Iterator<Item = usize>) -> Option<usize> {
        nodes.min_by_key(|&i| (self.value[i], i))
    }

    /// Rule 2 over every sum whose whole is shown. A single hidden part of
    /// at least `k` needs no partner; whether it exposes others is rule 3's
    /// question.
    fn partners(&self, k: i64, hidden: &mut [bool]) -> bool {
        let mut changed = false;
        for (whole, parts) in &self.sums {
            if hidden[*whole] {
                continue;
            }
            let lone: i64 = parts
                .iter()
                .filter(|&&p| hidden[p])
                .map(|&p| self.value[p])
                .sum();
            if lone == 0 || lone >= k {
                continue;
            }
            let shown = parts
                .iter()
                .copied()
                .filter(|&p| !hidden[p] && self.value[p] > 0);
            if let Some(p) = self.smallest(shown) {
                hidden[p] = true;
                changed = true;
            }
        }
        changed
    }

    /// Rule 3: hidden nodes of 1 to k-1 licensees that follow from the
    /// shown ones, by solving sums with one unknown term (a work list, so
    /// each sum is looked at again only when one of its terms became
    /// known).
    fn leaks(&self, k: i64, hidden: &[bool], sums_of: &[Vec<usize>]) -> Vec<usize> {
        let mut known: Vec<bool> = hidden.iter().map(|h| !h).collect();
        let mut work: Vec<usize> = (0..self.sums.len()).collect();
        let mut queued = vec![true; self.sums.len()];
        while let Some(s) = work.pop() {
            queued[s] = false;
            let (whole, parts) = &self.sums[s];
            let mut unknown = parts.iter().copied().filter(|&p| !known[p]);
            let first = unknown.next();
            let more = unknown.next().is_some();
            let found = match (known[*whole], first, more) {
                (true, Some(one), false) => Some(one),
                (false, None, _) => Some(*whole),
                _ => None,
            };
            if let Some(node) = found {
                known[node] = true;
                for &t in &sums_of[node] {
                    if !queued[t] {
                        queued[t] = true;
                        work.push(t);
                    }
                }
            }
        }
        (0..self.value.len())
            .filter(|&i| hidden[i] && known[i] && (1..k).contains(&self.value[i]))
            .collect()
    }

    /// The smallest shown node with licensees in a sum holding `node`;
    /// when there is none, in the sums of the hidden nodes of those sums,
    /// and so on.
    fn nearest_shown(&self, node: usize, sums_of: &[Vec<usize>], hidden: &[bool]) -> Option<usize> {
        let mut seen = vec![false; self.value.len()];
        seen[node] = true;
        let mut frontier = vec![node];
        while !frontier.is_empty() {
            let mut shown = Vec::new();
            let mut next = Vec::new();
            for &n in &frontier {
                for &s in &sums_of[n] {
                    let (whole, parts) = &self.sums[s];
                    for &i in std::iter::once(whole).chain(parts) {
                        if !hidden[i] && self.value[i] > 0 {
                            shown.push(i);
                        } else if !seen[i] {
                            seen[i] = true;
                            next.push(i);
                        }
                    }
                }
            }
            if let Some(i) = self.smallest(shown.into_iter()) {
                return Some(i);
            }
            frontier = next;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Protection {
        /// Decides from the finest segments of every week, as
        /// [`Cache::decide`] does.
        fn compute(finest: &[(Week, Vec<String>, i64)], k: i64) -> Protection {
            Protection {
                weeks: decide_weeks(finest.to_vec(), k)
                    .into_iter()
                    .map(|(w, d)| (w, Arc::new(d)))
                    .collect(),
            }
        }
    }

    /// Regions (one dimension) of one week, the rest of the segment fixed.
    fn regions(sizes: &[(&str, i64)], k: i64) -> Vec<bool> {
        let week: Week = "2027-W01".parse().expect("week");
        let finest: Vec<(Week, Vec<String>, i64)> = sizes
            .iter()
            .map(|(r, n)| {
                let values = vec![r.to_string(), "D".into(), "T".into(), "W".into()];
                (week, values, *n)
            })
            .collect();
        let p = Protection::compute(&finest, k);
        sizes
            .iter()
            .map(|(r, _)| p.hidden(week, &[Dimension::Region], &[r.to_string()]))
            .collect()
    }

    #[test]
    fn a_single_small_segment_takes_the_next_smallest_with_it() {
        let s = regions(&[("A", 50), ("B", 3), ("C", 20), ("D", 9)], 5);
        assert_eq!(s, [false, true, false, true]);
    }

    #[test]
    fn small_segments_that_together_reach_k_are_enough() {
        assert_eq!(
            regions(&[("A", 50), ("B", 3), ("C", 2)], 5),
            [false, true, true]
        );
        assert_eq!(
            regions(&[("A", 50), ("B", 1), ("C", 2), ("D", 6)], 5),
            [false, true, true, true]
        );
    }

    #[test]
    fn empty_segments_hide_nothing_and_need_no_partner() {
        assert_eq!(
            regions(&[("A", 50), ("B", 0), ("C", 20)], 5),
            [false, true, false]
        );
    }

    #[test]
    fn coarser_tables_together_do_not_reveal_a_small_cell() {
        // department × team of one week: team C exists in department IS
        // only, so by=team shows it and by=department shows IS; their
        // difference would be (IS, A) with 3 licensees.
        let week: Week = "2027-W01".parse().expect("week");
        let cells = [
            ("IS", "A", 3),
            ("IS", "C", 9),
            ("MK", "A", 10),
            ("MK", "B", 12),
        ];
        let finest: Vec<(Week, Vec<String>, i64)> = cells
            .iter()
            .map(|(d, t, n)| {
                (
                    week,
                    vec!["R".into(), d.to_string(), t.to_string(), "W".into()],
                    *n,
                )
            })
            .collect();
        let p = Protection::compute(&finest, 5);
        let shown = |dims: &[Dimension], values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            !p.hidden(week, dims, &values)
        };
        use Dimension::{Department as D, Team as T};
        let is_total = shown(&[D], &["IS"]);
        let c_total = shown(&[T], &["C"]);
        let is_c = shown(&[D, T], &["IS", "C"]);
        assert!(!shown(&[D, T], &["IS", "A"]));
        assert!(
            !(is_total && (c_total || is_c)),
            "IS minus (IS, C) would give (IS, A)"
        );
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
