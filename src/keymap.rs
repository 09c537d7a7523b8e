//! A string-keyed map on a sorted vector: binary-search lookups and no hashing code, which keeps
//! the Wasm module small.

/// Sorted `(key, value)` pairs.
#[derive(Debug, Clone)]
pub struct KeyMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap { entries: Vec::new() }
    }
}

impl<V> KeyMap<V> {
    /// Builds the map. Keys should be unique; for equal keys, which one a lookup returns is
    /// unspecified. Use [`KeyMap::grouped`] to keep every value of a key.
    pub fn from_pairs(entries: Vec<(String, V)>) -> Self {
        KeyMap {
            entries: sorted(entries),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<V> KeyMap<Vec<V>> {
    /// Groups values by key, keeping input order within each key.
    pub fn grouped(pairs: Vec<(String, V)>) -> Self {
        let mut entries: Vec<(String, Vec<V>)> = Vec::new();
        for (k, v) in sorted(pairs) {
            match entries.last_mut() {
                Some((last, values)) if *last == k => values.push(v),
                _ => entries.push((k, vec![v])),
            }
        }
        KeyMap { entries }
    }
}

/// The positions of `keys` in key order, ties in input order. Every sort in the crate goes
/// through this one function: a heapsort, O(n log n) and a few hundred bytes of Wasm, where
/// the standard library's sort costs a few kilobytes.
pub fn sort_order(keys: &[&str]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    let less = |a: usize, b: usize| (keys[a], a) < (keys[b], b);
    let n = order.len();
    for start in (0..n / 2).rev() {
        sift_down(&mut order, start, n, &less);
    }
    for end in (1..n).rev() {
        order.swap(0, end);
        sift_down(&mut order, 0, end, &less);
    }
    order
}

fn sift_down(order: &mut [usize], mut root: usize, end: usize, less: &dyn Fn(usize, usize) -> bool) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(order[child], order[child + 1]) {
            child += 1;
        }
        if !less(order[root], order[child]) {
            return;
        }
        order.swap(root, child);
        root = child;
    }
}

/// Sorts pairs by key, stably.
fn sorted<V>(pairs: Vec<(String, V)>) -> Vec<(String, V)> {
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let order = sort_order(&keys);
    let mut slots: Vec<Option<(String, V)>> = pairs.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heapsort_orders_like_the_standard_sort() {
        let words: Vec<String> = (0..500u32).map(|i| format!("k{}", (i * 7919) % 211)).collect();
        let keys: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut want: Vec<usize> = (0..keys.len()).collect();
        want.sort_by(|a, b| keys[*a].cmp(keys[*b]).then(a.cmp(b)));
        assert_eq!(sort_order(&keys), want);
        assert!(sort_order(&[]).is_empty());
    }

    #[test]
    fn lookups_and_groups() {
        let m = KeyMap::from_pairs(vec![("b".into(), 2), ("a".into(), 1), ("c".into(), 3)]);
        assert_eq!(m.get("a"), Some(&1));
        assert_eq!(m.get("c"), Some(&3));
        assert_eq!(m.get("d"), None);
        let g = KeyMap::grouped(vec![("u".into(), 1), ("t".into(), 9), ("u".into(), 2)]);
        assert_eq!(g.get("u"), Some(&vec![1, 2]));
        assert_eq!(g.len(), 2);
    }
}
