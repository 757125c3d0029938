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

#[derive(Clone, Debug, Default)]
struct Interner {
    names: Vec<Box<str>>,
    /// Keyed by bytes so stored names can be looked up before (and without) a UTF-8 check.
    index: FxHashMap<Box<[u8]>, u32>,
}

impl Interner {
    fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name.as_bytes()).copied()
    }

    /// The index of a stored name given as bytes: known names are found without any check; a new one is
    /// validated as an id (which also makes it ASCII) before it is added.
    fn intern_bytes(&mut self, name: &[u8]) -> Result<u32, IdError> {
        if let Some(ix) = self.index.get(name) {
            return Ok(*ix);
        }
        let text = String::from_utf8_lossy(name);
        validate_id(&text)?;
        Ok(self.intern(&text))
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(ix) = self.get(name) {
            return ix;
        }
        // More than u32::MAX distinct names would not fit in memory anyway.
        let ix = self.names.len() as u32;
        self.names.push(name.into());
        self.index.insert(name.as_bytes().into(), ix);
        ix
    }

    fn name(&self, ix: u32) -> &str {
        self.names.get(ix as usize).map_or("?", |n| n)
    }

    fn in_id_order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.name(*a).cmp(self.name(*b)));
        order
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

impl Names {
    pub fn new() -> Self {
        Self::default()
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
        self.users.names.len()
    }

    pub fn item_count(&self) -> usize {
        self.items.names.len()
    }

    /// All user indices sorted by name (byte order), for listing in id order.
    pub fn users_in_id_order(&self) -> Vec<UserId> {
        self.users.in_id_order().into_iter().map(UserId).collect()
    }

    pub fn items_in_id_order(&self) -> Vec<ItemId> {
        self.items.in_id_order().into_iter().map(ItemId).collect()
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
}
