//! otrange: a cyber range for industrial control systems.
//!
//! The root crate loads scenario files ([`scenario`]), runs them ([`runner`]) and scores
//! the results ([`results`]); [`sweep`] runs the cross product of exercises and defences
//! and scores it. The CLI in `main.rs` is a thin layer over these. The plant
//! itself lives in `otrange-sim`.

#![forbid(unsafe_code)]

pub mod console;
pub mod coverage;
pub mod impact_expect;
pub mod lag;
pub mod live;
pub mod playbook_check;
pub mod report;
pub mod results;
pub mod runner;
pub mod scenario;
pub mod shared_run;
pub mod sweep;
pub mod trace;
