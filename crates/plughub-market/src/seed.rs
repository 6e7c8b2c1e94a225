//! The collections plughub starts with, chosen from the elizaOS registry snapshot's plugins (the
//! catalogue's starter, `plughub-catalog/starter`): every name below is a real entry of it. They are made
//! on the first start of a server whose store never had a collection (`Collections::seed_once`), not by
//! a migration: a migration runs before the catalogue is seeded and cannot ask it which names it holds,
//! and a platform owner who deletes or changes them must not see them come back.

/// One starting collection.
pub struct Seed {
    pub slug: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub plugins: &'static [&'static str],
}

pub const STARTING: &[Seed] = &[
    Seed {
        slug: "model-providers",
        title: "Model providers",
        description: "Plugins that give agents a language model: hosted APIs and models run locally.",
        plugins: &[
            "@elizaos/plugin-openai",
            "@elizaos/plugin-anthropic",
            "@elizaos/plugin-google-genai",
            "@elizaos/plugin-groq",
            "@elizaos/plugin-openrouter",
            "@elizaos/plugin-ollama",
            "@elizaos/plugin-local-ai",
            "@elizaos/plugin-venice",
        ],
    },
    Seed {
        slug: "social-connectors",
        title: "Social connectors",
        description: "Plugins that put an agent on a social network or a chat platform.",
        plugins: &[
            "@elizaos/plugin-discord",
            "@elizaos/plugin-telegram",
            "@elizaos/plugin-twitter",
            "@elizaos/plugin-slack",
            "@elizaos/plugin-farcaster",
            "@elizaos/plugin-bluesky",
            "@elizaos/plugin-instagram",
            "@elizaos/plugin-mattermost",
        ],
    },
    Seed {
        slug: "defi-and-wallets",
        title: "DeFi and wallets",
        description: "Plugins that hold wallets, move tokens and trade on chains and exchanges.",
        plugins: &[
            "@elizaos/plugin-evm",
            "@elizaos/plugin-solana",
            "@elizaos/plugin-jupiter",
            "@elizaos/plugin-coinbase",
            "@elizaos/plugin-0x",
            "@elizaos/plugin-goat",
            "@elizaos/plugin-ton",
            "@elizaos/plugin-sui",
            "@elizaos/plugin-near",
        ],
    },
    Seed {
        slug: "knowledge-and-memory",
        title: "Knowledge and memory",
        description: "Plugins that let agents remember, store documents and search what they know.",
        plugins: &[
            "@elizaos/plugin-knowledge",
            "@elizaos/plugin-memory",
            "@elizaos/plugin-sql",
            "@elizaos/plugin-pdf",
            "@elizaos/plugin-local-embedding",
            "@elizaos/plugin-inmemorydb",
        ],
    },
];
