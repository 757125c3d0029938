//! The read models the user defined, as the view of one log holds them: each definition's fold over that
//! log (the domain's [`Model`]), caught up in steps so that a long log shows progress, and read at the
//! cursor. No business rules: grouping and measuring are the domain's.

use crate::zone::HostZone;
use rewind_domain::{Log, Model, ModelDef, Names};
use std::ops::Range;

/// One group of a model as shown at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRow {
    pub group: String,
    pub value: u64,
    /// Its value at the previous position of the timeline (`None`: the group did not exist then).
    pub before: Option<u64>,
}

/// A model at the cursor: how many groups exist there, and the rows asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelAt {
    pub groups: usize,
    pub rows: Vec<ModelRow>,
}

struct ModelView {
    model: Model,
    /// The model's groups in reading order, as of `ordered` groups.
    order: Vec<u32>,
    ordered: usize,
}

/// The models of one log.
#[derive(Default)]
pub struct ModelViews {
    views: Vec<ModelView>,
}

/// Events folded in one go when a log grows: appends are folded at once, a whole log in steps.
const AT_ONCE: u64 = 20_000;

impl ModelViews {
    /// Brings the list in line with `defs`: a model whose definition is unchanged keeps its fold, a new one
    /// starts empty (the next [`ModelViews::fold`] steps build it).
    pub fn sync(&mut self, defs: &[ModelDef]) {
        let mut old = std::mem::take(&mut self.views);
        for def in defs {
            match old.iter().position(|v| v.model.def() == def) {
                Some(i) => self.views.push(old.swap_remove(i)),
                None => self.views.push(ModelView { model: Model::new(def.clone()), order: Vec::new(), ordered: 0 }),
            }
        }
    }

    /// Another log is shown: every model is built again.
    pub fn restart(&mut self) {
        for view in &mut self.views {
            *view = ModelView { model: Model::new(view.model.def().clone()), order: Vec::new(), ordered: 0 };
        }
    }

    /// Events were appended: models that are caught up fold them now.
    pub fn log_grew(&mut self, log: &Log) {
        for view in &mut self.views {
            if log.len().saturating_sub(view.model.folded()) <= AT_ONCE {
                let _ = view.model.fold(log, &HostZone, log.len());
            }
        }
    }

    /// Folds up to `budget` more events into the models that are behind. Returns the events folded and the
    /// events to fold, over every model (equal when all are built).
    pub fn fold(&mut self, log: &Log, budget: u64) -> (u64, u64) {
        let mut left = budget;
        for view in &mut self.views {
            if left == 0 {
                break;
            }
            let (from, to) = (view.model.folded(), log.len());
            if view.model.error().is_none() && from < to {
                let until = (from + left).min(to);
                let _ = view.model.fold(log, &HostZone, until);
                left -= until - from;
            }
        }
        self.progress(log)
    }

    /// Events folded and events to fold, over every model (a model that stopped on an error counts as done).
    pub fn progress(&self, log: &Log) -> (u64, u64) {
        let total = log.len() * self.views.len() as u64;
        let done = self.views.iter().map(|v| if v.model.error().is_some() { log.len() } else { v.model.folded().min(log.len()) }).sum();
        (done, total)
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Why model `index` stopped folding, if it did.
    pub fn error(&self, index: usize) -> Option<String> {
        self.views.get(index)?.model.error().map(ToString::to_string)
    }

    /// Model `index` after the first `k` events: the rows `rows(groups there)` of its groups there (in reading
    /// order), each with its value after `previous` events. Costs a pass over the groups' numbers, and a
    /// lookup per row shown: a timeline move with a model on screen stays within a frame.
    pub fn at(&mut self, index: usize, names: &Names, k: u64, previous: u64, rows: impl FnOnce(usize) -> Range<usize>) -> ModelAt {
        let Some(view) = self.views.get_mut(index) else { return ModelAt::default() };
        let model = &view.model;
        if view.ordered != model.group_count() {
            view.order = model.groups_in_order(names);
            view.ordered = model.group_count();
        }
        // Groups are numbered in the order they appeared: those that exist after k events are 0..groups.
        let groups = model.groups_at(k);
        let rows = rows(groups);
        let mut out = ModelAt { groups, ..ModelAt::default() };
        let mut shown = 0;
        for &g in &view.order {
            let g = g as usize;
            if g >= groups {
                continue;
            }
            if shown >= rows.end {
                break;
            }
            if rows.contains(&shown) {
                if let Some(value) = model.value_at(g, k) {
                    out.rows.push(ModelRow { group: model.label(g, names), value, before: model.value_at(g, previous) });
                }
            }
            shown += 1;
        }
        out
    }

    /// Model `index`'s `n` largest groups after the first `k` events, largest first. It reads every group's
    /// value there (a lookup each): the chart asks once the timeline rests, not on every move.
    pub fn top(&self, index: usize, names: &Names, k: u64, n: usize) -> Vec<(String, u64)> {
        let Some(view) = self.views.get(index) else { return Vec::new() };
        view.model.top_at(k, n).into_iter().map(|(g, v)| (view.model.label(g, names), v)).collect()
    }
}
