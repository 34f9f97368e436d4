//! How the binary is linked, as the README and build.rs say: on glibc
//! Linux it stays position-independent, its relative relocations are
//! packed (DT_RELR) where glibc reads them, libm is not loaded, and with
//! the default features no shared OpenSSL either. A dependency that brings
//! libm back, or a build change that drops PIE, fails here rather than
//! only in a benchmark's memory figure.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::process::Command;

use crate::support::run::BIN;

/// `readelf -d BIN`: the dynamic section, one entry a line.
fn dynamic_section() -> String {
    let out = Command::new("readelf")
        .args(["-d", "-W", BIN])
        .output()
        .unwrap_or_else(|e| {
            panic!("readelf is not installed ({e}): apt-get install binutils (.ci/run installs it)")
        });
    assert!(out.status.success(), "readelf -d {BIN} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shared libraries the binary names (NEEDED entries).
fn needed(dynamic: &str) -> Vec<String> {
    dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            let start = l.find('[')? + 1;
            let end = l.rfind(']')?;
            Some(l[start..end].to_owned())
        })
        .collect()
}

/// This machine's glibc as (major, minor), from `getconf GNU_LIBC_VERSION`.
fn glibc() -> (u32, u32) {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("getconf runs on glibc Linux");
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.trim().strip_prefix("glibc ").expect("glibc x.y");
    let mut parts = version
        .split('.')
        .map(|p| p.parse::<u32>().expect("a number"));
    (parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn the_binary_stays_position_independent_and_loads_no_libm() {
    let dynamic = dynamic_section();
    let flags = dynamic
        .lines()
        .find(|l| l.contains("(FLAGS_1)"))
        .unwrap_or_else(|| panic!("no FLAGS_1 entry:\n{dynamic}"));
    assert!(flags.contains("PIE"), "not a PIE: {flags}");
    let libs = needed(&dynamic);
    assert!(libs.iter().any(|l| l.starts_with("libc.so")), "{libs:?}");
    assert!(
        !libs.iter().any(|l| l.starts_with("libm.so")),
        "libm is loaded again: something besides tokio's pow needs it: {libs:?}"
    );
}

#[test]
fn relative_relocations_are_packed_where_glibc_reads_them() {
    let dynamic = dynamic_section();
    let packed = dynamic.contains("(RELR)");
    let packs = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
    if packs && glibc() >= (2, 36) {
        assert!(packed, "no DT_RELR on glibc 2.36 or later:\n{dynamic}");
    } else {
        assert!(
            !packed,
            "DT_RELR on a glibc that cannot read it:\n{dynamic}"
        );
    }
}

#[cfg(feature = "vendored-openssl")]
#[test]
fn openssl_is_linked_in_by_default() {
    let libs = needed(&dynamic_section());
    assert!(
        !libs
            .iter()
            .any(|l| l.starts_with("libssl.so") || l.starts_with("libcrypto.so")),
        "a shared OpenSSL is loaded: {libs:?}"
    );
}
