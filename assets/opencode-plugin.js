// switcher's OpenCode plugin — installed by `switcher setup opencode`; `--remove` deletes it.
//
// OpenCode reads its config only when a process starts. This plugin, loaded into every OpenCode
// process, lets a running session follow switcher (README, "OpenCode plugin"):
//
// - routes: before each prompt it stats `<state dir>/routes.json` (re-reading it only when its
//   mtime, size or inode changed) and sends a prompt for a model switcher moved away from, for
//   this project and agent, to the model switcher moved it to — the slot's original and every
//   fallback switcher wrote to it since. After a restore, in a process started before it (which
//   read a fallback at start), a prompt for a fallback goes back to the original (`restored`).
// - signals: when OpenCode retries a request (or gives up on it) with a provider message that the
//   limit table reads as a spent usage quota, it writes `<state dir>/signals/opencode-<provider>.json`:
//   that provider RED until the reset the message names. switcher's daemon re-plans within a
//   second.
//
// It never throws out of a hook and never waits on anything but one stat: whatever goes wrong
// (no routes file, a corrupt or newer one, an unwritable signals dir, an error it cannot read)
// leaves the prompt as it was, and OpenCode's log says why, once per cause. It uses nothing but
// Node's built-ins, which OpenCode's runtime provides. Only one function is exported: OpenCode
// calls every export as a plugin.

import fs from "node:fs";
import path from "node:path";

const STATE_DIR = null; // filled by `switcher setup opencode`
const LIMITS = null; // filled by `switcher setup opencode`

/** The routes document version this plugin reads. */
const ROUTES_VERSION = 1;
/** A spent quota whose message names no reset: RED this long, unless OpenCode's own retry is further off. */
const NO_RESET_MS = 60 * 60 * 1000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

// ---------------------------------------------------------------------------------------------
// The limit table (assets/limits.json), read exactly as switcher's Rust side reads it
// (src/limits/): tests/limits/vectors.json pins both down.

/** Compiles the table's rows; a row whose pattern does not compile is left out. */
function compileTable(table, onBadRow) {
  const rows = [];
  for (const row of (table && Array.isArray(table.rows) ? table.rows : [])) {
    try {
      rows.push({ ...row, regex: new RegExp(row.pattern, "iu") });
    } catch (e) {
      if (onBadRow) onBadRow(row && row.id, e);
    }
  }
  return rows;
}

/**
 * Reads a provider's message: null when no row matches, else
 * `{ row, provider, kind: "usage" | "throttle", resetsAt: ms | null }`.
 */
function classify(rows, message, nowMs, localZone) {
  if (typeof message !== "string" || message === "") return null;
  let row = null;
  let match = null;
  for (const r of rows) {
    match = r.regex.exec(message);
    if (match) {
      row = r;
      break;
    }
  }
  if (!row) return null;
  let kind = row.kind;
  let resetsAt = null;
  if (kind === "usage") {
    const groups = match.groups || {};
    const group = (name) => (typeof groups[name] === "string" && groups[name] !== "" ? groups[name] : null);
    const at = extract(row.reset, group, row.zone, nowMs, localZone);
    const below = Number(row.throttle_below_s);
    if (below && at !== null && at - nowMs < below * 1000) {
      kind = "throttle";
    } else {
      resetsAt = at !== null && at >= -377705116800000 && at <= 253402300799999 ? at : null;
    }
  }
  return { row: row.id, provider: row.provider, kind, resetsAt };
}

/** The reset a row names, in ms since the epoch; null when it names none that can be read. */
function extract(extractor, group, rowZone, now, localZone) {
  const zone = () => {
    const name = group("zone");
    return name === null ? localZone : zoneNamed(name);
  };
  switch (extractor) {
    case "epoch": {
      const digits = group("epoch");
      if (digits === null || !/^\d+$/.test(digits)) return null;
      const n = Number(digits);
      return digits.length >= 13 ? n : n * SECOND;
    }
    case "iso": {
      const at = group("at");
      const z = zoneNamed(rowZone || "UTC");
      return at === null || z === null ? null : isoInZone(at, z);
    }
    case "relative": {
      const rel = group("rel");
      const ms = rel === null ? null : relative(rel);
      return ms === null ? null : now + ms;
    }
    case "clock_in_zone": {
      const text = group("clock");
      const z = zone();
      return text === null || z === null ? null : nextClockInZone(text, z, now);
    }
    case "month_day_clock_in_zone": {
      const z = zone();
      return z === null ? null : monthDayClockInZone(group, z, now);
    }
    default:
      return null;
  }
}

/** An IANA zone name Intl accepts, as Intl spells it; "UTC" always; null for an unknown one. */
function zoneNamed(name) {
  if (typeof name !== "string") return null;
  if (name.toLowerCase() === "utc") return "UTC";
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const UNITS = [
  "weeks", "week", "w", "days", "day", "d", "hours", "hour", "hrs", "hr", "h", "minutes",
  "minute", "mins", "min", "m", "seconds", "second", "secs", "sec", "s",
];
const LETTER = /^[a-z]$/iu;
const SPACE = /^\s$/;
const DIGIT = /^[0-9]$/;

/** `6 days`, `10h 7m`, `8h44m7s`, `~2 weeks` → ms; every amount with a whole-word unit counts. */
function relative(text) {
  const chars = Array.from(text);
  const is = (i, re) => i < chars.length && re.test(chars[i]);
  let total = 0;
  let any = false;
  let i = 0;
  while (i < chars.length) {
    if (!is(i, DIGIT)) {
      i += 1;
      continue;
    }
    let end = i;
    while (is(end, DIGIT)) end += 1;
    if (chars[end] === "." && is(end + 1, DIGIT)) {
      end += 1;
      while (is(end, DIGIT)) end += 1;
    }
    let word = end;
    while (is(word, SPACE)) word += 1;
    let wordEnd = word;
    while (is(wordEnd, LETTER)) wordEnd += 1;
    const unit = chars.slice(word, wordEnd).join("").toLowerCase();
    if (!UNITS.includes(unit.replace(/\u017f/g, "s"))) {
      i += 1;
      continue;
    }
    const ms = unitMs(unit);
    if (ms === null) return null;
    total += Number.parseFloat(chars.slice(i, end).join("")) * ms;
    any = true;
    i = wordEnd;
  }
  if (!any) return null;
  const rounded = Math.floor(total + 0.5);
  return Number.isFinite(rounded) && Math.abs(rounded) < 1e17 ? rounded : null;
}

/** A unit word's length, keyed by its first letter (`mi…` and `m` are minutes). */
function unitMs(unit) {
  if (unit.startsWith("mi") || unit === "m") return MINUTE;
  return { w: WEEK, d: DAY, h: HOUR, s: SECOND }[unit[0]] ?? null;
}

/** `5pm`, `11:50pm`, `1 PM` → [hour, minute] on a 24-hour clock; null if unreadable. */
function clock(text) {
  const m = /^([0-9]{1,2})(?::([0-9]{2}))?\s*([ap])m$/i.exec(text.trim());
  if (!m) return null;
  let hour = Number(m[1]) % 12;
  if (m[3].toLowerCase() === "p") hour += 12;
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  return minute < 60 ? [hour, minute] : null;
}

/** A stamp with its own `Z`/`±hh:mm`, or a wall time in `zone` → ms; fractions dropped. */
function isoInZone(text, zone) {
  const m =
    /^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}:?[0-9]{2})?$/i.exec(
      text.trim(),
    );
  if (!m) return null;
  const n = (i) => (m[i] === undefined ? 0 : Number(m[i]));
  const [y, mo, d, h, mi, s] = [n(1), n(2) - 1, n(3), n(4), n(5), n(6)];
  const offset = m[7];
  if (offset === undefined) return wallTime(zone, y, mo, d, h, mi, s);
  const wall = Date.UTC(y, mo, d, h, mi, s);
  if (offset.toLowerCase() === "z") return wall;
  const sign = offset.startsWith("-") ? -1 : 1;
  const digits = offset.slice(1).replace(":", "");
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return wall - sign * minutes * MINUTE;
}

function nextClockInZone(text, zone, now) {
  const c = clock(text);
  const date = c && wallDate(zone, now);
  if (!date) return null;
  const [y, mo, d] = date;
  const today = wallTime(zone, y, mo, d, c[0], c[1], 0);
  if (today === null) return null;
  if (today > now) return today;
  return wallTime(zone, y, mo, d + 1, c[0], c[1], 0);
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/** `Dec 7, 4:28pm` in `zone` (no clock: the day's start); without a year, the one nearest now. */
function monthDayClockInZone(group, zone, now) {
  const monthText = group("month");
  if (monthText === null) return null;
  const mo = MONTHS.indexOf(Array.from(monthText).slice(0, 3).join("").toLowerCase());
  if (mo < 0) return null;
  let hm = [0, 0];
  const clockText = group("clock");
  if (clockText !== null) {
    hm = clock(clockText);
    if (!hm) return null;
  }
  const dayText = group("day");
  if (dayText === null || !/^\d+$/.test(dayText)) return null;
  const day = Number(dayText);
  if (day < 1 || day > 31) return null;
  const yearText = group("year");
  if (yearText !== null) return wallTime(zone, Number(yearText), mo, day, hm[0], hm[1], 0);
  const date = wallDate(zone, now);
  if (!date) return null;
  let best = null;
  for (const year of [date[0] - 1, date[0], date[0] + 1]) {
    const at = wallTime(zone, year, mo, day, hm[0], hm[1], 0);
    if (at === null) return null;
    if (best === null || Math.abs(at - now) < Math.abs(best - now)) best = at;
  }
  return best;
}

const FORMATS = new Map();

/** The wall clock's fields in `zone` at an instant: [year, month 0–11, day, hour, minute, second]. */
function wallFields(zone, at) {
  if (!Number.isFinite(at) || Math.abs(at) > 8.64e15) return null;
  let format = FORMATS.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    FORMATS.set(zone, format);
  }
  const f = {};
  for (const part of format.formatToParts(new Date(at))) f[part.type] = part.value;
  let year = Number(f.year);
  if (f.era && /^b/i.test(f.era)) year = 1 - year;
  return [year, Number(f.month) - 1, Number(f.day), Number(f.hour) % 24, Number(f.minute), Number(f.second)];
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetMs(zone, at) {
  const w = wallFields(zone, at);
  if (!w) return null;
  const d = new Date(0);
  d.setUTCFullYear(w[0], w[1], w[2]);
  d.setUTCHours(w[3], w[4], w[5], 0);
  return d.getTime() - (at - (((at % 1000) + 1000) % 1000));
}

/** The instant the wall clock in `zone` reads these fields (rolled over as Date.UTC does). */
function wallTime(zone, y, mo, d, h, mi, s) {
  const wall = Date.UTC(y, mo, d, h, mi, s);
  const first = offsetMs(zone, wall);
  if (first === null) return null;
  const second = offsetMs(zone, wall - first);
  return second === null ? null : wall - second;
}

function wallDate(zone, at) {
  const w = wallFields(zone, at);
  return w && [w[0], w[1], w[2]];
}

// ---------------------------------------------------------------------------------------------
// Routes and signals.

/** A provider id as a file name part: only letters, digits, `.`, `_`, `-`; never a dot-file. */
function fileSafe(name) {
  const safe = String(name).replace(/[^A-Za-z0-9._-]/g, "_");
  if (safe === "") return "_";
  return safe.startsWith(".") ? "_" + safe.slice(1) : safe;
}

/** The status document of a spent quota: `provider` at 100% until `resetsAt`. */
function signalDocument(provider, resetsAt, about) {
  return {
    [provider]: {
      windows: { limit: { utilization: 100, resets_at: new Date(resetsAt).toISOString() } },
      source: about,
    },
  };
}

/** Whether a route made for `scope` holds in a session whose dir is one of `dirs`. */
function inScope(scope, dirs) {
  if (scope === null) return true;
  if (typeof scope !== "string") return false;
  const prefix = scope.endsWith(path.sep) ? scope : scope + path.sep;
  return dirs.some((d) => d === scope || d.startsWith(prefix));
}

/** The well-formed routes of a list that hold in `dirs`. */
function usableRoutes(list, dirs) {
  return list.filter(
    (r) =>
      r &&
      typeof r.from === "string" &&
      typeof r.to === "string" &&
      r.to.includes("/") &&
      (r.agent === null || typeof r.agent === "string") &&
      inScope(r.scope, dirs),
  );
}

/**
 * The routes of a parsed document in force for a process started at `startedAt` (ms) in `dirs`:
 * `routes`, and of `restored` those of restores after that start (an older restore was read at
 * start, so the process holds the original).
 */
function documentRoutes(doc, dirs, startedAt) {
  const restored = Array.isArray(doc.restored) ? doc.restored : [];
  return {
    routes: usableRoutes(doc.routes, dirs),
    restored: usableRoutes(restored, dirs).filter((r) => typeof r.since === "string" && Date.parse(r.since) > startedAt),
  };
}

/**
 * Where a prompt goes with a document's routes in force (`documentRoutes`): a switch in force
 * first; else a restore that sends it back to the original, which a later switch may move on.
 */
function resolve(inForce, agent, model) {
  const to = routeFor(inForce.routes, agent, model);
  if (to) return to;
  const back = routeFor(inForce.restored, agent, model);
  return back && (routeFor(inForce.routes, agent, back) || back);
}

/** The model a prompt of `agent` for `model` ("provider/model") goes to; null: unchanged. */
function routeFor(routes, agent, model) {
  let best = null;
  for (const r of routes) {
    if (r.from !== model || (r.agent !== null && r.agent !== agent)) continue;
    // An agent's own route beats one for every agent; a deeper project beats a shallower one.
    const rank = [r.agent === null ? 0 : 1, r.scope === null ? -1 : r.scope.length];
    if (best === null || rank[0] > best.rank[0] || (rank[0] === best.rank[0] && rank[1] > best.rank[1])) {
      best = { rank, to: r.to };
    }
  }
  return best && best.to;
}

/**
 * The plugin's hooks. `opts`: stateDir, table (the limit table), dirs (the session's dirs),
 * log(level, message), now() (ms), localZone (IANA name), startedAt (ms: when the process
 * started, so when it read its config).
 */
function createHooks(opts) {
  const now = opts.now || Date.now;
  const startedAt = typeof opts.startedAt === "number" ? opts.startedAt : now();
  const logged = new Map();
  /** Logs `message` for `cause` unless it is what was last logged for it. */
  const once = (cause, level, message) => {
    if (logged.get(cause) === message) return;
    logged.set(cause, message);
    try {
      opts.log(level, message);
    } catch {
      // A log that fails must not fail the hook.
    }
  };
  const rows = compileTable(opts.table, (id, e) => once(`row ${id}`, "warn", `limit table row ${id}: ${e.message}`));
  if (!opts.table) once("table", "warn", "no limit table: provider errors are not read (run `switcher setup opencode` again)");
  const stateDir = typeof opts.stateDir === "string" ? opts.stateDir : null;
  if (!stateDir) once("state", "warn", "no state dir: run `switcher setup opencode` again");
  const routesFile = stateDir && path.join(stateDir, "routes.json");
  const signalsDir = stateDir && path.join(stateDir, "signals");
  const none = { routes: [], restored: [] };
  let seen = null;
  let routes = none;

  /** The routes in force: the file is read again only when its stat changed. */
  const currentRoutes = () => {
    if (!routesFile) return routes;
    let st;
    try {
      st = fs.statSync(routesFile);
    } catch (e) {
      if (seen !== e.code) {
        seen = e.code;
        routes = none;
        once("routes", "info", e.code === "ENOENT" ? `no ${routesFile}: no switch in force` : `cannot stat ${routesFile}: ${e.code || e.message}`);
      }
      return routes;
    }
    const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (key === seen) return routes;
    seen = key;
    routes = none;
    let doc;
    try {
      doc = JSON.parse(fs.readFileSync(routesFile, "utf8"));
    } catch (e) {
      once("routes", "warn", `${routesFile} is unreadable (${e.message}); prompts keep their models`);
      return routes;
    }
    if (!doc || typeof doc !== "object" || !Number.isInteger(doc.version) || !Array.isArray(doc.routes)) {
      once("routes", "warn", `${routesFile} is not a routes document; prompts keep their models`);
    } else if (doc.version > ROUTES_VERSION) {
      once("routes", "warn", `${routesFile} has version ${doc.version}, newer than this plugin's ${ROUTES_VERSION}; run \`switcher setup opencode\` again`);
    } else {
      routes = documentRoutes(doc, opts.dirs, startedAt);
      logged.delete("routes");
    }
    return routes;
  };

  const sessions = new Map(); // session id -> provider id of its last request
  const signaled = new Map(); // "session|provider" -> the reset its signal named

  const writeSignal = (provider, doc) => {
    const name = `opencode-${fileSafe(provider)}.json`;
    const temp = path.join(signalsDir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    try {
      fs.mkdirSync(signalsDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(temp, JSON.stringify(doc, null, 2) + "\n", { mode: 0o600 });
      fs.renameSync(temp, path.join(signalsDir, name));
      logged.delete("signals");
      return true;
    } catch (e) {
      try {
        fs.unlinkSync(temp);
      } catch {
        // Nothing was left behind.
      }
      once("signals", "warn", `cannot write a signal in ${signalsDir}: ${e.code || e.message}`);
      return false;
    }
  };

  /** A provider's message about a failed request: a spent usage quota becomes a signal. */
  const onError = (sessionID, message, nextRetry) => {
    if (typeof message !== "string") {
      once("shape", "info", "a provider error without a message text: not read");
      return;
    }
    const at = now();
    const limit = classify(rows, message, at, opts.localZone);
    if (!limit || limit.kind !== "usage" || !signalsDir) return;
    const provider = sessions.get(sessionID) || limit.provider;
    let resetsAt = limit.resetsAt;
    if (resetsAt === null) {
      resetsAt = typeof nextRetry === "number" && nextRetry - at > MINUTE ? nextRetry : at + NO_RESET_MS;
    }
    if (resetsAt <= at) return;
    // Once per session and provider while the signalled limit lasts: the first retry says it;
    // later retries and the final failure only repeat it (a relative reset would even move).
    const key = `${sessionID}|${provider}`;
    if (signaled.has(key) && signaled.get(key) > at) return;
    const about = { agent: "opencode", rule: limit.row, message: message.slice(0, 500) };
    if (writeSignal(provider, signalDocument(provider, resetsAt, about))) {
      signaled.set(key, resetsAt);
      once(`signal ${provider}`, "info", `${provider}: usage limit (${limit.row}); told switcher it is RED until ${new Date(resetsAt).toISOString()}`);
    }
  };

  return {
    "chat.message": async (input, output) => {
      try {
        const message = output && output.message;
        const model = message && message.model;
        if (!model || typeof model.providerID !== "string" || typeof model.modelID !== "string") return;
        const agent = (input && input.agent) || message.agent;
        const to = resolve(currentRoutes(), agent, `${model.providerID}/${model.modelID}`);
        if (to) {
          const cut = to.indexOf("/");
          message.model = { providerID: to.slice(0, cut), modelID: to.slice(cut + 1) };
        }
        if (input && input.sessionID) sessions.set(input.sessionID, message.model.providerID);
      } catch (e) {
        once("internal", "warn", `routes: ${e && e.message}`);
      }
    },
    "chat.params": async (input) => {
      try {
        const provider = input && input.model && input.model.providerID;
        if (input.sessionID && typeof provider === "string") sessions.set(input.sessionID, provider);
      } catch {
        // Only bookkeeping.
      }
    },
    event: async ({ event } = {}) => {
      try {
        if (!event || !event.properties) return;
        const p = event.properties;
        if (event.type === "session.status" && p.status && p.status.type === "retry") {
          onError(p.sessionID, p.status.message, p.status.next);
        } else if (event.type === "session.error" && p.error) {
          const data = p.error.data;
          onError(p.sessionID, data && typeof data === "object" ? data.message : undefined, null);
        }
      } catch (e) {
        once("internal", "warn", `signals: ${e && e.message}`);
      }
    },
  };
}

/** The log line sink: OpenCode's log API when there is a client, else stderr. */
function logger(client) {
  return (level, message) => {
    const app = client && client.app;
    if (app && typeof app.log === "function") {
      Promise.resolve(app.log({ body: { service: "switcher", level, message } })).catch(() => {
        console.error(`switcher: ${message}`);
      });
    } else {
      console.error(`switcher: ${message}`);
    }
  };
}

/** When this process started (ms), before OpenCode read its config; now if unknown. */
function processStart() {
  try {
    const up = process.uptime();
    if (Number.isFinite(up) && up >= 0) return Date.now() - up * SECOND;
  } catch {
    // Unknown.
  }
  return Date.now();
}

/** The plugin, as OpenCode calls it. */
export const SwitcherPlugin = async (input = {}) => {
  const dirs = [input.directory].filter((d) => typeof d === "string" && d !== "");
  for (const d of [...dirs]) {
    try {
      const real = fs.realpathSync(d);
      if (!dirs.includes(real)) dirs.push(real);
    } catch {
      // The dir as given.
    }
  }
  let localZone = "UTC";
  try {
    localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    // UTC.
  }
  return createHooks({
    stateDir: STATE_DIR,
    table: LIMITS,
    dirs,
    log: logger(input.client),
    localZone,
    startedAt: processStart(),
  });
};

// For the plugin's own tests (tests/plugin/); OpenCode ignores a function's properties.
SwitcherPlugin.internals = {
  compileTable,
  classify,
  relative,
  clock,
  createHooks,
  routeFor,
  inScope,
  signalDocument,
  fileSafe,
};
