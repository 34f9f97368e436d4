//! The TCP echo server and client (`rawget echo-server`, `rawget echo-client`).

pub mod client;
pub mod server;
