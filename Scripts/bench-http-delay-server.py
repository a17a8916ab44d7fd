#!/usr/bin/python3
"""Loopback range server for Scripts/bench-http: serves one file with single-range support and
waits DELAY_MS before the first byte of every response, like an object store's time to first
byte. HTTP/1.1 keep-alive, one thread per connection. Usage: PORT FILE DELAY_MS"""
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, PATH, DELAY = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]) / 1000.0
with open(PATH, "rb") as f:
    DATA = f.read()
SIZE = len(DATA)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; without TCP_NODELAY, Nagle + delayed ACK would
    # add ~40 ms to every response on top of DELAY.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        time.sleep(DELAY)
        header = self.headers.get("Range", "")
        if header.startswith("bytes=") and "," not in header:
            first, _, last = header[6:].partition("-")
            start = int(first)
            end = min(int(last) if last else SIZE - 1, SIZE - 1)
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{SIZE}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{SIZE}")
        else:
            start, end = 0, SIZE - 1
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", '"bench"')
        self.end_headers()
        self.wfile.write(DATA[start : end + 1])


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
