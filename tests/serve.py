"""The real `pensieve serve` on a free port, for every suite that talks to it
over HTTP (tests/api, tests/e2e). Nothing is mocked: clients talk HTTP to the
real server, which runs the real model."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from paths import build_dir, model_path


class Server:
    def __init__(self, *args, env=None, model="smollm2", preexec_fn=None):
        """`model`: a name known to tests/paths.py; `preexec_fn` runs in the
        child before the server starts (e.g. to lower a resource limit)."""
        binary = build_dir() / "pensieve"
        if not binary.exists():
            pytest.fail(f"{binary} is not built")
        model = model_path(model)
        self.proc = subprocess.Popen(
            [str(binary), "serve", "-m", str(model), "--port", "0", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=None if env is None else {**os.environ, **env}, preexec_fn=preexec_fn)
        self.url = None
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = re.search(r"on (http://[\d.]+:\d+)", line)
            if match:
                self.url = match.group(1)
                break
        if self.url is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + self.proc.stderr.read())
        # The server logs a line per request on stderr: read it all the time,
        # or a full pipe would block the server's writes.
        self.log = []
        self._log_lock = threading.Lock()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self):
        for line in self.proc.stderr:
            with self._log_lock:
                self.log.append(line)

    def log_lines(self):
        with self._log_lock:
            return list(self.log)

    def stop(self):
        """Stops the server; its whole log is then in log_lines()."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._drainer.join(timeout=5)
