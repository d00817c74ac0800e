//! Output formatting: docker's table writer and formatter contexts (`ps`, `images`) over the
//! `gotemplate` engine, JSON indentation and the progress stream.

pub mod container;
pub mod gotime;
pub mod ids;
pub mod image;
pub mod json_indent;
pub mod jsonmessage;
pub mod table;
pub mod units;
