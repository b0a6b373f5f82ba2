#!/usr/bin/env python3
"""Times a command over N whole-process runs and prints its median (and min, max) in ms.

    measure.py RUNS [--prepare 'SHELL COMMAND'] [--peak] [--stdin FILE] -- COMMAND ARG...

The command is started directly (no shell) with os.posix_spawn, so the figure is the program's
start, work and exit plus a constant spawn cost that `/bin/true` shows. `--prepare` runs through
`sh -c` before each timed run (untimed). `--peak` also reports the median peak resident memory
(from wait4's rusage; the kernel counts a spawned child's peak from before its exec too, so no
figure below this script's own, about 14 MiB, can show: it is meant for the big-file rows). `--stdin` feeds FILE to the command's standard input. The median CPU time (user + system) is printed too: on a machine other
jobs share it moves less than wall time. The command's stdout and stderr go to /dev/null; a run that fails stops
the measurement with its exit status. RUNS 0 runs the command once, untimed (a smoke run).
"""
import os
import statistics
import subprocess
import sys
import time


def main():
    argv = sys.argv[1:]
    runs = int(argv.pop(0))
    prepare, peak, stdin = None, False, None
    while argv and argv[0] != "--":
        flag = argv.pop(0)
        if flag == "--prepare":
            prepare = argv.pop(0)
        elif flag == "--peak":
            peak = True
        elif flag == "--stdin":
            stdin = argv.pop(0)
        else:
            sys.exit(f"measure.py: unknown flag {flag}")
    command = argv[1:]
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    times, peaks, cpus = [], [], []
    for _ in range(max(runs, 1)):
        if prepare:
            subprocess.run(["sh", "-c", prepare], check=True)
        spawn = actions
        if stdin:
            spawn = actions + [(os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0)]
        start = time.perf_counter_ns()
        pid = os.posix_spawnp(command[0], command, os.environ, file_actions=spawn)
        _, status, usage = os.wait4(pid, 0)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        code = os.waitstatus_to_exitcode(status)
        # Exit 3 is switcher's "a slot stays on a RED model": a result, not a failure.
        if code not in (0, 3):
            sys.exit(f"measure.py: {' '.join(command)} exited {code}")
        times.append(elapsed)
        peaks.append(usage.ru_maxrss / 1024)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
    if runs == 0:
        print("ran")
        return
    # CPU time (user + system) moves less than wall time on a machine other jobs share.
    line = (f"{statistics.median(times):.2f} ms (min {min(times):.2f}, max {max(times):.2f}, "
            f"n {runs}; CPU {statistics.median(cpus):.1f} ms)")
    if peak:
        line += f", peak {statistics.median(peaks):.1f} MiB"
    print(line)


if __name__ == "__main__":
    main()
