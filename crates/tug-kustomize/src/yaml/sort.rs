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

#[cfg(test)]
mod tests {
    use super::natural_less;

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
