#!/usr/bin/python3
"""Loopback fault-injection range server for the safety checks and Scripts/soak.

Serves every regular file under ROOT (URL path = path below it; the query string is ignored, so
signed URLs map to plain files) with single-range GETs (206), no Range (200), HEAD, keep-alive,
on 127.0.0.1 only. Strong ETags (size + mtime) so clients can pin versions.

Faults, drawn per request from a seeded generator with probability --fault-rate (documents and
ranges alike): 503 Service Unavailable, 500 Internal Server Error, a TCP reset after part of the
body, or a body truncated (Content-Length announces more) and the connection closed. Clients
must retry these; wrong bytes are never sent (a faulty answer is detectably incomplete).

--status N answers every request with status N (e.g. 403 for the secrets check); with
--deny-suffix .tif only paths ending so are denied (documents load, rasters do not).
--rewrite-json SUFFIX appends SUFFIX (e.g. '?X-Amz-Signature=…') to every "href" ending in .tif
in JSON documents, so items carry signed asset URLs.

--scripted turns off the random faults and takes a plan instead, set by the client at
`/_plan?fault=KIND&at=K[&persistent=1]`: the K-th request counted from that call (0-based,
arrival order, control requests not counted) gets fault KIND, and with persistent=1 every
request after it too; with `match=PATH RANGE` instead of `at`, the first request for that path
with that Range header (e.g. `/a.tif bytes=0-16383`) is the one. KIND is one of 500 502 503 504 408 429 429ra (429 with Retry-After: 1),
drop (connection reset before any byte), reset (reset mid-body), truncate (short body, then
close) or slow (first byte 0.4 s late, then a correct answer). `/_plan` with no fault only
resets the count; `/_stats` answers {"requests": N, "injected": M, "log": ["PATH RANGE", …]}
since the last `/_plan`.
The fault-matrix check (Scripts/integration/check-faults.py) drives it.

The server stops by itself after --max-seconds or --max-requests (bounded load). It writes its
port to --port-file once listening. With --log, one line per request:
`METHOD PATH STATUS FAULT AUTH` where AUTH is `auth` when an Authorization header came along
(the header value itself is never logged).
"""
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

parser = argparse.ArgumentParser()
parser.add_argument("root")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--port-file")
parser.add_argument("--fault-rate", type=float, default=0.0)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--status", type=int)
parser.add_argument("--deny-suffix", help="answer --status (default 403) only for such paths")
parser.add_argument("--rewrite-json")
parser.add_argument("--max-seconds", type=float, default=900)
parser.add_argument("--max-requests", type=int, default=2_000_000)
parser.add_argument("--log")
parser.add_argument("--scripted", action="store_true")
args = parser.parse_args()

ROOT = os.path.realpath(args.root)
RNG = random.Random(args.seed)
LOCK = threading.Lock()
COUNT = [0]
FAULTS = {"503": 0, "500": 0, "reset": 0, "truncate": 0}
LOG = open(args.log, "a", buffering=1) if args.log else None


PLAN = {"fault": None, "at": 0, "match": None, "persistent": False, "seen": 0, "injected": 0,
        "log": []}
SCRIPTED = {"500", "502", "503", "504", "408", "429", "429ra", "drop", "reset", "truncate", "slow"}


def scripted_fault(key):
    """The plan's fault for this request (`key` = "PATH RANGE"), or None."""
    with LOCK:
        COUNT[0] += 1
        index = PLAN["seen"]
        PLAN["seen"] += 1
        PLAN["log"].append(key)
        fault = PLAN["fault"]
        if fault and PLAN["match"] is not None and PLAN["at"] < 0 and key == PLAN["match"]:
            PLAN["at"] = index  # the first match; later requests count from it
        hit = fault and PLAN["at"] >= 0 and (
            index == PLAN["at"] or (PLAN["persistent"] and index > PLAN["at"]))
        if hit:
            PLAN["injected"] += 1
            return fault
        return None


def draw_fault(key=""):
    if args.scripted:
        return scripted_fault(key)
    with LOCK:
        COUNT[0] += 1
        if RNG.random() >= args.fault_rate:
            return None
        kind = RNG.choice(["503", "500", "reset", "truncate"])
        FAULTS[kind] += 1
        return kind


def load(url_path):
    """(bytes, etag) of the file a URL path names, or None; never outside ROOT."""
    path = os.path.realpath(os.path.join(ROOT, unquote(urlsplit(url_path).path).lstrip("/")))
    if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
        return None
    st = os.stat(path)
    with open(path, "rb") as f:
        data = f.read()
    if args.rewrite_json and path.endswith(".json"):
        import json

        def walk(v):
            if isinstance(v, dict):
                return {
                    k: (x + args.rewrite_json if k == "href" and isinstance(x, str)
                        and x.endswith(".tif") else walk(x))
                    for k, x in v.items()
                }
            if isinstance(v, list):
                return [walk(x) for x in v]
            return v

        data = json.dumps(walk(json.loads(data))).encode()
    return data, '"%x-%x"' % (st.st_size, int(st.st_mtime_ns))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, status, fault):
        if LOG:
            auth = "auth" if self.headers.get("Authorization") else "-"
            LOG.write("%s %s %s %s %s\n" % (self.command, urlsplit(self.path).path, status,
                                             fault or "-", auth))

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def plain(self, status, text=b"", fault=None):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)
        self.note(status, fault)

    def control(self):
        """`/_plan` and `/_stats` of --scripted mode."""
        from urllib.parse import parse_qs
        import json
        parts = urlsplit(self.path)
        if parts.path == "/_plan":
            q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            fault = q.get("fault") or None
            if fault is not None and fault not in SCRIPTED:
                return self.plain(400, b"unknown fault\n")
            with LOCK:
                match = q.get("match")
                PLAN.update(fault=fault, at=-1 if match else int(q.get("at", "0")), match=match,
                            persistent=q.get("persistent") == "1", seen=0, injected=0, log=[])
        with LOCK:
            text = json.dumps({"requests": PLAN["seen"], "injected": PLAN["injected"],
                               "log": PLAN["log"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def serve(self, head):
        if args.scripted and urlsplit(self.path).path in ("/_plan", "/_stats"):
            return self.control()
        if args.deny_suffix:
            if urlsplit(self.path).path.endswith(args.deny_suffix):
                return self.plain(args.status or 403, b"denied\n")
        elif args.status:
            return self.plain(args.status, b"denied\n")
        fault = draw_fault(urlsplit(self.path).path + " " + self.headers.get("Range", ""))
        if fault in ("503", "500", "502", "504", "408", "429"):
            return self.plain(int(fault), b"injected fault\n", fault)
        if fault == "429ra":
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return self.note(429, fault)
        if fault == "drop":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.note(0, fault)
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault == "slow":
            time.sleep(0.4)
        found = load(self.path)
        if found is None:
            return self.plain(404, b"not found\n")
        data, etag = found
        size = len(data)
        status, first, last = 200, 0, size - 1
        header = self.headers.get("Range", "")
        if header.startswith("bytes=") and "," not in header:
            a, _, b = header[6:].strip().partition("-")
            if a == "":
                first, last = max(0, size - int(b)), size - 1
            else:
                first, last = int(a), min(int(b) if b else size - 1, size - 1)
            if first >= size or first > last:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return self.note(416, None)
            status = 206
        body = data[first:last + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if self.path.split("?")[0].endswith(
            ".json") else "image/tiff")
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.note(status, fault)
        if head:
            return
        if fault in ("reset", "truncate") and len(body) > 1:
            cut = len(body) // 2 if args.scripted else RNG.randrange(0, len(body))
            self.wfile.write(body[:cut])
            self.wfile.flush()
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR) if fault == "truncate" else None
            except OSError:
                pass
            return
        self.wfile.write(body)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 overflowed when a client opened its 16 connections at
    # once: the kernel dropped SYNs (TcpExtListenDrops) and connects waited for SYN retransmits
    # (1, 3, 7 s …), turning a 2 s `tandem train` into 20–33 s. nginx's default is 511.
    request_queue_size = 128


server = Server(("127.0.0.1", args.port), Handler)
if args.port_file:
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)


def watchdog():
    start = time.time()
    while time.time() - start < args.max_seconds and COUNT[0] < args.max_requests:
        time.sleep(0.5)
    server.shutdown()


threading.Thread(target=watchdog, daemon=True).start()
try:
    server.serve_forever(poll_interval=0.2)
finally:
    sys.stderr.write("fault-server: %d requests, faults %s\n" % (COUNT[0], FAULTS))
