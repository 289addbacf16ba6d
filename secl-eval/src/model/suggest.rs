//! "Did you mean" suggestions. Only used on the error path, so clarity beats speed.

use crate::suggest::distance_chars as osa_distance;

/// The closest candidate to `name`, if one is close enough to be a plausible typo.
pub(super) fn best<'a>(name: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    let input: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    let limit = threshold(input.len());
    let mut best: Option<(usize, usize, &'a str)> = None;
    for cand in candidates.clone() {
        if cand == name {
            continue;
        }
        let c: Vec<char> = cand.chars().flat_map(char::to_lowercase).collect();
        if c.len().abs_diff(input.len()) > limit {
            continue;
        }
        let d = osa_distance(&input, &c);
        if d <= limit {
            let key = (d, c.len().abs_diff(input.len()), cand);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
    }
    if let Some((_, _, found)) = best {
        return Some(found);
    }
    by_last_segment(name, candidates)
}

/// Allowed edits for a name of `len` characters: about one per five characters.
fn threshold(len: usize) -> usize {
    (len / 5).clamp(1, 4)
}

/// Falls back to siblings of the same parent whose last segment is close to the typed
/// one, or one a prefix of the other (`exec.file.pathname` -> `exec.file.path`): the
/// whole-name distance is too strict for long names with a garbled tail.
fn by_last_segment<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let (parent, last) = name.rsplit_once('.')?;
    if last.is_empty() {
        return None;
    }
    let last_l: Vec<char> = last.chars().flat_map(char::to_lowercase).collect();
    let limit = threshold(last_l.len());
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        let Some((cparent, clast)) = cand.rsplit_once('.') else {
            continue;
        };
        if cparent != parent || clast.is_empty() {
            continue;
        }
        let c: Vec<char> = clast.chars().flat_map(char::to_lowercase).collect();
        let prefix_related = c.len().min(last_l.len()) >= 3 && (c.starts_with(&last_l) || last_l.starts_with(&c));
        let d = osa_distance(&last_l, &c);
        if d <= limit || prefix_related {
            let key = (d, cand);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa_distance(&a, &b)
    }

    #[test]
    fn distances() {
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "ab"), 2);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("nmae", "name"), 1);
        assert_eq!(d("ca", "abc"), 3);
    }

    #[test]
    fn picks_closest() {
        let c = ["open.file.path", "open.file.name", "exec.file.path"];
        assert_eq!(best("open.file.pth", c.iter().copied()), Some("open.file.path"));
        assert_eq!(best("zzz", c.iter().copied()), None);
        assert_eq!(best("open.file.pathname", c.iter().copied()), Some("open.file.path"));
    }
}
