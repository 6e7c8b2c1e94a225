//! `plughub dev init NAME`: a new plugin package from a template carried by the binary.

use crate::cli::DevInitArgs;
use crate::output::{self, out};
use anyhow::Result;

pub async fn run(args: DevInitArgs) -> Result<()> {
    let created = plughub_sdk::templates::init(&args.dir, &args.name, &args.template)?;
    if args.json {
        return output::print_json(&created);
    }
    out!(
        "made {} from the {} template in {}",
        created.name,
        created.template,
        created.dir.display()
    );
    for file in &created.files {
        out!("  {file}");
    }
    out!();
    out!("next:");
    for step in &created.next_steps {
        out!("  {step}");
    }
    out!();
    out!(
        "then `plughub dev` rebuilds and reloads it on every change, with a playground in the browser,"
    );
    out!("and `plughub dev publish --server URL --token php_…` publishes it.");
    Ok(())
}
