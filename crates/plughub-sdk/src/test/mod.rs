//! `plughub dev test`'s harness: what the package's `plughub.dev.json` asks for (`plan`), the HTTP stub
//! its granted domains are sent to through the egress proxy (`stub`), and the outcome as lines, JSON
//! (`report`) or JUnit XML (`junit`). The plugin itself runs through plughub's one path (lifecycle,
//! runner, engine): the command line puts them together.

pub mod junit;
pub mod plan;
pub mod report;
pub mod stub;
