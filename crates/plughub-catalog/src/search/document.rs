//! What search knows of a plugin beyond its catalogue entry: the README, split into its sections, and
//! what the package itself declares (components, permissions). All of it is catalogue knowledge, recorded
//! for the catalogue itself; nothing an organisation did reaches it.

use plughub_domain::PackageFacts;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// One plugin's knowledge, as search indexes it.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Descriptions the sources give besides the one shown (the registry's and npm's may differ).
    pub descriptions: Vec<String>,
    pub readme: Option<String>,
    /// The actions, providers, evaluators, services and models the package declares.
    pub components: Vec<ComponentText>,
    /// The permissions the package asks for; `None` while plughub has not looked at the package.
    pub permissions: Option<Vec<String>>,
    /// What the plugin is, from its components (action, provider, evaluator, service, model, ...).
    pub kinds: Vec<String>,
    /// What its reviews say (published ones only), for the `min_rating` filter and the `rating` sort.
    pub rating: plughub_domain::rating::RatingSummary,
    /// The trial of its newest tried version (a compatibility run's), for the "runs on plughub" facet
    /// and badge.
    pub trial: Option<crate::trials::TrialMark>,
}

impl Knowledge {
    /// What the package's own code says: its components, what it asks for, what it is.
    pub fn add_package_facts(&mut self, facts: &PackageFacts) {
        self.components = facts
            .components
            .iter()
            .map(|c| ComponentText {
                name: c.name.clone(),
                similes: c.similes.clone(),
                description: c.description.clone(),
            })
            .collect();
        self.permissions = Some(
            facts
                .permission_names()
                .into_iter()
                .map(String::from)
                .collect(),
        );
        self.kinds = facts.kinds.iter().map(|k| k.as_str().to_string()).collect();
    }
}

#[derive(Debug, Clone, Default)]
pub struct ComponentText {
    pub name: String,
    pub similes: Vec<String>,
    pub description: Option<String>,
}

/// A README's text for search: its headings, and the prose under them. Code blocks, HTML, images and
/// link targets are left out: they are commands, markup and addresses, not what the plugin is about.
#[derive(Debug, Default, PartialEq)]
pub(super) struct ReadmeText {
    pub headings: Vec<String>,
    pub prose: String,
}

pub(super) fn readme_sections(markdown: &str) -> ReadmeText {
    let mut out = ReadmeText::default();
    let mut heading: Option<String> = None;
    let mut in_code = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take().filter(|h| !h.trim().is_empty()) {
                    out.headings.push(h.trim().to_string());
                }
            }
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(text) | Event::Code(text) if !in_code => match &mut heading {
                Some(h) => h.push_str(&text),
                None => out.prose.push_str(&text),
            },
            // Words of two blocks must not run together.
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell) => {
                out.prose.push(' ')
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_apart_code_and_markup_left_out() {
        let text = readme_sections(
            "# Twitter plugin\n\nPosts **tweets** for you. See [docs](https://example.invalid/x).\n\n\
             ## Install\n\n```bash\nnpm install secret-word\n```\n\n<div>html</div>\n\n- replies to `mentions`\n",
        );
        assert_eq!(text.headings, ["Twitter plugin", "Install"]);
        assert!(
            text.prose.contains("Posts tweets for you"),
            "{}",
            text.prose
        );
        assert!(text.prose.contains("mentions"));
        assert!(!text.prose.contains("secret-word"));
        assert!(!text.prose.contains("example.invalid"));
        assert!(!text.prose.contains("html"));
    }
}
