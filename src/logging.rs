//! Diagnostics on stderr with `tracing`: `warning: …` lines for one-shot runs, timestamped lines
//! for the daemon, JSON objects with `--json` in the daemon. stdout stays for the answer.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Crates whose own logs stay at info at most, whatever the filter asks: their debug output can
/// carry request headers.
const CAPPED: &[&str] = &["hyper", "reqwest", "rustls", "h2", "tower", "hyper_util"];

/// Crates whose warnings are not the user's business: `notify` warns when a watch died with its
/// directory, which the watcher already handles.
const ERRORS_ONLY: &[&str] = &["notify"];

struct Plain {
    timestamps: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if self.timestamps {
            // Always three decimals, so that lines sort as text.
            let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
            write!(writer, "{now} ")?;
        }
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the global subscriber. `daemon` raises the default level to info and adds
/// timestamps; `json` (daemon only) emits JSON objects.
pub(crate) fn init(verbosity: i8, filter: Option<&str>, daemon: bool, json: bool, color: bool) {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let base = if daemon { 3 } else { 2 };
    let index = (base + i32::from(verbosity)).clamp(0, 5) as usize;
    let parsed = filter.map(EnvFilter::try_new);
    let (filter, invalid) = match parsed {
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (EnvFilter::new(LEVELS[index]), Some(e)),
        None => (EnvFilter::new(LEVELS[index]), None),
    };
    let cap = tracing_subscriber::filter::filter_fn(|meta| {
        let target = meta.target();
        if ERRORS_ONLY.iter().any(|c| target.starts_with(c)) {
            return *meta.level() <= Level::ERROR;
        }
        !CAPPED.iter().any(|c| target.starts_with(c)) || *meta.level() <= Level::INFO
    });
    let layer = if daemon && json {
        // The `target` field is the agent config a line is about, not the Rust module.
        tracing_subscriber::fmt::layer()
            .json()
            .with_target(false)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(color && std::io::stderr().is_terminal())
            .event_format(Plain { timestamps: daemon })
            .with_writer(std::io::stderr)
            .boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(cap))
        .try_init();
    if let Some(e) = invalid {
        tracing::warn!("SWITCHER_LOG: {e}; using the default level");
    }
}
