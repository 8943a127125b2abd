//! The idrecon application: wires sources → normalized events → engine →
//! findings → sinks. The binary (`main.rs`) only parses arguments and calls
//! into this library; `eval` and the tests use the same pipeline.

pub mod exportcmd;
pub mod limits;
pub mod pipeline;
pub mod progress;
pub mod simcmd;
pub mod watchcmd;
