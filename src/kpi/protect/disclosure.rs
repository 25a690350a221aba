//! The exact audit of one week's decision: can a caller who sees every
//! shown segment pin down a figure of a hidden segment with fewer than `k`
//! licensees?
//!
//! The unknowns are the figures of the hidden finest segments (region,
//! department, team and wave together) that hold licensees. Every shown
//! segment of any breakdown gives an equation: its figure is the sum of
//! its finest segments', of which the shown ones are known. Figures that
//! count people have natural bounds: `0 <= regular <= eligible`, and so
//! for inactive licensees and each module's users. The audit assumes the
//! caller also knows every finest segment's eligible count, which is more
//! than any caller sees, so what it finds safe is safe.
//!
//! A hidden segment's figure is *determined* when it takes one value on
//! every solution of these equations within the bounds. The solutions form
//! a polytope, whose affine hull is given by the equations together with
//! the bounds that hold with equality on all of it (finest segments pinned
//! to 0 or to their eligible count). So the audit
//!
//! 1. finds the pinned finest segments: first those a single equation
//!    pins (its rest is 0, or everyone), repeatedly; then, by linear
//!    programming (`microlp`), every other one: maximise the room of the
//!    candidates at a bound; each candidate that gets room is free; when
//!    none does, the rest are pinned;
//! 2. tests each hidden segment's sum of unknowns for membership in the
//!    span of the equations plus the pinned unknowns (Gaussian elimination
//!    modulo the prime 2^61 - 1; a chance coincidence could only report a
//!    determined figure that is not, which hides more, never less).
//!
//! The eligible count itself has no upper bound the caller knows, so for
//! it only step 2 applies (a determined count of 0 reveals nobody). A
//! figure that a shown segment shows as 0 or as everyone is known for each
//! of its members; a hidden segment whose members are all covered so is
//! not reported (README: "what protection accepts").

use std::collections::{BTreeMap, HashMap};

/// One figure of every finest segment and every segment of a week.
pub struct Figure {
    /// The figure of each finest segment.
    pub cells: Vec<i64>,
    /// The figure of each segment (node), the sum of its finest ones.
    pub nodes: Vec<i64>,
}

/// What the audit reads: the segments (nodes) of every breakdown with
/// their eligible counts and finest segments, and the figures.
pub struct Input<'a> {
    /// Eligible licensees of each node.
    pub eligible: &'a [i64],
    /// The finest segments of each node.
    pub cells_of: &'a [Vec<u32>],
    /// The node of each finest segment on its own.
    pub finest_node: &'a [usize],
    /// Eligible licensees of each finest segment.
    pub cell_eligible: &'a [i64],
    pub figures: &'a [Figure],
}

/// What earlier audits of the same week learnt: the finest segments whose
/// figure some solution moves off its bound, per figure.
///
/// Hiding only grows between audits, so every solution of an earlier
/// audit's equations (with the finest segments hidden since at their true
/// figures) solves the later ones too: a finest segment once free stays
/// free, and only the others need linear programming again.
///
/// It also keeps the moves the linear programs found (directions: how much
/// each finest segment's figure moves, the equations unchanged), for a
/// later decision of the same week when new events changed its figures
/// ([`Learnt::for_new_figures`]): a move that keeps every moved segment
/// within its bounds at the new figures is still a move, so its segments
/// are free without a linear program.
#[derive(Debug, Default, Clone)]
pub struct Learnt {
    free: Vec<Vec<bool>>,
    /// Per figure, moves found: (finest segment, change) with every
    /// equation's sum unchanged.
    directions: Vec<Vec<Direction>>,
    /// Per figure, whether the directions were tried on this week's
    /// figures.
    tried: Vec<bool>,
}

type Direction = Vec<(u32, f64)>;

/// Moves kept per figure at most (the newest).
const DIRECTIONS: usize = 12;

impl Learnt {
    fn of(&mut self, figure: usize, cells: usize) -> &mut Vec<bool> {
        if self.free.len() <= figure {
            self.free.resize(figure + 1, Vec::new());
        }
        let free = &mut self.free[figure];
        if free.len() < cells {
            free.resize(cells, false);
        }
        free
    }

    /// What carries over to a decision of the same week and finest
    /// segments (the same equations for the same hiding, at least as much
    /// hidden) on other figures: the moves, to be tried on those figures.
    pub fn for_new_figures(&self) -> Learnt {
        Learnt {
            free: Vec::new(),
            directions: self.directions.clone(),
            tried: Vec::new(),
        }
    }

    /// Marks free every finest segment that a kept move of `figure` moves,
    /// when the move keeps each of them within its bounds at the figures
    /// `truth` (a small enough step of it then solves the equations too);
    /// moves that do not are dropped. Once per figure.
    fn try_directions(&mut self, figure: usize, truth: &[i64], bound: &[i64]) {
        if self.tried.len() <= figure {
            self.tried.resize(figure + 1, false);
        }
        if std::mem::replace(&mut self.tried[figure], true) {
            return;
        }
        let Some(directions) = self.directions.get_mut(figure) else {
            return;
        };
        directions.retain(|d| {
            d.iter().all(|&(c, change)| {
                let (t, n) = (truth[c as usize], bound[c as usize]);
                if change > 0.0 { t < n } else { t > 0 }
            })
        });
        let directions = std::mem::take(directions);
        let free = self.of(figure, truth.len());
        for d in &directions {
            for &(c, _) in d {
                free[c as usize] = true;
            }
        }
        self.directions[figure] = directions;
    }

    fn keep(&mut self, figure: usize, found: Vec<Direction>) {
        if self.directions.len() <= figure {
            self.directions.resize(figure + 1, Vec::new());
        }
        let kept = &mut self.directions[figure];
        kept.extend(found.into_iter().filter(|d| !d.is_empty()));
        let over = kept.len().saturating_sub(DIRECTIONS);
        kept.drain(..over);
    }

    /// The memory it holds, roughly.
    pub fn bytes(&self) -> usize {
        let moves: usize = self
            .directions
            .iter()
            .flatten()
            .map(|d| d.len() * 16 + 24)
            .sum();
        let free: usize = self.free.iter().map(Vec::len).sum();
        moves + free + 64
    }
}

/// The hidden nodes of 1 to `k`-1 licensees whose eligible count (figure
/// `None`) or another figure (its index in [`Input::figures`]) a caller
/// can determine from the shown nodes. Eligible counts are audited first;
/// the other figures only when no eligible count leaks.
pub fn leaks(
    input: &Input,
    hidden: &[bool],
    k: i64,
    learnt: &mut Learnt,
    threads: usize,
) -> Vec<(usize, Option<usize>)> {
    // The unknowns: hidden finest segments with licensees.
    let mut column: HashMap<u32, u32> = HashMap::new();
    let mut cells: Vec<u32> = Vec::new();
    for (c, &node) in input.finest_node.iter().enumerate() {
        if hidden[node] && input.cell_eligible[c] > 0 {
            column.insert(c as u32, cells.len() as u32);
            cells.push(c as u32);
        }
    }
    if cells.is_empty() {
        return Vec::new();
    }
    let columns_of = |node: usize| -> Vec<u32> {
        let mut cols: Vec<u32> = input.cells_of[node]
            .iter()
            .filter_map(|c| column.get(c).copied())
            .collect();
        cols.sort_unstable();
        cols
    };
    // One equation per distinct set of unknowns of a shown node.
    let mut equations: HashMap<Vec<u32>, usize> = HashMap::new();
    for (node, &eligible) in input.eligible.iter().enumerate() {
        if hidden[node] || eligible == 0 {
            continue;
        }
        let cols = columns_of(node);
        if !cols.is_empty() {
            equations.entry(cols).or_insert(node);
        }
    }
    let mut equations: Vec<(Vec<u32>, usize)> = equations.into_iter().collect();
    // Small equations first keeps the elimination sparse.
    equations.sort_by_key(|(cols, node)| (cols.len(), *node));
    let targets: Vec<(usize, Vec<u32>)> = (0..input.eligible.len())
        .filter(|&n| hidden[n] && (1..k).contains(&input.eligible[n]))
        .map(|n| (n, columns_of(n)))
        .filter(|(_, cols)| !cols.is_empty())
        .collect();
    if targets.is_empty() {
        return Vec::new();
    }
    let mut basis = Basis::default();
    for (cols, _) in &equations {
        basis.insert(cols.iter().map(|&c| (c, 1)).collect());
    }
    let eligible_leaks: Vec<(usize, Option<usize>)> = targets
        .iter()
        .filter(|(_, cols)| basis.spans(cols))
        .map(|(n, _)| (*n, None))
        .collect();
    if !eligible_leaks.is_empty() {
        return eligible_leaks;
    }

    let bound: Vec<i64> = cells
        .iter()
        .map(|&c| input.cell_eligible[c as usize])
        .collect();
    // Each figure: the audited targets (not known from a shown segment
    // that shows 0 or everyone) and, unless no pinned unknowns could
    // determine any of them, its pinned unknowns by linear programming,
    // figures on `threads` threads at once. Leaks are then taken in figure
    // order, a node only for the first figure that leaks it, as one figure
    // after another would.
    struct Audit {
        audited: Vec<usize>,
        truth: Vec<i64>,
        free: Vec<bool>,
        solve: bool,
    }
    let spanned = |pinned: &[bool], audited: &[usize]| -> Vec<usize> {
        let mut with_pinned = basis.clone();
        for (c, _) in pinned.iter().enumerate().filter(|(_, p)| **p) {
            with_pinned.insert(vec![(c as u32, 1)]);
        }
        audited
            .iter()
            .filter(|&&t| with_pinned.spans(&targets[t].1))
            .copied()
            .collect()
    };
    let mut audits = Vec::with_capacity(input.figures.len());
    for (f, figure) in input.figures.iter().enumerate() {
        let truth: Vec<i64> = cells.iter().map(|&c| figure.cells[c as usize]).collect();
        learnt.try_directions(f, &figure.cells, input.cell_eligible);
        let free_before = learnt.of(f, input.cell_eligible.len());
        let free: Vec<bool> = cells.iter().map(|&c| free_before[c as usize]).collect();
        // Members known to every caller: a shown node that shows 0 or
        // everyone for this figure.
        let mut open = vec![false; cells.len()];
        for (node, &eligible) in input.eligible.iter().enumerate() {
            let v = figure.nodes[node];
            if !hidden[node] && eligible > 0 && (v == 0 || v == eligible) {
                for c in columns_of(node) {
                    open[c as usize] = true;
                }
            }
        }
        let audited: Vec<usize> = (0..targets.len())
            .filter(|&t| !targets[t].1.iter().all(|&c| open[c as usize]))
            .collect();
        // Pinned unknowns are at a bound in the true solution and not
        // known to be free: when even all of those together determine no
        // audited figure, the pinned ones cannot, and no linear program
        // is needed.
        let at_most = Bounded {
            equations: &equations,
            bound: &bound,
            truth: &truth,
            free: &free,
        }
        .possibly_pinned();
        let solve = !audited.is_empty()
            && at_most.iter().any(|p| *p)
            && !spanned(&at_most, &audited).is_empty();
        audits.push(Audit {
            audited,
            truth,
            free,
            solve,
        });
    }
    let numbered: Vec<(usize, &Audit)> = audits.iter().enumerate().collect();
    let solved = crate::parallel::map(&numbered, threads, |&(f, audit)| {
        audit.solve.then(|| {
            let started = std::time::Instant::now();
            let pinned = Bounded {
                equations: &equations,
                bound: &bound,
                truth: &audit.truth,
                free: &audit.free,
            }
            .pinned();
            tracing::debug!(
                figure = f,
                unknowns = cells.len(),
                equations = equations.len(),
                pinned = pinned.0.iter().filter(|p| **p).count(),
                ms = started.elapsed().as_millis() as u64,
                "pinned"
            );
            pinned
        })
    });
    let mut found: Vec<(usize, Option<usize>)> = Vec::new();
    for (f, (audit, solved)) in audits.iter().zip(solved).enumerate() {
        let Some((pinned, moves)) = solved else {
            continue;
        };
        let free_before = learnt.of(f, input.cell_eligible.len());
        for (&c, p) in cells.iter().zip(&pinned) {
            free_before[c as usize] = !p;
        }
        // By finest segment, for later decisions of the week.
        let moves = moves
            .into_iter()
            .map(|d| {
                d.into_iter()
                    .map(|(u, change)| (cells[u as usize], change))
                    .collect()
            })
            .collect();
        learnt.keep(f, moves);
        if pinned.iter().all(|p| !p) {
            // Nothing pinned: determined exactly when the eligible count
            // is, and none is.
            continue;
        }
        let audited: Vec<usize> = audit
            .audited
            .iter()
            .copied()
            .filter(|&t| !found.iter().any(|(n, _)| *n == targets[t].0))
            .collect();
        found.extend(
            spanned(&pinned, &audited)
                .into_iter()
                .map(|t| (targets[t].0, Some(f))),
        );
    }
    found
}

/// The equations of one figure with the bounds of its unknowns.
struct Bounded<'a> {
    equations: &'a [(Vec<u32>, usize)],
    /// Upper bound (eligible count) of each unknown; the lower one is 0.
    bound: &'a [i64],
    /// The true value of each unknown (a solution).
    truth: &'a [i64],
    /// Unknowns known to be free already ([`Learnt`]).
    free: &'a [bool],
}

impl Bounded<'_> {
    /// Which unknowns are at a bound (0 or their eligible count) on every
    /// solution within the bounds. With the equations they span every
    /// linear function that is constant on the solutions.
    ///
    /// Unknowns in exactly the same equations (the hidden teams of one
    /// department and wave, say) are twins: one of them can give to
    /// another unless all are at the same bound, so each is pinned exactly
    /// when their sum is. They are decided together, which keeps the
    /// linear programs as small as the number of such groups.
    ///
    /// Also returns the moves the linear programs found, by unknown: a
    /// group's move shared among its members with room that way.
    fn pinned(&self) -> (Vec<bool>, Vec<Direction>) {
        let n = self.bound.len();
        let mut equations_of: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (e, (cols, _)) in self.equations.iter().enumerate() {
            for &c in cols {
                equations_of[c as usize].push(e as u32);
            }
        }
        let mut group_of_signature: HashMap<&[u32], u32> = HashMap::new();
        let mut group_of = Vec::with_capacity(n);
        let (mut bound, mut truth, mut free) = (Vec::new(), Vec::new(), Vec::new());
        for (c, of) in equations_of.iter().enumerate() {
            let next = group_of_signature.len() as u32;
            let g = *group_of_signature.entry(of.as_slice()).or_insert(next);
            if g == next {
                bound.push(0);
                truth.push(0);
                free.push(false);
            }
            bound[g as usize] += self.bound[c];
            truth[g as usize] += self.truth[c];
            // A free member moves, so the sum does: the group is free.
            free[g as usize] |= self.free[c];
            group_of.push(g);
        }
        let equations: Vec<(Vec<u32>, usize)> = self
            .equations
            .iter()
            .map(|(cols, node)| {
                let mut groups: Vec<u32> = cols.iter().map(|&c| group_of[c as usize]).collect();
                groups.sort_unstable();
                groups.dedup();
                (groups, *node)
            })
            .collect();
        let (grouped, moves) = Bounded {
            equations: &equations,
            bound: &bound,
            truth: &truth,
            free: &free,
        }
        .pinned_each();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); bound.len()];
        for (c, &g) in group_of.iter().enumerate() {
            members[g as usize].push(c as u32);
        }
        let moves = moves
            .into_iter()
            .map(|by_group| {
                let mut by_unknown = Vec::new();
                for (g, change) in by_group {
                    let room = |c: u32| {
                        let (t, n) = (self.truth[c as usize], self.bound[c as usize]);
                        if change > 0.0 { t < n } else { t > 0 }
                    };
                    let with_room: Vec<u32> = members[g as usize]
                        .iter()
                        .copied()
                        .filter(|&c| room(c))
                        .collect();
                    let share = change / with_room.len().max(1) as f64;
                    by_unknown.extend(with_room.into_iter().map(|c| (c, share)));
                }
                by_unknown
            })
            .collect();
        (
            group_of.iter().map(|&g| grouped[g as usize]).collect(),
            moves,
        )
    }

    /// Whether an unknown may be pinned: it is at a bound in the true
    /// solution and not known to be free (every pinned one is).
    fn may_be_pinned(&self, c: usize) -> bool {
        !self.free[c] && (self.truth[c] == 0 || self.truth[c] == self.bound[c])
    }

    /// [`Bounded::may_be_pinned`] of every unknown.
    fn possibly_pinned(&self) -> Vec<bool> {
        (0..self.bound.len())
            .map(|c| self.may_be_pinned(c))
            .collect()
    }

    /// [`Bounded::pinned`] for each unknown on its own, with the moves
    /// (by unknown) of the solutions that freed any.
    fn pinned_each(&self) -> (Vec<bool>, Vec<Direction>) {
        let n = self.bound.len();
        let rhs: Vec<i64> = self
            .equations
            .iter()
            .map(|(cols, _)| cols.iter().map(|&c| self.truth[c as usize]).sum())
            .collect();
        let mut equations_of: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (e, (cols, _)) in self.equations.iter().enumerate() {
            for &c in cols {
                equations_of[c as usize].push(e);
            }
        }
        // 1. What single equations pin: their free rest is 0 or full.
        let mut pinned = vec![false; n];
        let mut work: Vec<usize> = (0..self.equations.len()).collect();
        let mut queued = vec![true; self.equations.len()];
        while let Some(e) = work.pop() {
            queued[e] = false;
            let cols = &self.equations[e].0;
            let (mut rest, mut room) = (rhs[e], 0);
            for &c in cols {
                let c = c as usize;
                if pinned[c] {
                    rest -= self.truth[c];
                } else {
                    room += self.bound[c];
                }
            }
            if room == 0 || (rest != 0 && rest != room) {
                continue;
            }
            for &c in cols {
                let c = c as usize;
                if !pinned[c] {
                    pinned[c] = true;
                    for &other in &equations_of[c] {
                        if !queued[other] {
                            queued[other] = true;
                            work.push(other);
                        }
                    }
                }
            }
        }
        // 2. The rest: an unknown strictly inside its bounds in the true
        // solution is free; one at a bound is free when some solution
        // moves it.
        let mut candidates: Vec<usize> = (0..n)
            .filter(|&c| !pinned[c] && self.may_be_pinned(c))
            .collect();
        let mut moves = Vec::new();
        while !candidates.is_empty() {
            match self.movable(&pinned, &rhs, &candidates) {
                Some((moved, solution)) if !moved.is_empty() => {
                    candidates.retain(|c| !moved.contains(c));
                    moves.push(
                        (0..n)
                            .filter(|&c| !pinned[c])
                            .map(|c| (c as u32, solution[c] - self.truth[c] as f64))
                            .filter(|(_, change)| change.abs() > 1e-6)
                            .collect(),
                    );
                }
                Some(_) => break,
                None => {
                    tracing::warn!(
                        unknowns = n,
                        "the disclosure audit's linear program failed; treating its candidates as pinned"
                    );
                    break;
                }
            }
        }
        for c in candidates {
            pinned[c] = true;
        }
        (pinned, moves)
    }

    /// The candidates some solution moves off their bound: maximises the
    /// sum of their room (each counted up to 1); with the solution's value
    /// of every unknown (the truth for pinned ones). None when the solver
    /// fails.
    fn movable(
        &self,
        pinned: &[bool],
        rhs: &[i64],
        candidates: &[usize],
    ) -> Option<(Vec<usize>, Vec<f64>)> {
        use microlp::{ComparisonOp, OptimizationDirection, Problem};
        let mut problem = Problem::new(OptimizationDirection::Maximize);
        let vars: Vec<Option<microlp::Variable>> = (0..self.bound.len())
            .map(|c| (!pinned[c]).then(|| problem.add_var(0.0, (0.0, self.bound[c] as f64))))
            .collect();
        for (e, (cols, _)) in self.equations.iter().enumerate() {
            let mut rest = rhs[e];
            let mut terms = Vec::new();
            for &c in cols {
                match vars[c as usize] {
                    Some(v) => terms.push((v, 1.0)),
                    None => rest -= self.truth[c as usize],
                }
            }
            if !terms.is_empty() {
                problem.add_constraint(terms, ComparisonOp::Eq, rest as f64);
            }
        }
        let mut room = Vec::with_capacity(candidates.len());
        for &c in candidates {
            let x = vars[c]?;
            let s = problem.add_var(1.0, (0.0, 1.0));
            if self.truth[c] == 0 {
                problem.add_constraint([(s, 1.0), (x, -1.0)], ComparisonOp::Le, 0.0);
            } else {
                problem.add_constraint(
                    [(s, 1.0), (x, 1.0)],
                    ComparisonOp::Le,
                    self.bound[c] as f64,
                );
            }
            room.push((c, s));
        }
        let started = std::time::Instant::now();
        let solved = problem.solve();
        tracing::trace!(
            candidates = candidates.len(),
            ms = started.elapsed().as_millis() as u64,
            "linear program"
        );
        let microlp::SolveOutcome::Solution(solution) = solved.ok()? else {
            return None;
        };
        let values = vars
            .iter()
            .zip(self.truth)
            .map(|(v, &t)| v.map_or(t as f64, |v| solution[v]))
            .collect();
        Some((
            room.into_iter()
                .filter(|(_, s)| solution[*s] > 1e-6)
                .map(|(c, _)| c)
                .collect(),
            values,
        ))
    }
}

/// The prime of the elimination.
const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    let s = (r as u64 & P) + (r >> 61) as u64;
    if s >= P { s - P } else { s }
}

fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + P - b }
}

fn inverse(a: u64) -> u64 {
    let (mut result, mut base, mut exp) = (1u64, a, P - 2);
    while exp > 0 {
        if exp & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    result
}

/// Rows in echelon form modulo [`P`]: each row's first column is its
/// pivot, with coefficient 1, and no other row starts there.
#[derive(Clone, Default)]
struct Basis {
    pivot_of: HashMap<u32, usize>,
    rows: Vec<Vec<(u32, u64)>>,
}

impl Basis {
    /// Eliminates the pivot columns from `v`, left to right.
    fn reduce(&self, v: &mut BTreeMap<u32, u64>) {
        let mut cursor = 0u32;
        while let Some((&c, &value)) = v.range(cursor..).next() {
            let Some(&r) = self.pivot_of.get(&c) else {
                cursor = c + 1;
                continue;
            };
            for &(col, x) in &self.rows[r] {
                let entry = v.entry(col).or_insert(0);
                *entry = sub(*entry, mul(value, x));
                if *entry == 0 {
                    v.remove(&col);
                }
            }
        }
    }

    /// Adds a row; false when it is in the span already.
    fn insert(&mut self, row: Vec<(u32, u64)>) -> bool {
        let mut v: BTreeMap<u32, u64> = row.into_iter().filter(|(_, x)| *x != 0).collect();
        self.reduce(&mut v);
        let Some((&lead, &x)) = v.iter().next() else {
            return false;
        };
        let inv = inverse(x);
        self.pivot_of.insert(lead, self.rows.len());
        self.rows
            .push(v.into_iter().map(|(c, x)| (c, mul(x, inv))).collect());
        true
    }

    /// Whether the sum of these columns is in the span.
    fn spans(&self, cols: &[u32]) -> bool {
        let mut v: BTreeMap<u32, u64> = cols.iter().map(|&c| (c, 1)).collect();
        self.reduce(&mut v);
        v.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_modulo_the_prime() {
        assert_eq!(mul(inverse(12345), 12345), 1);
        assert_eq!(sub(3, 5), P - 2);
        assert_eq!(mul(P - 1, P - 1), 1);
    }

    #[test]
    fn the_span_of_sums() {
        let mut b = Basis::default();
        // a + b + c, a + b: c follows, a does not.
        assert!(b.insert(vec![(0, 1), (1, 1), (2, 1)]));
        assert!(b.insert(vec![(0, 1), (1, 1)]));
        assert!(!b.insert(vec![(2, 1)]));
        assert!(b.spans(&[2]));
        assert!(!b.spans(&[0]));
        assert!(b.spans(&[0, 1]));
        // (a + d) - (a + b) + (b + c + e) - (c + e) = d
        let mut b = Basis::default();
        for row in [vec![0, 3], vec![0, 1], vec![1, 2, 4], vec![2, 4]] {
            b.insert(row.into_iter().map(|c| (c, 1)).collect());
        }
        assert!(b.spans(&[3]));
        // and then b = (b + c + e) - (c + e), a = (a + b) - b; c alone not.
        assert!(b.spans(&[0]));
        assert!(!b.spans(&[2]));
        assert!(b.spans(&[2, 4]));
    }

    /// Unknowns a, b, c (bounds 3, 4, 5) with a + b + c and a + b known.
    fn bounded(truth: &[i64], sums: &[Vec<u32>]) -> Vec<bool> {
        let equations: Vec<(Vec<u32>, usize)> = sums
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, s)| (s, i))
            .collect();
        Bounded {
            equations: &equations,
            bound: &[3, 4, 5],
            truth,
            free: &[false; 3],
        }
        .pinned()
        .0
    }

    #[test]
    fn what_is_known_free_is_not_asked_again() {
        // a + b = 1, b + c = 6: a and c are pinned, b is free (inside).
        // Told that a is free (wrongly), the audit believes it and asks
        // only about c: known freedom is taken as given.
        let equations = vec![(vec![0, 1], 0), (vec![1, 2], 1)];
        let pinned = |free: &[bool]| {
            Bounded {
                equations: &equations,
                bound: &[3, 4, 5],
                truth: &[0, 1, 5],
                free,
            }
            .pinned()
            .0
        };
        assert_eq!(pinned(&[false; 3]), [true, false, true]);
        assert_eq!(pinned(&[true, false, false]), [false, false, true]);
    }

    #[test]
    fn a_move_found_before_frees_only_while_the_new_figures_leave_it_room() {
        // a + b = 2, b + c = 6, bounds 3, 4, 5: a is at 0, and moving it
        // up means b down and c up (a 1, b 1, c 5).
        let equations = vec![(vec![0, 1], 0), (vec![1, 2], 1)];
        let bound = [3, 4, 5];
        let (pinned, moves) = Bounded {
            equations: &equations,
            bound: &bound,
            truth: &[0, 2, 4],
            free: &[false; 3],
        }
        .pinned();
        assert_eq!(pinned, [false; 3]);
        assert_eq!(moves.len(), 1);
        let signs: Vec<(u32, bool)> = moves[0].iter().map(|&(c, d)| (c, d > 0.0)).collect();
        assert_eq!(signs, [(0, true), (1, false), (2, true)]);
        let mut learnt = Learnt::default();
        learnt.keep(0, moves);
        // New figures where the move still has room: a is free at once.
        let mut again = learnt.for_new_figures();
        again.try_directions(0, &[0, 1, 3], &bound);
        assert_eq!(again.of(0, 3), &[true, true, true]);
        // c now full: the move would take it over its bound; nothing is
        // taken as free, and the move is dropped.
        let mut full = learnt.for_new_figures();
        full.try_directions(0, &[0, 1, 5], &bound);
        assert_eq!(full.of(0, 3), &[false, false, false]);
        assert!(full.directions[0].is_empty());
        // (Here a + b = 1, b + c = 6 pin a to 0: a is pinned indeed.)
        let fresh = Bounded {
            equations: &equations,
            bound: &bound,
            truth: &[0, 1, 5],
            free: &[false; 3],
        }
        .pinned()
        .0;
        assert_eq!(fresh, [true, false, true]);
    }

    #[test]
    fn bounds_pin_what_a_sum_leaves_no_room_for() {
        // a + b = 0: both are 0.
        assert_eq!(bounded(&[0, 0, 2], &[vec![0, 1]]), [true, true, false]);
        // a + b = 7 = 3 + 4: both are full.
        assert_eq!(bounded(&[3, 4, 2], &[vec![0, 1]]), [true, true, false]);
        // a + b = 5: room either way.
        assert_eq!(bounded(&[3, 2, 2], &[vec![0, 1]]), [false, false, false]);
        // Only by linear programming: a + b = 1 and b + c = 6 with c <= 5
        // give b >= 1, so a = 0 and c = 5 on every solution. (b = 1 then
        // follows from the equations: the elimination's part.)
        assert_eq!(
            bounded(&[0, 1, 5], &[vec![0, 1], vec![1, 2]]),
            [true, false, true]
        );
        // a + b = 2, b + c = 6: a can be 0 (b 2, c 4) or 1 (b 1, c 5).
        assert_eq!(
            bounded(&[0, 2, 4], &[vec![0, 1], vec![1, 2]]),
            [false, false, false]
        );
    }
}
