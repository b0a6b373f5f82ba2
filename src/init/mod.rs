//! `switcher init` (README, First run): finds the agent configs (target discovery) and the
//! credentials already on the machine (source detection), shows what it can use, and writes a
//! first config whose comments explain each choice. It never overwrites a config unless told to
//! (`--force`, which keeps the old one as `<name>.bak`), and the text is checked with the config
//! reader before anything is written.

mod proposal;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Global, Init};
use crate::config::Config;
use crate::env::Env;
use crate::error::{Error, Outcome};
use crate::fsx;
use crate::jsonc::Document;
use crate::provider::Aliases;
use crate::settings::{POLL_INTERVAL, config_path, discovery_paths};
use crate::source::{Build, SourceSpec};
use crate::target::{Doc, Kind, Places};

use proposal::{Found, Usable};

pub(crate) fn run(global: &Global, init: &Init, env: &Env) -> Result<Outcome, Error> {
    let (path, _) = config_path(global, env).ok_or_else(|| {
        Error::Setup("cannot locate a config dir: set HOME or XDG_CONFIG_HOME, or --config".into())
    })?;
    let exists = path.exists();
    if exists && !init.force && !init.dry_run {
        return Err(Error::Setup(format!(
            "{} exists; `switcher init --force` replaces it (keeping it as {}), \
             `--dry-run` shows what would be written",
            path.display(),
            backup(&path).display()
        )));
    }
    let aliases = Aliases::new(&Default::default());
    let found = find_targets(env, &aliases);
    let config_dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    let sources: Vec<Usable> = SourceSpec::detected(
        &Build {
            env,
            config_dir: &config_dir,
            state_dir: None,
        },
        POLL_INTERVAL,
    )
    .into_iter()
    .map(|s| Usable {
        label: s.label,
        covers: s.covers,
    })
    .collect();
    let chains = proposal::chains(&found, &sources);
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let text = proposal::render(&found, &sources, &chains, &today);
    // Whatever init writes, switcher must read back as it is.
    if let Err(e) = Config::parse(&text, &path) {
        return Err(Error::Setup(format!(
            "internal error: the proposed config does not parse ({e}); nothing written"
        )));
    }

    let mut summary = String::new();
    summary.push_str("Agent configs found:\n");
    if found.is_empty() {
        summary.push_str("  none (looked for ./opencode.json(c), OpenCode's user config and Claude Code's settings)\n");
    }
    for t in &found {
        let n = t.slots.len();
        let s = if n == 1 { "" } else { "s" };
        summary.push_str(&format!(
            "  {} ({}, {n} model slot{s})\n",
            t.display, t.kind
        ));
    }
    summary.push_str("Quota sources it can use:\n");
    if sources.is_empty() {
        summary.push_str("  none: no agent login or API key found\n");
    }
    for s in &sources {
        summary.push_str(&format!("  {} (covers {})\n", s.label, s.covers.join(", ")));
    }
    let proposed = chains.iter().filter(|c| c.none_because.is_none()).count();
    summary.push_str(&format!("Fallback chains proposed: {proposed}\n"));

    if init.dry_run {
        eprint!("{summary}");
        print(&text);
        return Ok(Outcome::Ok);
    }
    let write_err = |e: std::io::Error| Error::Setup(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let old = if exists {
        // A config switcher may not write keeps its backup too.
        fsx::refuse_protected(&path).map_err(write_err)?;
        let old = fsx::read_limited(&path, fsx::MAX_FILE).map_err(write_err)?;
        // A fresh copy keeps the old file's mode (a config may hold API keys), whatever mode or
        // link an older backup had.
        let bak = backup(&path);
        let bak_err = |e: std::io::Error| Error::Setup(format!("{}: {e}", bak.display()));
        match std::fs::remove_file(&bak) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(bak_err(e)),
            _ => {}
        }
        std::fs::copy(&path, &bak).map_err(bak_err)?;
        summary.push_str(&format!("Kept the old config as {}\n", bak.display()));
        Some(old)
    } else {
        None
    };
    fsx::write_atomic(&path, old.as_deref(), &text).map_err(write_err)?;
    summary.push_str(&format!(
        "Wrote {}\nNext: `switcher status` to see it at work, `switcher watch` to run it.\n",
        path.display()
    ));
    print(&summary);
    Ok(Outcome::Ok)
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn backup(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".bak");
    path.with_file_name(name)
}

/// The discovered agent configs that exist and parse, with the models they name.
fn find_targets(env: &Env, aliases: &Aliases) -> Vec<Found> {
    let claude_dir = env.claude_dir();
    let opencode_dir = env.config_home.as_ref().map(|d| d.join("opencode"));
    let places = Places {
        claude: claude_dir.as_deref(),
        opencode: opencode_dir.as_deref(),
    };
    let mut out: Vec<Found> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in discovery_paths(env).into_iter().filter(|p| p.is_file()) {
        let real = fsx::canonical(&path).unwrap_or_else(|_| path.clone());
        let Some(kind) = Kind::detect(&path, &places) else {
            continue;
        };
        if !seen.insert(real) {
            continue;
        }
        let doc = match fsx::read_limited(&path, fsx::MAX_FILE)
            .map_err(|e| e.to_string())
            .and_then(|text| Document::parse(&text).map_err(|e| e.message))
        {
            Ok(doc) => Doc::Json(doc),
            Err(e) => {
                tracing::warn!("{}: skipped, cannot read it ({e})", path.display());
                continue;
            }
        };
        let slots = kind
            .slots(&doc)
            .into_iter()
            .map(|s| {
                let provider = kind.provider(&doc, &s.model, aliases, None);
                (s.path.to_string(), s.model.to_string(), provider)
            })
            .collect();
        let mut named = Vec::new();
        for slot in kind.slots(&doc) {
            for candidate in slot
                .fallback_models
                .and_then(Result::ok)
                .unwrap_or_default()
            {
                let id = candidate.to_string();
                named.push((id.clone(), kind.provider(&doc, &id, aliases, None)));
            }
        }
        // Models defined under `provider.<id>.models` are ones the user can run.
        if kind == Kind::OpenCode
            && let Some(json) = doc.json()
            && let Some(providers) = json.prop(json.root(), "provider")
        {
            for provider in json.unique_props(&providers.value) {
                for model in (json.prop(&provider.value, "models").into_iter())
                    .flat_map(|m| json.unique_props(&m.value))
                {
                    let id = format!("{}/{}", json.key(provider), json.key(model));
                    named.push((id.clone(), kind.provider(&doc, &id, aliases, None)));
                }
            }
        }
        out.push(Found {
            display: tilde(&path, env),
            kind,
            slots,
            named,
        });
    }
    out
}

/// The path as a config shows it: under the home directory as `~/…`.
fn tilde(path: &Path, env: &Env) -> String {
    match env.home.as_ref().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}
