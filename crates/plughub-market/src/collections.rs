//! Collections: lists of catalogue plugins that platform owners curate (a title, a description, the
//! plugins in their order), public or for one organisation, whose members alone see it. A collection is
//! a `collection` thing: public ones have no group, an organisation's is in its group, and its slug (the
//! thing's name) is unique across all of them so that `/collections/{slug}` names one. Each change is
//! an event: `collection_changed`, `collection_deleted`.

use crate::{MarketError, Result};
use plughub_catalog::Catalog;
use plughub_domain::access::Principal;
use plughub_domain::{EventType, NewEvent, Thing, ThingKind};
use plughub_store::{EventFilter, NewThing};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE: usize = 120;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_PLUGINS: usize = 50;

/// The actor of the collections plughub makes on its first start.
pub const SEED_ACTOR: &str = "plughub:seed";

/// A collection as its readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Collection {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// The organisation whose members alone see it; `None` for a public collection.
    pub organisation: Option<String>,
    /// Its plugins, in the curator's order.
    pub plugins: Vec<CollectionPlugin>,
    pub updated_at: String,
}

/// One plugin of a collection, as the catalogue knows it now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CollectionPlugin {
    pub name: String,
    pub description: Option<String>,
    pub latest_version: Option<String>,
    /// Why it is deprecated (npm's reason, or a platform owner's), if it is.
    pub deprecated: Option<String>,
    /// What a platform owner named to use instead.
    pub replacement: Option<String>,
    /// False when the catalogue no longer holds it (it stays listed, so the curator sees the gap).
    pub in_catalogue: bool,
}

/// What a platform owner puts in a collection.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Model providers",
    "description": "Plugins that give agents a language model.",
    "plugins": ["@elizaos/plugin-openai", "@elizaos/plugin-anthropic"]
}))]
pub struct CollectionChange {
    /// 1 to 120 characters.
    #[schema(min_length = 1, max_length = 120)]
    pub title: String,
    /// At most 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// Catalogue plugins, in order: 1 to 50, each once, by any usual spelling of its name.
    #[schema(min_items = 1, max_items = 50)]
    pub plugins: Vec<String>,
    /// The organisation whose members alone see it, by name; absent for a public collection.
    #[serde(default)]
    pub organisation: Option<String>,
}

/// Collections on the catalogue.
pub struct Collections<'c> {
    catalog: &'c Catalog,
}

impl<'c> Collections<'c> {
    pub fn new(catalog: &'c Catalog) -> Collections<'c> {
        Collections { catalog }
    }

    /// The collections `viewer` (`None`: not signed in) may see, by title: the public ones, and those of organisations they
    /// are a member of (a platform owner, who curates them, sees all).
    pub async fn visible_to(&self, viewer: Option<&Principal>) -> Result<Vec<Collection>> {
        let mut out = Vec::new();
        for thing in self
            .catalog
            .store()
            .things_in_all_groups(ThingKind::Collection)
            .await?
        {
            if may_see(viewer, &thing) {
                out.push(self.collection_of(&thing).await?);
            }
        }
        out.sort_by(|a, b| a.title.cmp(&b.title).then(a.slug.cmp(&b.slug)));
        Ok(out)
    }

    /// The collection `slug`, if `viewer` may see it: one they may not is not found, exactly as one that
    /// does not exist.
    pub async fn get(&self, slug: &str, viewer: Option<&Principal>) -> Result<Collection> {
        match self.thing(slug).await? {
            Some(thing) if may_see(viewer, &thing) => self.collection_of(&thing).await,
            _ => Err(not_found(slug)),
        }
    }

    /// Creates or replaces the collection `slug` (a platform owner's, `actor`). Every plugin must be in
    /// the catalogue; the names kept are the catalogue's.
    pub async fn put(
        &self,
        slug: &str,
        change: &CollectionChange,
        actor: &str,
    ) -> Result<Collection> {
        check_slug(slug)?;
        let title = change.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE {
            return Err(MarketError::Invalid(format!(
                "give a title of 1 to {MAX_TITLE} characters"
            )));
        }
        let description = change.description.trim();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(MarketError::Invalid(format!(
                "the description is longer than {MAX_DESCRIPTION} characters: shorten it"
            )));
        }
        if change.plugins.is_empty() || change.plugins.len() > MAX_PLUGINS {
            return Err(MarketError::Invalid(format!(
                "a collection holds 1 to {MAX_PLUGINS} plugins"
            )));
        }
        let mut plugins: Vec<String> = Vec::with_capacity(change.plugins.len());
        for name in &change.plugins {
            let found = self.catalog.resolve_name(name).ok_or_else(|| {
                MarketError::Invalid(format!(
                    "'{name}' is not in the catalogue: name catalogue plugins only"
                ))
            })?;
            if plugins.contains(&found) {
                return Err(MarketError::Invalid(format!(
                    "{found} is in the list twice: name each plugin once"
                )));
            }
            plugins.push(found);
        }
        let group = match change.organisation.as_deref() {
            None => None,
            Some(org) => Some(
                self.catalog
                    .store()
                    .group_by_name(org)
                    .await?
                    .ok_or_else(|| {
                        MarketError::Invalid(format!(
                            "there is no organisation named '{org}': give an existing one, or none for a \
                             public collection"
                        ))
                    })?,
            ),
        };
        self.write(
            slug,
            title,
            description,
            &plugins,
            group.as_ref().map(|g| g.id.as_str()),
            actor,
        )
        .await?;
        let thing = self.thing(slug).await?.ok_or_else(|| not_found(slug))?;
        self.collection_of(&thing).await
    }

    async fn write(
        &self,
        slug: &str,
        title: &str,
        description: &str,
        plugins: &[String],
        group_id: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let properties = serde_json::json!({
            "title": title,
            "description": description,
            "plugins": plugins,
        });
        let event = NewEvent {
            event_type: EventType::CollectionChanged,
            actor: actor.to_string(),
            target: None,
            group_id: group_id.map(str::to_string),
            metadata: serde_json::json!({ "slug": slug, "title": title, "plugins": plugins }),
        };
        let existing = self.thing(slug).await?;
        let mut tx = self.catalog.store().begin().await?;
        match existing {
            // Same audience: changed in place, so its history stays on one thing.
            Some(thing) if thing.group_id.as_deref() == group_id => {
                tx.update_thing(&thing.id, "listed", &properties.to_string(), event)
                    .await?;
            }
            other => {
                // Moved to another audience: the thing lives in its group, so it is made again there.
                if let Some(old) = other {
                    tx.delete_unlinked_thing(
                        &old.id,
                        NewEvent {
                            event_type: EventType::CollectionDeleted,
                            actor: actor.to_string(),
                            target: None,
                            group_id: old.group_id.clone(),
                            metadata: serde_json::json!({ "slug": slug, "moved": true }),
                        },
                    )
                    .await?;
                }
                tx.insert_thing(
                    &NewThing {
                        kind: ThingKind::Collection,
                        name: slug,
                        group_id,
                        status: "listed",
                        properties: &properties.to_string(),
                    },
                    event,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the collection `slug` (a platform owner's, `actor`); returns it as it was.
    pub async fn delete(&self, slug: &str, actor: &str) -> Result<Collection> {
        let thing = self.thing(slug).await?.ok_or_else(|| not_found(slug))?;
        let gone = self.collection_of(&thing).await?;
        let mut tx = self.catalog.store().begin().await?;
        tx.delete_unlinked_thing(
            &thing.id,
            NewEvent {
                event_type: EventType::CollectionDeleted,
                actor: actor.to_string(),
                target: None,
                group_id: thing.group_id.clone(),
                metadata: serde_json::json!({ "slug": slug }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// Makes the starting collections (`seed::STARTING`) once, on a store that never had a
    /// collection: a platform owner who deletes them does not see them come back. Members are the
    /// catalogue's plugins of those names; a collection none of whose plugins the catalogue holds is
    /// left out. Returns how many were made.
    pub async fn seed_once(&self) -> Result<usize> {
        let store = self.catalog.store();
        let ever = store
            .count_events(&EventFilter {
                event_type: Some(EventType::CollectionChanged),
                ..Default::default()
            })
            .await?;
        if ever > 0 {
            return Ok(0);
        }
        let mut made = 0;
        for seed in crate::seed::STARTING {
            let plugins: Vec<String> = seed
                .plugins
                .iter()
                .filter_map(|name| self.catalog.resolve_name(name))
                .filter(|found| seed.plugins.contains(&found.as_str()))
                .collect();
            if plugins.is_empty() {
                continue;
            }
            self.write(
                seed.slug,
                seed.title,
                seed.description,
                &plugins,
                None,
                SEED_ACTOR,
            )
            .await?;
            made += 1;
        }
        Ok(made)
    }

    async fn thing(&self, slug: &str) -> Result<Option<Thing>> {
        // A slug is unique across audiences (`put` keeps it so): the first found is the one.
        Ok(self
            .catalog
            .store()
            .things_in_all_groups(ThingKind::Collection)
            .await?
            .into_iter()
            .find(|t| t.name == slug))
    }

    async fn collection_of(&self, thing: &Thing) -> Result<Collection> {
        let index = self.catalog.index();
        let names: Vec<String> = thing.properties["plugins"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let plugins = names
            .into_iter()
            .map(
                |name| match index.resolve(&name).filter(|v| v.name == name) {
                    Some(view) => CollectionPlugin {
                        name,
                        description: view.description.clone(),
                        latest_version: view.latest_version.clone(),
                        deprecated: view.deprecated.clone(),
                        replacement: view.replacement.clone(),
                        in_catalogue: true,
                    },
                    None => CollectionPlugin {
                        name,
                        description: None,
                        latest_version: None,
                        deprecated: None,
                        replacement: None,
                        in_catalogue: false,
                    },
                },
            )
            .collect();
        let organisation = match &thing.group_id {
            None => None,
            Some(id) => self
                .catalog
                .store()
                .groups()
                .await?
                .into_iter()
                .find(|g| &g.id == id)
                .map(|g| g.name),
        };
        let text = |key: &str| thing.properties[key].as_str().unwrap_or("").to_string();
        Ok(Collection {
            slug: thing.name.clone(),
            title: text("title"),
            description: text("description"),
            organisation,
            plugins,
            updated_at: thing.updated_at.clone(),
        })
    }
}

/// Whether `viewer` may see `collection`: public, or of one of their organisations, or they curate.
fn may_see(viewer: Option<&Principal>, collection: &Thing) -> bool {
    match (&collection.group_id, viewer) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(group), Some(viewer)) => {
            viewer.is_platform_owner() || viewer.role_in(group).is_some()
        }
    }
}

fn not_found(slug: &str) -> MarketError {
    MarketError::NotFound(format!(
        "no collection '{slug}' that you can see (GET /api/collections lists them)"
    ))
}

/// A slug: 1 to 64 lower case letters, digits and `-`, as it reads in a URL.
pub fn check_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 64
        && !slug.starts_with('-')
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(MarketError::Invalid(format!(
            "'{slug}' is not a collection slug: use 1 to 64 lower case letters, digits and -"
        )))
    }
}
