//! Building the index from the merged views, and reading results back.

use super::query::build_query;
use super::{SearchHit, SearchRequest, SearchResults, SortOrder};
use crate::Result;
use crate::view::PluginView;
use plughub_domain::names::{candidate_names, short_name};
use std::collections::{BTreeMap, HashMap};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::schema::{FAST, Facet, FacetOptions, Field, INDEXED, STRING, Schema, TEXT, Value};
use tantivy::{DocAddress, Index, IndexReader, Order, ReloadPolicy, TantivyDocument, doc};

pub(super) struct Fields {
    pub name: Field,
    pub name_keys: Field,
    pub description: Field,
    pub topics: Field,
    pub keywords: Field,
    pub readme: Field,
    pub facets: Field,
    pub ord: Field,
}

const FACET_ROOTS: [&str; 6] = [
    "topic",
    "compat",
    "license",
    "kind",
    "verified",
    "deprecated",
];

/// An immutable index over one snapshot of the catalogue; a refresh builds a new one and swaps it in.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    pub(super) fields: Fields,
    views: Vec<PluginView>,
    by_name: HashMap<String, usize>,
    by_short_name: HashMap<String, Vec<usize>>,
}

impl SearchIndex {
    /// Indexes `views`; `readmes` maps plugin names to their README text.
    pub fn build(views: Vec<PluginView>, readmes: &HashMap<String, String>) -> Result<SearchIndex> {
        let mut sb = Schema::builder();
        let fields = Fields {
            name: sb.add_text_field("name", TEXT),
            name_keys: sb.add_text_field("name_keys", STRING),
            description: sb.add_text_field("description", TEXT),
            topics: sb.add_text_field("topics", TEXT),
            keywords: sb.add_text_field("keywords", TEXT),
            readme: sb.add_text_field("readme", TEXT),
            facets: sb.add_facet_field("facets", FacetOptions::default()),
            ord: sb.add_u64_field("ord", FAST),
        };
        let stars = sb.add_u64_field("stars", FAST | INDEXED);
        let downloads = sb.add_u64_field("downloads", FAST);
        let updated = sb.add_u64_field("updated", FAST);
        let index = Index::create_in_ram(sb.build());
        // One thread: the index is small, and one segment keeps queries fast.
        let mut writer = index.writer_with_num_threads(1, 64_000_000)?;
        for (ord, view) in views.iter().enumerate() {
            let mut d = doc!(
                fields.name => format!("{} {}", view.name, view.short_name),
                fields.ord => ord as u64,
                stars => view.stars,
                downloads => downloads_rank(view),
                updated => updated_secs(view.updated_at.as_deref()),
            );
            for key in name_keys(&view.name) {
                d.add_text(fields.name_keys, key);
            }
            if let Some(text) = &view.description {
                d.add_text(fields.description, text);
            }
            for t in &view.topics {
                d.add_text(fields.topics, t);
                d.add_facet(fields.facets, Facet::from_path(["topic", t.as_str()]));
            }
            for k in &view.keywords {
                d.add_text(fields.keywords, k);
            }
            if let Some(text) = readmes.get(&view.name) {
                d.add_text(fields.readme, text);
            }
            for (major, compat) in &view.compat {
                let status = serde_json::to_value(compat.status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from));
                d.add_facet(
                    fields.facets,
                    Facet::from_path(["compat", major.as_str(), status.as_deref().unwrap_or("")]),
                );
            }
            let license = view.license.as_deref().unwrap_or("unknown");
            d.add_facet(fields.facets, Facet::from_path(["license", license]));
            d.add_facet(
                fields.facets,
                Facet::from_path(["kind", view.kind.as_deref().unwrap_or("unknown")]),
            );
            d.add_facet(
                fields.facets,
                Facet::from_path(["verified", if view.verified { "true" } else { "false" }]),
            );
            let deprecated = if view.deprecated.is_some() {
                "true"
            } else {
                "false"
            };
            d.add_facet(fields.facets, Facet::from_path(["deprecated", deprecated]));
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
        Ok(SearchIndex {
            index,
            reader,
            fields,
            views,
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
        let tokenizer = self.index.tokenizer_for_field(self.fields.description)?;
        let (query, has_text) = build_query(&self.fields, tokenizer, request);
        let searcher = self.reader.searcher();
        // A page past every document is empty. The collector makes room for offset + limit hits, so
        // the offset never goes past the documents: a large page number must not ask for the memory.
        let offset = (page - 1)
            .saturating_mul(per_page)
            .min(searcher.num_docs() as usize);
        let top = TopDocs::with_limit(per_page).and_offset(offset);

        let (addresses, total): (Vec<(Option<f32>, DocAddress)>, usize) =
            match (request.sort, has_text) {
                (SortOrder::Relevance, true) => {
                    let (docs, total) = searcher.search(&query, &(top.order_by_score(), Count))?;
                    (docs.into_iter().map(|(s, a)| (Some(s), a)).collect(), total)
                }
                (sort, _) => {
                    let field = match sort {
                        SortOrder::Downloads => "downloads",
                        SortOrder::Updated => "updated",
                        // With no words, relevance means popularity.
                        SortOrder::Stars | SortOrder::Relevance => "stars",
                    };
                    let (docs, total) = searcher
                        .search(&query, &(top.order_by_u64_field(field, Order::Desc), Count))?;
                    (docs.into_iter().map(|(_, a)| (None, a)).collect(), total)
                }
            };

        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let ords = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64("ord")?;
            if let Some(ord) = ords.first(address.doc_id) {
                hits.push(SearchHit::from_view(&self.views[ord as usize], score));
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
        })
    }

    /// The stored document for an address; only for debugging and tests.
    #[doc(hidden)]
    pub fn doc_name(&self, address: DocAddress) -> Option<String> {
        let doc: TantivyDocument = self.reader.searcher().doc(address).ok()?;
        doc.get_first(self.fields.name)
            .and_then(|v| v.as_str().map(String::from))
    }
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
