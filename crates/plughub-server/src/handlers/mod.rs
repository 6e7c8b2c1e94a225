pub mod account;
pub mod health;
pub mod orgs;
pub mod pages;
pub mod plugins;
