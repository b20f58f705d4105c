//! Builds the web app (`frontend/`, TypeScript) into `frontend/dist` with
//! npm when its sources change, so `cargo run -- serve` serves a current
//! app. Without npm, or when the web build fails, it only warns: the server
//! still runs, and its pages say how to build the app (the test command
//! type-checks the app and drives it in a browser, so CI still notices).
//! `SKIP_WEB_BUILD=1` skips it (the Docker image builds the app
//! in its own stage).

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn main() {
    println!("cargo:rerun-if-env-changed=SKIP_WEB_BUILD");
    let frontend = Path::new("frontend");
    if !frontend.join("package.json").exists() {
        return;
    }
    for path in ["src", "public", "package.json", "package-lock.json", "build.mjs", "dist/index.html"] {
        println!("cargo:rerun-if-changed=frontend/{path}");
    }
    if std::env::var_os("SKIP_WEB_BUILD").is_some() {
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        println!("cargo:warning=npm not found: the web app in frontend/ is not built");
        return;
    }
    // Install when missing or when the lock file changed since.
    let installed = modified(&frontend.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&frontend.join("package-lock.json")) {
        let ok = Command::new(npm).args(["ci", "--no-audit", "--no-fund"]).current_dir(frontend).status();
        if !ok.is_ok_and(|s| s.success()) {
            println!("cargo:warning=npm ci failed in frontend/: the web app is not built");
            return;
        }
    }
    let built = Command::new(npm).args(["run", "build"]).current_dir(frontend).status();
    if !built.is_ok_and(|s| s.success()) {
        println!("cargo:warning=building the web app failed: run `npm run build` in frontend/ to see why");
    }
}
