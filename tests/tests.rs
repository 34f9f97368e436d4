//! The one integration-test binary (`autotests = false` in Cargo.toml): the
//! shared harness in `support/`, and each suite a module of it.

mod support;

mod bodies;
mod bodies_more;
mod colour;
mod debugging;
mod echo;
mod echo_hostile;
mod echo_lifetime;
mod echo_tls;
mod echo_udp;
mod echo_unix;
mod engine;
mod fetch;
mod framing_props;
mod hop_timing;
mod hostile;
mod output_defects;
mod reach_connect_to;
mod reach_env;
mod reach_proxy;
mod reach_race;
mod reach_tls;
mod replay;
mod request_target;
mod requests;
mod response_defects;
mod send;
mod send_servers;
mod shell;
mod tls;
mod trace;
mod transport_defects;
mod uploads;
mod write_out;
