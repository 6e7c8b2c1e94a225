pub mod account;
pub mod agents;
pub mod health;
pub mod installed;
pub mod orgs;
pub mod plugins;
