"""`pensieve pull` from the web, `models`, `rm` and `show`, against a real
HTTP server on loopback that answers like the Hugging Face Hub
(fake_hub.py) with HF_ENDPOINT pointing at it. The GGUF files are written
here with the PyPI `gguf` package; nothing leaves the machine."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from fake_hub import FakeHub
from serve import Server

TOKEN = "hf_test_token_123"
CHAT_TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"


def make_gguf(path: Path, rows=1024, split=None):
    """A small llama-shaped GGUF: a Q8_0 matrix, an F32 norm, a vocabulary and
    a chat template. `split` = (index, count) adds the split.* keys."""
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny test model")
    w.add_context_length(2048)
    w.add_embedding_length(256)
    w.add_block_count(1)
    w.add_feed_forward_length(512)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(["<s>", "</s>", "a", "b"])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_chat_template(CHAT_TEMPLATE)
    if split:
        w.add_uint16("split.no", split[0] - 1)
        w.add_uint16("split.count", split[1])
        w.add_int32("split.tensors.count", 2 * split[1])
    rng = np.random.default_rng(rows + (split[0] if split else 0))
    data = rng.standard_normal((rows, 256), dtype=np.float32)
    q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
    prefix = f"blk.{split[0]}." if split else ""
    w.add_tensor(prefix + "token_embd.weight", q,
                 raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor(prefix + "output_norm.weight", np.ones(256, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("gguf")
    files = {"tiny-Q8_0.gguf": make_gguf(d / "a.gguf", rows=1024),
             "tiny-Q4_K_M.gguf": make_gguf(d / "b.gguf", rows=512)}
    for i in (1, 2, 3):
        files[f"big-Q8_0-{i:05d}-of-00003.gguf"] = make_gguf(d / f"s{i}.gguf", rows=128,
                                                              split=(i, 3))
    return files


@pytest.fixture
def hub(tiny):
    h = FakeHub()
    h.add("acme/tiny-GGUF", "tiny-Q8_0.gguf", tiny["tiny-Q8_0.gguf"])
    h.add("acme/tiny-GGUF", "tiny-Q4_K_M.gguf", tiny["tiny-Q4_K_M.gguf"])
    h.add("acme/tiny-GGUF", "mmproj-tiny-Q8_0.gguf", b"GGUF" + b"\0" * 60)
    for i in (1, 2, 3):
        name = f"big-Q8_0-{i:05d}-of-00003.gguf"
        h.add("acme/big-GGUF", f"Q8_0/{name}", tiny[name])
    yield h
    h.close()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def pull_env(hub, home, **extra):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "hf_token")}
    env.update(HF_ENDPOINT=hub.endpoint, PENSIEVE_HOME=str(home),
               PENSIEVE_PORT=str(free_port()), **extra)
    return env


def run(binary, env, *args, timeout=60):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def model_files(home):
    d = home / "models"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_resume_after_the_server_drops_the_connection_at_30_percent(pensieve_bin, hub, home,
                                                                    tiny):
    data = tiny["tiny-Q8_0.gguf"]
    sha = hashlib.sha256(data).hexdigest()
    hub.drop_after[sha] = 0.3
    env = pull_env(hub, home, HF_TOKEN=TOKEN)
    first = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "connection" in first.stderr and "run the same `pensieve pull` again to resume" \
        in first.stderr, first.stderr
    partial = home / "models" / "tiny-Q8_0.gguf.partial"
    assert model_files(home) == ["tiny-Q8_0.gguf.partial"]
    kept = partial.stat().st_size
    assert kept == int(len(data) * 0.3)

    second = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert second.returncode == 0, second.stderr
    assert "resuming tiny-Q8_0.gguf" in second.stderr
    assert second.stdout.startswith("pulled: ")
    assert model_files(home) == ["tiny-Q8_0.gguf"]
    assert (home / "models" / "tiny-Q8_0.gguf").read_bytes() == data
    lfs = [(host, headers) for host, path, headers in hub.requests if path == f"/lfs/{sha}"]
    assert len(lfs) == 2
    assert "range" not in lfs[0][1]
    assert lfs[1][1]["range"] == f"bytes={kept}-"
    # The token goes to the endpoint, never to the other host the redirect names.
    resolves = [h for _, p, h in hub.requests if "/resolve/" in p]
    assert resolves and all(h.get("authorization") == f"Bearer {TOKEN}" for h in resolves)
    assert all(host.startswith("localhost:") for host, _ in lfs)
    assert all("authorization" not in h for _, h in lfs)

    third = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert third.returncode == 0, third.stderr
    assert third.stdout.startswith("already present: ")
    assert len([p for p in hub.paths_requested() if p.startswith("/lfs/")]) == 2


def test_an_unreachable_endpoint_is_a_clear_error(pensieve_bin, hub, home):
    env = {**pull_env(hub, home), "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    result = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot download http://127.0.0.1:"), result.stderr
    assert model_files(home) == []


def test_a_server_that_ignores_range_gets_a_clean_restart(pensieve_bin, hub, home, tiny):
    data = tiny["tiny-Q8_0.gguf"]
    hub.drop_after[hashlib.sha256(data).hexdigest()] = 0.3
    env = pull_env(hub, home)
    assert run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf").returncode == 1
    hub.ignore_range = True
    again = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert again.returncode == 0, again.stderr
    assert "cannot resume" in again.stderr
    assert (home / "models" / "tiny-Q8_0.gguf").read_bytes() == data


def test_a_checksum_mismatch_deletes_the_download(pensieve_bin, hub, home):
    hub.lie_sha.add("tiny-Q8_0.gguf")
    result = run(pensieve_bin, pull_env(hub, home), "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert result.returncode == 1
    assert "SHA-256 mismatch for tiny-Q8_0.gguf" in result.stderr, result.stderr
    assert model_files(home) == []


def test_sha256_option_is_checked_too(pensieve_bin, hub, home, tiny):
    env = pull_env(hub, home)
    wrong = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf",
                "--sha256", "ab" * 32)
    assert wrong.returncode == 1
    assert "--sha256" in wrong.stderr and model_files(home) == []
    hub.plain["plain.gguf"] = tiny["tiny-Q4_K_M.gguf"]
    url = f"http://localhost:{hub.port}/plain/plain.gguf"
    bad = run(pensieve_bin, env, "pull", url, "--sha256", "cd" * 32)
    assert bad.returncode == 1 and "not the " + "cd" * 32 in bad.stderr, bad.stderr
    good = run(pensieve_bin, env, "pull", url, "--sha256",
               hashlib.sha256(tiny["tiny-Q4_K_M.gguf"]).hexdigest().upper())
    assert good.returncode == 0, good.stderr
    assert model_files(home) == ["plain.gguf"]


def test_a_plain_url_gets_no_token(pensieve_bin, hub, home, tiny):
    hub.plain["other.gguf"] = tiny["tiny-Q8_0.gguf"]
    result = run(pensieve_bin, pull_env(hub, home, HF_TOKEN=TOKEN), "pull",
                 f"http://localhost:{hub.port}/plain/other.gguf")
    assert result.returncode == 0, result.stderr
    (_, _, headers), = [r for r in hub.requests if r[1] == "/plain/other.gguf"]
    assert "authorization" not in headers


def test_404s_name_what_is_missing(pensieve_bin, hub, home):
    env = pull_env(hub, home)
    no_file = run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF/absent-Q2_K.gguf")
    assert no_file.returncode == 1
    assert "no file absent-Q2_K.gguf in acme/tiny-GGUF at revision main (HTTP 404)" \
        in no_file.stderr, no_file.stderr
    no_repo = run(pensieve_bin, env, "pull", "nobody/nothing-GGUF:Q4_K_M")
    assert no_repo.returncode == 1
    assert "no repository nobody/nothing-GGUF" in no_repo.stderr, no_repo.stderr
    url = run(pensieve_bin, env, "pull", f"{hub.endpoint}/plain/absent.gguf")
    assert url.returncode == 1 and "not found (HTTP 404)" in url.stderr, url.stderr
    assert model_files(home) == []


def test_a_file_that_is_not_gguf_is_refused(pensieve_bin, hub, home):
    hub.add("acme/tiny-GGUF", "page-Q8_0.gguf", b"<!DOCTYPE html><html>sign in</html>" * 100)
    result = run(pensieve_bin, pull_env(hub, home), "pull", "hf://acme/tiny-GGUF/page-Q8_0.gguf")
    assert result.returncode == 1
    assert 'page-Q8_0.gguf is not a GGUF file (it starts with "<!DO")' in result.stderr, \
        result.stderr
    assert model_files(home) == []


def test_with_no_size_and_no_hash_a_cut_gguf_is_refused_and_a_whole_one_kept(pensieve_bin, hub,
                                                                            home, tiny):
    data = tiny["tiny-Q8_0.gguf"]
    hub.bare["cut.gguf"] = data[:len(data) // 2]
    env = pull_env(hub, home)
    cut = run(pensieve_bin, env, "pull", f"{hub.endpoint}/bare/cut.gguf")
    assert cut.returncode == 1, cut.stdout + cut.stderr
    assert "\nerror: cut.gguf is not a whole GGUF file (tensor 'token_embd.weight': data " \
        in cut.stderr, cut.stderr
    assert "the download was deleted" in cut.stderr
    assert model_files(home) == []

    hub.bare["whole.gguf"] = data
    whole = run(pensieve_bin, env, "pull", f"{hub.endpoint}/bare/whole.gguf")
    assert whole.returncode == 0, whole.stderr
    assert "states neither a size nor a SHA-256 for whole.gguf; only its GGUF structure was " \
        "checked" in whole.stderr, whole.stderr
    # Progress shows what came, not a share of an unknown total.
    assert "MiB (size not stated)" in whole.stderr and "0.0/0.0 MiB" not in whole.stderr, \
        whole.stderr
    assert (home / "models" / "whole.gguf").read_bytes() == data


def on_a_small_disk(mount: Path, mib: int):
    """An argv prefix that runs a command with a tmpfs of `mib` MiB mounted at
    `mount`, in a mount namespace of its own (nothing outside sees it)."""
    if shutil.which("unshare") is None or \
            subprocess.run(["unshare", "-r", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs `unshare -r -m` (user namespaces) to mount a small tmpfs")
    return ["unshare", "-r", "-m", "sh", "-c",
            f'mount -t tmpfs -o size={mib}m tmpfs "$0" && exec "$@"', str(mount)]


def test_a_download_of_unstated_size_stops_short_of_filling_the_disk(pensieve_bin, hub, home):
    models = home / "models"
    models.mkdir(parents=True)
    hub.endless["endless.gguf"] = 64 << 20
    result = subprocess.run([*on_a_small_disk(models, 40), str(pensieve_bin), "pull",
                             f"{hub.endpoint}/endless/endless.gguf"],
                            capture_output=True, text=True, env=pull_env(hub, home), timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    m = re.search(r"error: the server states no size for endless\.gguf and sent more than the "
                  r"([0-9.]+) MiB the disk has room for \(the free space in (.*) less 16\.0 MiB "
                  r"kept free\); the download was deleted", result.stderr)
    assert m, result.stderr
    assert 20 <= float(m.group(1)) <= 24 and m.group(2) == str(models)
    assert model_files(home) == []


def test_a_download_that_drips_below_1_kib_per_second_for_60_seconds_stops(pensieve_bin, hub,
                                                                           home):
    """Takes a minute: the window is the real one."""
    hub.drip.add("slow.gguf")
    start = time.monotonic()
    result = run(pensieve_bin, pull_env(hub, home), "pull", f"{hub.endpoint}/drip/slow.gguf",
                 timeout=120)
    assert 55 < time.monotonic() - start < 90
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: connection lost while downloading slow.gguf" in result.stderr, result.stderr
    assert "Less than 1024 bytes/sec transferred the last 60 seconds" in result.stderr
    assert "run the same `pensieve pull` again to resume" in result.stderr
    assert model_files(home) == ["slow.gguf.partial"]


def test_a_file_larger_than_the_free_disk_is_refused_before_download(pensieve_bin, hub, home):
    hub.announce_size["tiny-Q8_0.gguf"] = 1 << 55
    result = run(pensieve_bin, pull_env(hub, home), "pull", "hf://acme/tiny-GGUF/tiny-Q8_0.gguf")
    assert result.returncode == 1
    assert "not enough disk space" in result.stderr, result.stderr
    assert model_files(home) == []


def test_a_split_model_is_fetched_whole_and_listed_once(pensieve_bin, hub, home, tiny):
    env = pull_env(hub, home)
    result = run(pensieve_bin, env, "pull", "hf://acme/big-GGUF/Q8_0/big-Q8_0-00001-of-00003.gguf")
    assert result.returncode == 0, result.stderr
    assert "fetching them all" in result.stderr
    names = [f"big-Q8_0-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]
    assert model_files(home) == names
    for n in names:
        assert (home / "models" / n).read_bytes() == tiny[n]
    listing = run(pensieve_bin, env, "models")
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if line.startswith("big-Q8_0")]
    assert len(rows) == 1 and "split into 3 files" in listing.stdout, listing.stdout
    # The loader maps every part (these parts hold blk.N.* test tensors, not
    # a whole model): the error names the model's missing tensor, never a
    # missing or refused part, and nothing crashes.
    loaded = run(pensieve_bin, env, "run", "--model", "big-Q8_0", "hi")
    assert loaded.returncode == 1, loaded.stderr
    assert "missing tensor 'token_embd.weight'" in loaded.stderr, loaded.stderr
    removed = run(pensieve_bin, env, "rm", "big-Q8_0")
    assert removed.returncode == 0, removed.stderr
    assert model_files(home) == []


def test_a_split_name_claiming_too_many_parts_is_refused(pensieve_bin, hub, home, tiny):
    hub.add("acme/many-GGUF", "m-Q4_K_M-00001-of-99999.gguf", tiny["tiny-Q4_K_M.gguf"])
    env = pull_env(hub, home)
    for source in ["acme/many-GGUF:Q4_K_M", "hf://acme/many-GGUF/m-Q4_K_M-00001-of-99999.gguf"]:
        result = run(pensieve_bin, env, "pull", source)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "error: m-Q4_K_M-00001-of-99999.gguf names a split model of 99999 parts; " \
            "`pensieve pull` fetches at most 1000 parts" in result.stderr, result.stderr
    assert not [p for p in hub.paths_requested() if "/resolve/" in p]
    assert model_files(home) == []


def test_quant_selection_from_the_file_list(pensieve_bin, hub, home, tiny):
    env = pull_env(hub, home, HF_TOKEN=TOKEN)
    result = run(pensieve_bin, env, "pull", "acme/tiny-GGUF:q8_0")
    assert result.returncode == 0, result.stderr
    assert "acme/tiny-GGUF:q8_0 is tiny-Q8_0.gguf" in result.stderr  # not the mmproj file
    assert model_files(home) == ["tiny-Q8_0.gguf"]
    api = [h for _, p, h in hub.requests if p == "/api/models/acme/tiny-GGUF"]
    assert api and api[0]["authorization"] == f"Bearer {TOKEN}"
    split = run(pensieve_bin, env, "pull", "acme/big-GGUF:Q8_0")
    assert split.returncode == 0, split.stderr
    assert "big-Q8_0-00001-of-00003.gguf" in split.stderr
    assert len(model_files(home)) == 4

    absent = run(pensieve_bin, env, "pull", "acme/tiny-GGUF:Q2_K")
    assert absent.returncode == 1
    assert "no .gguf file with quantization 'Q2_K' (available: Q4_K_M, Q8_0)" in absent.stderr, \
        absent.stderr
    hub.add("acme/tiny-GGUF", "other-Q8_0.gguf", tiny["tiny-Q8_0.gguf"])
    ambiguous = run(pensieve_bin, env, "pull", "acme/tiny-GGUF:Q8_0")
    assert ambiguous.returncode == 1
    assert "matches several files: other-Q8_0.gguf, tiny-Q8_0.gguf" in ambiguous.stderr


@pytest.mark.parametrize("name", ["../../../../escape/x-Q4_K_M.gguf", "/etc/x-Q4_K_M.gguf",
                                  "x?y=1#-Q4_K_M.gguf", "a\r\nX-Evil: 1\r\n-Q4_K_M.gguf",
                                  "victim.gguf\0-Q4_K_M.gguf", "a" * 5000 + "-Q4_K_M.gguf"],
                         ids=["dotdot", "absolute", "query", "crlf", "nul", "long"])
def test_a_listed_name_that_is_not_a_safe_path_is_never_fetched(pensieve_bin, hub, home, tiny,
                                                                 name):
    """A repository's file list is untrusted: its names must pass the rules a
    typed path does before they become a URL or a file name."""
    hub.add("evil/r-GGUF", name, tiny["tiny-Q4_K_M.gguf"])
    victim = home / "models" / "victim.gguf"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(tiny["tiny-Q8_0.gguf"])
    for extra in ([], ["--force"]):
        result = run(pensieve_bin, pull_env(hub, home), "pull", "evil/r-GGUF:Q4_K_M", *extra)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.startswith("error: evil/r-GGUF: no usable .gguf file with "
                                        "quantization 'Q4_K_M': the file list's file path '"), \
            result.stderr
        assert "\r" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert len(result.stderr) < 400
    assert hub.paths_requested() == ["/api/models/evil/r-GGUF"] * 2
    assert model_files(home) == ["victim.gguf"]
    assert victim.read_bytes() == tiny["tiny-Q8_0.gguf"]


def test_a_listed_name_is_percent_encoded_in_the_url(pensieve_bin, hub, home, tiny):
    hub.add("acme/plus-GGUF", "../tiny-Q4_K_M.gguf", b"GGUF" + b"\0" * 60)  # skipped
    hub.add("acme/plus-GGUF", "tiny+v2-Q4_K_M.gguf", tiny["tiny-Q4_K_M.gguf"])
    result = run(pensieve_bin, pull_env(hub, home), "pull", "acme/plus-GGUF:Q4_K_M")
    assert result.returncode == 0, result.stderr
    assert "/acme/plus-GGUF/resolve/main/tiny%2Bv2-Q4_K_M.gguf" in hub.paths_requested()
    assert model_files(home) == ["tiny+v2-Q4_K_M.gguf"]
    assert (home / "models" / "tiny+v2-Q4_K_M.gguf").read_bytes() == tiny["tiny-Q4_K_M.gguf"]


def test_malformed_sources_are_clear_errors(pensieve_bin, hub, home):
    env = pull_env(hub, home)
    for source, needle in [("hf://acme/tiny-GGUF/../etc/passwd.gguf", "'..'"),
                           ("hf://acme/tiny-GGUF/readme.md", "not a .gguf file"),
                           ("acme/tiny-GGUF", "OWNER/REPO:QUANT"),
                           ("https://example.com/", "does not end in a .gguf file name")]:
        result = run(pensieve_bin, env, "pull", source)
        assert result.returncode == 1, source
        assert result.stderr.startswith("error: cannot pull") and needle in result.stderr, \
            (source, result.stderr)
    assert hub.requests == []


def test_models_show_and_rm(pensieve_bin, hub, home):
    env = pull_env(hub, home)
    assert run(pensieve_bin, env, "pull", "hf://acme/tiny-GGUF@main/tiny-Q8_0.gguf").returncode == 0
    listing = run(pensieve_bin, env, "models")
    assert listing.returncode == 0, listing.stderr
    assert "no server at http://127.0.0.1:" in listing.stdout
    row = next(line for line in listing.stdout.splitlines() if line.startswith("tiny-Q8_0 "))
    size = (home / "models" / "tiny-Q8_0.gguf").stat().st_size
    for needle in [f"{size / 1048576:.1f} MiB", "llama", "262400", "2048", "no server",
                   "Q8_0 100%", str(home / "models" / "tiny-Q8_0.gguf")]:
        assert needle in row, (needle, row)

    shown = run(pensieve_bin, env, "show", "tiny-Q8_0")
    assert shown.returncode == 0, shown.stderr
    for needle in ["architecture:     llama", "context_length", "2048", "head_count_kv",
                   "vocabulary:       4 tokens", "bos token:        0 <s>", CHAT_TEMPLATE]:
        assert needle in shown.stdout, (needle, shown.stdout)

    outside = home / "outside.gguf"
    outside.write_bytes(b"GGUF")
    for name in ["../outside.gguf", str(outside), "absent"]:
        refused = run(pensieve_bin, env, "rm", name)
        assert refused.returncode == 1 and refused.stderr.startswith("error: "), name
    assert outside.exists()
    removed = run(pensieve_bin, env, "rm", "tiny-Q8_0")
    assert removed.returncode == 0, removed.stderr
    assert model_files(home) == []
    again = run(pensieve_bin, env, "rm", "tiny-Q8_0")
    assert again.returncode == 1 and "no model 'tiny-Q8_0'" in again.stderr


def test_models_says_which_model_a_running_server_has_loaded(pensieve_bin, default_model, home,
                                                             hub):
    (home / "models").mkdir(parents=True)
    (home / "models" / default_model.name).symlink_to(default_model)
    server = Server()
    try:
        port = server.url.rsplit(":", 1)[1]
        env = {**pull_env(hub, home), "PENSIEVE_PORT": port}
        listing = run(pensieve_bin, env, "models")
        assert listing.returncode == 0, listing.stderr
        assert f"server: {server.url}" in listing.stdout
        row = next(line for line in listing.stdout.splitlines()
                   if line.startswith("smollm2-135m-instruct-q4_1 "))
        assert " yes " in row and "Q4_1" in row, row
    finally:
        server.stop()
