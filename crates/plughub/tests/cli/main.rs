//! The binary as a user runs it: a fresh data directory, every source on loopback (or the real npm
//! registry in the live tests, skipped with a reason when it cannot be reached).

mod admin;
mod audit;
mod author_path;
mod backup;
mod catalog;
mod common;
mod compat;
mod config;
mod dev_init;
mod dev_publish;
mod dev_test;
mod dev_validate;
mod dev_watch;
mod escape;
mod execution;
mod integrations;
mod lifecycle;
mod live_fixes;
mod live_install;
mod live_sandbox;
mod logging;
mod many_servers;
mod models;
mod names;
mod org_data;
mod private_registry;
mod readiness;
mod shutdown;
mod smoke;
mod unprivileged;
