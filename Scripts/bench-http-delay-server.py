#!/usr/bin/python3
"""Loopback range server for Scripts/bench-http and `Scripts/bench-read --latency`: waits DELAY_MS
before the first byte of every response, like an object store's time to first byte. Serves either
one FILE (for every path) or every regular file under a DIRECTORY (URL path = path below it).
GET and HEAD; single ranges (206), several ranges (multipart/byteranges), no Range (200);
HTTP/1.1 keep-alive, one thread per connection, 127.0.0.1 only. With LOG, appends one line per
request: `METHOD PATH STATUS "RANGE" BODY_BYTES`.
Usage: PORT FILE|DIRECTORY DELAY_MS [LOG]"""
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

PORT, ROOT, DELAY = int(sys.argv[1]), os.path.realpath(sys.argv[2]), float(sys.argv[3]) / 1000.0
LOG = open(sys.argv[4], "a", buffering=1) if len(sys.argv) > 4 else None
LOG_LOCK = threading.Lock()
SINGLE_FILE = os.path.isfile(ROOT)
FDS = {}
FDS_LOCK = threading.Lock()


def open_file(url_path):
    """(fd, size) of the file a URL path names, or None; never outside ROOT."""
    if SINGLE_FILE:
        path = ROOT
    else:
        path = os.path.realpath(os.path.join(ROOT, unquote(urlsplit(url_path).path).lstrip("/")))
        if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
            return None
    with FDS_LOCK:
        if path not in FDS:
            fd = os.open(path, os.O_RDONLY)
            FDS[path] = (fd, os.fstat(fd).st_size)
        return FDS[path]


def parse_ranges(header, size):
    """[(first, last)] for a `bytes=` header, [] when absent or not bytes, None if unsatisfiable."""
    if not header.startswith("bytes="):
        return []
    ranges = []
    for spec in header[6:].split(","):
        first, _, last = spec.strip().partition("-")
        if first == "":  # suffix range: the last N bytes
            n = int(last)
            if n == 0:
                return None
            ranges.append((max(0, size - n), size - 1))
            continue
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start > end:
            return None
        ranges.append((start, end))
    return ranges


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; without TCP_NODELAY, Nagle + delayed ACK would
    # add ~40 ms to every response on top of DELAY.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def log_request_line(self, status, body_bytes):
        if LOG:
            with LOG_LOCK:
                LOG.write(
                    f'{self.command} {self.path} {status} "{self.headers.get("Range", "")}" '
                    f"{body_bytes}\n")

    def reply(self, status, headers, parts):
        """Sends status, headers and the body made of `parts` (bytes or (fd, offset, length))."""
        length = sum(len(p) if isinstance(p, bytes) else p[2] for p in parts)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", '"bench"')
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command != "HEAD":
            for p in parts:
                self.wfile.write(p if isinstance(p, bytes) else os.pread(p[0], p[2], p[1]))
        self.log_request_line(status, 0 if self.command == "HEAD" else length)

    def do_GET(self):
        time.sleep(DELAY)
        found = open_file(self.path)
        if found is None:
            self.reply(404, [], [b"not found\n"])
            return
        fd, size = found
        try:
            ranges = parse_ranges(self.headers.get("Range", ""), size)
        except ValueError:
            ranges = []  # malformed Range: ignore it, as servers may
        if ranges is None:
            self.reply(416, [("Content-Range", f"bytes */{size}")], [])
        elif not ranges:
            self.reply(200, [], [(fd, 0, size)])
        elif len(ranges) == 1:
            start, end = ranges[0]
            self.reply(206, [("Content-Range", f"bytes {start}-{end}/{size}")],
                       [(fd, start, end - start + 1)])
        else:
            boundary = "tandembenchboundary"
            parts = []
            for start, end in ranges:
                parts.append(
                    (f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                     f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n").encode())
                parts.append((fd, start, end - start + 1))
            parts.append(f"\r\n--{boundary}--\r\n".encode())
            self.reply(206, [("Content-Type", f"multipart/byteranges; boundary={boundary}")],
                       parts)

    do_HEAD = do_GET


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
