#!/usr/bin/env python3
"""A webhook receiver for the health tests: on 127.0.0.1:PORT, appends each
POST body as one line to FILE and answers 200.  Usage: webhook_receiver.py PORT FILE"""
import http.server
import sys

port, path = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(path, "ab") as f:
            f.write(self.path.encode() + b" " + body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
