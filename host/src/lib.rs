//! scheduler-host: runs scenarios against real targets. For now it owns the
//! built-in loopback target used by the demo and the tests.

pub mod target;
pub mod wave;
