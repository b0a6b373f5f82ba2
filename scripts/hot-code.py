#!/usr/bin/env python3
"""Writes link/hot-code.ld: the functions switcher's common runs execute, which the linker places
together at the start of the program's code (README, Performance: "Hot code").

    scripts/hot-code.py

Builds a release binary with its symbols (in target/hot-code), runs each case below under
valgrind's callgrind in a temp dir (no network; HOME and the state dir are temp dirs too), and
lists every function of the binary that ran in any of them. Run it again after a change that
moves much of the code those runs go through; a function missing from the list is only placed
among the others, so a stale list costs memory, never correctness.

A function is named by its mangled symbol without the parts that change from one build to the
next: the hash that ends a legacy name (`17h…E`), a crate's disambiguator in a v0 name (`Cs…_`)
and the `.llvm.…` suffix of a function ThinLTO made global. A generic function so matches all its
instances, used or not.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "link", "hot-code.ld")
TARGET = os.path.join(ROOT, "target", "hot-code")


def build():
    # Without the list it writes: it may not exist yet, and it does not change a name.
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET, CARGO_PROFILE_RELEASE_STRIP="false", SWITCHER_HOT_CODE="0")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, env=env, check=True)
    return os.path.join(TARGET, "release", "switcher")


def big_config(path, agents):
    """An OpenCode config of `agents` agents with long prompts, like the bench's big one."""
    out = ['{\n  "$schema": "https://opencode.ai/config.json",\n  "model": "zai-coding-plan/glm-4.6",\n  "agent": {\n']
    for i in range(agents):
        prompt = json.dumps("Review carefully — «step %d». " % i * 12)
        out.append('    "agent-%d": {"model": "zai-coding-plan/glm-4.6", "prompt": %s},\n' % (i, prompt))
    out[-1] = out[-1].rstrip(",\n") + "\n"
    out.append("  }\n}\n")
    open(path, "w").write("".join(out))


def agent_files(root, count):
    """A project's opencode.json and `count` Markdown agents, as the bench makes them."""
    os.makedirs(f"{root}/.opencode/agent", exist_ok=True)
    open(f"{root}/opencode.json", "w").write('{\n  "model": "zai-coding-plan/glm-4.6"\n}\n')
    for i in range(count):
        quote = ["", "'", '"'][i % 3]
        open(f"{root}/.opencode/agent/agent-{i}.md", "w").write(
            f"---\ndescription: Agent {i}\nmode: subagent\n"
            f"model: {quote}zai-coding-plan/glm-4.6{quote}  # the plan\n---\n# Agent {i}\n")


def cases(work, bin):
    """(name, argv, stdin file or None, shell command run before it)."""
    demo = [bin, "watch", f"{work}/demo/opencode.json", "--once", "--config",
            f"{work}/demo/switcher.json5", "--quota-file", f"{work}/demo/quota.json", "-q"]
    big = [bin, "watch", f"{work}/big.json", "--kind", "opencode", "--once", "--config",
           f"{work}/fb.json5", "-q"]
    many = [bin, "watch", f"{work}/many/opencode.json", "--once", "--config", f"{work}/fb.json5", "-q"]
    return [
        ("demo, switching", demo, None, f"cp {work}/demo.orig.json {work}/demo/opencode.json; rm -rf {work}/state"),
        ("demo, nothing to change", demo, None, ""),
        ("demo, status", [bin, "status", f"{work}/demo/opencode.json", "--config",
                          f"{work}/demo/switcher.json5", "--quota-file", f"{work}/demo/quota.json"], None, ""),
        ("demo, restore", demo[:3] + ["--restore"] + demo[4:], None, ""),
        ("big config, switching", big + ["--quota-file", f"{work}/red.json"], None, ""),
        ("big config, nothing to switch", big + ["--quota-file", f"{work}/red.json"], None, ""),
        ("agent files, switching", many + ["--quota-file", f"{work}/red.json"], None, ""),
        ("agent files, restore", many[:3] + ["--restore"] + many[4:] + ["--quota-file", f"{work}/red.json"], None, ""),
        ("status line", [bin, "statusline"], f"{work}/statusline.json", ""),
    ]


def ran(work, bin):
    """The symbols of every function that ran in any case."""
    names = set()
    env = dict(os.environ, HOME=f"{work}/home", XDG_CONFIG_HOME=f"{work}/home/.config",
               XDG_STATE_HOME=f"{work}/home/.local/state", SWITCHER_STATE_DIR=f"{work}/state")
    for i, (name, argv, stdin, before) in enumerate(cases(work, bin)):
        if before:
            subprocess.run(before, shell=True, check=True)
        out = f"{work}/callgrind.{i}"
        with open(stdin or os.devnull) as input:
            done = subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no",
                                   f"--callgrind-out-file={out}", *argv],
                                  env=env, stdin=input, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not os.path.exists(out):
            sys.exit(f"{name}: valgrind failed:\n{done.stderr}")
        found = re.findall(r"^c?fn=\(\d+\) (\S+)$", open(out).read(), re.M)
        print(f"{name}: exit {done.returncode}, {len(set(found))} functions", file=sys.stderr)
        names.update(found)
    return names


def pattern(symbol):
    symbol = re.sub(r"\.llvm\.\d+$", ".llvm.*", symbol)
    symbol = re.sub(r"17h[0-9a-f]{16}E$", "17h*E", symbol)
    return re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", symbol)


def main():
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind (apt-get install valgrind)")
    bin = build()
    nm = subprocess.run(["nm", "--defined-only", bin], capture_output=True, text=True, check=True).stdout
    functions = {line.split()[2] for line in nm.splitlines() if len(line.split()) == 3 and line.split()[1] in "tTwW"}
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(f"{work}/home")
        shutil.copytree(f"{ROOT}/fixtures/demo", f"{work}/demo")
        shutil.copy(f"{work}/demo/opencode.json", f"{work}/demo.orig.json")
        big_config(f"{work}/big.json", 2000)
        agent_files(f"{work}/many", 20)
        open(f"{work}/fb.json5", "w").write('{ fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }\n')
        open(f"{work}/red.json", "w").write('{ "zai": { "status": "RED" } }\n')
        statusline = open(f"{ROOT}/fixtures/claude-logs/statusline-stdin-2.1.332.json").read()
        open(f"{work}/statusline.json", "w").write(statusline.replace("/tmp/cl-e2e/proj", f"{work}/proj"))
        names = ran(work, bin) & functions
    patterns = sorted({pattern(n) for n in names})
    with open(OUT, "w") as out:
        out.write("/* Written by scripts/hot-code.py: the functions that switcher's common runs execute, placed\n"
                  "   together before the rest of the code so that a run maps fewer pages of it (README,\n"
                  "   Performance). Each is matched in its own section and in the section of code the compiler\n"
                  "   judged unlikely to run. */\n")
        out.write("SECTIONS {\n  .text.often : {\n")
        for p in patterns:
            out.write(f"    *(.text.{p} .text.unlikely.{p})\n")
        out.write("  }\n}\nINSERT BEFORE .text;\n")
    print(f"{OUT}: {len(patterns)} functions", file=sys.stderr)


if __name__ == "__main__":
    main()
