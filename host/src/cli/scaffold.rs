//! `switchboard plugin new`: a ready connector project (manifest, a signed webhook handler, a
//! send, a recorded request, a native unit test, a README) in Rust, JavaScript or Python; and
//! `switchboard plugin build`: its component, built the way the bundled connectors are.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

/// The language of a connector project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, with `switchboard-sdk`.
    Rust,
    /// JavaScript, componentized with jco (componentize-js).
    Js,
    /// Python, componentized with componentize-py.
    Python,
}

/// Where a new Rust project takes `switchboard-sdk` from.
#[derive(Debug, Clone)]
pub enum SdkSource {
    /// A checkout's `sdk/` folder.
    Path(PathBuf),
    /// A git repository holding the workspace.
    Git(String),
    /// A published version on crates.io.
    Registry(String),
}

impl SdkSource {
    /// The SDK of the checkout this binary was built from, when it is on this machine; else the
    /// project's repository.
    pub fn default_for_this_build() -> SdkSource {
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
        match checkout.join("Cargo.toml").exists().then(|| checkout.canonicalize().ok()).flatten() {
            Some(path) => SdkSource::Path(path),
            None => SdkSource::Git(env!("CARGO_PKG_REPOSITORY").to_string()),
        }
    }

    fn dependency(&self, features: &str) -> String {
        let features =
            if features.is_empty() { String::new() } else { format!(", features = [{features}]") };
        match self {
            SdkSource::Path(path) => {
                format!("switchboard-sdk = {{ path = {:?}{features} }}", path.display().to_string())
            }
            SdkSource::Git(url) => format!("switchboard-sdk = {{ git = {url:?}{features} }}"),
            SdkSource::Registry(version) => {
                format!("switchboard-sdk = {{ version = {version:?}{features} }}")
            }
        }
    }
}

/// The contract this host's SDK builds, written into JavaScript and Python projects (their
/// componentizers read it) and used by `plugin build` for a Python project without one.
const WIT: &[(&str, &str)] = &[
    ("connector.wit", include_str!("../../../sdk/wit/connector.wit")),
    ("deps/cli.wit", include_str!("../../../sdk/wit/deps/cli.wit")),
    ("deps/clocks.wit", include_str!("../../../sdk/wit/deps/clocks.wit")),
    ("deps/filesystem.wit", include_str!("../../../sdk/wit/deps/filesystem.wit")),
    ("deps/http.wit", include_str!("../../../sdk/wit/deps/http.wit")),
    ("deps/io.wit", include_str!("../../../sdk/wit/deps/io.wit")),
    ("deps/random.wit", include_str!("../../../sdk/wit/deps/random.wit")),
    ("deps/sockets.wit", include_str!("../../../sdk/wit/deps/sockets.wit")),
];

/// The JavaScript and Python templates are the repository's examples (built and tested there),
/// their provider "Chatline" renamed after the new connector.
const EXAMPLE_NAMES: &[(&str, &str)] = &[
    ("for the fictional chat provider", "for"),
    ("Chatline (JavaScript example)", "__NAME__"),
    ("Chatline (Python example)", "__NAME__"),
    ("js-hello", "__ID__"),
    ("python-hello", "__ID__"),
    ("X-Chatline-Signature", "X-Signature"),
    ("fixture-chatline-secret", "fixture-secret"),
    ("ChatlineError", "ConnectorFailure"),
    ("../../sdk/wit", "wit"),
    ("--now 1795570000000", "--now __FIXTURE_TIME_MS__"),
    ("Chatline", "__NAME__"),
    ("chatline", "__ID__"),
];

fn from_example(text: &str) -> String {
    EXAMPLE_NAMES.iter().fold(text.to_string(), |text, (from, to)| text.replace(from, to))
}

/// The secret the template's recorded request is signed with.
const FIXTURE_SECRET: &str = "fixture-secret";

/// A connector id: lower case letters, digits and dashes, starting with a letter.
fn check_id(name: &str) -> anyhow::Result<String> {
    let id = name.trim().to_ascii_lowercase();
    let valid = id.len() <= 32
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-');
    if !valid {
        bail!(
            "`{name}` cannot be a connector id: use 1 to 32 lower case letters, digits and dashes, starting with a letter (e.g. `viber`)"
        );
    }
    Ok(id)
}

/// The words of an id, capitalized: `viber-business` → `Viber`, `Business`.
fn words(id: &str) -> Vec<String> {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `viber-business` → `ViberBusiness`.
fn type_name(id: &str) -> String {
    words(id).concat()
}

/// `viber-business` → `Viber Business`.
fn display_name(id: &str) -> String {
    words(id).join(" ")
}

/// The template's recorded request: a message from a user with a 64-bit id, sent `at` (Unix
/// seconds), signed as the template's connector checks.
fn fixture_request(id: &str, at: i64) -> String {
    use hmac::Mac as _;
    let body = format!(
        r#"{{"id":"m-1","from":{{"id":9007199254740993123,"name":"Ann Lee"}},"text":"Hello, is my order on its way?","timestamp":{at}}}"#
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(FIXTURE_SECRET.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    format!(
        "POST /hooks/{id} HTTP/1.1\nHost: crm.example.com\nContent-Type: application/json\nX-Signature: sha256={signature}\n\n{body}\n"
    )
}

/// The files of a new project of `lang`, as (path, content).
fn files(lang: Lang, id: &str, sdk: &SdkSource, now_secs: i64) -> Vec<(String, String)> {
    let fill = |template: &str| {
        template
            .replace("__CRATE__", &format!("{id}-connector"))
            .replace("__TYPE__", &type_name(id))
            .replace("__NAME__", &display_name(id))
            .replace("__ENV__", &id.to_ascii_uppercase().replace('-', "_"))
            .replace("__FIXTURE_TIME_MS__", &(now_secs * 1000 + 1000).to_string())
            .replace("__SDK_DEPENDENCY__", &sdk.dependency(""))
            .replace("__SDK_TESTING_DEPENDENCY__", &sdk.dependency("\"testing\""))
            .replace("__ID__", id)
    };
    let send = fill(
        r#"{"to": [{"kind": "external", "namespace": "__ID__:user", "value": "9007199254740993123"}], "text": "Hello from the desk"}
"#,
    );
    let sent = fill(
        "POST https://api.__ID__.example/v1/messages\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"id\": \"out-1\"}\n",
    );
    let mut files = vec![
        ("fixtures/message.http".to_string(), fixture_request(id, now_secs)),
        ("fixtures/send.json".to_string(), send),
        ("fixtures/responses/send-ok.http".to_string(), sent),
    ];
    let template: Vec<(&str, String)> = match lang {
        Lang::Rust => vec![
            ("Cargo.toml", include_str!("templates/rust/Cargo.toml").into()),
            ("src/lib.rs", include_str!("templates/rust/src/lib.rs").into()),
            ("README.md", include_str!("templates/rust/README.md").into()),
            (".gitignore", include_str!("templates/rust/gitignore").into()),
        ],
        Lang::Js => vec![
            (
                "src/connector.js",
                from_example(include_str!("../../../examples/js-hello/src/connector.js")),
            ),
            ("package.json", from_example(include_str!("../../../examples/js-hello/package.json"))),
            (
                "package-lock.json",
                from_example(include_str!("../../../examples/js-hello/package-lock.json")),
            ),
            ("README.md", from_example(include_str!("../../../examples/js-hello/README.md"))),
            (".gitignore", include_str!("../../../examples/js-hello/.gitignore").into()),
        ],
        Lang::Python => vec![
            ("app.py", from_example(include_str!("../../../examples/python-hello/app.py"))),
            (
                "http_client.py",
                from_example(include_str!("../../../examples/python-hello/http_client.py")),
            ),
            (
                "requirements.txt",
                include_str!("../../../examples/python-hello/requirements.txt").into(),
            ),
            ("README.md", from_example(include_str!("../../../examples/python-hello/README.md"))),
            (".gitignore", include_str!("../../../examples/python-hello/.gitignore").into()),
        ],
    };
    files.extend(template.iter().map(|(path, text)| (path.to_string(), fill(text))));
    if lang != Lang::Rust {
        files.extend(WIT.iter().map(|(path, text)| (format!("wit/{path}"), text.to_string())));
    }
    files
}

/// What to do next in a new project of `lang`.
pub fn next_steps(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => {
            "cargo test && switchboard plugin build && switchboard plugin test dist/*.wasm --help"
        }
        Lang::Js => "switchboard plugin build   # installs the pinned jco (npm ci) the first time",
        Lang::Python => {
            "switchboard plugin build   # installs the pinned componentize-py into .venv the first time"
        }
    }
}

/// Writes a new connector project named `name` in `dir` (default `./{name}`); its folder.
pub fn new_project(
    name: &str,
    lang: Lang,
    dir: Option<&Path>,
    sdk: &SdkSource,
) -> anyhow::Result<PathBuf> {
    let id = check_id(name)?;
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(&id));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not empty: choose another folder with --dir", dir.display());
    }
    let now_secs = switchboard::store::now_millis() / 1000;
    for (path, content) in files(lang, &id, sdk, now_secs) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(&path, content)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(dir)
}

/// The language of the project in `dir`, from its files.
fn lang_of(dir: &Path) -> anyhow::Result<Lang> {
    if dir.join("Cargo.toml").exists() {
        Ok(Lang::Rust)
    } else if dir.join("package.json").exists() {
        Ok(Lang::Js)
    } else if dir.join("requirements.txt").exists() || dir.join("app.py").exists() {
        Ok(Lang::Python)
    } else {
        bail!(
            "{} holds no connector project (no Cargo.toml, package.json or app.py)",
            dir.display()
        )
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("failed to run {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Builds the component of the project in `dir`; its path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let started = Instant::now();
    let component = match lang_of(dir)? {
        Lang::Rust => build_rust(dir)?,
        Lang::Js => build_js(dir)?,
        Lang::Python => build_python(dir)?,
    };
    let size = std::fs::metadata(&component).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "built {} ({} KiB) in {:.1} s",
        component.display(),
        size.div_ceil(1024),
        started.elapsed().as_secs_f64()
    );
    Ok(component)
}

/// `cargo build` for `wasm32-wasip2` with the small, fast profile of the bundled connectors
/// (set through the environment, so it holds whatever the project's own profile says), then
/// the component copied to `dist/`.
fn build_rust(dir: &Path) -> anyhow::Result<PathBuf> {
    let metadata = Command::new(cargo())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(dir)
        .output()
        .context("failed to run cargo metadata")?;
    if !metadata.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&metadata.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout)?;
    let manifest = dir.canonicalize()?.join("Cargo.toml");
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().map(PathBuf::from) == Some(manifest.clone()))
        .or_else(|| metadata["packages"].get(0))
        .context("cargo metadata names no package")?;
    let name = package["name"].as_str().context("the package has no name")?.to_string();
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib")))
        .with_context(|| {
            format!("{name} has no `crate-type = [\"cdylib\"]` library: a component is one")
        })?;
    let lib_name = lib["name"].as_str().unwrap_or(&name).replace('-', "_");
    let target_dir =
        PathBuf::from(metadata["target_directory"].as_str().context("no target directory")?);
    run(
        Command::new(cargo())
            .args(["build", "--release", "--target", "wasm32-wasip2", "--package", &name])
            .current_dir(dir)
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
            .env("CARGO_PROFILE_RELEASE_LTO", "true")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
            .env("CARGO_PROFILE_RELEASE_STRIP", "true")
            .env("CARGO_PROFILE_RELEASE_PANIC", "abort"),
        "cargo build --target wasm32-wasip2 (is the target installed? `rustup target add wasm32-wasip2`)",
    )?;
    let built = target_dir.join("wasm32-wasip2/release").join(format!("{lib_name}.wasm"));
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist)?;
    let out = dist.join(format!("{}.wasm", name.trim_end_matches("-connector")));
    std::fs::copy(&built, &out).with_context(|| format!("cargo built no {}", built.display()))?;
    Ok(out)
}

/// `npm run build` (jco componentize, as the project's `package.json` says), after installing
/// the pinned tools if they are not there yet; the newest component in `dist/`.
fn build_js(dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.join("node_modules").exists() {
        let install = if dir.join("package-lock.json").exists() { "ci" } else { "install" };
        eprintln!("installing the build tools (npm {install})");
        run(
            Command::new("npm").args([install, "--no-audit", "--no-fund"]).current_dir(dir),
            &format!("npm {install}"),
        )?;
    }
    run(
        Command::new("npm").args(["run", "build"]).current_dir(dir),
        "npm run build (jco componentize)",
    )?;
    newest_component(&dir.join("dist"))
}

/// componentize-py against the project's `wit/` (or the contract this host's SDK builds), from
/// the project's `.venv` or the PATH, installing the pinned one into `.venv` if neither has it.
fn build_python(dir: &Path) -> anyhow::Result<PathBuf> {
    let venv = dir.join(".venv/bin/componentize-py");
    let on_path =
        Command::new("componentize-py").arg("--version").output().is_ok_and(|o| o.status.success());
    let componentize = if venv.exists() {
        venv
    } else if on_path {
        PathBuf::from("componentize-py")
    } else {
        eprintln!("installing componentize-py into {}", dir.join(".venv").display());
        run(
            Command::new("python3").args(["-m", "venv", ".venv"]).current_dir(dir),
            "python3 -m venv",
        )?;
        run(
            Command::new(".venv/bin/pip")
                .args(["install", "--quiet", "-r", "requirements.txt"])
                .current_dir(dir),
            "pip install -r requirements.txt",
        )?;
        venv
    };
    let wit = if dir.join("wit").exists() {
        dir.join("wit")
    } else {
        let temporary =
            std::env::temp_dir().join(format!("switchboard-wit-{}", std::process::id()));
        for (path, text) in WIT {
            let path = temporary.join(path);
            std::fs::create_dir_all(path.parent().unwrap_or(&temporary))?;
            std::fs::write(path, text)?;
        }
        temporary
    };
    let name = dir
        .canonicalize()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "connector".into());
    let out = dir.join("dist").join(format!("{name}.wasm"));
    std::fs::create_dir_all(dir.join("dist"))?;
    run(
        Command::new(&componentize)
            .arg("-d")
            .arg(&wit)
            .args(["-w", "plugin", "componentize", "app", "-o"])
            .arg(
                out.canonicalize()
                    .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(&out)),
            )
            .current_dir(dir),
        "componentize-py",
    )?;
    // Python leaves its bytecode beside the sources: not part of the project.
    let _ = std::fs::remove_dir_all(dir.join("__pycache__"));
    Ok(out)
}

/// The most recently written `.wasm` of `dist`.
fn newest_component(dist: &Path) -> anyhow::Result<PathBuf> {
    std::fs::read_dir(dist)
        .with_context(|| format!("the build wrote nothing in {}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .with_context(|| format!("the build wrote no component in {}", dist.display()))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_named() {
        assert_eq!(check_id("Viber").unwrap(), "viber");
        assert_eq!(type_name("viber-business"), "ViberBusiness");
        assert_eq!(display_name("viber-business"), "Viber Business");
        for bad in ["", "9lives", "a_b", "viber-", "x".repeat(33).as_str()] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
