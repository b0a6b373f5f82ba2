#!/usr/bin/env bash
# The `claude-logs` source on large transcripts: one `switcher watch --once` (which reads back a
# week of transcripts) over a generated projects dir, its time and peak memory; then the same
# with 20 times as much text, to show memory does not grow with it.
#
#   benches/claude_logs.sh [MB]      # default 20 MB, then 20x that (needs /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SWITCHER_BIN:-}" ] || cargo build --release --quiet
bin="${SWITCHER_BIN:-$PWD/target/release/switcher}"
mb=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/proj/.claude"
printf '{\n  "model": "opus"\n}\n' >"$work/proj/.claude/settings.json"
printf '{ sources: [{kind: "claude-logs", path: "%s"}], fallbacks: { opus: ["sonnet"] } }\n' \
  "$work/projects" >"$work/switcher.json5"

# Transcripts shaped like Claude Code's: user and assistant turns, tool results that mention
# "rate limit" (so they are parsed), a 1 MB pasted image line now and then (skipped), and one
# real usage-limit line at the end of the last file.
generate() {
  python3 - "$work/projects" "$1" <<'PY'
import json, os, sys, datetime
root, total = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
now = datetime.datetime.now(datetime.timezone.utc)
ts = lambda: now.isoformat().replace("+00:00", "Z")
text = "The retry loop backs off when the API answers a rate limit; " * 20
written, n = 0, 0
while written < total:
    d = os.path.join(root, "-work-project-%d" % (n % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "session-%d.jsonl" % n), "w") as f:
        for i in range(400):
            kind = i % 3
            if kind == 0:
                line = {"type": "user", "timestamp": ts(), "message": {"role": "user", "content": text}}
            elif kind == 1:
                line = {"type": "assistant", "timestamp": ts(), "message": {"model": "claude-opus-4-6",
                        "content": [{"type": "text", "text": text}]}}
            else:
                line = {"type": "user", "timestamp": ts(), "toolUseResult": {"stdout": text * 3}}
            if i == 200 and n % 5 == 0:
                line = {"type": "user", "message": {"content": [{"type": "image", "source": {"data": "A" * (1 << 20)}}]}}
            s = json.dumps(line) + "\n"
            f.write(s)
            written += len(s)
    n += 1
reset = int(now.timestamp()) + 3600
with open(os.path.join(d, "session-%d.jsonl" % (n - 1)), "a") as f:
    f.write(json.dumps({"type": "assistant", "timestamp": ts(), "isApiErrorMessage": True,
        "apiError": "usage_limit_reached", "apiErrorParams": {"rate_limit_info": {"resetsAt": reset,
        "rateLimitType": "seven_day_opus"}}, "message": {"model": "<synthetic>", "content": []}}) + "\n")
print("%d files, %.0f MB" % (n, written / 1048576))
PY
}
for size in "$mb" "$((mb * 20))"; do
  rm -rf "$work/projects" "$work/state"
  cp "$work/proj/.claude/settings.json" "$work/settings.orig"
  echo "transcripts: $(generate "$size")"
  sync
  /usr/bin/time -f "  --once: %e s wall, %M KiB peak RSS" env SWITCHER_STATE_DIR="$work/state" \
    "$bin" watch "$work/proj/.claude/settings.json" --once --config "$work/switcher.json5"
  cp "$work/settings.orig" "$work/proj/.claude/settings.json"
done

# The daemon's reaction when a projects dir holds many transcripts: 2,000 files (a week of heavy
# use across 40 projects), one line appended to one of them → the settings rewritten. Each read
# lists the dir and opens only the files that grew. 10 runs, each with a fresh daemon.
rm -rf "$work/projects" "$work/state"
python3 - "$bin" "$work" <<'PY'
import datetime, json, os, shutil, statistics, subprocess, sys, time
bin, work = sys.argv[1], sys.argv[2]
projects = os.path.join(work, "projects")
line = json.dumps({"type": "user", "message": {"content": "rate limit handling " * 40}}) + "\n"
for n in range(2000):
    d = os.path.join(projects, "-work-project-%d" % (n % 40))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "s-%d.jsonl" % n), "w") as f:
        f.write(line * 50)
settings = os.path.join(work, "proj/.claude/settings.json")
original = open(settings).read()
target = os.path.join(projects, "-work-project-0", "s-0.jsonl")
figures = []
for run in range(10):
    shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
    open(settings, "w").write(original)
    open(target, "w").write(line * 50)  # without the last run's limit
    env = dict(os.environ, SWITCHER_STATE_DIR=os.path.join(work, "state"))
    d = subprocess.Popen([bin, "watch", settings, "-v", "--config", os.path.join(work, "switcher.json5")],
                         env=env, stderr=subprocess.PIPE, text=True)
    # Ready once its first read of the transcripts (the week's look-back) is done.
    for l in d.stderr:
        if "observed" in l:
            break
    time.sleep(0.2)
    now = datetime.datetime.now(datetime.timezone.utc)
    limit = {"type": "assistant", "timestamp": now.isoformat().replace("+00:00", "Z"),
             "isApiErrorMessage": True, "apiError": "usage_limit_reached",
             "apiErrorParams": {"rate_limit_info": {"resetsAt": int(now.timestamp()) + 3600,
                                                    "rateLimitType": "seven_day_opus"}},
             "message": {"model": "<synthetic>", "content": []}}
    t = time.perf_counter()
    with open(target, "a") as f:
        f.write(json.dumps(limit) + "\n")
    while "sonnet" not in open(settings).read():
        if time.perf_counter() - t > 10:
            sys.exit("no switch within 10 s")
        time.sleep(0.001)
    figures.append((time.perf_counter() - t) * 1000)
    d.terminate()
    d.wait()
figures.sort()
print("2000 transcripts: append -> settings rewritten: median %.1f ms, min %.1f, max %.1f (10 runs)" % (
    statistics.median(figures), figures[0], figures[-1]))
PY
