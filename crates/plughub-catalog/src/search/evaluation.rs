//! Measuring search against the evaluation set kept in `eval/queries.tsv`: for each query, the plugins a
//! person would accept; hits@1, hits@3 and the mean reciprocal rank (MRR) per half. The bench prints them,
//! and a test holds that no query of the set answers an empty page.

use super::{SearchIndex, SearchRequest};
use crate::Result;

/// The set carried with the crate, so every checkout measures the same thing.
pub const QUERY_SET: &str = include_str!("../../eval/queries.tsv");

/// Which half a query belongs to: `Tune` may guide boosts and synonyms, `Held` never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Half {
    Tune,
    Held,
}

impl Half {
    pub fn as_str(self) -> &'static str {
        match self {
            Half::Tune => "tuning",
            Half::Held => "held-out",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Judged {
    pub half: Half,
    pub query: String,
    pub accepted: Vec<String>,
}

/// Reads the tab-separated set; `#` lines and blank lines are skipped. A malformed line is an error
/// naming it, so a broken set never measures silently less.
pub fn parse(text: &str) -> Result<Vec<Judged>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [half, query, accepted] = fields[..] else {
            return Err(format!("line {}: expected 3 tab-separated fields", n + 1));
        };
        let half = match half {
            "tune" => Half::Tune,
            "held" => Half::Held,
            other => return Err(format!("line {}: unknown half '{other}'", n + 1)),
        };
        let accepted: Vec<String> = accepted
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if accepted.is_empty() {
            return Err(format!("line {}: no accepted plugin", n + 1));
        }
        out.push(Judged {
            half,
            query: query.to_string(),
            accepted,
        });
    }
    Ok(out)
}

/// Where the first accepted plugin came, 1-based, among the first page of `per_page`; `None` when none is on it.
pub fn rank_of_first_accepted(
    index: &SearchIndex,
    judged: &Judged,
    per_page: usize,
) -> Result<(Option<usize>, usize)> {
    let mut request = SearchRequest::new(judged.query.clone());
    request.per_page = per_page;
    let results = index.search(&request)?;
    let rank = results
        .hits
        .iter()
        .position(|h| judged.accepted.iter().any(|a| a == &h.name))
        .map(|p| p + 1);
    Ok((rank, results.hits.len()))
}

/// The figures for one half.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub queries: usize,
    pub hits_at_1: usize,
    pub hits_at_3: usize,
    pub reciprocal_rank_sum: f64,
    pub empty_pages: usize,
    /// Queries whose accepted plugins are not in the first 10, for reading.
    pub misses: Vec<String>,
}

impl Scores {
    pub fn hits_at_1(&self) -> f64 {
        self.hits_at_1 as f64 / self.queries.max(1) as f64
    }
    pub fn hits_at_3(&self) -> f64 {
        self.hits_at_3 as f64 / self.queries.max(1) as f64
    }
    pub fn mrr(&self) -> f64 {
        self.reciprocal_rank_sum / self.queries.max(1) as f64
    }
}

/// Scores each half of `set` over the first 10 results.
pub fn evaluate(index: &SearchIndex, set: &[Judged], half: Half) -> Result<Scores> {
    let mut scores = Scores::default();
    for judged in set.iter().filter(|j| j.half == half) {
        let (rank, shown) = rank_of_first_accepted(index, judged, 10)?;
        scores.queries += 1;
        if shown == 0 {
            scores.empty_pages += 1;
        }
        match rank {
            Some(r) => {
                scores.hits_at_1 += usize::from(r == 1);
                scores.hits_at_3 += usize::from(r <= 3);
                scores.reciprocal_rank_sum += 1.0 / r as f64;
                if r > 3 {
                    scores.misses.push(format!("{} (rank {r})", judged.query));
                }
            }
            None => scores
                .misses
                .push(format!("{} (not in the first 10)", judged.query)),
        }
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carried_set_parses_with_both_halves_of_at_least_thirty() {
        let set = parse(QUERY_SET).unwrap();
        let tune = set.iter().filter(|j| j.half == Half::Tune).count();
        let held = set.iter().filter(|j| j.half == Half::Held).count();
        assert!(tune >= 30 && held >= 30, "{tune} tuning, {held} held-out");
    }

    #[test]
    fn a_malformed_line_is_named() {
        assert_eq!(
            parse("tune\tno accepted").unwrap_err(),
            "line 1: expected 3 tab-separated fields"
        );
        assert!(parse("maybe\tq\ta").unwrap_err().contains("unknown half"));
    }
}
