//! The synonym table of this field (`data/synonyms.txt`), kept as data so it can be read and changed
//! without reading code. Terms are compared as stems, so a table entry `tweet` serves `tweets` too.

use std::collections::HashMap;

const TABLE: &str = include_str!("../../data/synonyms.txt");

/// Stemmed phrases and what each also finds.
pub struct Synonyms {
    /// phrase (stems) → the phrases (stems) it also finds, itself excluded.
    expansions: HashMap<Vec<String>, Vec<Vec<String>>>,
    longest: usize,
}

impl Synonyms {
    /// The carried table, with `stem` turning a phrase into the index's terms.
    pub fn carried(stem: &dyn Fn(&str) -> Vec<String>) -> Synonyms {
        Synonyms::parse(TABLE, stem).expect("the carried synonym table is well formed")
    }

    pub fn parse(text: &str, stem: &dyn Fn(&str) -> Vec<String>) -> Result<Synonyms, String> {
        let mut expansions: HashMap<Vec<String>, Vec<Vec<String>>> = HashMap::new();
        let mut add = |from: &Vec<String>, to: &Vec<String>| {
            if from != to {
                let list = expansions.entry(from.clone()).or_default();
                if !list.contains(to) {
                    list.push(to.clone());
                }
            }
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let terms = |part: &str| -> Result<Vec<Vec<String>>, String> {
                let out: Vec<Vec<String>> = part
                    .split(',')
                    .map(stem)
                    .filter(|t| !t.is_empty())
                    .collect();
                if out.is_empty() {
                    Err(format!("synonyms line {}: no term", n + 1))
                } else {
                    Ok(out)
                }
            };
            match line.split_once("=>") {
                Some((from, to)) => {
                    let (from, to) = (terms(from)?, terms(to)?);
                    for f in &from {
                        for t in &to {
                            add(f, t);
                        }
                    }
                }
                None => {
                    let group = terms(line)?;
                    for a in &group {
                        for b in &group {
                            add(a, b);
                        }
                    }
                }
            }
        }
        let longest = expansions.keys().map(Vec::len).max().unwrap_or(1);
        Ok(Synonyms {
            expansions,
            longest,
        })
    }

    /// The longest table phrase starting at `stems[at]`: its length and what it also finds.
    pub fn longest_at(&self, stems: &[String], at: usize) -> Option<(usize, &[Vec<String>])> {
        let most = self.longest.min(stems.len() - at);
        (1..=most).rev().find_map(|len| {
            self.expansions
                .get(&stems[at..at + len])
                .map(|found| (len, found.as_slice()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace()
            .map(|w| w.trim_end_matches('s').to_lowercase())
            .collect()
    }

    #[test]
    fn groups_find_each_other_and_arrows_one_way() {
        let s = Synonyms::parse("twitter, x, tweets\ngpt => openai\n", &words).unwrap();
        let at = |q: &str| {
            s.longest_at(&words(q), 0)
                .map(|(n, f)| (n, f.to_vec()))
                .unwrap_or_default()
        };
        assert_eq!(at("x"), (1, vec![words("twitter"), words("tweet")]));
        assert_eq!(at("tweet"), (1, vec![words("twitter"), words("x")]));
        assert_eq!(at("gpt"), (1, vec![words("openai")]));
        assert_eq!(at("openai"), (0, vec![]));
    }

    #[test]
    fn the_longest_phrase_wins() {
        let s = Synonyms::parse("tts, text to speech\nspeech, voice\n", &words).unwrap();
        let (len, found) = s.longest_at(&words("text to speech please"), 0).unwrap();
        assert_eq!((len, found.to_vec()), (3, vec![words("tts")]));
        assert!(s.longest_at(&words("text to speech"), 1).is_none());
        assert_eq!(
            s.longest_at(&words("text to speech"), 2)
                .unwrap()
                .1
                .to_vec(),
            vec![words("voice")]
        );
    }

    #[test]
    fn the_carried_table_parses() {
        let s = Synonyms::carried(&words);
        assert!(s.longest_at(&words("eth"), 0).is_some());
    }

    #[test]
    fn a_line_without_terms_is_an_error() {
        assert!(Synonyms::parse(" , \n", &words).is_err());
    }
}
