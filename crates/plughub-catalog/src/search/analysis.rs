//! How text becomes terms. Indexed text and queries go through the same analyzer: words split on
//! anything that is not a letter or digit (`plugin-solana` → `plugin`, `solana`; `SEND_TWEET` → `send`,
//! `tweet`), lower-cased, folded to ASCII, and stemmed for English (`tweets` → `tweet`). A second analyzer
//! keeps whole words unstemmed: spelling suggestions are words people can read.

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};

pub(super) const STEMMED: &str = "plughub_en";
pub(super) const WORDS: &str = "plughub_words";

/// Words longer than this are not words (hashes, addresses, base64) and are left out.
const LONGEST_WORD: usize = 40;

/// Words that carry no intent in this catalogue: English function words, and the words every entry has.
const QUERY_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "if", "in", "into",
    "is", "it", "my", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with", "i", "me", "want", "need", "can", "how", "do",
    "some", "plugin", "plugins", "elizaos", "eliza",
];

pub(super) fn register(index: &Index) {
    index.tokenizers().register(STEMMED, stemmed());
    index.tokenizers().register(WORDS, words());
}

pub(super) fn stemmed() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

pub(super) fn words() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The terms `text` gives with `analyzer`.
pub(super) fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

thread_local! {
    // Analyzers are built once per thread: a query stems each of its words.
    static STEMMER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(stemmed());
    static WORDS_ONLY: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(words());
}

/// The stemmed terms of `text`, as the index has them.
pub(super) fn stems_of(text: &str) -> Vec<String> {
    STEMMER.with(|a| terms(&mut a.borrow_mut(), text))
}

/// The words of `text`, unstemmed.
pub(super) fn words_of(text: &str) -> Vec<String> {
    WORDS_ONLY.with(|a| terms(&mut a.borrow_mut(), text))
}

pub(super) fn is_stop_word(word: &str) -> bool {
    QUERY_STOP_WORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_constants_split_into_stemmed_words() {
        assert_eq!(
            terms(
                &mut stemmed(),
                "@elizaos/plugin-twitter SEND_TWEETS Tweeting"
            ),
            ["elizao", "plugin", "twitter", "send", "tweet", "tweet"]
        );
        assert_eq!(terms(&mut words(), "Café Tweets"), ["cafe", "tweets"]);
    }
}
