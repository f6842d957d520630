//! go-yaml v2's map key order: the "natural" order its encoder sorts keys in.
//!
//! Letters sort after non-letters, letters compare by code point, and runs of digits compare
//! numerically (`item9` < `item10`), which is why kustomize prints `_x` before `1x`.

/// True when `a` sorts before `b`. Works on the strings in place: the printer calls it for
/// every pair of keys it compares.
pub fn natural_less(a: &str, b: &str) -> bool {
    let mut ac = a.char_indices();
    let mut bc = b.char_indices();
    loop {
        let Some((pos, ca)) = ac.next() else {
            // `a` is a prefix of `b`: shorter sorts first.
            return bc.next().is_some();
        };
        let Some((bpos, cb)) = bc.next() else {
            return false;
        };
        if ca == cb {
            continue;
        }
        let al = ca.is_alphabetic();
        let bl = cb.is_alphabetic();
        if al && bl {
            return ca < cb;
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ca == '0' || cb == '0' {
            // A zero inside a number that started earlier (the common prefix) counts as a
            // digit of that number, not as a leading zero.
            for c in a[..pos].chars().rev() {
                if !c.is_numeric() {
                    break;
                }
                if c != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let number = |s: &str, mut n: i64| {
            let mut digits = 0usize;
            for c in s.chars().take_while(|c| c.is_numeric()) {
                n = n
                    .wrapping_mul(10)
                    .wrapping_add(c.to_digit(10).unwrap_or(0) as i64);
                digits += 1;
            }
            (n, digits)
        };
        let (an, ad) = number(&a[pos..], an);
        let (bn, bd) = number(&b[bpos..], bn);
        if an != bn {
            return an < bn;
        }
        if ad != bd {
            return ad < bd;
        }
        return ca < cb;
    }
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
