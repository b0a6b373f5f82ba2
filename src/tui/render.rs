//! Drawing a [`Snapshot`] as of a given "now": providers with their windows as bars (percent,
//! reset countdown, projection), the switches in force with their reasons, the last events. Pure
//! apart from the frame it draws on, so it is tested on ratatui's `TestBackend`. It fits an
//! 80×24 terminal and uses nothing a plain terminal over SSH lacks.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::snapshot::{ProviderRow, Snapshot, WindowRow};
use crate::engine::human_duration;
use crate::quota::{Level, percent};

/// Whether to paint; `NO_COLOR` turns it off.
#[derive(Clone, Copy)]
pub(crate) struct Paint(pub(crate) bool);

impl Paint {
    fn level(self, level: Option<Level>) -> Style {
        if !self.0 {
            return Style::default();
        }
        match level {
            Some(Level::Green) => Style::default().fg(Color::Green),
            Some(Level::Yellow) => Style::default().fg(Color::Yellow),
            Some(Level::Red) => Style::default().fg(Color::Red),
            None => Style::default().fg(Color::Magenta),
        }
    }

    fn dim(self) -> Style {
        if self.0 {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default()
        }
    }
}

pub(crate) fn draw(frame: &mut Frame, snap: &Snapshot, now: Timestamp, paint: Paint) {
    let area = frame.area();
    let provider_lines: Vec<Line> = snap
        .providers
        .iter()
        .flat_map(|p| provider(p, now, area.width.saturating_sub(2), paint))
        .collect();
    let switch_lines = switches(snap, paint);
    let event_lines = events(snap);
    // Providers first; the switches in force keep their lines; events take what is left.
    let switches_h = u16::try_from(switch_lines.len().max(1) + 2).unwrap_or(u16::MAX);
    // What does not fit is said to be there, not cut without a sign.
    let room = usize::from(area.height).saturating_sub(1 + usize::from(switches_h) + 3 + 2);
    let provider_lines = fit(provider_lines, room, paint);
    let [title, providers, switches, events] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Max(provider_lines.len().max(1) as u16 + 2),
        Constraint::Length(switches_h),
        Constraint::Min(3),
    ])
    .areas(area);

    let head = format!(
        " switcher · {} provider{} · {} target{} · {} ",
        snap.providers.len(),
        plural(snap.providers.len()),
        snap.targets,
        plural(snap.targets),
        now.strftime("%H:%M:%S"),
    );
    let quit = "q quits ";
    let gap = (area.width as usize).saturating_sub(head.chars().count() + quit.len());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(head, Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(" ".repeat(gap)),
            Span::styled(quit, paint.dim()),
        ])),
        title,
    );
    let empty = |text: &str| vec![Line::styled(text.to_owned(), paint.dim())];
    frame.render_widget(
        Paragraph::new(if provider_lines.is_empty() {
            empty("no quota data yet: is `switcher watch` running with this state dir?")
        } else {
            provider_lines
        })
        .block(boxed("Providers")),
        providers,
    );
    frame.render_widget(
        Paragraph::new(if switch_lines.is_empty() {
            empty("none: every slot holds its original")
        } else {
            switch_lines
        })
        .block(boxed("Switches in force")),
        switches,
    );
    // The newest events that fit, newest last.
    let room = events.height.saturating_sub(2) as usize;
    let shown = if event_lines.is_empty() {
        empty("no switch or restore yet")
    } else {
        event_lines[event_lines.len().saturating_sub(room)..].to_vec()
    };
    frame.render_widget(Paragraph::new(shown).block(boxed("Last events")), events);
}

/// `lines` in `room` lines: those that fit, the last giving way to a count of the others.
fn fit(mut lines: Vec<Line<'static>>, room: usize, paint: Paint) -> Vec<Line<'static>> {
    if lines.len() <= room || room == 0 {
        return lines;
    }
    let hidden = lines.len() - (room - 1);
    lines.truncate(room - 1);
    lines.push(Line::styled(
        format!("… {hidden} more lines: a taller terminal shows them"),
        paint.dim(),
    ));
    lines
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn boxed(title: &str) -> Block<'_> {
    Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "))
}

/// A provider's line, then one per window: bar, percent, level, reset countdown, projection.
fn provider(p: &ProviderRow, now: Timestamp, width: u16, paint: Paint) -> Vec<Line<'static>> {
    let mut head = vec![
        Span::styled(
            format!("{:<11}", p.name),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{:<8}", p.status), paint.level(p.level)),
    ];
    if let Some(at) = p.observed {
        let age = now.duration_since(at).as_secs_f64();
        head.push(Span::styled(
            format!("observed {} ago", human_duration(age)),
            paint.dim(),
        ));
    }
    if let Some(note) = &p.note {
        head.push(Span::styled(format!("  {note}"), paint.dim()));
    }
    let mut lines = vec![Line::from(head)];
    let name_w = p
        .windows
        .iter()
        .map(|w| w.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(16);
    // name, bar, percent, then about 34 columns of countdown and projection.
    let bar_w = (width as usize)
        .saturating_sub(2 + name_w + 2 + 8 + 34)
        .clamp(8, 30);
    for w in &p.windows {
        let used = w.window.utilization;
        let filled = ((used.clamp(0.0, 100.0) / 100.0) * bar_w as f64).round() as usize;
        let mut spans = vec![
            Span::raw(format!("  {:<name_w$}  ", truncate(&w.name, name_w))),
            Span::styled("█".repeat(filled), paint.level(Some(w.level))),
            Span::styled("░".repeat(bar_w - filled), paint.dim()),
            Span::styled(format!("{:>7} ", percent(used)), paint.level(Some(w.level))),
        ];
        let mut tail = Vec::new();
        match w.window.resets_at {
            Some(at) if at > now => tail.push(format!(
                "resets in {}",
                human_duration(at.duration_since(now).as_secs_f64())
            )),
            Some(_) => tail.push("has reset".to_owned()),
            None => {}
        }
        tail.extend(projection(w, now));
        if let Some(models) = &w.window.models {
            tail.push(format!("({} only)", models.join(", ")));
        }
        spans.push(Span::styled(tail.join(" · "), paint.dim()));
        lines.push(Line::from(spans));
    }
    lines
}

/// Where the window is heading at its current pace: full before its reset, or the share used
/// when it resets.
fn projection(w: &WindowRow, now: Timestamp) -> Option<String> {
    let slope = w.slope.filter(|s| *s > 0.0)?;
    let used = w.window.utilization;
    let to_full = (100.0 - used).max(0.0) / slope;
    match w.window.resets_at {
        Some(at) if at > now && (at.duration_since(now).as_secs_f64()) < to_full => {
            let at_reset = used + slope * at.duration_since(now).as_secs_f64();
            Some(format!("≈{} at reset", percent(at_reset.round())))
        }
        _ => Some(format!("full in {}", human_duration(to_full))),
    }
}

fn switches(snap: &Snapshot, paint: Paint) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = snap
        .switches
        .iter()
        .flat_map(|s| {
            [
                Line::from(vec![
                    Span::raw(format!("{}: {}: ", s.target, s.slot)),
                    Span::styled(s.original.clone(), paint.dim()),
                    Span::raw(format!(" → {}", s.current)),
                ]),
                Line::styled(format!("  since {}", s.reason), paint.dim()),
            ]
        })
        .collect();
    lines.extend(
        snap.errors
            .iter()
            .map(|e| Line::styled(e.clone(), paint.level(Some(Level::Red)))),
    );
    lines
}

fn events(snap: &Snapshot) -> Vec<Line<'static>> {
    let zone = jiff::tz::TimeZone::system();
    snap.events
        .iter()
        .map(|e| {
            let at =
                e.at.to_zoned(zone.clone())
                    .strftime("%m-%d %H:%M")
                    .to_string();
            // The slot and where it went: what it came from is the line before, or the original.
            Line::raw(format!(
                "{at}  {}: {} → {} ({})",
                e.target, e.slot, e.to, e.reason
            ))
        })
        .collect()
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
