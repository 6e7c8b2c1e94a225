//! npm package documents as catalogue records: the shared registry client, with each document reduced to
//! what the catalogue keeps.

use super::packument;
use plughub_domain::NpmRecord;
use plughub_npm::DocumentOutcome;
pub use plughub_npm::NpmClient;

/// What the registry said of one package, reduced.
#[derive(Debug, Clone)]
pub enum PackumentOutcome {
    Found {
        record: Box<NpmRecord>,
        readme: Option<String>,
    },
    /// 404: not published (or not mirrored).
    Missing,
    /// Could not be had after the retries; the reason says why. `refused`: the registry answered a
    /// refusal that asking again will not change.
    Failed {
        reason: String,
        connect: bool,
        refused: bool,
    },
}

fn reduce(outcome: DocumentOutcome) -> PackumentOutcome {
    match outcome {
        DocumentOutcome::Found(doc) => {
            let (record, readme) = packument::reduce(&doc);
            PackumentOutcome::Found {
                record: Box::new(record),
                readme,
            }
        }
        DocumentOutcome::Missing => PackumentOutcome::Missing,
        DocumentOutcome::Failed {
            reason,
            connect,
            refused,
        } => PackumentOutcome::Failed {
            reason,
            connect,
            refused,
        },
    }
}

pub async fn packument(client: &NpmClient, name: &str) -> PackumentOutcome {
    reduce(client.document(name).await)
}

pub async fn packuments(
    client: &NpmClient,
    names: Vec<String>,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<(String, PackumentOutcome)> {
    client
        .documents(names, progress)
        .await
        .into_iter()
        .map(|(name, outcome)| (name, reduce(outcome)))
        .collect()
}
