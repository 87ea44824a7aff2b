"""The HTTP front door facing hostile or careless clients: body and header
limits that hold (chunked and compressed bodies included), slow and idle
sockets that cannot starve others, Host/Origin checks against web pages, and
a graceful stop. Every test checks the status it expects and then that the
server still answers /health and a normal /v1/messages request."""
import gzip
import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time
from urllib.parse import urlparse

import httpx
import pytest

from conftest import Server
from paths import build_dir, model_path

OK = {"model": "m", "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]}
ORIGIN = "http://app.example"


@pytest.fixture(scope="module")
def guarded():
    """Small limits, so each one can be crossed quickly."""
    s = Server("--max-body", "1", "--header-timeout", "2", "--read-timeout", "1",
               "--allowed-origins", ORIGIN, "--allowed-hosts", "pensieve.internal")
    yield s
    assert s.stop() == 0


def address(server):
    u = urlparse(server.url)
    return u.hostname, u.port


def still_serves(server):
    """The server answers a probe and a real generation after the test's abuse."""
    with httpx.Client(base_url=server.url, timeout=60) as c:
        assert c.get("/health").status_code == 200
        r = c.post("/v1/messages", json=OK)
        assert r.status_code == 200, r.text
        assert r.json()["content"][0]["type"] == "text"


def error_of(response, status, etype):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == etype, body
    assert response.headers["request-id"].startswith("req_")
    assert body["request_id"] == response.headers["request-id"]
    return body["error"]["message"]


def read_response(sock, timeout=10):
    """Reads one HTTP/1.1 response with a Content-Length body from a raw socket."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a reply: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def closed_within(sock, seconds):
    """True if the server closes (or resets) the socket within `seconds`."""
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


# --- body limits -------------------------------------------------------------

def test_chunked_body_over_the_limit_is_413_before_the_client_finishes(guarded):
    host, port = address(guarded)
    sock = socket.create_connection((host, port))
    sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = b"x" * 65536
    sent = 0
    try:
        while sent < (1 << 20) + 4 * len(piece):  # past the 1 MB limit, and no last chunk
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may stop reading once it has answered
    status, headers, body = read_response(sock)
    sock.close()
    assert status == 413
    envelope = json.loads(body)
    assert envelope["error"]["type"] == "request_too_large"
    assert headers["request-id"] == envelope["request_id"]
    still_serves(guarded)


def test_content_length_over_the_limit_is_413_without_reading_the_body(guarded):
    host, port = address(guarded)
    sock = socket.create_connection((host, port))
    sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
    status, _, body = read_response(sock)  # not one byte of the body was sent
    sock.close()
    assert status == 413
    assert json.loads(body)["error"]["type"] == "request_too_large"
    still_serves(guarded)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_compressed_body_is_refused_with_415(guarded, encoding):
    # 1 MB of zeros inflates from ~1 KB: a server that inflated it first
    # would work for nothing; this one never reads it.
    bomb = gzip.compress(json.dumps(dict(OK, pad="0" * (1 << 20))).encode())
    r = httpx.post(guarded.url + "/v1/messages", content=bomb, timeout=30,
                   headers={"content-type": "application/json", "content-encoding": encoding})
    assert "Content-Encoding" in error_of(r, 415, "invalid_request_error")
    still_serves(guarded)


# --- header limits -----------------------------------------------------------

def test_an_oversized_header_is_431(guarded):
    r = httpx.get(guarded.url + "/health", headers={"x-big": "a" * (32 << 10)}, timeout=30)
    error_of(r, 431, "invalid_request_error")
    still_serves(guarded)


def test_too_many_headers_is_431(guarded):
    headers = {f"x-h{i}": "v" for i in range(150)}
    r = httpx.get(guarded.url + "/health", headers=headers, timeout=30)
    error_of(r, 431, "invalid_request_error")
    still_serves(guarded)


def test_headers_larger_than_the_connection_memory_are_refused(guarded):
    # Past the per-connection memory the HTTP library answers by itself
    # (no JSON envelope), but it answers, and nothing else is disturbed.
    host, port = address(guarded)
    sock = socket.create_connection((host, port))
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-huge: " + b"a" * (1 << 20))
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, _, _ = read_response(sock)
    sock.close()
    assert status == 431
    still_serves(guarded)


# --- slow and idle clients ----------------------------------------------------

def test_300_idle_and_slow_sockets_do_not_delay_a_normal_request(guarded):
    host, port = address(guarded)
    socks = []
    try:
        for i in range(300):
            s = socket.create_connection((host, port))
            if i % 2:  # half a header, then nothing
                s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
            socks.append(s)
        begin = time.time()
        still_serves(guarded)
        assert time.time() - begin < 10  # "not stuck": usually well under a second
        # The header deadline (2 s here) cuts them all.
        assert all(closed_within(s, 10) for s in socks)
    finally:
        for s in socks:
            s.close()
    still_serves(guarded)


def test_a_client_dribbling_its_headers_is_cut_at_the_header_deadline(guarded):
    host, port = address(guarded)
    sock = socket.create_connection((host, port))
    begin = time.time()
    closed = False
    try:
        # A byte every 0.3 s: never quiet long enough for an idle timeout.
        for b in b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: " + b"a" * 100:
            sock.sendall(bytes([b]))
            if closed_within(sock, 0.3):
                closed = True
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    sock.close()
    assert closed
    assert time.time() - begin < 2 + 3  # the 2 s deadline, with slack for a busy machine
    still_serves(guarded)


def test_a_generation_longer_than_the_read_timeout_is_still_answered(guarded):
    # The read timeout (1 s here) bounds a silent client, not a busy handler.
    body = {"model": "m", "max_tokens": 300, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}]}
    r = httpx.post(guarded.url + "/v1/messages", json=body, timeout=120)
    assert r.status_code == 200, r.text
    handler_ms = float(r.headers["server-timing"].split("handler;dur=")[1])
    assert handler_ms > 1000, "the generation was too short to test the timeout"
    with httpx.stream("POST", guarded.url + "/v1/messages", json=dict(body, stream=True),
                      timeout=120) as s:
        assert s.status_code == 200
        lines = list(s.iter_lines())
    assert "event: message_stop" in lines
    still_serves(guarded)


def test_replies_tell_pooling_clients_to_drop_idle_connections_before_the_deadline(guarded):
    r = httpx.get(guarded.url + "/health", timeout=30)
    assert r.status_code == 200
    assert r.headers["keep-alive"] == "timeout=1"  # the header deadline is 2 s here
    still_serves(guarded)


# --- browser-origin protection ---------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:7777", "127.0.0.1.evil.example"])
def test_a_foreign_host_is_403(guarded, host):
    for method, path in (("GET", "/health"), ("POST", "/v1/messages")):
        r = httpx.request(method, guarded.url + path, json=OK, headers={"host": host}, timeout=30)
        error_of(r, 403, "permission_error")
    still_serves(guarded)


@pytest.mark.parametrize("host", ["localhost", "localhost:9", "127.0.0.1", "[::1]:7777",
                                  "pensieve.internal", "PENSIEVE.internal:8080"])
def test_loopback_and_allowed_hosts_are_served(guarded, host):
    r = httpx.post(guarded.url + "/v1/messages", json=OK, headers={"host": host}, timeout=60)
    assert r.status_code == 200, r.text


def test_a_foreign_origin_is_403(guarded):
    evil = {"origin": "http://evil.example"}
    error_of(httpx.post(guarded.url + "/v1/messages", json=OK, headers=evil, timeout=30),
             403, "permission_error")
    error_of(httpx.get(guarded.url + "/v1/models", headers=evil, timeout=30),
             403, "permission_error")
    preflight = httpx.options(guarded.url + "/v1/messages", timeout=30,
                              headers={**evil, "access-control-request-method": "POST"})
    error_of(preflight, 403, "permission_error")
    assert "access-control-allow-origin" not in preflight.headers
    still_serves(guarded)


def test_an_allowed_origin_gets_a_preflight_and_cors_headers(guarded):
    r = httpx.options(guarded.url + "/v1/messages", timeout=30, headers={
        "origin": ORIGIN, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-api-key, anthropic-version"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "x-api-key" in r.headers["access-control-allow-headers"]
    ok = httpx.post(guarded.url + "/v1/messages", json=OK, headers={"origin": ORIGIN}, timeout=60)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    plain = httpx.post(guarded.url + "/v1/messages", json=OK, timeout=60)
    assert "access-control-allow-origin" not in plain.headers
    still_serves(guarded)


def test_the_servers_own_page_is_allowed_and_other_origins_are_not(guarded):
    """The built-in page's requests carry its own origin, which is the Host
    they name: allowed, without CORS. Another port or scheme on the same
    host is another origin; a rebinding page naming itself in both Host and
    Origin is refused by the Host check."""
    host, port = address(guarded)
    own = {"origin": f"http://{host}:{port}"}
    r = httpx.post(guarded.url + "/v1/messages", json=OK, headers=own, timeout=60)
    assert r.status_code == 200, r.text
    assert "access-control-allow-origin" not in r.headers
    assert httpx.get(guarded.url + "/metrics", headers=own, timeout=30).status_code == 200
    for other in (f"http://{host}:{port + 1}", f"https://{host}:{port}", "null",
                  f"http://localhost:{port}"):
        error_of(httpx.post(guarded.url + "/v1/messages", json=OK, headers={"origin": other},
                            timeout=30), 403, "permission_error")
    rebound = {"host": f"evil.example:{port}", "origin": f"http://evil.example:{port}"}
    error_of(httpx.post(guarded.url + "/v1/messages", json=OK, headers=rebound, timeout=30),
             403, "permission_error")
    still_serves(guarded)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_post_that_is_not_json_is_415(guarded, content_type):
    r = httpx.post(guarded.url + "/v1/messages", content=json.dumps(OK).encode(),
                   headers={"content-type": content_type}, timeout=30)
    assert "Content-Type" in error_of(r, 415, "invalid_request_error")
    still_serves(guarded)


def test_json_with_a_charset_is_accepted(guarded):
    r = httpx.post(guarded.url + "/v1/messages", content=json.dumps(OK).encode(), timeout=60,
                   headers={"content-type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 200, r.text


# --- request framing --------------------------------------------------------------------

BODY = json.dumps(OK).encode()
HIDDEN = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n"


def chunked(body):
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


@pytest.mark.parametrize("framing, body", [
    (b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(BODY), len(BODY) + len(HIDDEN)),
     BODY + HIDDEN),
    (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", chunked(BODY) + HIDDEN),
    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", chunked(BODY) + HIDDEN),
], ids=["two-lengths", "length-and-chunked", "two-encodings"])
def test_a_body_of_ambiguous_length_is_400_and_nothing_after_it_is_served(guarded, framing, body):
    """Request smuggling: where two parsers could disagree on where the body
    ends, the request is refused and the connection closed, so the request
    hidden after it is never answered."""
    with socket.create_connection(address(guarded)) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: application/json\r\n" + framing + b"\r\n" + body)
        status, headers, reply = read_response(sock)
        assert status == 400
        error = json.loads(reply)["error"]
        assert error["type"] == "invalid_request_error"
        assert "Content-Length" in error["message"] or "Transfer-Encoding" in error["message"]
        assert headers["connection"] == "close" and "keep-alive" not in headers
        assert closed_within(sock, 5)
    still_serves(guarded)


def test_an_absolute_form_target_is_served_and_its_authority_is_the_host(guarded):
    """RFC 9112 section 3.2.2: the target's authority stands for the Host
    header, so the Host checks hold as for an origin-form request."""
    host, port = address(guarded)
    for authority, expected in ((f"127.0.0.1:{port}", 200), ("evil.example", 403)):
        with socket.create_connection((host, port)) as sock:
            sock.sendall(f"GET http://{authority}/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            status, _, _ = read_response(sock)
            assert status == expected, authority
    still_serves(guarded)


# --- the listening socket and the descriptors -------------------------------------------

def serve_on(port, *args):
    return subprocess.Popen([str(build_dir() / "pensieve"), "serve", "-m", str(model_path("smollm2")),
                             "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_server_on_a_port_in_use_fails_instead_of_sharing_it():
    s = Server()
    try:
        second = serve_on(address(s)[1])
        _, err = second.communicate(timeout=60)
        assert second.returncode != 0 and "cannot listen" in err, err
        for _ in range(10):  # every connection still reaches the one server
            assert httpx.get(s.url + "/health", timeout=30).status_code == 200
    finally:
        assert s.stop() == 0


def test_a_server_restarts_on_its_port_at_once():
    """Connections the last server closed (TIME_WAIT) do not keep the port."""
    s = Server()
    port = address(s)[1]
    with httpx.Client(base_url=s.url, timeout=60) as c:
        assert c.get("/health").status_code == 200
    assert s.stop() == 0
    again = serve_on(port)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            line = again.stdout.readline()
            assert line, again.stderr.read()
            if f":{port}" in line:
                break
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_more_connections_than_the_open_file_limit_allows_are_capped_not_spun_on():
    """With --max-connections past RLIMIT_NOFILE, accept() would fail with
    EMFILE forever on a readable listening socket; the cap is lowered to what
    the limit allows, with a warning, and the server stays idle."""
    s = Server("--max-connections", "200",
               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
    try:
        idle = [socket.create_connection(address(s)) for _ in range(80)]
        time.sleep(1)
        before = cpu_seconds(s.proc.pid)
        time.sleep(3)
        assert cpu_seconds(s.proc.pid) - before < 0.5
        for sock in idle:
            sock.close()
        still_serves(s)
    finally:
        assert s.stop() == 0
    assert any("open-file limit" in line for line in s.log_lines()), s.log_lines()


# --- flags from the environment and the config file -----------------------------------

def test_connection_cap_and_limits_from_env_and_config_file(tmp_path):
    config = tmp_path / "pensieve.toml"
    config.write_text('max-connections = 8\nallowed-origins = "http://cfg.example"\n')
    # A header deadline long enough that the ninth connection comes before it
    # frees the idle ones, even on a loaded machine (2 s was not, in parallel runs).
    s = Server("--config", str(config),
               env={"PENSIEVE_HEADER_TIMEOUT": "5", "PENSIEVE_ALLOWED_HOSTS": "env.example"})
    try:
        with httpx.Client(base_url=s.url, timeout=60) as c:
            assert c.get("/health", headers={"host": "env.example"}).status_code == 200
            assert c.get("/health", headers={"origin": "http://cfg.example"}).status_code == 200
            error_of(c.get("/health", headers={"origin": "http://other.example"}),
                     403, "permission_error")
        host, port = address(s)
        idle = [socket.create_connection((host, port)) for _ in range(8)]
        time.sleep(0.3)
        # The ninth connection is over the cap: refused (closed unanswered).
        with pytest.raises(httpx.TransportError):
            httpx.get(s.url + "/health", timeout=5)
        # The header deadline frees the slots.
        assert all(closed_within(sock, 10) for sock in idle)
        for sock in idle:
            sock.close()
        still_serves(s)
    finally:
        assert s.stop() == 0


# --- graceful stop ----------------------------------------------------------------------

def stream_events(url, body, started, events, errors):
    try:
        with httpx.stream("POST", url + "/v1/messages", json=body, timeout=120) as r:
            name = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[len("data: "):])))
                    if name == "content_block_delta":
                        started.set()
    except httpx.HTTPError as e:
        errors.append(e)


def start_streams(server, body, n):
    """Starts n streams and waits for a token of each. The bodies are greedy:
    sampled, the model sometimes ends its story before the signal comes."""
    started = [threading.Event() for _ in range(n)]
    events = [[] for _ in range(n)]
    errors = []
    threads = [threading.Thread(target=stream_events, args=(server.url, body, started[i],
                                                            events[i], errors), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    for e in started:
        assert e.wait(60), "no token arrived"
    return threads, events, errors


def test_sigterm_lets_streams_in_flight_finish_within_the_grace():
    s = Server("--shutdown-grace", "60")
    body = {"model": "m", "max_tokens": 200, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}]}
    threads, events, errors = start_streams(s, body, 2)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert s.proc.poll() is None, "the streams ended before the signal: nothing was tested"
    # No new connection is accepted while the streams finish.
    with pytest.raises(httpx.TransportError):
        httpx.get(s.url + "/health", timeout=5)
    assert s.proc.wait(timeout=60) == 0
    for t in threads:
        t.join(timeout=10)
    assert not errors
    for evs in events:
        names = [name for name, _ in evs]
        assert names[-1] == "message_stop", names
        assert "error" not in names


def test_sigterm_ends_streams_past_the_grace_with_an_error_event():
    s = Server("--shutdown-grace", "1")
    body = {"model": "m", "max_tokens": 5000, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a very long story."}]}
    threads, events, errors = start_streams(s, body, 2)
    begin = time.time()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0
    assert time.time() - begin < 1 + 5  # the grace, then prompt cancellation
    for t in threads:
        t.join(timeout=10)
    assert not errors
    for evs in events:
        name, data = evs[-1]
        assert name == "error", evs[-3:]
        assert data["error"]["type"] == "api_error"
        assert "shutting down" in data["error"]["message"]


def test_sigterm_answers_a_waiting_non_streaming_request_with_503():
    s = Server("--shutdown-grace", "1", "--parallel", "1")
    long_body = {"model": "m", "max_tokens": 5000, "temperature": 0,
                 "messages": [{"role": "user", "content": "Write a very long story."}]}
    results = []

    def post():
        results.append(httpx.post(s.url + "/v1/messages", json=long_body, timeout=120))

    threads = [threading.Thread(target=post, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while time.time() < deadline:  # one generating, one queued behind it
        h = httpx.get(s.url + "/health", timeout=5).json()
        if h["in_flight"] == 1 and h["queued"] == 1:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the two requests never got in flight")
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0
    for t in threads:
        t.join(timeout=10)
    assert len(results) == 2
    for r in results:
        assert "shutting down" in error_of(r, 503, "api_error")


def test_a_second_signal_exits_at_once():
    s = Server("--shutdown-grace", "120")
    body = {"model": "m", "max_tokens": 5000, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a very long story."}]}
    threads, _, _ = start_streams(s, body, 1)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert s.proc.poll() is None  # still draining within its grace
    begin = time.time()
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(timeout=10) == 128 + signal.SIGINT
    assert time.time() - begin < 5
