//! Building the index from the merged views, and reading results back.

use super::analysis::{self, STEMMED, WORDS};
use super::document::{Knowledge, readme_sections};
use super::query::{QueryContext, TIER};
use super::synonyms::Synonyms;
use super::{SearchHit, SearchRequest, SearchResults, SortOrder};
use crate::Result;
use crate::trials::{Runs, TrialMark};
use crate::view::PluginView;
use plughub_domain::names::{candidate_names, short_name};
use plughub_domain::rating::RatingSummary;
use std::collections::{BTreeMap, HashMap};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::{
    DocAddress, DocId, Index, IndexReader, Order, ReloadPolicy, Score, SegmentReader, doc,
};

pub(super) struct Fields {
    pub name: Field,
    pub name_keys: Field,
    pub description: Field,
    pub topics: Field,
    pub keywords: Field,
    /// Component names (`SEND_TWEET`).
    pub components: Field,
    /// Component similes (`POST_TWEET`) and descriptions.
    pub component_text: Field,
    pub readme_headings: Field,
    pub readme: Field,
    /// Every word unstemmed, for spelling suggestions.
    pub spell: Field,
    pub facets: Field,
    pub ord: Field,
    /// The reviews' average in hundredths of a star (0 without reviews), for `min_rating`.
    pub rating: Field,
}

impl Fields {
    /// Every text field with its weight: a name or component match beats a README mention.
    pub fn scored(&self) -> [(Field, f32); 8] {
        [
            (self.name, 8.0),
            (self.components, 5.0),
            (self.topics, 3.0),
            (self.keywords, 3.0),
            (self.description, 3.0),
            (self.component_text, 2.0),
            (self.readme_headings, 1.5),
            (self.readme, 0.5),
        ]
    }

    /// The fields that say what the plugin is, for the full tier.
    pub fn described(&self) -> [(Field, f32); 5] {
        [
            (self.name, 1.0),
            (self.components, 1.0),
            (self.topics, 1.0),
            (self.keywords, 1.0),
            (self.description, 1.0),
        ]
    }

    /// The longer texts that mention much besides what the plugin is (the README, the components'
    /// descriptions), for half a tier.
    pub fn mentions(&self) -> [(Field, f32); 3] {
        [
            (self.component_text, 1.0),
            (self.readme_headings, 1.0),
            (self.readme, 1.0),
        ]
    }
}

const FACET_ROOTS: [&str; 8] = [
    "topic",
    "compat",
    "license",
    "kind",
    "permission",
    "verified",
    "deprecated",
    "runs",
];

/// Popularity's pull inside a tier: a plugin with 40 stars scores about 1.4 times one with none.
const POPULARITY_WEIGHT: f32 = 0.1;

/// An immutable index over one snapshot of the catalogue; a refresh builds a new one and swaps it in.
pub struct SearchIndex {
    reader: IndexReader,
    pub(super) fields: Fields,
    synonyms: Synonyms,
    views: Vec<PluginView>,
    /// Each view's rating, by the same position.
    ratings: Vec<RatingSummary>,
    /// Each view's trial in short, by the same position.
    trials: Vec<Option<TrialMark>>,
    by_name: HashMap<String, usize>,
    by_short_name: HashMap<String, Vec<usize>>,
}

impl SearchIndex {
    /// Indexes `views` with what the catalogue knows of each (`knowledge`, by plugin name).
    pub fn build(
        views: Vec<PluginView>,
        knowledge: &HashMap<String, Knowledge>,
    ) -> Result<SearchIndex> {
        let mut sb = Schema::builder();
        let text = |name: &str, sb: &mut tantivy::schema::SchemaBuilder| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(STEMMED)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            sb.add_text_field(name, TextOptions::default().set_indexing_options(indexing))
        };
        let fields = Fields {
            name: text("name", &mut sb),
            name_keys: sb.add_text_field("name_keys", STRING),
            description: text("description", &mut sb),
            topics: text("topics", &mut sb),
            keywords: text("keywords", &mut sb),
            components: text("components", &mut sb),
            component_text: text("component_text", &mut sb),
            readme_headings: text("readme_headings", &mut sb),
            readme: text("readme", &mut sb),
            spell: sb.add_text_field(
                "spell",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(WORDS)
                        .set_index_option(IndexRecordOption::Basic),
                ),
            ),
            facets: sb.add_facet_field("facets", FacetOptions::default()),
            ord: sb.add_u64_field("ord", FAST),
            rating: sb.add_u64_field("rating", INDEXED),
        };
        // The `rating` order: the average, then how many reviews make it.
        let rating_rank = sb.add_u64_field("rating_rank", FAST);
        let stars = sb.add_u64_field("stars", FAST | INDEXED);
        let downloads = sb.add_u64_field("downloads", FAST);
        let updated = sb.add_u64_field("updated", FAST);
        let index = Index::create_in_ram(sb.build());
        analysis::register(&index);
        // One thread: the index is small, and one segment keeps queries fast.
        let mut writer = index.writer_with_num_threads(1, 64_000_000)?;
        let none = Knowledge::default();
        for (ord, view) in views.iter().enumerate() {
            let known = knowledge.get(&view.name).unwrap_or(&none);
            let mut d = doc!(
                fields.name => format!("{} {}", view.name, view.short_name),
                fields.spell => format!("{} {}", view.name, view.short_name),
                fields.ord => ord as u64,
                stars => view.stars,
                downloads => downloads_rank(view),
                updated => updated_secs(view.updated_at.as_deref()),
                fields.rating => known.rating.hundredths(),
                rating_rank => (known.rating.hundredths() << 32) | known.rating.count.min(u32::MAX.into()),
            );
            for key in name_keys(&view.name) {
                d.add_text(fields.name_keys, key);
            }
            let mut add = |field: Field, text: &str| {
                d.add_text(field, text);
                d.add_text(fields.spell, text);
            };
            for text in view.description.iter().chain(&known.descriptions) {
                add(fields.description, text);
            }
            for t in &view.topics {
                add(fields.topics, t);
            }
            for k in &view.keywords {
                add(fields.keywords, k);
            }
            for c in &known.components {
                add(fields.components, &c.name);
                // Similes are many and wide ("READ_FILE" on a chat action): mentions, not names.
                for simile in &c.similes {
                    add(fields.component_text, simile);
                }
                if let Some(text) = &c.description {
                    add(fields.component_text, text);
                }
            }
            if let Some(readme) = &known.readme {
                let sections = readme_sections(readme);
                for heading in &sections.headings {
                    add(fields.readme_headings, heading);
                }
                add(fields.readme, &sections.prose);
            }
            for facet in facets_of(view, known) {
                d.add_facet(fields.facets, facet);
            }
            writer.add_document(d)?;
        }
        writer.commit()?;
        let segments = index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
        writer.wait_merging_threads()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        reader.reload()?;

        let by_name = views
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.to_ascii_lowercase(), i))
            .collect();
        let mut by_short_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, v) in views.iter().enumerate() {
            by_short_name
                .entry(v.short_name.to_ascii_lowercase())
                .or_default()
                .push(i);
        }
        let synonyms = Synonyms::carried(&analysis::stems_of);
        let ratings = views
            .iter()
            .map(|v| {
                knowledge
                    .get(&v.name)
                    .map(|k| k.rating.clone())
                    .unwrap_or_default()
            })
            .collect();
        let trials = views
            .iter()
            .map(|v| knowledge.get(&v.name).and_then(|k| k.trial.clone()))
            .collect();
        Ok(SearchIndex {
            reader,
            fields,
            synonyms,
            views,
            ratings,
            trials,
            by_name,
            by_short_name,
        })
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    pub fn views(&self) -> &[PluginView] {
        &self.views
    }

    /// The entry a user means by `name`, with the elizaOS CLI's normalisation (`solana` →
    /// `@elizaos/plugin-solana`), then a short name that only one entry has.
    pub fn resolve(&self, name: &str) -> Option<&PluginView> {
        candidate_names(name)
            .iter()
            .find_map(|c| self.by_name.get(c))
            .or_else(|| {
                match self
                    .by_short_name
                    .get(short_name(&name.trim().to_ascii_lowercase()))
                {
                    Some(list) if list.len() == 1 => list.first(),
                    _ => None,
                }
            })
            .map(|&i| &self.views[i])
    }

    /// The closest names to an unknown one, best first.
    pub fn suggest(&self, name: &str, limit: usize) -> Vec<String> {
        let wanted = short_name(&name.trim().to_ascii_lowercase()).to_string();
        let mut scored: Vec<(f64, &str)> = self
            .views
            .iter()
            .map(|v| {
                let short = v.short_name.to_ascii_lowercase();
                let mut score = strsim::jaro_winkler(&wanted, &short);
                if wanted.len() >= 3 && short.contains(&wanted) {
                    score = score.max(0.9);
                }
                (score, v.name.as_str())
            })
            .filter(|(s, _)| *s >= 0.8)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(limit)
            .map(|(_, n)| n.to_string())
            .collect()
    }

    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let per_page = request.per_page.clamp(1, SearchRequest::MAX_PER_PAGE);
        let page = request.page.max(1);
        let searcher = self.reader.searcher();
        let prepared = QueryContext {
            fields: &self.fields,
            synonyms: &self.synonyms,
            searcher: &searcher,
        }
        .prepare(request);
        // A page past every document is empty. The collector makes room for offset + limit hits, so
        // the offset never goes past the documents: a large page number must not ask for the memory.
        let offset = (page - 1)
            .saturating_mul(per_page)
            .min(searcher.num_docs() as usize);
        let top = TopDocs::with_limit(per_page).and_offset(offset);

        let (addresses, total, query): (Vec<(Option<f32>, DocAddress)>, usize, _) =
            match (request.sort, prepared.has_text) {
                (SortOrder::Relevance, true) => {
                    let (docs, total) = searcher.search(
                        &prepared.ranked,
                        &(top.tweak_score(popularity_within_tier), Count),
                    )?;
                    let docs = docs.into_iter().map(|(s, a)| (Some(s), a)).collect();
                    (docs, total, prepared.ranked)
                }
                (sort, _) => {
                    let field = match sort {
                        SortOrder::Downloads => "downloads",
                        SortOrder::Updated => "updated",
                        SortOrder::Rating => "rating_rank",
                        // With no words, relevance means popularity.
                        SortOrder::Stars | SortOrder::Relevance => "stars",
                    };
                    // Ordered by a field, every word must match; when nothing has them all, whatever
                    // has any of them (never an empty page while a word matches).
                    let mut query = prepared.conjunctive;
                    if prepared.has_text && searcher.search(&query, &Count)? == 0 {
                        query = prepared.ranked;
                    }
                    let (docs, total) = searcher
                        .search(&query, &(top.order_by_u64_field(field, Order::Desc), Count))?;
                    (
                        docs.into_iter().map(|(_, a)| (None, a)).collect(),
                        total,
                        query,
                    )
                }
            };

        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let ords = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64("ord")?;
            if let Some(ord) = ords.first(address.doc_id) {
                let ord = ord as usize;
                hits.push(SearchHit::from_view(
                    &self.views[ord],
                    &self.ratings[ord],
                    self.trials[ord].as_ref(),
                    score,
                ));
            }
        }
        let facets = if request.facets {
            let mut collector = FacetCollector::for_field("facets");
            for root in FACET_ROOTS {
                collector.add_facet(Facet::from_path([root]));
            }
            let counts = searcher.search(&query, &collector)?;
            let mut out = BTreeMap::new();
            for root in FACET_ROOTS {
                let values: BTreeMap<String, u64> = counts
                    .get(&format!("/{root}"))
                    .map(|(facet, n)| {
                        (
                            facet
                                .to_path()
                                .last()
                                .map(|s| s.to_string())
                                .unwrap_or_default(),
                            n,
                        )
                    })
                    .collect();
                out.insert(root.to_string(), values);
            }
            Some(out)
        } else {
            None
        };
        Ok(SearchResults {
            total,
            page,
            per_page,
            hits,
            facets,
            did_you_mean: prepared.did_you_mean,
        })
    }
}

/// Within a tier, a more popular plugin goes first among equals: the BM25 part of the score is scaled by
/// the stars, the tier part is left as it is.
fn popularity_within_tier(segment: &SegmentReader) -> impl Fn(DocId, Score) -> Score + use<> {
    let stars = segment
        .fast_fields()
        .u64("stars")
        .ok()
        .map(|column| column.first_or_default_col(0));
    move |doc, score| {
        let unit = TIER / 2.0;
        let tiers = (score / unit).floor() * unit;
        let stars = stars.as_ref().map_or(0, |c| c.get_val(doc)) as f32;
        tiers + (score - tiers) * (1.0 + POPULARITY_WEIGHT * stars.ln_1p())
    }
}

/// The facets a plugin is counted under, and filtered by.
fn facets_of(view: &PluginView, known: &Knowledge) -> Vec<Facet> {
    let mut out = Vec::new();
    for t in &view.topics {
        out.push(Facet::from_path(["topic", t.as_str()]));
    }
    for (major, compat) in &view.compat {
        let status = serde_json::to_value(compat.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from));
        out.push(Facet::from_path([
            "compat",
            major.as_str(),
            status.as_deref().unwrap_or(""),
        ]));
    }
    let license = view.license.as_deref().unwrap_or("unknown");
    out.push(Facet::from_path(["license", license]));
    let mut kinds: Vec<&str> = known.kinds.iter().map(String::as_str).collect();
    kinds.extend(view.kind.as_deref());
    // Where plughub has not read the package's code, elizaOS's own naming says what it is.
    if known.permissions.is_none() {
        for (prefix, kind) in [("client-", "client"), ("adapter-", "adapter")] {
            if view.short_name.starts_with(prefix) || view.name.contains(&format!("/{prefix}")) {
                kinds.push(kind);
            }
        }
    }
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() {
        kinds.push("unknown");
    }
    for kind in kinds {
        out.push(Facet::from_path(["kind", kind]));
    }
    match &known.permissions {
        Some(asked) => {
            out.push(Facet::from_path(["permissions_known", "true"]));
            if asked.is_empty() {
                out.push(Facet::from_path(["permission", "none"]));
            }
            for p in asked {
                out.push(Facet::from_path(["permission", p.as_str()]));
            }
        }
        None => out.push(Facet::from_path(["permission", "unknown"])),
    }
    out.push(Facet::from_path([
        "verified",
        if view.verified { "true" } else { "false" },
    ]));
    let deprecated = if view.deprecated.is_some() {
        "true"
    } else {
        "false"
    };
    out.push(Facet::from_path(["deprecated", deprecated]));
    out.push(Facet::from_path([
        "runs",
        Runs::of(known.trial.as_ref()).as_str(),
    ]));
    out
}

/// Every spelling of a name that should find it exactly: `@elizaos/plugin-solana`, `plugin-solana`,
/// `solana`, `@elizaos/solana`.
fn name_keys(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let short = short_name(&lower).to_string();
    let bare = lower
        .rsplit_once('/')
        .map_or(lower.as_str(), |(_, b)| b)
        .to_string();
    let mut keys = vec![lower.clone(), bare, short.clone()];
    if let Some((scope, _)) = lower.split_once('/') {
        keys.push(format!("{scope}/{short}"));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Downloads, with stars to order what has the same downloads (or none known, which package documents
/// never carry): the top 40 bits hold downloads, the low 24 stars.
fn downloads_rank(view: &PluginView) -> u64 {
    (view.downloads.unwrap_or(0).min((1 << 40) - 1) << 24) | view.stars.min((1 << 24) - 1)
}

fn updated_secs(updated_at: Option<&str>) -> u64 {
    updated_at
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(0, |t| t.unix_timestamp().max(0) as u64)
}
