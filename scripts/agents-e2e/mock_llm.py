#!/usr/bin/env python3
"""Loopback mock LLM server for the agents end-to-end check (stdlib only).

Subcommands:

  serve --log FILE --port-file FILE [--port N] [--host 127.0.0.1]
      Serve until killed. Speaks enough of
        * the OpenAI chat-completions API: POST <prefix>/chat/completions (streaming SSE and
          not), GET <prefix>/models;
        * the Anthropic Messages API: POST <prefix>/v1/messages (streaming SSE and not),
          POST <prefix>/v1/messages/count_tokens;
      for `opencode run` and `claude -p` to complete. <prefix> is any path prefix (e.g. /provA/v1,
      /claude-a), so each configured provider can get its own path and the log tells them apart.
      It is also an HTTP(S) proxy trap: CONNECT and absolute-URI requests (what a client sends
      when HTTPS_PROXY/HTTP_PROXY point here) are logged with their destination and refused, so
      any attempt of an agent to reach the internet shows up in the log instead of leaving the
      machine. GET /npm-registry/... (point npm_config_registry there) is logged and answered 404,
      so a package install an agent starts on its own stays on the machine too.

      Every request is logged as one JSON object per line: time, method, path, a few headers
      (credentials masked), the body's `model` and `stream`, and the reply. The reply text names
      the model and path it answered, so the agent's own output shows it too.

  show LOG [--from N]
      Print the log from line N (0-based) as a readable table.

  check LOG --from N --path-prefix P --model M [--only]
      Exit 0 when, among log lines N.., some model request (chat/completions or messages) went
      to a path starting with P with body model M. With --only, every model request from line N
      on must match (proves nothing went to the other provider). Prints what it saw.

  outbound LOG
      Print proxy-trap lines (attempts to reach hosts other than the mock); exit 1 if any.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOGGED_HEADERS = (
    "user-agent",
    "content-type",
    "accept",
    "authorization",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "x-app",
)
SECRET_HEADERS = ("authorization", "x-api-key", "proxy-authorization")

_log_lock = threading.Lock()


def mask(name, value):
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, sep, _rest = value.partition(" ")
    if sep and scheme.lower() in ("bearer", "basic"):
        return scheme + " ***"
    return "***"


def is_model_request(path):
    p = path.split("?", 1)[0]
    return p.endswith("/chat/completions") or p.endswith("/v1/messages")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-llm/1"

    # -- plumbing ---------------------------------------------------------------------------

    def log_message(self, fmt, *args):  # keep stderr quiet; everything goes to the JSONL log
        pass

    def _log(self, **fields):
        entry = {"ts": round(time.time(), 3), "method": self.command, "path": self.path}
        headers = {}
        for h in LOGGED_HEADERS:
            v = self.headers.get(h)
            if v is not None:
                headers[h] = mask(h, v)
        entry["headers"] = headers
        entry.update(fields)
        line = json.dumps(entry, sort_keys=False)
        with _log_lock:
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()

    def _read_body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def _read_chunked(self):
        out = b""
        while True:
            size_line = self.rfile.readline().strip()
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    def _send_json(self, code, obj):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, text):
        data = text.encode("utf-8")
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- proxy trap -------------------------------------------------------------------------

    def do_CONNECT(self):
        self._log(kind="outbound", target=self.path, reply="403 refused (proxy trap)")
        self.send_response(403)
        self.send_header("content-length", "0")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def _proxy_trap(self):
        if self.path.startswith("http://") or self.path.startswith("https://"):
            self._log(kind="outbound", target=self.path, reply="403 refused (proxy trap)")
            self.send_response(403)
            self.send_header("content-length", "0")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            return True
        return False

    # -- methods ----------------------------------------------------------------------------

    def do_HEAD(self):
        if self._proxy_trap():
            return
        self._log(kind="other", reply="200 head")
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        if self._proxy_trap():
            return
        path = self.path.split("?", 1)[0]
        if path.endswith("/models"):
            self._log(kind="models", reply="200 model list")
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "mock",
                         "type": "model", "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                        for m in ("model-a", "model-b")
                    ],
                    "has_more": False,
                },
            )
            return
        if path.startswith("/npm-registry/"):
            # npm_config_registry points here: package installs an agent starts on its own
            # (OpenCode's config-dir plugin install) land here instead of the real registry.
            self._log(kind="npm-registry", reply="404")
        else:
            self._log(kind="other", reply="404")
        self._send_json(404, {"error": {"type": "not_found_error", "message": "mock: no such path"}})

    def do_POST(self):
        if self._proxy_trap():
            return
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        model = body.get("model") if isinstance(body, dict) else None
        stream = bool(body.get("stream")) if isinstance(body, dict) else False
        if path.endswith("/chat/completions"):
            self._log(kind="openai", model=model, stream=stream, reply="200")
            self._openai(model, stream)
        elif path.endswith("/v1/messages/count_tokens"):
            self._log(kind="anthropic-count", model=model, reply="200")
            self._send_json(200, {"input_tokens": 12})
        elif path.endswith("/v1/messages"):
            self._log(kind="anthropic", model=model, stream=stream, reply="200")
            self._anthropic(model, stream)
        else:
            self._log(kind="other", model=model, reply="404")
            self._send_json(404, {"error": {"type": "not_found_error", "message": "mock: no such path"}})

    # -- OpenAI chat completions ------------------------------------------------------------

    def _reply_text(self, model):
        return "MOCK-REPLY model=%s path=%s" % (model, self.path.split("?", 1)[0])

    def _openai(self, model, stream):
        text = self._reply_text(model)
        created = int(time.time())
        usage = {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}
        if not stream:
            self._send_json(
                200,
                {
                    "id": "chatcmpl-mock",
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}
                    ],
                    "usage": usage,
                },
            )
            return

        def chunk(delta, finish=None, with_usage=False):
            obj = {
                "id": "chatcmpl-mock",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if with_usage:
                obj["usage"] = usage
            return "data: " + json.dumps(obj) + "\n\n"

        self._start_sse()
        self._chunk(chunk({"role": "assistant", "content": ""}))
        self._chunk(chunk({"content": text}))
        self._chunk(chunk({}, finish="stop", with_usage=True))
        self._chunk("data: [DONE]\n\n")
        self._end_chunks()

    # -- Anthropic messages -----------------------------------------------------------------

    def _anthropic(self, model, stream):
        text = self._reply_text(model)
        msg_id = "msg_mock%d" % int(time.time() * 1000)
        if not stream:
            self._send_json(
                200,
                {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 12, "output_tokens": 6},
                },
            )
            return

        def event(name, obj):
            return "event: %s\ndata: %s\n\n" % (name, json.dumps(obj))

        self._start_sse()
        self._chunk(event("message_start", {
            "type": "message_start",
            "message": {
                "id": msg_id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            },
        }))
        self._chunk(event("content_block_start", {
            "type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""},
        }))
        self._chunk(event("ping", {"type": "ping"}))
        self._chunk(event("content_block_delta", {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text},
        }))
        self._chunk(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        self._chunk(event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 6},
        }))
        self._chunk(event("message_stop", {"type": "message_stop"}))
        self._end_chunks()


def serve(args, handler=None, **attrs):
    """Serves until interrupted; the port goes to --port-file, atomically, once listening.
    `handler` is a subclass of Handler (the other e2e mocks'); `attrs` are set on the server for
    it to read (a mode or failure file)."""
    server = ThreadingHTTPServer((args.host, args.port), handler or Handler)
    server.daemon_threads = True
    server.log_path = args.log
    for name, value in attrs.items():
        setattr(server, name, value)
    open(args.log, "a").close()
    port = server.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def read_log(path, start=0):
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    return [json.loads(l) for l in lines[start:] if l.strip()]


def fmt_entry(e):
    if e.get("kind") == "outbound":
        return "  OUTBOUND %-7s %s  -> %s" % (e["method"], e.get("target"), e.get("reply"))
    h = e.get("headers", {})
    auth = h.get("authorization") or h.get("x-api-key") or "-"
    return "  %-4s %-40s model=%-28s stream=%-5s auth=%-10s ua=%s" % (
        e["method"], e["path"], e.get("model"), e.get("stream"), auth,
        (h.get("user-agent") or "-")[:60])


def show(args):
    for e in read_log(args.log, args.start):
        print(fmt_entry(e))


def check(args):
    entries = read_log(args.log, args.start)
    reqs = [e for e in entries if e.get("kind") != "outbound" and is_model_request(e["path"])]
    for e in reqs:
        print(fmt_entry(e))
    ok = [e for e in reqs if e["path"].startswith(args.path_prefix) and e.get("model") == args.model]
    bad = [e for e in reqs if not (e["path"].startswith(args.path_prefix) and e.get("model") == args.model)]
    if not ok:
        print("  -> no model request to %s* with model %s" % (args.path_prefix, args.model))
        return 1
    if args.only and bad:
        print("  -> %d model request(s) did not go to %s* with model %s" % (len(bad), args.path_prefix, args.model))
        return 1
    print("  -> %d model request(s) to %s* with model %s%s" % (
        len(ok), args.path_prefix, args.model, " (and nothing else)" if args.only else ""))
    return 0


def outbound(args):
    hits = [e for e in read_log(args.log) if e.get("kind") == "outbound"]
    for e in hits:
        print(fmt_entry(e))
    return 1 if hits else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--log", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--host", default="127.0.0.1")
    s = sub.add_parser("show")
    s.add_argument("log")
    s.add_argument("--from", dest="start", type=int, default=0)
    s = sub.add_parser("check")
    s.add_argument("log")
    s.add_argument("--from", dest="start", type=int, default=0)
    s.add_argument("--path-prefix", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--only", action="store_true")
    s = sub.add_parser("outbound")
    s.add_argument("log")
    args = ap.parse_args()
    if args.cmd == "serve":
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("mock_llm: refusing to listen on a non-loopback address")
        serve(args)
        return 0
    return {"show": show, "check": check, "outbound": outbound}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
