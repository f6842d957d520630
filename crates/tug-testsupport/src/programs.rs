//! The programs the test servers and fixtures start, each with the Debian package that ships
//! it, so that a machine without one fails with what to install (`scripts/deps` lists them
//! all and `scripts/test` installs them) rather than "No such file or directory".

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Where scripts/test finds the packages the Git servers need.
const DEPS_FILE: &str = "scripts/deps/git-servers.txt";

/// Debian's directory of lighttpd's loadable modules.
const LIGHTTPD_MODULES: &str = "/usr/lib/lighttpd";

/// `program` (a name looked up in `PATH`, or an absolute path), or an error naming the
/// Debian `package` that ships it.
pub fn require(program: &str, package: &str) -> Result<PathBuf> {
    require_listed(program, package, DEPS_FILE)
}

/// [`require`], for a package listed in `deps_file` (one of `scripts/deps/*.txt`).
pub fn require_listed(program: &str, package: &str, deps_file: &str) -> Result<PathBuf> {
    match find(program) {
        Some(path) => Ok(path),
        None => bail!(
            "`{program}` is not installed: install the Debian package {package} \
             (`apt-get install {package}`; it is listed in {deps_file}, which scripts/test installs)"
        ),
    }
}

/// Checks that lighttpd can load `module` (for example `mod_openssl`), which Debian ships in
/// a package of its own. Modules built into lighttpd have no file and are not checked.
pub fn require_lighttpd_module(module: &str, package: &str) -> Result<()> {
    let dir = Path::new(LIGHTTPD_MODULES);
    // Another layout (not Debian's): lighttpd's own error will have to do.
    if !dir.is_dir() {
        return Ok(());
    }
    if dir.join(format!("{module}.so")).is_file() {
        return Ok(());
    }
    bail!(
        "lighttpd's {module} is not installed ({LIGHTTPD_MODULES}/{module}.so): install the \
         Debian package {package} (`apt-get install {package}`; it is listed in {DEPS_FILE}, \
         which scripts/test installs)"
    )
}

fn find(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return is_executable(path).then(|| path.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_names_its_package() {
        let err = require("tug-no-such-program", "tug-no-such-package").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`tug-no-such-program` is not installed")
                && text.contains("apt-get install tug-no-such-package"),
            "{text}"
        );
    }

    #[test]
    fn a_present_program_is_found_on_the_path() {
        let sh = require("sh", "dash").unwrap();
        assert!(sh.is_absolute(), "{}", sh.display());
    }

    #[test]
    fn a_missing_lighttpd_module_names_its_package() {
        if !Path::new(LIGHTTPD_MODULES).is_dir() {
            return; // not Debian's layout: nothing is checked
        }
        let err = require_lighttpd_module("mod_tug_no_such", "lighttpd-mod-tug").unwrap_err();
        assert!(
            err.to_string().contains("apt-get install lighttpd-mod-tug"),
            "{err}"
        );
    }
}
