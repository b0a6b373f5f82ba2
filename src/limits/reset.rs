//! The reset extractors of the limit table: a row's named groups → the instant its limit ends, in
//! milliseconds since the epoch, exactly as the OpenCode plugin computes it in JavaScript.
//!
//! That is why the calendar arithmetic is JavaScript's: `Date.UTC` rolls fields over (day 32 is
//! the 1st of the next month) and reads years 0–99 as 1900–1999, and a wall time in a zone is
//! found by the plugin's two passes over the zone's offset (in a DST gap that lands an hour
//! earlier, where jiff's own choice would land an hour later). Zones come from jiff's time zone
//! database — the system's on Unix, the one bundled into the binary on Windows — so the names
//! Claude Code prints, backward aliases (`Asia/Calcutta`) included, resolve; `UTC` resolves
//! without any database.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use regex::Regex;
use std::sync::LazyLock;

use super::Extractor;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// JavaScript's `\s` and what `String.prototype.trim` removes, as a regex class.
const JS_SPACE: &str = r"[\t\n\x0B\x0C\r \u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\u{feff}]";

fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn js_trim(text: &str) -> &str {
    text.trim_matches(js_space)
}

/// The reset a row names, from its groups (`group` gives a group that matched, non-empty).
/// `None`: the message names none, or one that cannot be read.
pub(super) fn extract<'h>(
    extractor: Extractor,
    group: &impl Fn(&str) -> Option<&'h str>,
    row_zone: Option<&str>,
    now: i64,
    local: &TimeZone,
) -> Option<i64> {
    // A zone the message names must exist; without one, the reader's own.
    let zone = || match group("zone") {
        Some(name) => zone_named(name),
        None => Some(local.clone()),
    };
    match extractor {
        Extractor::None => None,
        Extractor::Epoch => {
            let digits = group("epoch")?;
            let n: i64 = digits.parse().ok()?;
            if digits.len() >= 13 {
                Some(n)
            } else {
                n.checked_mul(SECOND)
            }
        }
        Extractor::Iso => {
            let row_zone = row_zone.filter(|z| !z.is_empty()).unwrap_or("UTC");
            iso_in_zone(group("at")?, &zone_named(row_zone)?)
        }
        Extractor::Relative => now.checked_add(relative(group("rel")?)?),
        Extractor::ClockInZone => next_clock_in_zone(group("clock")?, &zone()?, now),
        Extractor::MonthDayClockInZone => month_day_clock_in_zone(group, &zone()?, now),
    }
}

/// An IANA zone by name, as `Intl` takes it (case-insensitively); `UTC` even with no database.
fn zone_named(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("UTC") {
        return Some(TimeZone::UTC);
    }
    TimeZone::get(name).ok()
}

/// `6 days`, `10h 7m`, `5hr 41min`, `8h44m7s`, `5 days 22 hours 11 minutes`, `~2 weeks` → ms.
/// Every amount with a unit counts; a unit is a whole word (`5mo` is none), so `8h44m7s` reads
/// as 8 h, 44 m and 7 s.
pub(super) fn relative(text: &str) -> Option<i64> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);
    // The letters of JavaScript's `[a-z]` under the `iu` flags: ASCII ones, the long s and the
    // Kelvin sign.
    let letter = |c: char| c.is_ascii_alphabetic() || c == '\u{17f}' || c == '\u{212a}';
    let (mut total, mut any, mut i) = (0f64, false, 0);
    while i < chars.len() {
        if !at(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
            continue;
        }
        let mut end = i;
        while at(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
        if at(end) == Some('.') && at(end + 1).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
            while at(end).is_some_and(|c| c.is_ascii_digit()) {
                end += 1;
            }
        }
        let mut word = end;
        while at(word).is_some_and(js_space) {
            word += 1;
        }
        let mut word_end = word;
        while at(word_end).is_some_and(letter) {
            word_end += 1;
        }
        let unit = text[offset(word)..offset(word_end)].to_lowercase();
        if !UNITS.contains(&unit.replace('\u{17f}', "s").as_str()) {
            i += 1;
            continue;
        }
        // A unit spelled with the long s matches in JavaScript but makes the amount NaN there.
        let ms = unit_ms(&unit)?;
        let amount: f64 = text[offset(i)..offset(end)].parse().ok()?;
        total += amount * ms as f64;
        any = true;
        i = word_end;
    }
    if !any {
        return None;
    }
    let rounded = (total + 0.5).floor();
    // Beyond what a timestamp can hold it names no usable reset.
    (rounded.is_finite() && rounded.abs() < 1e17).then_some(rounded as i64)
}

const UNITS: &[&str] = &[
    "weeks", "week", "w", "days", "day", "d", "hours", "hour", "hrs", "hr", "h", "minutes",
    "minute", "mins", "min", "m", "seconds", "second", "secs", "sec", "s",
];

/// A unit word's length in ms, keyed as the plugin keys it: by its first letter, `mi…` and `m`
/// being minutes.
fn unit_ms(unit: &str) -> Option<i64> {
    if unit.starts_with("mi") || unit == "m" {
        return Some(MINUTE);
    }
    match unit.chars().next()? {
        'w' => Some(WEEK),
        'd' => Some(DAY),
        'h' => Some(HOUR),
        's' => Some(SECOND),
        _ => None,
    }
}

/// `5pm`, `11:50pm`, `1 PM`, `12am` → (hour, minute) on a 24-hour clock.
pub(super) fn clock(text: &str) -> Option<(i64, i64)> {
    static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"(?i)^([0-9]{{1,2}})(?::([0-9]{{2}}))?{JS_SPACE}*([ap])m$"
        ))
        .expect("a valid pattern")
    });
    let caps = CLOCK.captures(js_trim(text))?;
    let mut hour: i64 = caps[1].parse::<i64>().ok()? % 12;
    if caps[3].eq_ignore_ascii_case("p") {
        hour += 12;
    }
    let minute: i64 = caps.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
    (minute < 60).then_some((hour, minute))
}

/// `2026-09-12 00:35:41` (wall time in `zone`) or a stamp with its own `Z`/`±hh:mm` → ms.
/// Fractions of a second are dropped.
fn iso_in_zone(text: &str, zone: &TimeZone) -> Option<i64> {
    static ISO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"(?i)^([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})[ T]([0-9]{{2}}):([0-9]{{2}})(?::([0-9]{{2}})(?:\.[0-9]+)?)?{JS_SPACE}*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})?$"
        ))
        .expect("a valid pattern")
    });
    let caps = ISO.captures(js_trim(text))?;
    let n = |i: usize| -> i64 { caps.get(i).map_or(0, |m| m.as_str().parse().unwrap_or(0)) };
    let (y, mo, d, h, mi, s) = (n(1), n(2) - 1, n(3), n(4), n(5), n(6));
    let Some(offset) = caps.get(7).map(|m| m.as_str()) else {
        return wall_time(zone, y, mo, d, h, mi, s);
    };
    let wall = date_utc(y, mo, d, h, mi, s);
    if offset.eq_ignore_ascii_case("z") {
        return Some(wall);
    }
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits = offset[1..].replace(':', "");
    let minutes = digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?;
    Some(wall - sign * minutes * MINUTE)
}

/// The next instant after `now` at which the clock in `zone` shows `text`.
fn next_clock_in_zone(text: &str, zone: &TimeZone, now: i64) -> Option<i64> {
    let (hour, minute) = clock(text)?;
    let (y, mo, d) = wall_date(zone, now)?;
    let today = wall_time(zone, y, mo, d, hour, minute, 0)?;
    if today > now {
        return Some(today);
    }
    wall_time(zone, y, mo, d + 1, hour, minute, 0)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// `Dec 7, 4:28pm` in `zone` (no clock: the start of that day); without a year, the occurrence
/// nearest `now`.
fn month_day_clock_in_zone<'h>(
    group: &impl Fn(&str) -> Option<&'h str>,
    zone: &TimeZone,
    now: i64,
) -> Option<i64> {
    let month: String = group("month")?
        .chars()
        .take(3)
        .collect::<String>()
        .to_lowercase();
    let mo = MONTHS.iter().position(|m| *m == month)? as i64;
    let (hour, minute) = match group("clock") {
        Some(text) => clock(text)?,
        None => (0, 0),
    };
    let day: i64 = group("day")?
        .parse()
        .ok()
        .filter(|d| (1..=31).contains(d))?;
    if let Some(year) = group("year") {
        return wall_time(zone, year.parse().ok()?, mo, day, hour, minute, 0);
    }
    let (y, _, _) = wall_date(zone, now)?;
    let mut best: Option<i64> = None;
    for year in [y - 1, y, y + 1] {
        let at = wall_time(zone, year, mo, day, hour, minute, 0)?;
        if best.is_none_or(|b| at.abs_diff(now) < b.abs_diff(now)) {
            best = Some(at);
        }
    }
    best
}

/// JavaScript's `Date.UTC(y, mo, d, h, mi, s)`: fields roll over; years 0–99 are 1900–1999.
fn date_utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let y = if (0..=99).contains(&y) { 1900 + y } else { y };
    let days = days_from_civil(y + mo.div_euclid(12), mo.rem_euclid(12) + 1) + d - 1;
    days * DAY + h * HOUR + mi * MINUTE + s * SECOND
}

/// Days from 1970-01-01 to the 1st of `month` (1–12) of `year`, proleptic Gregorian.
fn days_from_civil(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The zone's offset from UTC at an instant, in ms.
fn offset_ms(zone: &TimeZone, at: i64) -> Option<i64> {
    let ts = Timestamp::from_millisecond(at).ok()?;
    Some(i64::from(zone.to_offset(ts).seconds()) * SECOND)
}

/// The instant at which the wall clock in `zone` reads these fields (rolled over as `Date.UTC`
/// does), found as the plugin finds it: the offset at the wall time read as UTC, then once more
/// at the first guess.
fn wall_time(zone: &TimeZone, y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let wall = date_utc(y, mo, d, h, mi, s);
    let guess = wall - offset_ms(zone, wall)?;
    Some(wall - offset_ms(zone, guess)?)
}

/// The date the wall clock in `zone` shows at an instant: (year, month 0–11, day).
fn wall_date(zone: &TimeZone, at: i64) -> Option<(i64, i64, i64)> {
    let date = zone
        .to_datetime(Timestamp::from_millisecond(at).ok()?)
        .date();
    Some((
        i64::from(date.year()),
        i64::from(date.month()) - 1,
        i64::from(date.day()),
    ))
}
