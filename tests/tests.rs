//! The one integration-test binary (`autotests = false` in Cargo.toml): the
//! shared harness in `support/`, and each suite a module of it.

mod support;

mod bodies;
mod bodies_more;
mod client_cert;
mod colour;
mod credentials;
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
mod reach_dry_run;
mod reach_env;
mod reach_https_proxy;
mod reach_proxy;
mod reach_race;
mod reach_send;
mod reach_timing;
mod reach_tls;
mod reach_unix;
mod replay;
mod request_target;
mod requests;
mod response_defects;
mod send;
mod send_scale;
mod send_servers;
mod shell;
mod socks;
mod ssl_verify;
mod tls;
mod trace;
mod transport_defects;
mod uploads;
mod write_out;
