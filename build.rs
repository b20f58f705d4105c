//! Builds the web app (`frontend/`, TypeScript) into `frontend/dist` with
//! npm when its sources change, so `cargo run -- serve` serves a current
//! app. Without npm it only warns: the server still runs, and its pages say
//! how to build the app. `CROWDJUKE_SKIP_WEB_BUILD=1` skips it (the Docker
//! image builds the app in its own stage).

use std::path::Path;
use std::process::Command;

fn main() {
    for path in
        ["frontend/src", "frontend/public", "frontend/package.json", "frontend/package-lock.json", "frontend/build.mjs"]
    {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=CROWDJUKE_SKIP_WEB_BUILD");
    let frontend = Path::new("frontend");
    if std::env::var_os("CROWDJUKE_SKIP_WEB_BUILD").is_some() || !frontend.join("package.json").exists() {
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        println!("cargo:warning=npm not found: the web app in frontend/ is not built");
        return;
    }
    if !frontend.join("node_modules").exists() {
        let installed = Command::new(npm).args(["ci", "--no-audit", "--no-fund"]).current_dir(frontend).status();
        if !installed.is_ok_and(|s| s.success()) {
            println!("cargo:warning=npm ci failed in frontend/: the web app is not built");
            return;
        }
    }
    let built = Command::new(npm).args(["run", "build"]).current_dir(frontend).status();
    assert!(built.is_ok_and(|s| s.success()), "building the web app failed: run `npm run build` in frontend/");
}
