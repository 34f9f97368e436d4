//! Link options for the rawget binary that cargo has no setting for.
//!
//! One today: on glibc Linux, the position-independent executable's
//! relative relocations are packed (`-z pack-relative-relocs`, DT_RELR).
//! With OpenSSL linked in, the binary has about 31,000 of them: in the
//! 24-byte RELA form a 0.75 MB table the loader reads at every start,
//! before main; packed, 10 KB. The binary stays position-independent
//! (the loader still places it at a random address); what is saved is
//! about 0.6 MiB of peak RSS and the page faults that read the table
//! (figures in the commit).
//!
//! glibc reads DT_RELR from 2.36; an older one would refuse the binary
//! (the linker marks it as needing GLIBC_ABI_DT_RELR), so the option is
//! given only when the C library of the machine building is 2.36 or later
//! and the build is for that machine, on x86_64 and aarch64 (rust-lld,
//! the default linker on x86_64, and the binutils of any glibc-2.36
//! distribution pack them there). A cross build, another libc or
//! architecture, or an unknown version links as before.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let native = env::var("TARGET").ok() == env::var("HOST").ok();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let libc = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let packs = matches!(arch.as_str(), "x86_64" | "aarch64");
    if native && os == "linux" && libc == "gnu" && packs && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this machine's glibc, as `getconf GNU_LIBC_VERSION` names it
/// ("glibc 2.36"), is at least `major.minor`; false when it cannot tell.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
