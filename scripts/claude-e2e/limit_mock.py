#!/usr/bin/env python3
"""The agents-e2e mock LLM (scripts/agents-e2e/mock_llm.py), plus what a claude.ai subscription's
rate limits look like on the wire, for scripts/claude-e2e/logs.sh (stdlib only).

  serve --log FILE --port-file FILE --mode-file FILE

Every Anthropic Messages request reads the mode file first:

  ok       (or no file) the mock's usual answer;
  headers  the usual answer with the `anthropic-ratelimit-unified-*` headers Anthropic sends a
           subscription (5-hour window at 35%, 7-day at 42%): does Claude Code hand them to
           its status line as `rate_limits`?
  limit    a spent 5-hour window: HTTP 429 with the unified headers saying `rejected` for the
           `five_hour` claim, and the error body Anthropic's API answers
           (anthropics/claude-code#11429 quotes it).

The reset is one hour and a half from the request, to the second, so the transcript's reset can
be checked against it. `GET .../api/oauth/...` and other paths a logged-in Claude Code may try
answer 404, as the base mock does.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agents-e2e"))
import mock_llm  # noqa: E402

FIVE_HOUR_RESET_IN = 90 * 60
SEVEN_DAY_RESET_IN = 3 * 24 * 3600 + 7 * 3600

LIMIT_BODY = {
    "type": "error",
    "error": {
        "type": "rate_limit_error",
        "message": "This request would exceed your account's rate limit. Please try again later.",
    },
    "request_id": "req_011CV2S4jxpPs7x8XWqHUiM7",
}


def mode(path):
    try:
        with open(path) as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


def unified(rejected):
    now = int(time.time())
    five, seven = now + FIVE_HOUR_RESET_IN, now + SEVEN_DAY_RESET_IN
    headers = {
        "anthropic-ratelimit-unified-status": "rejected" if rejected else "allowed",
        "anthropic-ratelimit-unified-reset": str(five),
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-status": "rejected" if rejected else "allowed",
        "anthropic-ratelimit-unified-5h-reset": str(five),
        "anthropic-ratelimit-unified-5h-utilization": "1.0" if rejected else "0.35",
        "anthropic-ratelimit-unified-7d-status": "allowed",
        "anthropic-ratelimit-unified-7d-reset": str(seven),
        "anthropic-ratelimit-unified-7d-utilization": "0.42",
        "anthropic-ratelimit-unified-fallback-percentage": "0.5",
        "anthropic-ratelimit-unified-overage-status": "rejected",
        "anthropic-ratelimit-unified-overage-disabled-reason": "out_of_credits",
    }
    return headers


class Handler(mock_llm.Handler):
    def _extra_headers(self):
        return getattr(self, "_pending_headers", {})

    def end_headers(self):
        for name, value in self._extra_headers().items():
            self.send_header(name, value)
        self._pending_headers = {}
        super().end_headers()

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path.endswith("/v1/messages") and not self._proxy_trap_path():
            current = mode(self.server.mode_file)
            if current == "limit":
                body = self._read_body()
                model = body.get("model") if isinstance(body, dict) else None
                self._log(kind="anthropic", model=model, reply="429 five_hour rejected")
                self._pending_headers = unified(True)
                self._send_json(429, LIMIT_BODY)
                return
            if current == "headers":
                self._pending_headers = unified(False)
        super().do_POST()

    def _proxy_trap_path(self):
        return self.path.startswith("http://") or self.path.startswith("https://")


def main():
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--log", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--mode-file", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    mock_llm.serve(args, Handler, mode_file=args.mode_file)


if __name__ == "__main__":
    main()
