"""A real HTTP server on loopback that answers like the Hugging Face Hub, for
`pensieve pull` tests (no network):

- GET /api/models/OWNER/REPO[/revision/REV]: {"siblings": [{"rfilename": ...}]}
- GET /OWNER/REPO/resolve/REV/PATH (PATH percent-decoded): a 302 to http://localhost:PORT/lfs/SHA
  (another host name than the 127.0.0.1 endpoint, as Hugging Face redirects
  to its CDN) carrying X-Linked-Etag, X-Linked-Size, X-Repo-Commit and ETag;
  404 with X-Error-Code RepoNotFound / EntryNotFound otherwise
- GET /lfs/SHA: the bytes, with Range support (206 + Content-Range)
- GET /plain/NAME: the bytes with a bare 64-hex ETag (any https:// URL)
- GET /bare/NAME: the bytes with neither a size nor a hash, ended by closing
  the connection (a server that states nothing to check a download against)
- GET /endless/NAME: the GGUF magic, then zeros without a size, until the
  count given or the client leaves
- GET /drip/NAME: announces 1 MiB, then sends 100 bytes every half second
  (200 bytes/s) until the client leaves

Switches let a test make it drop the connection part-way, lie about a hash,
ignore Range or announce a huge size. Every request's path and headers are
recorded.
"""
import hashlib
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self):
        self.repos = {}          # "owner/repo" -> {path: bytes}
        self.plain = {}          # name -> bytes
        self.bare = {}           # name -> bytes, served without length or hash
        self.endless = {}        # name -> bytes to send at most, without length or hash
        self.drip = set()        # names served at 200 bytes/s
        self.requests = []       # (host header, path, {header: value})
        self.drop_after = {}     # sha -> fraction: the next full GET stops there, once
        self.lie_sha = set()     # repo paths whose X-Linked-Etag is wrong
        self.ignore_range = False
        self.announce_size = {}  # repo path -> X-Linked-Size and Content-Length to claim
        self.blobs = {}          # sha -> bytes
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.requests.append((self.headers.get("Host", ""), self.path,
                                     {k.lower(): v for k, v in self.headers.items()}))
                hub.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def add(self, repo, path, data):
        self.repos.setdefault(repo, {})[path] = data
        self.blobs[hashlib.sha256(data).hexdigest()] = data

    def paths_requested(self):
        return [p for _, p, _ in self.requests]

    # -- responses ---------------------------------------------------------

    @staticmethod
    def send(h, status, body=b"", headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def handle(self, h):
        path = h.path
        m = re.fullmatch(r"/api/models/([^/]+)/([^/]+)(?:/revision/([^/]+))?", path)
        if m:
            repo = f"{m.group(1)}/{m.group(2)}"
            if repo not in self.repos:
                return self.send(h, 404, b'{"error":"Repository not found"}',
                                 [("X-Error-Code", "RepoNotFound")])
            body = json.dumps({"id": repo, "sha": COMMIT,
                               "siblings": [{"rfilename": f} for f in
                                            [".gitattributes", "README.md", *self.repos[repo]]]})
            return self.send(h, 200, body.encode(), [("Content-Type", "application/json")])
        m = re.fullmatch(r"/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            return self.resolve(h, f"{m.group(1)}/{m.group(2)}", unquote(m.group(4)))
        m = re.fullmatch(r"/lfs/([0-9a-f]{64})", path)
        if m and m.group(1) in self.blobs:
            return self.serve_bytes(h, self.blobs[m.group(1)], m.group(1), [("ETag", '"cdn-etag"')])
        m = re.fullmatch(r"/plain/(.+)", path)
        if m and m.group(1) in self.plain:
            data = self.plain[m.group(1)]
            sha = hashlib.sha256(data).hexdigest()
            return self.serve_bytes(h, data, sha, [("ETag", sha)])
        m = re.fullmatch(r"/bare/(.+)", path)
        if m and m.group(1) in self.bare:
            return self.send_unsized(h, self.bare[m.group(1)])
        m = re.fullmatch(r"/endless/(.+)", path)
        if m and m.group(1) in self.endless:
            return self.send_endless(h, self.endless[m.group(1)])
        m = re.fullmatch(r"/drip/(.+)", path)
        if m and m.group(1) in self.drip:
            return self.send_drip(h)
        self.send(h, 404, b"Not Found")

    @staticmethod
    def send_unsized(h, data):
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)
        h.close_connection = True

    @staticmethod
    def send_endless(h, count):
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        chunk = b"\0" * (1 << 20)
        try:
            h.wfile.write(b"GGUF")
            for _ in range(count >> 20):
                h.wfile.write(chunk)
        except OSError:
            pass  # the client stopped reading

    @staticmethod
    def send_drip(h):
        h.send_response(200)
        h.send_header("Content-Length", str(1 << 20))
        h.end_headers()
        h.close_connection = True
        try:
            h.wfile.write(b"GGUF")
            for _ in range((1 << 20) // 100):
                time.sleep(0.5)
                h.wfile.write(b"\0" * 100)
                h.wfile.flush()
        except OSError:
            pass  # the client gave up

    def resolve(self, h, repo, path):
        if repo not in self.repos:
            return self.send(h, 404, b"Repository not found", [("X-Error-Code", "RepoNotFound")])
        if path not in self.repos[repo]:
            return self.send(h, 404, b"Entry not found", [("X-Error-Code", "EntryNotFound")])
        data = self.repos[repo][path]
        sha = hashlib.sha256(data).hexdigest()
        stated = "0" * 64 if path in self.lie_sha else sha
        size = self.announce_size.get(path, len(data))
        self.send(h, 302, b"", [
            ("Location", f"http://localhost:{self.port}/lfs/{sha}"),
            ("X-Linked-Etag", f'"{stated}"'),
            ("X-Linked-Size", str(size)),
            ("X-Repo-Commit", COMMIT),
            ("ETag", '"a3f1c0ffee0123456789abcdef0123456789abcd"'),  # git blob id of the pointer
        ])

    def serve_bytes(self, h, data, sha, extra):
        claimed = next((s for p, s in self.announce_size.items()
                        if hashlib.sha256(self.find_repo_data(p) or b"").hexdigest() == sha), None)
        if claimed is not None:  # a file too large for the disk: headers only
            self.send(h, 200, b"", [("Content-Length", str(claimed)), *extra])
            h.close_connection = True
            return
        start = 0
        rng = h.headers.get("Range")
        if rng and not self.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            start = int(m.group(1))
            if start >= len(data):
                return self.send(h, 416, b"", [("Content-Range", f"bytes */{len(data)}")])
            body = data[start:]
            headers = [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"), *extra]
            status = 206
        else:
            body, headers, status = data, list(extra), 200
        fraction = self.drop_after.pop(sha, None) if start == 0 else None
        if fraction is None:
            return self.send(h, status, body, headers)
        # Announce everything, send a part, then cut the connection.
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:int(len(body) * fraction)])
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
        h.close_connection = True

    def find_repo_data(self, path):
        for files in self.repos.values():
            if path in files:
                return files[path]
        return None
