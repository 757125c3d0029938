use rustc_hash::FxHashMap;
use std::fmt;

/// A user's dense index in [`Names`]: the position of its balance in the state's arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u32);

/// An item's dense index in [`Names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId(pub u32);

/// Why a text is not a valid user or item id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdError {
    Empty,
    TooLong(usize),
    BadCharacter(char),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty => write!(f, "is empty"),
            IdError::TooLong(n) => write!(f, "has {n} characters, at most 32 are allowed"),
            IdError::BadCharacter(c) => {
                write!(f, "contains {c:?}; use only letters A-Z a-z, digits, '_' and '-'")
            }
        }
    }
}

/// Ids are 1–32 characters from `A–Z a–z 0–9 _ -` (CONTRACT §1).
pub fn validate_id(id: &str) -> Result<(), IdError> {
    // The common case, checked bytewise: stored chunks name hundreds of ids each.
    if (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Ok(());
    }
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if let Some(bad) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(IdError::BadCharacter(bad));
    }
    if id.len() > 32 {
        return Err(IdError::TooLong(id.len()));
    }
    Ok(())
}

#[derive(Clone, Debug)]
struct Interner {
    /// Every name, one after another: they lie together in memory, in index order, where a chunk's names are
    /// checked against their hints (see [`Interner::holds_at`]).
    text: String,
    /// Where each name starts in `text`, and where the last one ends: one more than there are names.
    starts: Vec<u32>,
    /// Keyed by bytes so stored names can be looked up before (and without) a UTF-8 check.
    index: FxHashMap<Box<[u8]>, u32>,
}

impl Default for Interner {
    fn default() -> Self {
        Self { text: String::new(), starts: vec![0], index: FxHashMap::default() }
    }
}

impl Interner {
    fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Where the name at `ix` lies in `text`, if there is one.
    #[inline]
    fn span(&self, ix: u32) -> Option<(usize, usize)> {
        let ix = ix as usize;
        Some((*self.starts.get(ix)? as usize, *self.starts.get(ix + 1)? as usize))
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name.as_bytes()).copied()
    }

    /// The index of a stored name given as bytes: known names are found without any check; a new one is
    /// validated as an id (which also makes it ASCII) before it is added.
    #[inline]
    fn intern_bytes(&mut self, name: &[u8]) -> Result<u32, IdError> {
        match self.index.get(name) {
            Some(ix) => Ok(*ix),
            None => self.intern_new_bytes(name),
        }
    }

    /// A name not in the table yet: checked, then added. Apart, so that the lookup above stays small enough
    /// to inline into a chunk's name list.
    #[cold]
    #[inline(never)]
    fn intern_new_bytes(&mut self, name: &[u8]) -> Result<u32, IdError> {
        let text = String::from_utf8_lossy(name);
        validate_id(&text)?;
        Ok(self.intern(&text))
    }

    /// As [`Interner::intern_bytes`], trying `hint` first: the index the name had where it was written. The
    /// name there is compared, never trusted; `window` is 16 bytes from the name's start, if there are.
    #[inline]
    fn intern_hinted(&mut self, name: &[u8], window: Option<&[u8; 16]>, hint: Option<u64>) -> Result<u32, IdError> {
        if let Some(ix) = hint.and_then(|h| u32::try_from(h).ok()) {
            if self.holds_at(ix, name, window) {
                return Ok(ix);
            }
        }
        self.intern_bytes(name)
    }

    /// Whether the name at `ix` is `name`. Names of up to 16 bytes, with 16 bytes readable from their start on
    /// both sides, are compared as one 128-bit number under a mask of their length.
    #[inline]
    fn holds_at(&self, ix: u32, name: &[u8], window: Option<&[u8; 16]>) -> bool {
        let Some((start, end)) = self.span(ix) else { return false };
        if end - start != name.len() {
            return false;
        }
        let text = self.text.as_bytes();
        let known = text.get(start..start.wrapping_add(16)).and_then(|w| <&[u8; 16]>::try_from(w).ok());
        match (known, window) {
            (Some(known), Some(window)) if name.len() <= 16 => {
                let differ = u128::from_le_bytes(*known) ^ u128::from_le_bytes(*window);
                let mask = u128::MAX.checked_shr(128 - 8 * name.len() as u32).unwrap_or(0);
                differ & mask == 0
            }
            _ => text.get(start..end) == Some(name),
        }
    }

    /// Forgets every name from index `len` on.
    fn truncate(&mut self, len: usize) {
        for ix in len..self.len() {
            if let Some((start, end)) = self.span(ix as u32) {
                if let Some(name) = self.text.as_bytes().get(start..end) {
                    self.index.remove(name);
                }
            }
        }
        if let Some(&end) = self.starts.get(len) {
            self.text.truncate(end as usize);
            self.starts.truncate(len + 1);
        }
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(ix) = self.get(name) {
            return ix;
        }
        // More than u32::MAX distinct names would not fit in memory anyway.
        let ix = self.len() as u32;
        self.text.push_str(name);
        self.starts.push(self.text.len() as u32);
        self.index.insert(name.as_bytes().into(), ix);
        ix
    }

    /// Whether the indices both tables have name the same thing in each.
    fn agrees_with(&self, other: &Interner) -> bool {
        // Equal starts give the shared names equal lengths; then their text must be equal too.
        let shared = self.starts.len().min(other.starts.len());
        let text_end = shared.checked_sub(1).and_then(|last| self.starts.get(last)).map_or(0, |&end| end as usize);
        self.starts.get(..shared) == other.starts.get(..shared)
            && self.text.as_bytes().get(..text_end) == other.text.as_bytes().get(..text_end)
    }

    fn name(&self, ix: u32) -> &str {
        self.span(ix).and_then(|(start, end)| self.text.get(start..end)).unwrap_or("?")
    }

    fn in_id_order(&self) -> Vec<u32> {
        let mut order = Vec::new();
        self.extend_id_order(&mut order);
        order
    }

    /// `order` holds this table's first `order.len()` indices sorted by name; the indices interned since are
    /// sorted alone and merged in, so a table that grew by k names costs n + k log k, not a sort of all n.
    /// An order longer than the table (of another table) is rebuilt whole.
    fn extend_id_order(&self, order: &mut Vec<u32>) {
        let known = order.len();
        if known > self.len() {
            order.clear();
            return self.extend_id_order(order);
        }
        let mut added: Vec<u32> = (known as u32..self.len() as u32).collect();
        added.sort_unstable_by(|a, b| self.name(*a).cmp(self.name(*b)));
        if known == 0 {
            *order = added;
            return;
        }
        // Merge from the back, in place: the larger name of the two tails goes last.
        order.resize(known + added.len(), 0);
        let (mut left, mut right, mut out) = (known, added.len(), order.len());
        while right > 0 {
            out -= 1;
            if left > 0 && self.name(order[left - 1]) > self.name(added[right - 1]) {
                order[out] = order[left - 1];
                left -= 1;
            } else {
                order[out] = added[right - 1];
                right -= 1;
            }
        }
    }
}

/// The name tables beside the state: user and item ids interned to dense indices. Append-only, so an index
/// never changes meaning; a name whose entity does not exist (yet) at some point of history is simply absent
/// from the state there.
#[derive(Clone, Debug, Default)]
pub struct Names {
    users: Interner,
    items: Interner,
}

/// How many names each table held at some moment; see [`Names::checkpoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamesCheckpoint {
    users: usize,
    items: usize,
}

impl Names {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the tables are now, to [`Names::roll_back`] to if what comes next is refused.
    pub fn checkpoint(&self) -> NamesCheckpoint {
        NamesCheckpoint { users: self.users.len(), items: self.items.len() }
    }

    /// Forgets every name learnt since `checkpoint`: a refused request leaves the tables as it found them.
    /// Only for names no event uses (ids are dense indices: a kept event would name a forgotten one).
    pub fn roll_back(&mut self, checkpoint: NamesCheckpoint) {
        self.users.truncate(checkpoint.users);
        self.items.truncate(checkpoint.items);
    }

    pub fn user(&self, name: &str) -> Option<UserId> {
        self.users.get(name).map(UserId)
    }

    pub fn item(&self, name: &str) -> Option<ItemId> {
        self.items.get(name).map(ItemId)
    }

    /// The index of `name`, adding it if new. The caller has validated it with [`validate_id`].
    pub fn intern_user(&mut self, name: &str) -> UserId {
        UserId(self.users.intern(name))
    }

    pub fn intern_item(&mut self, name: &str) -> ItemId {
        ItemId(self.items.intern(name))
    }

    /// As [`Names::intern_user_bytes`], trying where the writer's table had the name first (see
    /// [`crate::chunk`]); `window` is 16 bytes from the name's start in the chunk, if there are.
    pub(crate) fn intern_user_hinted(&mut self, name: &[u8], window: Option<&[u8; 16]>, hint: Option<u64>) -> Result<UserId, IdError> {
        self.users.intern_hinted(name, window, hint).map(UserId)
    }

    pub(crate) fn intern_item_hinted(&mut self, name: &[u8], window: Option<&[u8; 16]>, hint: Option<u64>) -> Result<ItemId, IdError> {
        self.items.intern_hinted(name, window, hint).map(ItemId)
    }

    /// Interns a stored user name given as bytes, checking it as an id when it is new.
    pub fn intern_user_bytes(&mut self, name: &[u8]) -> Result<UserId, IdError> {
        self.users.intern_bytes(name).map(UserId)
    }

    pub fn intern_item_bytes(&mut self, name: &[u8]) -> Result<ItemId, IdError> {
        self.items.intern_bytes(name).map(ItemId)
    }

    pub fn user_name(&self, id: UserId) -> &str {
        self.users.name(id.0)
    }

    pub fn item_name(&self, id: ItemId) -> &str {
        self.items.name(id.0)
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// All user indices sorted by name (byte order), for listing in id order.
    pub fn users_in_id_order(&self) -> Vec<UserId> {
        self.users.in_id_order().into_iter().map(UserId).collect()
    }

    pub fn items_in_id_order(&self) -> Vec<ItemId> {
        self.items.in_id_order().into_iter().map(ItemId).collect()
    }

    /// Whether every index both tables have names the same user (or item) in each: true when one extends
    /// the other, as a what-if branch's tables extend the real log's they were made from, until the real log
    /// learns other names under the indices the branch gave its own.
    pub fn agrees_with(&self, other: &Names) -> bool {
        std::ptr::eq(self, other) || (self.users.agrees_with(&other.users) && self.items.agrees_with(&other.items))
    }

    /// Brings `order`, this table's users in id order as it was some names ago (or empty), up to date by
    /// merging in the users interned since instead of sorting them all again.
    pub fn extend_users_in_id_order(&self, order: &mut Vec<UserId>) {
        let mut raw: Vec<u32> = std::mem::take(order).into_iter().map(|u| u.0).collect();
        self.users.extend_id_order(&mut raw);
        *order = raw.into_iter().map(UserId).collect();
    }

    pub fn extend_items_in_id_order(&self, order: &mut Vec<ItemId>) {
        let mut raw: Vec<u32> = std::mem::take(order).into_iter().map(|i| i.0).collect();
        self.items.extend_id_order(&mut raw);
        *order = raw.into_iter().map(ItemId).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract() {
        assert!(validate_id("alice").is_ok());
        assert!(validate_id("A-z_09").is_ok());
        assert!(validate_id(&"x".repeat(32)).is_ok());
        assert_eq!(validate_id(""), Err(IdError::Empty));
        assert_eq!(validate_id(&"x".repeat(33)), Err(IdError::TooLong(33)));
        assert_eq!(validate_id("al ice"), Err(IdError::BadCharacter(' ')));
        assert_eq!(validate_id("é"), Err(IdError::BadCharacter('é')));
    }

    #[test]
    fn interning_is_stable_and_dense() {
        let mut names = Names::new();
        let bob = names.intern_user("bob");
        let alice = names.intern_user("alice");
        assert_eq!((bob, alice), (UserId(0), UserId(1)));
        assert_eq!(names.intern_user("bob"), bob);
        assert_eq!(names.user_name(alice), "alice");
        assert_eq!(names.users_in_id_order(), vec![alice, bob]);
        assert_eq!(names.item("bob"), None);
    }

    #[test]
    fn a_grown_table_merges_its_new_names_into_the_order_it_had() {
        let mut names = Names::new();
        for n in ["m", "c", "x", "a"] {
            names.intern_user(n);
        }
        let mut order = names.users_in_id_order();
        for n in ["b", "z", "d", "aa", "y"] {
            names.intern_user(n);
        }
        names.extend_users_in_id_order(&mut order);
        let by_name: Vec<&str> = order.iter().map(|u| names.user_name(*u)).collect();
        assert_eq!(by_name, ["a", "aa", "b", "c", "d", "m", "x", "y", "z"]);
        assert_eq!(order, names.users_in_id_order());
        // An order of a larger table is not a prefix of this one: rebuilt whole.
        let mut foreign: Vec<UserId> = (0..20).map(UserId).collect();
        names.extend_users_in_id_order(&mut foreign);
        assert_eq!(foreign, names.users_in_id_order());
    }

    #[test]
    fn tables_agree_while_one_extends_the_other() {
        let mut real = Names::new();
        real.intern_user("alice");
        real.intern_item("apple");
        let mut branch = real.clone();
        branch.intern_user("bob");
        assert!(real.agrees_with(&branch) && branch.agrees_with(&real));
        // The real log learns another name under the index the branch gave bob.
        real.intern_user("carol");
        assert!(!real.agrees_with(&branch));
        assert!(real.agrees_with(&real));
    }

    #[test]
    fn tables_whose_names_run_together_the_same_still_differ() {
        let (mut one, mut other) = (Names::new(), Names::new());
        for name in ["ab", "c"] {
            one.intern_user(name);
        }
        for name in ["a", "bc"] {
            other.intern_user(name);
        }
        assert!(!one.agrees_with(&other));
        assert_eq!((one.user_name(UserId(1)), other.user_name(UserId(1))), ("c", "bc"));
        assert_eq!(one.user_name(UserId(2)), "?");
    }
}
