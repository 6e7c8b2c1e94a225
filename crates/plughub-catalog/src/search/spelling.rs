//! "Did you mean": a query word no plugin has anywhere is looked up among the words the catalogue does
//! have, within one edit (two for long words), through the term dictionary's automaton; the closest,
//! then the most common, wins.

use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Shorter words are too often another real word one edit away (`bot`, `nft`, `evm`).
const SHORTEST_CORRECTED: usize = 4;

/// What the catalogue makes of a query word.
pub(super) enum Spelling {
    /// Some plugin has it (as typed, or another form of it), or it is too short to judge.
    Known,
    /// No plugin has it; the closest word some plugin has, if any is close enough.
    Unknown(Option<String>),
}

/// Whether a plugin has `word` (as typed in `field`, or by its stem in any of `stemmed`), and if not, its
/// correction.
pub(super) fn check(
    searcher: &Searcher,
    field: Field,
    word: &str,
    stem: &str,
    stemmed: &[Field],
) -> Spelling {
    let length = word.chars().count();
    if length < SHORTEST_CORRECTED || word.chars().any(|c| c.is_ascii_digit()) {
        return Spelling::Known;
    }
    // "trade" is nowhere as typed, but "trading" is: a word another form of which is known is no typo.
    if doc_freq(searcher, field, word) > 0
        || stemmed.iter().any(|f| doc_freq(searcher, *f, stem) > 0)
    {
        return Spelling::Known;
    }
    Spelling::Unknown(closest(searcher, field, word, length))
}

fn closest(searcher: &Searcher, field: Field, word: &str, length: usize) -> Option<String> {
    let distance = if length >= 8 { 2 } else { 1 };
    let automaton = FuzzyTermQuery::new(Term::from_field_text(field, word), distance, true)
        .automaton()
        .ok()?;
    let mut best: Option<(usize, u64, String)> = None;
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().search(&automaton).into_stream() else {
            continue;
        };
        while stream.advance() {
            let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            let edits = strsim::osa_distance(word, candidate);
            let freq = u64::from(stream.value().doc_freq);
            let better = best
                .as_ref()
                .is_none_or(|(e, f, _)| edits < *e || (edits == *e && freq > *f));
            if better {
                best = Some((edits, freq, candidate.to_string()));
            }
        }
    }
    best.map(|(_, _, word)| word)
}

fn doc_freq(searcher: &Searcher, field: Field, word: &str) -> u64 {
    searcher
        .doc_freq(&Term::from_field_text(field, word))
        .unwrap_or(0)
}
