//! Published ports.

mod spec;

pub use spec::{
    parse_port_range, parse_port_spec, parse_port_specs, PortMapping, PortSpecError, Proto,
};
