//! A plugin's README, which its author wrote and plughub does not trust: Markdown rendered with
//! pulldown-cmark, then cleaned by ammonia, which keeps only harmless tags, attributes and URL schemes
//! (no script, no event handler, no `javascript:`, no SVG, no style). Relative links and images point
//! into the plugin's repository, where they live.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use std::collections::HashSet;

/// Where a README's relative links and images resolve: a GitHub repository's file view and raw files,
/// or, for any other repository, its address.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    pub links: String,
    pub images: String,
}

impl Base {
    /// From a package's `repository` (`git+https://github.com/o/r.git`, `github:o/r`, `o/r`).
    pub fn from_repository(repository: &str) -> Option<Base> {
        let r = repository.trim();
        let r = r.strip_prefix("git+").unwrap_or(r);
        let r = r.strip_suffix(".git").unwrap_or(r).trim_end_matches('/');
        let github = r
            .strip_prefix("https://github.com/")
            .or_else(|| r.strip_prefix("http://github.com/"))
            .or_else(|| r.strip_prefix("git://github.com/"))
            .or_else(|| r.strip_prefix("ssh://git@github.com/"))
            .or_else(|| r.strip_prefix("git@github.com:"))
            .or_else(|| r.strip_prefix("github:"))
            .or_else(|| (!r.contains(':') && r.matches('/').count() == 1).then_some(r));
        if let Some(path) = github {
            let mut parts = path.split('/');
            let (Some(owner), Some(name)) = (parts.next(), parts.next()) else {
                return None;
            };
            let safe = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            };
            if !safe(owner) || !safe(name) {
                return None;
            }
            return Some(Base {
                links: format!("https://github.com/{owner}/{name}/blob/HEAD/"),
                images: format!("https://raw.githubusercontent.com/{owner}/{name}/HEAD/"),
            });
        }
        r.starts_with("https://").then(|| Base {
            links: format!("{r}/"),
            images: format!("{r}/"),
        })
    }
}

/// Whether `url` names no scheme and no host: a path in the repository.
fn is_relative(url: &str) -> bool {
    !url.is_empty() && !url.starts_with('#') && !url.starts_with("//") && !url.contains(':')
}

fn resolve(base: &str, url: &str) -> String {
    format!(
        "{base}{}",
        url.trim_start_matches("./").trim_start_matches('/')
    )
}

/// The README as HTML that is safe to put in a page.
pub fn render(markdown: &str, base: Option<&Base>) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(markdown, options).map(|event| match (event, base) {
        (
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }),
            Some(base),
        ) if is_relative(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::from(resolve(&base.links, &dest_url)),
            title,
            id,
        }),
        (
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }),
            Some(base),
        ) if is_relative(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::from(resolve(&base.images, &dest_url)),
            title,
            id,
        }),
        (event, _) => event,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    clean(&html, base)
}

/// Where raw HTML's relative URLs go: into the repository (none when it is not known), but for links
/// within the page (`#usage`), which stay.
struct RelativeTo(Option<String>);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for RelativeTo {
    fn evaluate<'url>(&self, url: &'url str) -> Option<std::borrow::Cow<'url, str>> {
        if url.starts_with('#') {
            return Some(url.into());
        }
        self.0.as_ref().map(|links| resolve(links, url).into())
    }
}

fn clean(html: &str, base: Option<&Base>) -> String {
    let mut cleaner = ammonia::Builder::default();
    cleaner
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(RelativeTo(
            base.map(|b| b.links.clone()),
        ))));
    cleaner.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_become_the_bases_of_relative_urls() {
        let want = Some(Base {
            links: "https://github.com/elizaos-plugins/plugin-discord/blob/HEAD/".into(),
            images: "https://raw.githubusercontent.com/elizaos-plugins/plugin-discord/HEAD/".into(),
        });
        for r in [
            "git+https://github.com/elizaos-plugins/plugin-discord.git",
            "github:elizaos-plugins/plugin-discord",
            "elizaos-plugins/plugin-discord",
            "https://github.com/elizaos-plugins/plugin-discord",
        ] {
            assert_eq!(Base::from_repository(r), want, "{r}");
        }
        assert_eq!(Base::from_repository("javascript:alert(1)"), None);
    }

    #[test]
    fn relative_links_and_images_point_into_the_repository() {
        let base = Base::from_repository("github:o/r");
        let html = render(
            "[guide](docs/guide.md) ![logo](./images/logo.png) [top](#top)",
            base.as_ref(),
        );
        assert!(
            html.contains(r#"href="https://github.com/o/r/blob/HEAD/docs/guide.md""#),
            "{html}"
        );
        assert!(
            html.contains(r#"src="https://raw.githubusercontent.com/o/r/HEAD/images/logo.png""#),
            "{html}"
        );
        assert!(html.contains(r##"href="#top""##), "{html}");
    }

    #[test]
    fn nothing_executable_survives() {
        // Blank lines between them, so that each is read as Markdown or as an HTML block of its own.
        let hostile = [
            "# Hi",
            "<script>alert(1)</script>",
            r#"<img src=x onerror="alert(2)">"#,
            "[click](javascript:alert(3))",
            r#"<a href="javascript:alert(4)">x</a>"#,
            r#"<svg onload="alert(5)"><script>alert(6)</script></svg>"#,
            r#"<iframe src="https://example.test"></iframe>"#,
            r#"<div style="background:url(javascript:alert(7))" onclick="alert(8)">d</div>"#,
            r#"<form action="https://example.test"><input name=a></form>"#,
            "![p](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDkpIi8+)",
            "[also](JaVaScRiPt:alert(10))",
        ]
        .join("\n\n");
        let html = render(&hostile, None).to_ascii_lowercase();
        for bad in [
            "<script",
            "onerror",
            "href=\"javascript",
            "<svg",
            "onload",
            "<iframe",
            "style=",
            "onclick",
            "<form",
            "<input",
            "src=\"data:",
            "href=\"data:",
        ] {
            assert!(!html.contains(bad), "{bad} survived: {html}");
        }
        // What is harmless stays: the heading, the links' text.
        assert!(
            html.contains("<h1>hi</h1>") && html.contains(">click</a>"),
            "{html}"
        );
    }
}
