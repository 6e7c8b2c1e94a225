#![doc = include_str!("../README.md")]

pub mod access;
pub mod catalog;
pub mod config_schema;
pub mod core_range;
pub mod dependencies;
pub mod dimensions;
pub mod egress;
pub mod execution_policy;
pub mod lifecycle;
pub mod names;
pub mod package_facts;
pub mod package_name;
pub mod permissions;
pub mod rating;
pub mod sign_in;
pub mod trial;

pub use catalog::{
    CatalogEntry, CoreMajor, NpmRecord, NpmVersion, RegistryRecord, SourceKind, SourceRecord,
};
pub use dimensions::{
    Connection, ConnectionKind, EventType, Group, NewEvent, Plan, Role, StoredEvent, Thing,
    ThingKind,
};
pub use package_facts::{Component, ComponentKind, PackageFacts, PluginKind, RiskLevel};
