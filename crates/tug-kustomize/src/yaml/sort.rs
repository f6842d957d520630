//! go-yaml v2's map key order: the "natural" order its encoder sorts keys in.
//!
//! Letters sort after non-letters, letters compare by code point, and runs of digits compare
//! numerically (`item9` < `item10`), which is why kustomize prints `_x` before `1x`.

/// True when `a` sorts before `b`.
pub fn natural_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_numeric() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_numeric() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(ar[ai].to_digit(10).unwrap_or(0) as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_numeric() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(br[bi].to_digit(10).unwrap_or(0) as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Sorts by `less`, which need not be a total order: go-yaml's key order and kustomize's
/// legacy resource order are not (`std`'s sorts may panic on such an order). Up to 12 items,
/// this is the insertion sort Go's `sort.Sort` runs on slices that short, so the result is
/// Go's even when `less` is inconsistent; longer slices are merge sorted (the same result as
/// Go's for any consistent order).
pub fn sort_by_less<T>(v: &mut Vec<T>, mut less: impl FnMut(&T, &T) -> bool) {
    if v.len() <= 12 {
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let items = std::mem::take(v);
    *v = merge_sort(items, &mut less);
}

fn merge_sort<T>(mut v: Vec<T>, less: &mut impl FnMut(&T, &T) -> bool) -> Vec<T> {
    if v.len() <= 1 {
        return v;
    }
    let right = v.split_off(v.len() / 2);
    let (left, right) = (merge_sort(v, less), merge_sort(right, less));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        // Stable: take from the right only when it is strictly less.
        let next = if less(b, a) { r.next() } else { l.next() };
        out.extend(next);
    }
    out.extend(l);
    out.extend(r);
    out
}

#[cfg(test)]
mod tests {
    use super::{natural_less, sort_by_less};

    #[test]
    fn inconsistent_orders_sort_without_panicking() {
        // A cycle: a < b, b < c, c < a.
        let cyc = |x: &u32, y: &u32| (x + 1) % 3 == *y % 3;
        for n in [3, 12, 13, 40, 1000] {
            let mut v: Vec<u32> = (0..n).rev().collect();
            sort_by_less(&mut v, cyc);
            assert_eq!(v.len(), n as usize);
        }
        let mut v: Vec<u32> = (0..100).rev().collect();
        sort_by_less(&mut v, |a, b| a < b);
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn natural_order() {
        assert!(natural_less("item9", "item10"));
        assert!(natural_less("_x", "1x"));
        assert!(natural_less("apiVersion", "kind"));
        assert!(natural_less("~", "0x10"));
        assert!(natural_less("UPPER", "Yes"));
        assert!(!natural_less("b", "a"));
    }
}
