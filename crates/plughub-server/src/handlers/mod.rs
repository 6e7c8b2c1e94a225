pub mod health;
pub mod pages;
pub mod plugins;
