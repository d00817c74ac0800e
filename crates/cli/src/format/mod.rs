//! Output formatting: the Go-template engine, docker's table writer and formatter contexts
//! (`ps`, `images`), human-readable durations and sizes.

pub mod container;
pub mod gotime;
pub mod image;
pub mod json_indent;
pub mod jsonmessage;
pub mod reference;
pub mod row;
pub mod table;
pub mod template;
pub mod units;
