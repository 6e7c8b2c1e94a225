//! Turning a request into a tantivy query. Each word must match somewhere (exactly, by prefix, or within an
//! edit or two), names weigh most, and a query that is a plugin's name (in any usual spelling) puts that
//! plugin first. Filters narrow without changing scores.

use super::SearchRequest;
use super::index::Fields;
use crate::compat::CompatStatus;
use plughub_domain::names::candidate_names;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

/// The query, and whether it has words (without words, relevance falls back to popularity).
pub(super) fn build_query(
    fields: &Fields,
    mut tokenizer: TextAnalyzer,
    request: &SearchRequest,
) -> (Box<dyn Query>, bool) {
    let mut words = Vec::new();
    let mut stream = tokenizer.token_stream(&request.query);
    while let Some(token) = stream.next() {
        words.push(token.text.clone());
    }
    let has_text = !words.is_empty();
    let text_query: Box<dyn Query> = if has_text {
        words_query(fields, &words, &request.query)
    } else {
        Box::new(AllQuery)
    };

    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query)];
    for facet in filter_facets(request) {
        let term = Term::from_facet(fields.facets, &facet);
        let q = TermQuery::new(term, IndexRecordOption::Basic);
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(q), 0.0)),
        ));
    }
    (Box::new(BooleanQuery::new(clauses)), has_text)
}

fn words_query(fields: &Fields, words: &[String], raw: &str) -> Box<dyn Query> {
    let per_word: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .enumerate()
        .map(|(i, word)| (Occur::Must, word_query(fields, word, i + 1 == words.len())))
        .collect();
    let mut top: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Should, Box::new(BooleanQuery::new(per_word)))];
    for name in candidate_names(raw) {
        let term = Term::from_field_text(fields.name_keys, &name);
        let exact = TermQuery::new(term, IndexRecordOption::Basic);
        top.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(exact), 100.0)),
        ));
    }
    Box::new(BooleanQuery::new(top))
}

/// One word, matched exactly in any field, by prefix in names (for words still being typed), and within
/// one edit (two for long words) in names, topics, keywords and descriptions.
fn word_query(fields: &Fields, word: &str, last: bool) -> Box<dyn Query> {
    let term = |field| Term::from_field_text(field, word);
    let exact = |field, boost: f32| -> (Occur, Box<dyn Query>) {
        let q = TermQuery::new(term(field), IndexRecordOption::WithFreqs);
        (Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost)))
    };
    let mut clauses = vec![
        exact(fields.name, 6.0),
        exact(fields.topics, 3.0),
        exact(fields.keywords, 3.0),
        exact(fields.description, 2.0),
        exact(fields.readme, 1.0),
    ];
    let distance = match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    if distance > 0 {
        for (field, boost) in [
            (fields.name, 1.5),
            (fields.topics, 0.5),
            (fields.keywords, 0.5),
            (fields.description, 0.3),
        ] {
            let q = FuzzyTermQuery::new(term(field), distance, true);
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
        }
    }
    if last && word.len() >= 2 {
        let q = FuzzyTermQuery::new_prefix(term(fields.name), 0, true);
        clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), 1.0))));
    }
    Box::new(BooleanQuery::new(clauses))
}

fn filter_facets(request: &SearchRequest) -> Vec<Facet> {
    let mut out = Vec::new();
    if let Some(topic) = &request.topic {
        out.push(Facet::from_path(["topic", topic.trim()]));
    }
    if let Some(major) = request.compat {
        if request.verified_compat_only {
            let status = serde_json::to_value(CompatStatus::Compatible).expect("serialises");
            out.push(Facet::from_path([
                "compat",
                major.as_str(),
                status.as_str().unwrap_or_default(),
            ]));
        } else {
            out.push(Facet::from_path(["compat", major.as_str()]));
        }
    }
    if let Some(kind) = &request.kind {
        out.push(Facet::from_path(["kind", kind.trim()]));
    }
    if let Some(license) = &request.license {
        out.push(Facet::from_path(["license", license.trim()]));
    }
    if let Some(verified) = request.verified {
        out.push(Facet::from_path([
            "verified",
            if verified { "true" } else { "false" },
        ]));
    }
    if let Some(deprecated) = request.deprecated {
        out.push(Facet::from_path([
            "deprecated",
            if deprecated { "true" } else { "false" },
        ]));
    }
    out
}
