//! Link options for the rawget binary that cargo has no setting for.
//!
//! Two today. First, on Linux, the code everyday fetches run is put
//! together at the start of .text, in the order `link/text-order.txt`
//! gives (written by `scripts/text-order.sh`, which says how). The kernel
//! maps code in 64 KiB windows, so what a fetch holds resident is every
//! window it touches: left in the linker's order (crate by crate), the
//! 0.5 MB a gzip fetch runs lay in 33 windows, 2.1 MiB; together, in
//! about a third of that (figures in docs/performance.md). The option is
//! lld's (`--symbol-ordering-file`, rust-lld is Rust's default linker on
//! x86_64 Linux) and not every linker has it, so it is given only when a
//! probe link of an empty program with it succeeds; names the binary no
//! longer has are skipped, never an error.
//!
//! Second, on glibc Linux, the position-independent executable's
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
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The ordering of .text, relative to the package.
const TEXT_ORDER: &str = "link/text-order.txt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={TEXT_ORDER}");
    let native = env::var("TARGET").ok() == env::var("HOST").ok();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        order_text();
    }
    let libc = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let packs = matches!(arch.as_str(), "x86_64" | "aarch64");
    if native && os == "linux" && libc == "gnu" && packs && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Hands `link/text-order.txt` to the linker if it takes an ordering file.
fn order_text() {
    let Some(dir) = env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&dir).join(TEXT_ORDER);
    if !order.is_file() {
        return;
    }
    let args = [
        format!("-Wl,--symbol-ordering-file={}", order.display()),
        // Names from another build of the toolchain or a dependency are
        // expected; each would be a warning.
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    if links_with(&args) {
        for arg in args {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}

/// Whether an empty program links for the target with `link_args` added,
/// with the compiler, linker and flags cargo gives this build.
fn links_with(link_args: &[String]) -> bool {
    let (Some(out), Ok(target)) = (env::var_os("OUT_DIR"), env::var("TARGET")) else {
        return false;
    };
    let out = PathBuf::from(out);
    let source = out.join("probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut probe = Command::new(rustc);
    probe
        .arg("--target")
        .arg(&target)
        .arg("-o")
        .arg(out.join("probe"));
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        probe.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        probe.arg("-C").arg({
            let mut arg = std::ffi::OsString::from("linker=");
            arg.push(linker);
            arg
        });
    }
    for arg in link_args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    probe.arg(&source);
    probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
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
