"""A loopback mock LLM for the OpenCode plugin check: the agents-e2e mock (OpenAI chat
completions, JSON-lines request log), plus models that answer with a provider's real usage-limit
error. Python stdlib only.

A model listed in the file named by --fail-file (JSON: {"model-a": "zai-1310"}) gets HTTP 429
with the body of that error; every other model gets the usual `MOCK-REPLY model=...`.

zai-1310 is z.ai's weekly/monthly "Limit Exhausted" 429 body, verbatim as published in
Yeachan-Heo/gajae-code#1821 (also tests/limits/vectors.json), with only its reset time moved to
five hours after the request, in China time as z.ai writes it.
"""

import argparse
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agents-e2e"))
import mock_llm  # noqa: E402

CHINA = datetime.timezone(datetime.timedelta(hours=8))


def zai_1310():
    reset = (datetime.datetime.now(CHINA) + datetime.timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "code": "1310",
            "message": "[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at %s]" % reset,
        },
    }


ERRORS = {"zai-1310": zai_1310}


class Handler(mock_llm.Handler):
    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path.endswith("/chat/completions"):
            failing = {}
            try:
                with open(self.server.fail_file, encoding="utf-8") as f:
                    failing = json.load(f)
            except (OSError, ValueError):
                pass
            n = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(n) if n > 0 else b""
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = {}
            model = body.get("model") if isinstance(body, dict) else None
            if model in failing:
                error = ERRORS[failing[model]]()
                self._log(kind="openai", model=model, stream=bool(body.get("stream")), reply="429",
                          error=error["error"]["message"])
                self._send_json(429, error)
                return
            self._log(kind="openai", model=model, stream=bool(body.get("stream")), reply="200")
            self._openai(model, bool(body.get("stream")))
            return
        super().do_POST()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--fail-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    mock_llm.serve(args, Handler, fail_file=args.fail_file)


if __name__ == "__main__":
    main()
