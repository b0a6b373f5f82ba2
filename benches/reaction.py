#!/usr/bin/env python3
"""Reaction benchmark for `switcher watch`.

Measures the time from a status-file write (rename-over, as scripts do) to the target being
rewritten, over many changes alternating RED and GREEN (recovery_hold 1, so each one switches or
restores), then the daemon's CPU time, context switches (wake-ups) and memory while idle: alone,
and (with --busy-reader) while another process keeps opening and reading the files of the watched
directory, which must not wake it.

    cargo build --release && benches/reaction.py [--changes 200] [--idle 60] [--busy-reader]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "switcher")
# Opens and reads every file of a directory, over and over, as editors, indexers and the agents
# themselves do.
READER = """
import os, sys, time
d = sys.argv[1]
end = time.time() + float(sys.argv[2])
while time.time() < end:
    for name in os.listdir(d):
        try:
            with open(os.path.join(d, name), "rb") as f:
                f.read()
        except OSError:
            pass
    time.sleep(0.002)
"""
TARGET = '{\n  "model": "zai-coding-plan/glm-4.6",\n  "theme": "dark"\n}\n'
CONFIG = """{ recovery_hold: 1, poll_interval: 3600,
  fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }"""


def write_over(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def proc_stats(pid):
    """CPU seconds, context switches (all threads), RSS and peak RSS in KiB."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    switches = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
    mem = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                mem[key] = int(value.split()[0])
    return cpu, switches, mem["VmRSS"], mem["VmHWM"]


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--changes", type=int, default=200)
    args.add_argument("--idle", type=float, default=60.0)
    args.add_argument("--busy-reader", action="store_true")
    # The async runtime's blocking threads (status-file reads) exit 10 s after their last job:
    # a few wake-ups that belong to the changes, not to idling.
    args.add_argument("--settle", type=float, default=12.0)
    args.add_argument("--bin", default=BIN)
    opts = args.parse_args()
    binary = opts.bin
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release")
    work = tempfile.mkdtemp(prefix="switcher-reaction-")
    target, quota = os.path.join(work, "opencode.json"), os.path.join(work, "quota.json")
    with open(target, "w") as f:
        f.write(TARGET)
    with open(os.path.join(work, "switcher.json5"), "w") as f:
        f.write(CONFIG)
    write_over(quota, '{"zai": {"status": "GREEN"}}')
    env = dict(os.environ, SWITCHER_STATE_DIR=os.path.join(work, "state"), HOME=work)
    log = open(os.path.join(work, "daemon.log"), "w+")
    daemon = subprocess.Popen(
        [binary, "watch", "opencode.json", "--config", "switcher.json5", "--quota-file", "quota.json"],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.time() + 10
        while "watching" not in open(log.name).read():
            if time.time() > deadline:
                sys.exit("daemon did not start")
            time.sleep(0.01)
        latencies = []
        for i in range(opts.changes):
            red = i % 2 == 0
            expected = "deepseek/deepseek-chat" if red else "zai-coding-plan/glm-4.6"
            start = time.perf_counter()
            write_over(quota, '{"zai": {"status": "%s"}}' % ("RED" if red else "GREEN"))
            while True:
                with open(target) as f:
                    if expected in f.read():
                        break
                if time.perf_counter() - start > 5:
                    sys.exit(f"change {i} not applied within 5 s")
                time.sleep(0.0002)
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        print(f"reaction over {len(latencies)} changes: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, "
              f"min {latencies[0]:.1f} ms, max {latencies[-1]:.1f} ms, mean {statistics.mean(latencies):.1f} ms")
        time.sleep(opts.settle)
        cpu0, sw0, _, _ = proc_stats(daemon.pid)
        time.sleep(opts.idle)
        cpu1, sw1, rss, peak = proc_stats(daemon.pid)
        print(f"idle {opts.idle:.0f} s: CPU {cpu1 - cpu0:.2f} s, context switches {sw1 - sw0}, "
              f"RSS {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB)")
        if opts.busy_reader:
            reader = subprocess.Popen([sys.executable, "-c", READER, work, str(opts.idle)])
            time.sleep(0.2)
            cpu0, sw0, _, _ = proc_stats(daemon.pid)
            reader.wait()
            cpu1, sw1, _, _ = proc_stats(daemon.pid)
            print(f"idle {opts.idle:.0f} s, another process reading the watched dir's files: "
                  f"CPU {cpu1 - cpu0:.2f} s, context switches {sw1 - sw0}")
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
