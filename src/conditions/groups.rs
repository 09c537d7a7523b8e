//! Saved groups: named lists of attribute values that a snapshot defines once (`savedGroups`)
//! and conditions reference with `$inGroup` / `$notInGroup`, as GrowthBook's saved groups.
//!
//! A condition is compiled against the snapshot's groups: the list is resolved then, shared by
//! every condition naming it, and evaluation is the `$in` / `$nin` membership test.

use super::ConditionError;
use crate::keymap::KeyMap;
use crate::value::Value;
use std::sync::Arc;

/// Most saved groups one snapshot may define.
pub const MAX_GROUPS: usize = 1_000;
/// Most values one saved group may hold.
pub const MAX_GROUP_VALUES: usize = 1_000;
/// Longest group id, in bytes.
pub const MAX_GROUP_ID_LEN: usize = 200;

/// A snapshot's saved groups: group id to its values (strings and numbers).
#[derive(Debug, Clone, Default)]
pub struct SavedGroups {
    /// Group id to its position in `lists`.
    ids: KeyMap<usize>,
    /// Each group's values, as a JSON array shared by every condition naming the group.
    lists: Vec<Arc<Value>>,
}

fn bad(path: String, message: &str) -> ConditionError {
    ConditionError::SavedGroup {
        path,
        message: message.to_owned(),
    }
}

impl SavedGroups {
    /// Validates a snapshot's `savedGroups` field: missing or `null` is none; otherwise an object
    /// of at most [`MAX_GROUPS`] ids (1-200 bytes), each an array of at most
    /// [`MAX_GROUP_VALUES`] strings and numbers.
    pub fn from_value(v: Option<&Value>) -> Result<SavedGroups, ConditionError> {
        let members = match v {
            None | Some(Value::Null) => return Ok(SavedGroups::default()),
            Some(Value::Object(members)) => members,
            Some(other) => {
                let message = [
                    "expected an object of group id to array of values, got ",
                    other.type_name(),
                ];
                return Err(bad(String::new(), &message.concat()));
            }
        };
        if members.len() > MAX_GROUPS {
            return Err(bad(String::new(), "more than 1000 saved groups"));
        }
        let mut ids = Vec::with_capacity(members.len());
        let mut lists = Vec::with_capacity(members.len());
        for (id, values) in members {
            if id.is_empty() || id.len() > MAX_GROUP_ID_LEN {
                return Err(bad(String::new(), "a group id must be 1-200 bytes"));
            }
            let path = |rest: &str| [".", id.as_str(), rest].concat();
            let Value::Array(items) = values else {
                return Err(bad(path(""), &["expected an array, got ", values.type_name()].concat()));
            };
            if items.len() > MAX_GROUP_VALUES {
                return Err(bad(path(""), "more than 1000 values"));
            }
            if let Some((i, x)) = items
                .iter()
                .enumerate()
                .find(|(_, x)| !matches!(x, Value::String(_) | Value::Number(_)))
            {
                let at = ["[", &super::decimal(i), "]"].concat();
                return Err(bad(
                    path(&at),
                    &["expected a string or a number, got ", x.type_name()].concat(),
                ));
            }
            ids.push((id.clone(), lists.len()));
            lists.push(Arc::new(values.clone()));
        }
        Ok(SavedGroups {
            ids: KeyMap::from_pairs(ids),
            lists,
        })
    }

    /// The values of group `id`, a JSON array.
    pub fn get(&self, id: &str) -> Option<&Arc<Value>> {
        self.ids.get(id).and_then(|i| self.lists.get(*i))
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// `true` when there are no groups.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}
