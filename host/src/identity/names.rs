//! Whether two people's names agree: compared as sets of words, folded to lower case without
//! accents, tolerant of word order, initials and short forms (`J. Müller` agrees with
//! `Jürgen Muller`, `Lee Ann` with `Ann Lee`, `Chris Ng` with `Christopher Ng`).

use unicode_normalization::UnicodeNormalization;

/// What two names say about two records being one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Both are full names (two words or more) and every word of the shorter one matches a
    /// word of the other.
    Agree,
    /// Both are full names, written in the same script, and they do not agree.
    Disagree,
    /// A name is missing, a single word (a first name, a nickname), or written in another
    /// script: the names say nothing.
    Unknown,
}

/// The name a person goes by, to compare: given and family name when both are known, else the
/// display name; blank parts count as missing.
pub fn full_name(
    display: Option<&str>,
    given: Option<&str>,
    family: Option<&str>,
) -> Option<String> {
    fn clean(n: Option<&str>) -> Option<&str> {
        n.map(str::trim).filter(|n| !n.is_empty())
    }
    match (clean(given), clean(family)) {
        (Some(given), Some(family)) => Some(format!("{given} {family}")),
        _ => clean(display).map(str::to_string),
    }
}

/// Honorifics that are not part of a name.
const TITLES: &[&str] = &["mr", "mrs", "ms", "miss", "mme", "mlle", "dr", "herr", "frau", "sr"];

/// The words of a name, folded: lower case, accents removed, honorifics dropped.
pub fn words(name: &str) -> Vec<String> {
    let mut folded = String::with_capacity(name.len());
    for c in name.nfkd() {
        match c {
            'ß' => folded.push_str("ss"),
            'æ' | 'Æ' => folded.push_str("ae"),
            'œ' | 'Œ' => folded.push_str("oe"),
            'ø' | 'Ø' => folded.push('o'),
            'ł' | 'Ł' => folded.push('l'),
            'đ' | 'Đ' => folded.push('d'),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            c => folded.extend(c.to_lowercase()),
        }
    }
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !TITLES.contains(w))
        .map(str::to_string)
        .collect()
}

fn matches(a: &str, b: &str) -> bool {
    let (short, long) = if a.chars().count() <= b.chars().count() { (a, b) } else { (b, a) };
    let short_len = short.chars().count();
    short == long
        || (short_len == 1 && long.starts_with(short))
        || (short_len >= 3 && long.starts_with(short))
}

fn is_ascii(words: &[String]) -> bool {
    words.iter().all(|w| w.is_ascii())
}

/// Whether the names `a` and `b` agree.
pub fn agreement(a: &str, b: &str) -> Agreement {
    let (a, b) = (words(a), words(b));
    if a.len() < 2 || b.len() < 2 || is_ascii(&a) != is_ascii(&b) {
        return Agreement::Unknown;
    }
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    // Each word of the shorter name takes a word of the longer, full words first so that an
    // initial cannot take the word a full word needs.
    let mut taken = vec![false; long.len()];
    let mut order: Vec<&String> = short.iter().collect();
    order.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut full_match = false;
    for word in order {
        let Some(i) = (0..long.len()).find(|&i| !taken[i] && matches(word, &long[i])) else {
            return Agreement::Disagree;
        };
        taken[i] = true;
        full_match |= word.chars().count() > 1 && long[i].chars().count() > 1;
    }
    if full_match { Agreement::Agree } else { Agreement::Unknown }
}

#[cfg(test)]
mod tests {
    use super::Agreement::*;
    use super::*;

    #[test]
    fn names_agree_across_order_accents_and_initials() {
        for (a, b) in [
            ("Ann Lee", "ann lee"),
            ("Ann Lee", "Lee, Ann"),
            ("Jürgen Müller", "Jurgen Muller"),
            ("J. Müller", "Jürgen Muller"),
            ("Chris Ng", "Christopher Ng"),
            ("Ann Lee", "Ann Mary Lee"),
            ("Mme Élodie Durand", "Elodie Durand"),
            ("Strauß Anna", "Anna Strauss"),
        ] {
            assert_eq!(agreement(a, b), Agree, "{a} / {b}");
        }
    }

    #[test]
    fn different_people_disagree() {
        for (a, b) in [
            ("Marie Dubois", "Jean Dubois"),
            ("Ann Lee", "Bob Stone"),
            ("Ann Lee", "Ann Stone"),
            ("Jean Martin", "Paul Martin"),
        ] {
            assert_eq!(agreement(a, b), Disagree, "{a} / {b}");
        }
    }

    #[test]
    fn a_missing_or_single_word_name_says_nothing() {
        for (a, b) in [
            ("Ann", "Ann Lee"),
            ("", "Ann Lee"),
            ("🌸", "Ann Lee"),
            ("Мария Иванова", "Maria Ivanova"),
            ("J. L.", "Jean Lee"),
        ] {
            assert_eq!(agreement(a, b), Unknown, "{a} / {b}");
        }
    }
}
