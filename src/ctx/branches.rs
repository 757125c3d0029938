//! The what-if branches as the page shows them: the shelf of saved branches, going to one and back, and a
//! branch's commands handed to its own session (`crate::branch`), which decides and saves them.

use super::{Ctx, STORE_NAME};
use leptos::prelude::*;
use crate::branch::{branch_names, BranchError, BranchSession, Shelf};
use crate::shop::{DiffLine, ViewError};
use rewind_domain::{diff_across_in_order, Command};
use rewind_store::{BranchShelf, Expected};

impl Ctx {
    /// Work that only makes sense on the real log is refused on a branch, with a way back.
    pub(super) fn refused_on_branch(&self, what: &str) -> bool {
        let on_branch = self.on_branch();
        if on_branch {
            self.fail(format!("{what} is for the real log: go back to main first (a branch only takes commands)"));
        }
        on_branch
    }

    /// The branches saved for this log (each shop of a server keeps its own).
    fn shelf(&self) -> Option<BranchShelf> {
        BranchShelf::open(&rewind_store::name_for_shop(STORE_NAME, self.shop_name.get_untracked().as_deref()))
    }

    /// Lists the branches saved in this browser (or says why they cannot be listed).
    pub fn load_branches(&self) {
        let shelf = self.shelf();
        let names = branch_names(shelf.as_ref().map(|s| s as &dyn Shelf)).map_err(|e| e.to_string());
        self.branches.set(names);
    }

    fn main_epoch(&self) -> Result<u64, BranchError> {
        let session = self.session().ok_or(BranchError::Busy)?;
        let book = session.book().ok_or(BranchError::Busy)?;
        match book.version {
            Expected::Version(v) => Ok(v.epoch),
            Expected::DamagedIndex => Err(BranchError::DamagedIndex),
        }
    }

    /// Starts a what-if branch from the timeline's value and shows it.
    pub fn start_branch(&self) {
        match self.try_start_branch() {
            Ok((name, base, mut listed)) => {
                // The list was read to choose the name: the new branch joins it, with no second read.
                listed.push(name.clone());
                listed.sort();
                self.branches.set(Ok(listed));
                self.tell(format!("Branch {name} starts after event {base}. Commands now apply to it only; the real log is untouched."));
            }
            Err(e) => self.fail(format!("the branch was not started: {e}")),
        }
    }

    /// The new branch's name, its base, and the branches saved before it.
    fn try_start_branch(&self) -> Result<(String, u64, Vec<String>), BranchError> {
        if !self.history_ready.get_untracked() {
            return Err(BranchError::HistoryLoading);
        }
        if self.on_branch() {
            return Err(BranchError::OnBranch);
        }
        let epoch = self.main_epoch()?;
        let shelf = self.shelf().ok_or(BranchError::NoShelf)?;
        let base = self.cursor.get_untracked();
        let taken = shelf.names().map_err(BranchError::Unlisted)?;
        let name = (1..).map(|n| format!("what-if-{n}")).find(|n| !taken.contains(n)).unwrap_or_default();
        let started = self
            .update_main(|shop, book| BranchSession::start(name.clone(), shop, &book.log, base, epoch, &shelf))
            .ok_or(BranchError::Busy)??;
        self.show_branch(started);
        Ok((name, base, taken))
    }

    fn show_branch(&self, branch: BranchSession) {
        let name = branch.name().to_owned();
        let ids_agree = self.read(|p| p.names().agrees_with(branch.branch().log().names())).unwrap_or(false);
        self.branch.set_value(Some(branch));
        self.branch_name.set(Some(name));
        self.new_log_shown(ids_agree);
    }

    /// Shows the saved branch `name`.
    pub fn open_branch(&self, name: &str) {
        if self.branch_name.get_untracked().as_deref() == Some(name) {
            return;
        }
        let opened = self.main_epoch().and_then(|epoch| {
            let shelf = self.shelf().ok_or(BranchError::NoShelf)?;
            self.update_main(|shop, book| BranchSession::open(name, shop, &book.log, epoch, &shelf)).ok_or(BranchError::Busy)?
        });
        match opened {
            Ok(branch) => self.show_branch(branch),
            Err(e) => self.fail(format!("branch {name} cannot be opened: {e}")),
        }
    }

    /// Back to the real log.
    pub fn to_main(&self) {
        if self.on_branch() {
            let ids_agree = self.read(|branch| self.read_main(|main| main.names().agrees_with(branch.names()))).flatten().unwrap_or(false);
            self.branch.set_value(None);
            self.branch_name.set(None);
            self.new_log_shown(ids_agree);
        }
    }

    /// Deletes the branch shown, after confirmation, and goes back to the real log.
    pub fn delete_branch(&self) {
        let Some(name) = self.branch_name.get_untracked() else { return };
        let question = format!("Delete branch {name} and its own events? The real log is not touched.");
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return self.tell(format!("Branch {name} was kept."));
        }
        let deleted = self.shelf()
            .ok_or(BranchError::NoShelf)
            .and_then(|s| s.delete(&name).map_err(|error| BranchError::NotDeleted { name: name.clone(), error }));
        if let Err(e) = deleted {
            return self.fail(e.to_string());
        }
        self.load_branches();
        self.to_main();
        self.tell(format!("Branch {name} was deleted."));
    }

    /// A command on the branch shown: decided by the branch's session, kept with the branch, never in the real log.
    pub(super) fn submit_to_branch(&self, command: Command) {
        let ts = rewind_store::clock::now_ms();
        let outcome = self.shelf().ok_or(BranchError::NoShelf).and_then(|shelf| {
            self.branch
                .try_update_value(|b| b.as_mut().map(|branch| branch.submit(&command, ts, &shelf)))
                .flatten()
                .ok_or(BranchError::Busy)?
        });
        match outcome {
            Ok(_) => {
                self.error.set(None);
                self.go_live();
            }
            Err(e) => self.fail(e.to_string()),
        }
    }


    /// On a branch: every value of the branch's latest state that differs from the real log's latest state.
    pub fn branch_compare(&self) -> Result<Vec<DiffLine>, ViewError> {
        self.read_main(|main| {
            self.branch
                .try_update_value(|b| {
                    let (shop, source) = b.as_mut()?.view_mut();
                    let (names, live) = (source.log.names(), source.live);
                    let (users, items) = shop.id_order(names);
                    let changes = diff_across_in_order((main.names(), main.live()), (names, live), users, items);
                    Some(changes.iter().map(DiffLine::from_difference).collect())
                })
                .flatten()
        })
        .flatten()
        .ok_or(ViewError::Busy)
    }
}
