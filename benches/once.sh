#!/usr/bin/env bash
# Times one `switcher watch --once` pass, end to end (process start, config, status file, parse,
# plan, state, atomic write with fsync), on the bundled demo, on a generated 5 MB config, and on
# a project with 200 Markdown agent files.
# Every timed run really switches: the target and the state dir are reset before each one.
#
#   benches/once.sh            # needs hyperfine (apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --quiet
bin="$PWD/target/release/switcher"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp fixtures/demo/* "$work/"

# A 5 MB OpenCode config: thousands of agents with prompts and comments, JSONC throughout.
python3 - "$work/big.json" <<'PY'
import json, sys
out = ['{\n  // generated for the benchmark\n  "model": "zai-coding-plan/glm-4.6",\n  "agent": {\n']
i = 0
size = 0
while size < 5 * 1024 * 1024:
    entry = '    "agent-%d": {\n      "model": "zai-coding-plan/glm-4.6", // main\n      "prompt": %s,\n      "temperature": 0.%d,\n    },\n' % (
        i, json.dumps("Review carefully — «step %d». " % i * 12), i % 10)
    out.append(entry)
    size += len(entry)
    i += 1
out.append('  },\n}\n')
open(sys.argv[1], 'w').write(''.join(out))
print(f"generated {size / 1048576:.1f} MiB with {i} agents", file=sys.stderr)
PY
cp "$work/big.json" "$work/big.orig.json"
cp "$work/opencode.json" "$work/demo.orig.json"
cat > "$work/big.json5" <<'J'
{ fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }
J

# A project with 200 Markdown agents in nested folders, each with real-sized front matter and a
# ~3 KB body, brought by its opencode.json; every one is switched (and written) in one pass.
python3 - "$work/agents.orig" <<'PY'
import os, sys
root = sys.argv[1]
os.makedirs(f"{root}/.opencode/agent", exist_ok=True)
open(f"{root}/opencode.json", "w").write('{\n  "model": "zai-coding-plan/glm-4.6"\n}\n')
body = "".join(f"- Step {i}: read the change, check it against the plan — «précis».\n" for i in range(48))
for i in range(200):
    folder = f"{root}/.opencode/agent/team-{i % 10}"
    os.makedirs(folder, exist_ok=True)
    quote = ["", "'", '"'][i % 3]
    open(f"{folder}/agent-{i:03}.md", "w", newline="").write(
        f"---\ndescription: |\n  Agent {i}: reviews one part of the code.\n  model: not this one\n"
        f"mode: subagent\nmodel: {quote}zai-coding-plan/glm-4.6{quote}  # the plan\n"
        f"tools:\n  write: false\n---\n# Agent {i}\n\n{body}")
PY
cat > "$work/agents.json5" <<'J'
{ fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }
J

cd "$work"
export SWITCHER_STATE_DIR="$work/state"
hyperfine --warmup 3 --min-runs 30 -N \
  --prepare "sh -c 'cp demo.orig.json opencode.json; rm -rf state'" \
  -n "demo: --once (switches 3 slots)" \
  "$bin watch opencode.json --once --config switcher.json5 --quota-file quota.json -q"
hyperfine --warmup 3 --min-runs 30 -N \
  -n "demo: --once --dry-run (nothing written)" \
  "$bin watch opencode.json --once --dry-run --config switcher.json5 --quota-file quota.json -q"
hyperfine --warmup 1 --min-runs 10 -N \
  --prepare "sh -c 'cp big.orig.json big.json; rm -rf state'" \
  -n "5 MB: --once (switches every agent)" \
  "$bin watch big.json --kind opencode --once --config big.json5 --quota-file quota.json -q"
hyperfine --warmup 1 --min-runs 10 -N \
  -n "5 MB: --once, nothing to switch" \
  "$bin watch big.orig.json --kind opencode --once --config big.json5 -q"
hyperfine --warmup 2 --min-runs 30 -N --export-json "${BENCH_JSON:-/dev/null}" \
  --prepare "sh -c 'rm -rf agents state; cp -r agents.orig agents'" \
  -n "200 agent files: --once (switches every agent)" \
  "$bin watch agents/opencode.json --once --config agents.json5 --quota-file quota.json -q"
hyperfine --warmup 2 --min-runs 20 -N \
  -n "200 agent files: --once, nothing to switch" \
  "$bin watch agents.orig/opencode.json --once --config agents.json5 -q"
