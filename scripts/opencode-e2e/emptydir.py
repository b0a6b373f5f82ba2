"""Opt-in: does an empty .opencode/ make OpenCode wait on the npm registry? Offline (registry
refusing connections): serve start -> first answer, with no .opencode/ and with an empty one.
Touches only temp dirs and 127.0.0.1. Usage: OPENCODE_BIN=.../opencode python3 emptydir.py [none] [empty]
"""
import json, os, re, subprocess, sys, tempfile, time, urllib.request, shutil
E2E = os.path.dirname(os.path.abspath(__file__))
OPENCODE = os.environ["OPENCODE_BIN"]
def http(method, url, body=None, timeout=240):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        t = r.read().decode(); return json.loads(t) if t.strip() else None
def run(case):
    work = tempfile.mkdtemp(prefix="oc-emptydir-")
    home, project = os.path.join(work, "home"), os.path.join(work, "project")
    os.makedirs(os.path.join(home, ".config")); os.makedirs(project)
    if case == "empty": os.makedirs(os.path.join(project, ".opencode"))
    pf = os.path.join(work, "port")
    mock = subprocess.Popen([sys.executable, os.path.join(E2E, "mock.py"), "--log", os.path.join(work, "m.jsonl"), "--port-file", pf, "--fail-file", os.path.join(work, "f.json")])
    open(os.path.join(work, "f.json"), "w").write("{}")
    while not os.path.exists(pf): time.sleep(0.02)
    url = "http://127.0.0.1:%s" % open(pf).read().strip()
    cfg = {"provider": {"provA": {"npm": "@ai-sdk/openai-compatible", "name": "provA", "options": {"baseURL": url + "/provA/v1", "apiKey": "k"}, "models": {"model-a": {"name": "model-a"}}}}, "model": "provA/model-a", "small_model": "provA/model-a"}
    json.dump(cfg, open(os.path.join(project, "opencode.json"), "w"))
    env = {"HOME": home, "XDG_CONFIG_HOME": home + "/.config", "XDG_DATA_HOME": home + "/.local/share", "XDG_CACHE_HOME": home + "/.cache", "XDG_STATE_HOME": home + "/.local/state",
           "PATH": os.path.dirname(OPENCODE) + ":/usr/local/bin:/usr/bin:/bin", "TERM": "dumb", "NO_COLOR": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1",
           "OPENCODE_DISABLE_LSP_DOWNLOAD": "1", "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_DISABLE_SHARE": "1", "OPENCODE_DISABLE_CLAUDE_CODE": "1", "npm_config_registry": "http://127.0.0.1:1/"}
    logf = os.path.join(work, "serve.log")
    t0 = time.monotonic()
    serve = subprocess.Popen([OPENCODE, "serve", "--hostname", "127.0.0.1", "--port", "0", "--print-logs", "--log-level", "INFO"], cwd=project, env=env, stdout=open(logf, "w"), stderr=subprocess.STDOUT)
    try:
        base = None
        while not base and time.monotonic() - t0 < 180:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", open(logf).read()); base = m and m.group(1); time.sleep(0.05)
        sid = http("POST", base + "/session", {})["id"]
        http("POST", "%s/session/%s/message" % (base, sid), {"parts": [{"type": "text", "text": "hi"}]})
        took = time.monotonic() - t0
        left = sorted(os.listdir(os.path.join(project, ".opencode"))) if os.path.isdir(os.path.join(project, ".opencode")) else None
        print(json.dumps({"case": case, "first_answer_s": round(took, 1), "project .opencode after": left}), flush=True)
    finally:
        serve.terminate(); mock.terminate(); serve.wait(10); mock.wait(10)
        shutil.rmtree(work, ignore_errors=True)
for case in sys.argv[1:] or ["none", "empty"]:
    run(case)
