//! The engine on fixture plugins (real npm packages in plughub-testkit) under the real Node.js.

mod booted;
mod caps;
mod common;
mod grants;
mod live;
mod sandbox;
mod worker;
