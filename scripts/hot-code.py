#!/usr/bin/env python3
"""Writes link/hot-code.ld: the functions switcher's common runs execute, which the linker places
together at the start of the program's code (README, Performance: "Hot code").

    scripts/hot-code.py

Builds the release binary as `cargo build --release` does (in target/hot-code, with the link's map
beside it), runs each case below under valgrind's callgrind in a temp dir (no network; HOME and
the state dir are temp dirs too), and lists the function of every address of the binary that ran
in any of them, as the map names it. Run it again after a change that moves much of the code those
runs go through; a function missing from the list is only placed among the others, so a stale
list costs memory, never correctness.

A function that has one instance is named by its symbol without the parts that change from one
build to the next (the hash that ends a legacy symbol, a crate's disambiguator in a v0 one, the
`.llvm.` suffix of a function ThinLTO made global), so a later build still finds it. A generic
function's instances share that name, so each instance that ran is named in full: only those are
placed, and a build whose names changed (another compiler, other versions of the dependencies)
leaves them among the others until the list is written again.
"""

import bisect
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benches"))
import inputs  # noqa: E402  (the benches' inputs: the same shapes are run here)
OUT = os.path.join(ROOT, "link", "hot-code.ld")
TARGET = os.path.join(ROOT, "target", "hot-code")


def build():
    """The binary and its link's map."""
    map = os.path.join(TARGET, "switcher.map")
    # The profile's settings, hence the symbols, are the release build's; linked at the fixed
    # address the map gives (a position-independent binary runs elsewhere), and without the list
    # it writes (it may not exist yet, and it changes no name).
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET, SWITCHER_HOT_CODE="0", SWITCHER_LINK_MAP=map,
               SWITCHER_PIE="0")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, env=env, check=True)
    return os.path.join(TARGET, "release", "switcher"), map


def sections(map):
    """The code sections the link placed in `.text`: (address, size, function symbol), sorted.
    lld's map lists each input section as `VMA LMA size align file:(section)`."""
    found = []
    for line in open(map):
        m = re.match(r"\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\((\.text\.\S+)\)$", line)
        if m:
            name = re.sub(r"^\.text\.(unlikely\.)?", "", m.group(3))
            found.append((int(m.group(1), 16), int(m.group(2), 16), name))
    if not found:
        sys.exit(f"{map}: no code sections found (is the linker lld?)")
    return sorted(found)


def reset(work):
    """The demo's config as shipped, and no state."""
    shutil.copy(f"{work}/demo.orig.json", f"{work}/demo/opencode.json")
    shutil.rmtree(f"{work}/state", ignore_errors=True)


def cases(work, bin):
    """(name, argv, stdin file or None, what to do before it)."""
    demo = [bin, "watch", f"{work}/demo/opencode.json", "--once", "--config",
            f"{work}/demo/switcher.json5", "--quota-file", f"{work}/demo/quota.json", "-q"]
    big = [bin, "watch", f"{work}/big.json", "--kind", "opencode", "--once", "--config",
           f"{work}/fb.json5", "-q"]
    many = [bin, "watch", f"{work}/many/opencode.json", "--once", "--config", f"{work}/fb.json5", "-q"]
    return [
        ("demo, switching", demo, None, lambda: reset(work)),
        ("demo, nothing to change", demo, None, None),
        ("demo, status", [bin, "status", f"{work}/demo/opencode.json", "--config",
                          f"{work}/demo/switcher.json5", "--quota-file", f"{work}/demo/quota.json"], None, None),
        ("demo, restore", demo[:3] + ["--restore"] + demo[4:], None, None),
        ("big config, switching", big + ["--quota-file", f"{work}/red.json"], None, None),
        ("big config, nothing to switch", big + ["--quota-file", f"{work}/red.json"], None, None),
        ("agent files, switching", many + ["--quota-file", f"{work}/red.json"], None, None),
        ("agent files, restore", many[:3] + ["--restore"] + many[4:] + ["--quota-file", f"{work}/red.json"], None, None),
        ("status line", [bin, "statusline"], f"{work}/statusline.json", None),
    ]


def ran(work, bin):
    """The addresses of the binary's code that ran in any case."""
    addresses = set()
    env = dict(os.environ, HOME=f"{work}/home", XDG_CONFIG_HOME=f"{work}/home/.config",
               XDG_STATE_HOME=f"{work}/home/.local/state", SWITCHER_STATE_DIR=f"{work}/state")
    for i, (name, argv, stdin, before) in enumerate(cases(work, bin)):
        if before:
            before()
        out = f"{work}/callgrind.{i}"
        with open(stdin or os.devnull) as input:
            done = subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--compress-pos=no",
                                   f"--callgrind-out-file={out}", *argv],
                                  env=env, stdin=input, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not os.path.exists(out):
            sys.exit(f"{name}: valgrind failed:\n{done.stderr}")
        # Each cost line starts with the address of an instruction that ran.
        found = {int(a, 16) for a in re.findall(r"^0x([0-9a-f]+) ", open(out).read(), re.M)}
        if done.returncode != 0:
            sys.exit(f"{name}: exit {done.returncode}:\n{done.stderr}")
        print(f"{name}: {len(found)} addresses", file=sys.stderr)
        addresses |= found
    return addresses


def pattern(symbol):
    symbol = re.sub(r"\.llvm\.\d+$", ".llvm.*", symbol)
    symbol = re.sub(r"17h[0-9a-f]{16}E(?=$|\.llvm\.)", "17h*E", symbol)
    return re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", symbol)


def main():
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind (apt-get install valgrind)")
    bin, map = build()
    code = sections(map)
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(f"{work}/home")
        shutil.copytree(f"{ROOT}/fixtures/demo", f"{work}/demo")
        shutil.copy(f"{work}/demo/opencode.json", f"{work}/demo.orig.json")
        inputs.big_config(f"{work}/big.json", 0.5)
        inputs.agent_files(f"{work}/many", 20)
        open(f"{work}/fb.json5", "w").write('{ fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }\n')
        open(f"{work}/red.json", "w").write('{ "zai": { "status": "RED" } }\n')
        statusline = open(f"{ROOT}/fixtures/claude-logs/statusline-stdin-2.1.332.json").read()
        open(f"{work}/statusline.json", "w").write(statusline.replace("/tmp/cl-e2e/proj", f"{work}/proj"))
        addresses = ran(work, bin)
    starts = [start for start, _, _ in code]
    names = set()
    for address in addresses:
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and address < code[i][0] + code[i][1]:
            names.add(code[i][2])
    instances = collections.Counter(pattern(name) for _, _, name in code)
    exact = lambda name: re.sub(r"\.llvm\.\d+$", ".llvm.*", name)
    patterns = sorted({pattern(n) if instances[pattern(n)] == 1 else exact(n) for n in names})
    if not names:
        sys.exit("no address that ran is in the map's code: is the binary the one it describes?")
    size = sum(s for _, s, n in code if n in names)
    with open(OUT, "w") as out:
        out.write("/* Written by scripts/hot-code.py: the functions that switcher's common runs execute, placed\n"
                  "   together before the rest of the code so that a run maps fewer pages of it (README,\n"
                  "   Performance). Each is matched in its own section and in the section of code the compiler\n"
                  "   judged unlikely to run. */\n")
        out.write("SECTIONS {\n  .text.often : {\n")
        for p in patterns:
            out.write(f"    *(.text.{p} .text.unlikely.{p})\n")
        out.write("  }\n}\nINSERT BEFORE .text;\n")
    print(f"{OUT}: {len(patterns)} functions, {size} bytes of code", file=sys.stderr)


if __name__ == "__main__":
    main()
