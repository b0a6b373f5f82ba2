//! Malformed switcher configs (JSON5): exit 1 with one error naming the config file and the field
//! or the position, before anything is written — the target, whose switch is pending, and the
//! state dir stay as they were.

use super::{Input, NOT_UTF8, each, junk, line_count, lines_with, nested, position, run_untouched};
use crate::harness::{OPENCODE, Sandbox};

/// How the error must place itself.
#[derive(Clone, Debug)]
enum Expect {
    /// Names this field (`sources[0].budget`).
    Field(String),
    /// Names a `line:col` inside the file.
    Placed,
    /// Says this, with neither (the file cannot be read at all).
    Reason(&'static str),
}

/// A real config with a comment, JSON5 keys and quotes, and a trailing comma.
const REAL: &str = "{
  // Where the main model goes when its plan runs low.
  fallbacks: {
    \"zai-coding-plan/glm-4.6\": [\"deepseek/deepseek-chat\", 'kimi-for-coding/k2'],
  },
  thresholds: { yellow: 70, red: 85 },
  recovery_hold: 2,
}
";

fn field(text: impl Into<String>, field: &str) -> (Input, Expect) {
    let text = text.into();
    (
        Input::new(text.clone(), text),
        Expect::Field(field.to_owned()),
    )
}

/// Every slot of the config: the field an error must name, a template around it (`V`), and
/// values of the wrong type for it.
const SLOTS: &str = "
targets                       | {targets: V}                                   | 1 ; 'x' ; {} ; true
targets[0]                    | {targets: [V]}                                 | 1 ; [] ; {} ; null
poll_interval                 | {poll_interval: V}                             | '60' ; [] ; {} ; true
recovery_hold                 | {recovery_hold: V}                             | '3' ; [] ; true ; 1.5 ; -1
switch_at                     | {switch_at: V}                                 | 1 ; [] ; {} ; 'orange' ; 'RED'
thresholds                    | {thresholds: V}                                | 1 ; 'x' ; [] ; true
thresholds.yellow             | {thresholds: {yellow: V}}                      | '75' ; [] ; {} ; true
thresholds.red                | {thresholds: {red: V}}                         | '90' ; [] ; {}
provider_thresholds           | {provider_thresholds: V}                       | 1 ; 'x' ; []
provider_thresholds.p         | {provider_thresholds: {p: V}}                  | 1 ; 'x' ; []
provider_thresholds.p.red     | {provider_thresholds: {p: {red: V}}}           | 'x' ; {} ; []
provider_thresholds.p.w       | {provider_thresholds: {p: {w: V}}}             | 1 ; 'x' ; []
provider_thresholds.p.w.yellow| {provider_thresholds: {p: {w: {yellow: V}}}}   | 'x' ; {}
safety_margin                 | {safety_margin: V}                             | 'x' ; [] ; {}
stale_after                   | {stale_after: V}                               | 'x' ; [] ; false
aliases                       | {aliases: V}                                   | 1 ; [] ; 'x'
aliases.a                     | {aliases: {a: V}}                              | 1 ; [] ; {}
fallbacks                     | {fallbacks: V}                                 | 1 ; [] ; 'x'
fallbacks.m                   | {fallbacks: {m: V}}                            | 1 ; 'x' ; {}
fallbacks.m[0]                | {fallbacks: {m: [V]}}                          | 1 ; [] ; {} ; null
profiles                      | {profiles: V}                                  | 1 ; [] ; 'x'
profiles.g                    | {profiles: {g: V}}                             | 1 ; [] ; 'x'
profiles.g.provider           | {profiles: {g: {provider: V, model: 'm'}}}     | 1 ; [] ; {}
profiles.g.model              | {profiles: {g: {provider: 'zai', model: V}}}   | 1 ; [] ; {}
profiles.g.env                | {profiles: {g: {provider: 'zai', env: V}}}     | 1 ; [] ; 'x'
profiles.g.env.K              | {profiles: {g: {provider: 'zai', env: {K: V}}}}| 1 ; [] ; {} ; true
sources                       | {sources: V}                                   | 1 ; {} ; 'file'
sources[0]                    | {sources: [V]}                                 | 1 ; [] ; 'file'
sources[0].kind               | {sources: [{kind: V}]}                         | 1 ; [] ; {}
sources[0].interval           | {sources: [{kind: 'claude', interval: V}]}     | '60' ; [] ; {}
sources[0].timeout            | {sources: [{kind: 'claude', timeout: V}]}      | '10' ; []
sources[0].base_url           | {sources: [{kind: 'zai', base_url: V}]}        | 1 ; []
sources[0].path               | {sources: [{kind: 'file', path: V}]}           | 1 ; [] ; {}
sources[0].command            | {sources: [{kind: 'command', command: V}]}     | 1 ; 'ls' ; {}
sources[0].command[0]         | {sources: [{kind: 'command', command: [V]}]}   | 1 ; []
sources[0].region             | {sources: [{kind: 'zai', region: V}]}          | 1 ; 'mars' ; 'Global'
sources[0].budget             | {sources: [{kind: 'deepseek', budget: V}]}     | '20' ; []
sources[0].ignore_status      | {sources: [{kind: 'quota-sentinel', base_url: 'http://127.0.0.1:1', ignore_status: V}]} | 'yes' ; 1
on_switch                     | {on_switch: V}                                 | 1 ; 'notify-send' ; {}
on_switch[0]                  | {on_switch: [V]}                               | 1 ; []
signals                       | {signals: V}                                   | 'no' ; 0 ; []
";

fn wrong_types() -> Vec<(Input, Expect)> {
    let mut out = Vec::new();
    for row in SLOTS.lines().filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [name, template, values] = cells[..] else {
            panic!("a slot row has three cells: {row}");
        };
        for value in values.split(';').map(str::trim) {
            out.push(field(template.replace('V', value), name));
        }
    }
    out
}

/// Values of the right type outside what the field allows.
fn out_of_range() -> Vec<(Input, Expect)> {
    let mut out = Vec::new();
    for bad in ["-1", "100.5", "1e400", "NaN", "Infinity", "-Infinity"] {
        for (template, name) in [
            ("{thresholds: {yellow: V}}", "thresholds.yellow"),
            ("{thresholds: {red: V}}", "thresholds.red"),
            (
                "{provider_thresholds: {p: {red: V}}}",
                "provider_thresholds.p.red",
            ),
            (
                "{provider_thresholds: {p: {w: {yellow: V}}}}",
                "provider_thresholds.p.w.yellow",
            ),
        ] {
            out.push(field(template.replace('V', bad), name));
        }
    }
    for bad in ["-1", "NaN", "Infinity", "-Infinity", "-1e400"] {
        for name in ["poll_interval", "safety_margin", "stale_after"] {
            out.push(field(format!("{{{name}: {bad}}}"), name));
        }
        for name in ["interval", "timeout"] {
            let text = format!("{{sources: [{{kind: 'claude', {name}: {bad}}}]}}");
            out.push(field(text, &format!("sources[0].{name}")));
        }
        let text = format!("{{sources: [{{kind: 'deepseek', budget: {bad}}}]}}");
        out.push(field(text, "sources[0].budget"));
    }
    for bad in ["0", "1e-400"] {
        out.push(field(format!("{{poll_interval: {bad}}}"), "poll_interval"));
        out.push(field(
            format!("{{sources: [{{kind: 'moonshot', budget: {bad}}}]}}"),
            "sources[0].budget",
        ));
    }
    for bad in ["4294967296", "1e20", "NaN", "-0.5"] {
        out.push(field(format!("{{recovery_hold: {bad}}}"), "recovery_hold"));
    }
    out.extend([
        field("{thresholds: {yellow: 95, red: 90}}", "thresholds"),
        field(
            "{provider_thresholds: {p: {w: {yellow: 95, red: 90}}}}",
            "provider_thresholds.p.w",
        ),
        field("{on_switch: []}", "on_switch"),
        field("{on_switch: ['']}", "on_switch"),
        field("{fallbacks: {m: ['']}}", "fallbacks.m[0]"),
        field("{fallbacks: {m: ['a', '  ']}}", "fallbacks.m[1]"),
        field("{fallbacks: {m: ['profile:nope']}}", "fallbacks.m[0]"),
        field("{profiles: {g: {provider: ' '}}}", "profiles.g.provider"),
        field("{profiles: {g: {provider: 'zai'}}}", "profiles.g"),
        field("{profiles: {g: {model: 'opus'}}}", "profiles.g"),
        field("{aliases: {'': 'zai'}}", "aliases."),
        field("{aliases: {z: ''}}", "aliases.z"),
        field("{sources: [{kind: 'nope'}]}", "sources[0].kind"),
        field("{sources: [{kind: 'FILE', path: 'q'}]}", "sources[0].kind"),
        field("{sources: [{kind: 'file'}]}", "sources[0].path"),
        field("{sources: [{kind: 'command'}]}", "sources[0].command"),
        field(
            "{sources: [{kind: 'command', command: []}]}",
            "sources[0].command",
        ),
        field(
            "{sources: [{kind: 'quota-sentinel'}]}",
            "sources[0].base_url",
        ),
        field(
            "{sources: [{kind: 'zai', api_key: 'k', api_key_env: 'K'}]}",
            "sources[0].api_key",
        ),
        field("{sources: [{kind: 'claude'}, {}]}", "sources[1]"),
    ]);
    out
}

/// Unknown fields at every depth, and each source field given to a kind that has no such field.
fn unknown_fields() -> Vec<(Input, Expect)> {
    let mut out: Vec<(Input, Expect)> = [
        ("{bogus: 1}", "bogus"),
        ("{thresholds: {bogus: 1}}", "thresholds.bogus"),
        (
            "{provider_thresholds: {p: {w: {bogus: 1}}}}",
            "provider_thresholds.p.w.bogus",
        ),
        (
            "{profiles: {g: {provider: 'zai', model: 'm', bogus: 1}}}",
            "profiles.g.bogus",
        ),
        (
            "{sources: [{kind: 'file', path: 'q', bogus: 1}]}",
            "sources[0].bogus",
        ),
        ("{sources: [{bogus: 1}]}", "sources[0].bogus"),
        ("{'poll interval': 1}", "poll interval"),
    ]
    .iter()
    .map(|(t, f)| field(*t, f))
    .collect();
    let fields = [
        ("path", "'q'"),
        ("command", "['x']"),
        ("api_key", "'k'"),
        ("api_key_env", "'K'"),
        ("region", "'global'"),
        ("credentials_file", "'c.json'"),
        ("budget", "5"),
        ("ignore_status", "true"),
    ];
    // The README's source fields, written out again on purpose: the binary is checked against
    // the documented fields, not against its own list.
    let kinds: &[(&str, &[&str])] = &[
        ("claude", &["credentials_file"]),
        ("codex", &["credentials_file"]),
        ("command", &["command"]),
        ("copilot", &["credentials_file"]),
        ("deepseek", &["api_key", "api_key_env", "budget"]),
        ("file", &["path"]),
        ("gemini", &["credentials_file"]),
        ("kimi", &["api_key", "api_key_env", "credentials_file"]),
        ("minimax", &["api_key", "api_key_env", "region"]),
        ("moonshot", &["api_key", "api_key_env", "budget", "region"]),
        ("openrouter", &["api_key", "api_key_env", "budget"]),
        (
            "quota-sentinel",
            &["api_key", "api_key_env", "ignore_status"],
        ),
        ("zai", &["api_key", "api_key_env", "region"]),
    ];
    for (kind, allowed) in kinds {
        for (name, value) in fields.iter().filter(|(f, _)| !allowed.contains(f)) {
            let text = format!("{{sources: [{{kind: '{kind}', {name}: {value}}}]}}");
            out.push(field(text, &format!("sources[0].{name}")));
        }
    }
    out
}

/// Nesting 100,000 deep in every kind of place, and broken syntax and bytes.
fn syntax() -> Vec<(Input, Expect)> {
    const DEEP: usize = 100_000;
    let placed = |name: String, text: String| (Input::new(name, text), Expect::Placed);
    let mut out: Vec<(Input, Expect)> = [
        ("top-level arrays", nested(DEEP, "[", "", "]")),
        ("unknown keys", nested(DEEP, "{a: ", "1", "}")),
        ("unclosed objects", "{".repeat(DEEP)),
        ("block comment openers", "/*".repeat(DEEP)),
        (
            "fallback arrays",
            format!("{{fallbacks: {{m: {}}}}}", nested(DEEP, "[", "", "]")),
        ),
        (
            "profile env",
            format!(
                "{{profiles: {{g: {{provider: 'z', env: {}}}}}}}",
                nested(DEEP, "{a: ", "1", "}")
            ),
        ),
        (
            "window thresholds",
            format!(
                "{{provider_thresholds: {{p: {}}}}}",
                nested(DEEP, "{w: ", "{}", "}")
            ),
        ),
        (
            "sources",
            format!("{{sources: {}}}", nested(DEEP, "[", "", "]")),
        ),
        (
            "targets",
            format!("{{targets: {}}}", nested(DEEP, "[", "'x'", "]")),
        ),
    ]
    .into_iter()
    .map(|(name, text)| placed(format!("{name} nested {DEEP} deep"), text))
    .collect();
    for text in [
        "",
        " \n",
        "// nothing\n",
        "\u{feff}",
        "\u{feff}\n",
        "\0",
        "\0{}",
        "{\0}",
        "{}\0",
        "{recovery_hold: 1\0}",
        "{} x",
        "{}{}",
        "{recovery_hold: 1}\n{thresholds: {red: 50}}",
        "{targets: ['\\x4']}",
        "{targets: [\"\\u12\"]}",
        "{targets: [\"\\ud800\"]}",
        "{targets: [\"\\udc00x\"]}",
        "{\"\\ud800\": 1}",
        "{targets: ['a\nb']}",
        "{targets: ['open",
        "{/* open",
        "{recovery_hold 1}",
        "{recovery_hold: 1 poll_interval: 2}",
        "{recovery_hold: 01}",
        "{recovery_hold: 1.2.3}",
        "{recovery_hold: --1}",
        "{targets: [,]}",
        "{,}",
        "'x'",
        "42",
        "null",
        "[]",
        "{a b: 1}",
        "{1: 2}",
        "{recovery_hold: 0x}",
    ] {
        out.push(placed(format!("{text:?}"), text.to_owned()));
    }
    for (i, seq) in NOT_UTF8.iter().enumerate() {
        let mut bytes = b"{targets: ['".to_vec();
        bytes.extend_from_slice(seq);
        bytes.extend_from_slice(b"']}");
        out.push((
            Input::new(format!("not UTF-8 #{i}"), bytes),
            Expect::Reason("cannot read: file is not valid UTF-8"),
        ));
    }
    for seed in 10..14 {
        let mut bytes = junk(seed, 128);
        bytes.push(0xc0);
        out.push((
            Input::new(format!("binary junk #{seed}"), bytes),
            Expect::Reason("cannot read: file is not valid UTF-8"),
        ));
    }
    out.push((
        Input::directory(),
        Expect::Reason("cannot read: Is a directory"),
    ));
    out.push((
        Input::fifo(),
        Expect::Reason("cannot read: not a regular file"),
    ));
    out
}

fn refused(s: &Sandbox, input: &Input, expect: &Expect) -> Result<(), String> {
    input.place(s, "switcher.json5");
    let out = run_untouched(s, &["watch", "opencode.json", "--once"])?;
    let errors = lines_with(&out, "error: ");
    if out.code != 1 || !out.stdout.is_empty() || errors.len() != 1 {
        return Err(format!("exit {}\n{}{}", out.code, out.stdout, out.stderr));
    }
    if !s.state_files().is_empty() {
        return Err(format!("state written: {:?}", s.state_files()));
    }
    let file = format!("error: config {}", s.path("switcher.json5").display());
    let rest = errors[0]
        .strip_prefix(&file)
        .ok_or_else(|| format!("does not name the config: {}", errors[0]))?;
    // JSON5 breaks lines at CR, LF, CRLF, U+2028 and U+2029.
    let lines = line_count(input, &['\n', '\r', '\u{2028}', '\u{2029}']);
    let placed = match rest.strip_prefix(':') {
        Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => {
            position(r, lines).map_err(|e| format!("{e}: {}", errors[0]))?;
            true
        }
        _ => false,
    };
    let ok = match expect {
        Expect::Field(f) => rest.contains(&format!(" {f}: ")),
        Expect::Placed => placed,
        Expect::Reason(r) => rest == format!(": {r}") || rest.starts_with(&format!(": {r} ")),
    };
    if !ok {
        return Err(format!("expected {expect:?}: {}", errors[0]));
    }
    Ok(())
}

#[test]
fn malformed_configs_are_refused_before_any_write() {
    let mut corpus = super::truncations(REAL, Expect::Placed);
    let counts = [
        ("truncations", corpus.len()),
        ("unknown fields", {
            corpus.extend(unknown_fields());
            corpus.len()
        }),
        ("wrong types", {
            corpus.extend(wrong_types());
            corpus.len()
        }),
        ("out of range", {
            corpus.extend(out_of_range());
            corpus.len()
        }),
        ("syntax, nesting, bytes", {
            corpus.extend(syntax());
            corpus.len()
        }),
    ];
    println!("switcher.json5: cumulative counts {counts:?}");
    let setup = || {
        let s = Sandbox::new();
        s.write("opencode.json", OPENCODE)
            .quota(r#"{"zai": {"status": "RED"}}"#);
        s
    };
    each(&corpus, setup, refused);
}

/// Not malformed, so not in the corpus: a BOM, CRLF, comments, trailing commas, and comments or
/// JSON5 whitespace after the object are all a valid config.
#[test]
fn unusual_but_valid_configs_are_read() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.config(
        "\u{feff}// chains\r\n{\r\n  fallbacks: {\r\n    'zai-coding-plan/glm-4.6': ['deepseek/deepseek-chat',],\r\n  },\r\n}\r\n// end\r\n/* really */\u{a0}\u{2028}\t\n",
    );
    let out = s.once("opencode.json");
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stderr);
}
