//! `switcher status --watch` (README, Live view): a full-screen view of what the daemon keeps in
//! the state dir. It reads that data again only when its files (or a target) change — a file
//! watcher says so — and otherwise redraws once a second for the countdowns; `q` quits. It
//! polls no source and writes nothing: the daemon does both.

mod render;
mod snapshot;

use std::io;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use notify::{RecursiveMode, Watcher};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::error::{Error, Outcome};
use crate::settings::Settings;

/// Puts the terminal back however the view ends (a panic included).
struct Screen;

impl Screen {
    fn enter() -> io::Result<Screen> {
        enable_raw_mode()?;
        if let Err(e) = execute!(io::stdout(), EnterAlternateScreen) {
            let _ = disable_raw_mode();
            return Err(e);
        }
        Ok(Screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
        let _ = disable_raw_mode();
    }
}

pub(crate) fn run(settings: &Settings) -> Result<Outcome, Error> {
    if !io::IsTerminal::is_terminal(&io::stdout()) {
        return Err(Error::Setup(
            "the live view needs a terminal; `switcher status` prints once (`--json` for scripts)"
                .into(),
        ));
    }
    let setup = |e: io::Error| Error::Setup(format!("cannot run the live view: {e}"));
    // Changes to the state dir (quota book, records, journal) and to the targets' dirs.
    let (changed, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        let _ = changed.send(());
    })
    .map_err(|e| Error::Setup(format!("cannot watch the state dir: {e}")))?;
    let _ = crate::fsx::create_private_dir(&settings.state_dir);
    if let Err(e) = watcher.watch(&settings.state_dir, RecursiveMode::Recursive) {
        return Err(Error::Setup(format!(
            "cannot watch {}: {e}",
            settings.state_dir.display()
        )));
    }
    let dirs: std::collections::BTreeSet<PathBuf> = (settings.targets.iter())
        .filter_map(|t| t.path.parent().map(PathBuf::from))
        .collect();
    for dir in dirs {
        let _ = watcher.watch(&dir, RecursiveMode::NonRecursive);
    }

    let paint = render::Paint(settings.color);
    let mut snap = snapshot::read(settings, settings.now());
    let screen = Screen::enter().map_err(setup)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout())).map_err(setup)?;
    loop {
        terminal
            .draw(|frame| render::draw(frame, &snap, settings.now(), paint))
            .map_err(setup)?;
        // Keys and resizes wake us at once; otherwise once a second, for the countdowns.
        if event::poll(Duration::from_secs(1)).map_err(setup)? {
            match event::read().map_err(setup)? {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                        break;
                    }
                }
                _ => {}
            }
        }
        // A burst of file events is one re-read.
        if changes.try_iter().count() > 0 {
            snap = snapshot::read(settings, settings.now());
        }
    }
    drop(terminal);
    drop(screen);
    Ok(Outcome::Ok)
}
