//! Filesystem work of COPY, ADD and WORKDIR inside a step's mounted layer: paths resolved
//! inside the image's root ([`root`]), sources turned into one tar stream
//! ([`tarstream`]) and applied with the classic placement rules ([`copy`]).

pub mod copy;
pub mod root;
pub mod tarstream;
