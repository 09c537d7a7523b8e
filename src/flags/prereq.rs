//! The prerequisite graph of a snapshot: no cycles, chains of bounded depth, and the attributes
//! each flag reads through its prerequisites.

use super::compile::{cat, item};
use super::model::Flag;
use super::FlagError;

type Res<T> = Result<T, FlagError>;

/// Longest prerequisite chain evaluation may follow.
const MAX_PREREQUISITE_DEPTH: usize = 32;

/// Rejects prerequisite cycles and chains deeper than [`MAX_PREREQUISITE_DEPTH`] (iterative
/// depth-first search: no recursion driven by input).
pub(super) fn reject_cycles(flags: &[Flag]) -> Res<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; flags.len()];
    let mut depth = vec![0usize; flags.len()];
    for start in 0..flags.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some((node, next)) = stack.last_mut() {
            let (node, i) = (*node, *next);
            *next += 1;
            match flags[node].prerequisites.get(i).map(|p| p.flag) {
                Some(dep) if mark[dep] == Mark::Open => {
                    return Err(FlagError::snapshot(
                        Some(&flags[node].key),
                        &item("prerequisites", i, ".flag"),
                        &cat(&["prerequisite cycle through \"", &flags[dep].key, "\""]),
                    ));
                }
                Some(dep) if mark[dep] == Mark::New => {
                    mark[dep] = Mark::Open;
                    stack.push((dep, 0));
                }
                Some(_) => {}
                None => {
                    mark[node] = Mark::Done;
                    depth[node] = 1 + flags[node]
                        .prerequisites
                        .iter()
                        .map(|p| depth[p.flag])
                        .max()
                        .unwrap_or(0);
                    if depth[node] > MAX_PREREQUISITE_DEPTH {
                        return Err(FlagError::snapshot(
                            Some(&flags[node].key),
                            "prerequisites",
                            "prerequisite chain deeper than 32 flags",
                        ));
                    }
                    stack.pop();
                }
            }
        }
    }
    Ok(())
}

/// Adds to each flag the attributes its prerequisites read (chains are at most
/// MAX_PREREQUISITE_DEPTH long, so that many passes reach a fixed point).
pub(super) fn close_reads(flags: &mut [Flag]) {
    for f in flags.iter_mut() {
        let all = core::mem::take(&mut f.reads);
        for s in all {
            if !f.reads.contains(&s) {
                f.reads.push(s);
            }
        }
    }
    for _ in 0..=MAX_PREREQUISITE_DEPTH {
        let mut changed = false;
        for i in 0..flags.len() {
            let mut add: Vec<usize> = Vec::new();
            for p in &flags[i].prerequisites {
                for s in &flags[p.flag].reads {
                    if !flags[i].reads.contains(s) && !add.contains(s) {
                        add.push(*s);
                    }
                }
            }
            if !add.is_empty() {
                changed = true;
                flags[i].reads.extend(add);
            }
        }
        if !changed {
            break;
        }
    }
}
