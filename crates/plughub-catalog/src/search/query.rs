//! Turning a request into a tantivy query.
//!
//! The words become concepts: a phrase of the synonym table (`text to speech`) is one concept that also
//! finds its synonyms (`tts`); any other word is one concept, with its correction when it looks misspelt.
//! A document scores a tier for each concept it matches exactly (by stem or synonym) in its name,
//! description, topics, keywords or component names, half a tier when only its README or its components'
//! descriptions have it; BM25 with field
//! boosts orders documents within a tier, and fuzzy matches add to that without raising the tier. So
//! documents with all the words come first, then those with most of them, and the page is never empty
//! while any word matches something. A query that is a plugin's name, in any usual spelling, puts that
//! plugin above every tier. Filters narrow without changing scores.

use super::SearchRequest;
use super::analysis::{self, is_stop_word};
use super::index::Fields;
use super::spelling::{self, Spelling};
use super::synonyms::Synonyms;
use crate::compat::CompatStatus;
use plughub_domain::names::candidate_names;
use std::ops::Bound;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery,
    Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, Field, IndexRecordOption};
use tantivy::{Searcher, Term};

/// The score of one concept matched exactly outside the README. Larger than any BM25 sum here can be,
/// so tiers never mix; `TIER / 2` is a README-only match.
pub(super) const TIER: f32 = 2000.0;

/// How a synonym or a correction weighs against the word as typed.
const SYNONYM_WEIGHT: f32 = 0.8;
const CORRECTION_WEIGHT: f32 = 0.9;

/// A request made into queries.
pub(super) struct Prepared {
    /// Ranks by tiers and BM25; every document that matches any word.
    pub ranked: Box<dyn Query>,
    /// Every word must match (exactly, by synonym, correction or fuzzily): for the popularity and date
    /// orders, which have no tiers to put the best matches first.
    pub conjunctive: Box<dyn Query>,
    pub has_text: bool,
    /// The query with its misspelt words corrected, when any was.
    pub did_you_mean: Option<String>,
}

/// One thing the user asked for: alternatives, each a list of stems that must all match.
struct Concept {
    alternatives: Vec<(Vec<String>, f32)>,
    /// The typed word's stem, for fuzzy matching: single words no plugin has.
    fuzzy: Option<String>,
    /// The typed word's stem, for matching names by prefix while it is being typed.
    prefix: Option<String>,
}

pub(super) struct QueryContext<'a> {
    pub fields: &'a Fields,
    pub synonyms: &'a Synonyms,
    pub searcher: &'a Searcher,
}

impl QueryContext<'_> {
    pub fn prepare(&self, request: &SearchRequest) -> Prepared {
        let (concepts, did_you_mean) = self.concepts(&request.query);
        let has_text = !concepts.is_empty();
        let filters = self.filters(request);
        if !has_text {
            let all: Box<dyn Query> = Box::new(AllQuery);
            return Prepared {
                ranked: with_filters(all.box_clone(), &filters),
                conjunctive: with_filters(all, &filters),
                has_text,
                did_you_mean: None,
            };
        }
        let last = concepts.len() - 1;
        let mut ranked: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut conjunctive: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, concept) in concepts.iter().enumerate() {
            let (scored, marker) = self.concept_queries(concept, i == last);
            ranked.push((Occur::Should, scored.box_clone()));
            ranked.push((Occur::Should, marker));
            conjunctive.push((Occur::Must, scored));
        }
        let whole_name = self.name_query(&request.query, concepts.len());
        ranked.push((Occur::Should, whole_name.box_clone()));
        let conjunctive: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
            (Occur::Should, Box::new(BooleanQuery::new(conjunctive))),
            (Occur::Should, whole_name),
        ]));
        Prepared {
            ranked: with_filters(Box::new(BooleanQuery::new(ranked)), &filters),
            conjunctive: with_filters(conjunctive, &filters),
            has_text,
            did_you_mean,
        }
    }

    /// The concepts of a query, and the corrected query when a word was corrected.
    fn concepts(&self, text: &str) -> (Vec<Concept>, Option<String>) {
        let typed = analysis::words_of(text);
        let stems: Vec<String> = typed.iter().map(|w| stem_one(w)).collect();
        let mut concepts = Vec::new();
        let mut corrected = typed.clone();
        let mut any_correction = false;
        let mut at = 0;
        while at < typed.len() {
            if let Some((len, also)) = self.synonyms.longest_at(&stems, at) {
                let own: Vec<String> = meaningful(&stems[at..at + len], &typed[at..at + len]);
                let mut alternatives = vec![(own, 1.0)];
                alternatives.extend(also.iter().map(|a| (a.clone(), SYNONYM_WEIGHT)));
                alternatives.retain(|(stems, _)| !stems.is_empty());
                concepts.push(Concept {
                    alternatives,
                    fuzzy: None,
                    prefix: (len == 1).then(|| stems[at].clone()),
                });
                at += len;
                continue;
            }
            let word = &typed[at];
            if is_stop_word(word) {
                at += 1;
                continue;
            }
            let mut alternatives = vec![(vec![stems[at].clone()], 1.0)];
            let stemmed = self.fields.scored().map(|(f, _)| f);
            let spelling =
                spelling::check(self.searcher, self.fields.spell, word, &stems[at], &stemmed);
            // Fuzzy matching is for words no plugin has: it is the costly part of a query, and a word
            // plugins have is better served by its exact matches.
            let mut fuzzy = None;
            if let Spelling::Unknown(fixed) = spelling {
                fuzzy = Some(stems[at].clone());
                if let Some(fixed) = fixed {
                    let fixed_stem = stem_one(&fixed);
                    let one = [fixed_stem.clone()];
                    if let Some((1, also)) = self.synonyms.longest_at(&one, 0) {
                        alternatives.extend(also.iter().map(|a| (a.clone(), SYNONYM_WEIGHT)));
                    }
                    alternatives.push((vec![fixed_stem], CORRECTION_WEIGHT));
                    corrected[at] = fixed;
                    any_correction = true;
                }
            }
            concepts.push(Concept {
                alternatives,
                fuzzy,
                prefix: Some(stems[at].clone()),
            });
            at += 1;
        }
        // A query of nothing but stop words ("plugin") still means something: search its words.
        if concepts.is_empty() {
            for stem in stems {
                concepts.push(Concept {
                    alternatives: vec![(vec![stem.clone()], 1.0)],
                    fuzzy: None,
                    prefix: None,
                });
            }
        }
        // "wallet portfolio": where the query asks for a word itself, its synonyms in the other concepts
        // stand aside, and a synonym two concepts share stays with the first: a plugin with only one of
        // the words must not match both concepts through it.
        let own: Vec<Vec<String>> = concepts
            .iter()
            .filter_map(|c| c.alternatives.first().map(|(a, _)| a.clone()))
            .collect();
        let mut taken: Vec<Vec<String>> = Vec::new();
        for concept in &mut concepts {
            let mine = concept.alternatives.first().map(|(a, _)| a.clone());
            concept.alternatives.retain(|(a, _)| {
                Some(a) == mine.as_ref() || (!own.contains(a) && !taken.contains(a))
            });
            taken.extend(concept.alternatives.iter().map(|(a, _)| a.clone()));
        }
        let did_you_mean = any_correction.then(|| corrected.join(" "));
        (concepts, did_you_mean)
    }

    /// The scored query of a concept (exact, synonyms, corrections, fuzzy, prefix), and its tier marker.
    fn concept_queries(&self, concept: &Concept, last: bool) -> (Box<dyn Query>, Box<dyn Query>) {
        let f = self.fields;
        let mut scored: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut markers: Vec<Box<dyn Query>> = Vec::new();
        for (stems, weight) in &concept.alternatives {
            let all_fields = all_of(stems, |stem| fields_query(stem, &f.scored(), true));
            scored.push((
                Occur::Should,
                Box::new(BoostQuery::new(all_fields, *weight)),
            ));
            let outside = all_of(stems, |stem| fields_query(stem, &f.described(), false));
            markers.push(Box::new(ConstScoreQuery::new(outside, TIER)));
            let mentioned = all_of(stems, |stem| fields_query(stem, &f.mentions(), false));
            markers.push(Box::new(ConstScoreQuery::new(mentioned, TIER / 2.0)));
        }
        if let Some(stem) = &concept.fuzzy {
            let distance = match stem.chars().count() {
                0..=3 => 0,
                4..=7 => 1,
                _ => 2,
            };
            if distance > 0 {
                for (field, boost) in [
                    (f.name, 1.5),
                    (f.components, 1.0),
                    (f.topics, 0.5),
                    (f.keywords, 0.5),
                    (f.description, 0.3),
                ] {
                    let q = FuzzyTermQuery::new(Term::from_field_text(field, stem), distance, true);
                    scored.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
                }
            }
        }
        if let Some(stem) = concept.prefix.as_ref().filter(|s| last && s.len() >= 2) {
            let q = FuzzyTermQuery::new_prefix(Term::from_field_text(f.name, stem), 0, true);
            scored.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), 1.0))));
        }
        let marker: Box<dyn Query> = Box::new(DisjunctionMaxQuery::new(markers));
        (Box::new(BooleanQuery::new(scored)), marker)
    }

    /// The whole query as a plugin's name: above every tier. The first full name among its spellings is
    /// the one elizaOS's CLI resolves to (`mattermost` → `@elizaos/plugin-mattermost`): it goes before
    /// other scopes' namesakes.
    fn name_query(&self, raw: &str, concepts: usize) -> Box<dyn Query> {
        let key = |name: &str| -> Box<dyn Query> {
            let term = Term::from_field_text(self.fields.name_keys, name);
            Box::new(TermQuery::new(term, IndexRecordOption::Basic))
        };
        let names = candidate_names(raw);
        let any: Vec<(Occur, Box<dyn Query>)> =
            names.iter().map(|n| (Occur::Should, key(n))).collect();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Should,
            Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(any)),
                TIER * (concepts as f32 + 1.0),
            )),
        )];
        if let Some(first) = names.iter().find(|n| n.contains('/')) {
            clauses.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(key(first), 1.0)),
            ));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    fn filters(&self, request: &SearchRequest) -> Vec<(Occur, Box<dyn Query>)> {
        let facet = |facet: Facet| -> Box<dyn Query> {
            let term = Term::from_facet(self.fields.facets, &facet);
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                0.0,
            ))
        };
        let mut out: Vec<(Occur, Box<dyn Query>)> = filter_facets(request)
            .into_iter()
            .map(|f| (Occur::Must, facet(f)))
            .collect();
        if !request.without_permissions.is_empty() {
            // Only plugins whose package plughub has read can be said not to ask for something.
            out.push((
                Occur::Must,
                facet(Facet::from_path(["permissions_known", "true"])),
            ));
            for p in &request.without_permissions {
                out.push((
                    Occur::MustNot,
                    facet(Facet::from_path(["permission", p.trim()])),
                ));
            }
        }
        if let Some(min) = request.min_rating {
            let hundredths = (min * 100.0).round().max(0.0) as u64;
            let range = RangeQuery::new(
                Bound::Included(Term::from_field_u64(self.fields.rating, hundredths)),
                Bound::Unbounded,
            );
            out.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(range), 0.0)),
            ));
        }
        out
    }
}

fn with_filters(query: Box<dyn Query>, filters: &[(Occur, Box<dyn Query>)]) -> Box<dyn Query> {
    if filters.is_empty() {
        return query;
    }
    let mut clauses = vec![(Occur::Must, query)];
    clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
    Box::new(BooleanQuery::new(clauses))
}

/// The stems of a phrase that carry meaning (its stop words dropped, unless nothing else is left).
fn meaningful(stems: &[String], typed: &[String]) -> Vec<String> {
    let kept: Vec<String> = stems
        .iter()
        .zip(typed)
        .filter(|(_, w)| !is_stop_word(w))
        .map(|(s, _)| s.clone())
        .collect();
    if kept.is_empty() {
        stems.to_vec()
    } else {
        kept
    }
}

fn stem_one(word: &str) -> String {
    analysis::stems_of(word)
        .into_iter()
        .next()
        .unwrap_or_else(|| word.to_string())
}

/// Every stem must match.
fn all_of(stems: &[String], each: impl Fn(&str) -> Box<dyn Query>) -> Box<dyn Query> {
    match stems {
        [one] => each(one),
        many => Box::new(BooleanQuery::new(
            many.iter().map(|s| (Occur::Must, each(s))).collect(),
        )),
    }
}

/// A stem in any of `fields`, each with its boost; with BM25 when `scored`, else as a plain match.
fn fields_query(stem: &str, fields: &[(Field, f32)], scored: bool) -> Box<dyn Query> {
    let option = if scored {
        IndexRecordOption::WithFreqs
    } else {
        IndexRecordOption::Basic
    };
    Box::new(BooleanQuery::new(
        fields
            .iter()
            .map(|(field, boost)| {
                let q = TermQuery::new(Term::from_field_text(*field, stem), option);
                let q: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(q), *boost));
                (Occur::Should, q)
            })
            .collect(),
    ))
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
    if let Some(permission) = &request.permission {
        out.push(Facet::from_path(["permission", permission.trim()]));
    }
    if let Some(verified) = request.verified {
        out.push(Facet::from_path([
            "verified",
            if verified { "true" } else { "false" },
        ]));
    }
    if let Some(runs) = request.runs {
        out.push(Facet::from_path(["runs", runs.as_str()]));
    }
    if let Some(deprecated) = request.deprecated {
        out.push(Facet::from_path([
            "deprecated",
            if deprecated { "true" } else { "false" },
        ]));
    }
    out
}
