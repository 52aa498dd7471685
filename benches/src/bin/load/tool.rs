//! External tools (wrk, strace): present, installed with apt-get when we may, or a reason
//! to skip the metric that needs them. Never a failed run.

use std::process::{Command, Stdio};

/// `Ok` if `name` runs, else why the metric that needs it is skipped. Installs the package
/// with `apt-get install -y` only as root and outside CI.
pub fn ensure(name: &str) -> Result<(), String> {
    if found(name) {
        return Ok(());
    }
    // SAFETY: geteuid takes nothing and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || std::env::var_os("CI").is_some() {
        return Err(format!(
            "{name} is not installed (apt-get install -y {name})"
        ));
    }
    eprintln!("load: {name} missing, running apt-get install -y {name}");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-q", name])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match installed && found(name) {
        true => Ok(()),
        false => Err(format!(
            "{name} is not installed and apt-get install -y {name} failed"
        )),
    }
}

fn found(name: &str) -> bool {
    Command::new(name)
        .arg(if name == "wrk" { "-v" } else { "-V" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}
