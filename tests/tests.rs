//! The one integration-test binary (`autotests = false` in Cargo.toml): the
//! shared harness in `support/`, and each suite a module of it.

mod support;

mod debugging;
mod echo;
mod echo_hostile;
mod engine;
mod fetch;
mod framing_props;
mod hostile;
mod output_defects;
mod reach_connect_to;
mod reach_env;
mod reach_proxy;
mod reach_race;
mod reach_tls;
mod replay;
mod response_defects;
mod tls;
mod transport_defects;
