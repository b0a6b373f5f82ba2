#!/usr/bin/env python3
"""The generated inputs of the benches, shared with scripts/hot-code.py (which runs the same
shapes to find the often-run code).

    inputs.py agents ROOT COUNT     a project's opencode.json and COUNT short Markdown agents
    inputs.py project ROOT COUNT    the same with real-sized front matter and ~3 KB bodies
    inputs.py big PATH MIB          an OpenCode config of MIB MiB: agents with long prompts,
                                    plain JSON so that Python reads it too (PATH.about says what)
"""

import json
import os
import sys

PLAN = "zai-coding-plan/glm-4.6"


def agent_files(root, count, bodies=False):
    """The project's opencode.json and `count` Markdown agents in ten folders, each `model:`
    bare, single- or double-quoted, with a comment. With `bodies`, the front matter has a block
    scalar (holding a line that looks like `model:`) and the body is about 3 KB."""
    os.makedirs(f"{root}/.opencode/agent", exist_ok=True)
    open(f"{root}/opencode.json", "w").write(f'{{\n  "model": "{PLAN}"\n}}\n')
    body = "".join(f"- Step {i}: read the change, check it against the plan — «précis».\n" for i in range(48))
    for i in range(count):
        folder = f"{root}/.opencode/agent/team-{i % 10}"
        os.makedirs(folder, exist_ok=True)
        quote = ["", "'", '"'][i % 3]
        model = f"model: {quote}{PLAN}{quote}  # the plan\n"
        if bodies:
            text = (f"---\ndescription: |\n  Agent {i}: reviews one part of the code.\n  model: not this one\n"
                    f"mode: subagent\n{model}tools:\n  write: false\n---\n# Agent {i}\n\n{body}")
            name = f"agent-{i:03}.md"
        else:
            text = (f"---\ndescription: Agent {i}: reviews one part of the code.\nmode: subagent\n"
                    f"{model}---\n# Agent {i}\n\nReview.\n")
            name = f"agent-{i:04}.md"
        open(f"{folder}/{name}", "w", newline="").write(text)


def big_config(path, mib):
    """Agents with long prompts until the config holds `mib` MiB; writes what it made to
    `path`.about."""
    out = ['{\n  "$schema": "https://opencode.ai/config.json",\n  "model": "' + PLAN + '",\n  "agent": {\n']
    i, size, limit = 0, 0, mib * 1024 * 1024
    while size < limit:
        entry = '    "agent-%d": {\n      "model": "%s",\n      "prompt": %s,\n      "temperature": 0.%d\n    },\n' % (
            i, PLAN, json.dumps("Review carefully — «step %d». " % i * 12), i % 10)
        out.append(entry)
        size += len(entry)
        i += 1
    out[-1] = out[-1].rstrip(",\n") + "\n"
    out.append("  }\n}\n")
    open(path, "w").write("".join(out))
    print(f"{size / 1048576:.1f} MiB, {i} agents", file=open(path + ".about", "w"))


if __name__ == "__main__":
    what, where, how_many = sys.argv[1:4]
    if what == "big":
        big_config(where, float(how_many))
    else:
        agent_files(where, int(how_many), bodies=what == "project")
