"""Several models behind one port, on the real server with the two real
models (SmolLM2 and Gemma 3): requests are routed by name (exact, file stem,
Ollama's `:latest`) and by the alias file's glob patterns in every dialect;
streams to both models run at once; an unknown name is a 404 naming the
servable models; /v1/models, /api/tags and /api/ps list them; /metrics
carries a `model` label; with --max-loaded 1 the idle model is unloaded and
reloaded on its next request; a bad alias file stops the server with a
clear message. One two-model server is shared by the module."""
import json
import subprocess
import threading

import httpx
import pytest

from conftest import Server
from paths import build_dir
from test_metrics import log_record, parse, value

SMOL = "smollm2-135m-instruct-q4_1"
GEMMA = "gemma3-270m-q4_k_m"
HELLO = [{"role": "user", "content": "Say hello."}]
ALIASES = {"aliases": {"claude-*haiku*": GEMMA, "claude-*": SMOL, "gpt-*": "gemma3-270m-q4_k_m.gguf"}}


@pytest.fixture(scope="module")
def alias_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("aliases") / "aliases.json"
    path.write_text(json.dumps(ALIASES))
    return path


@pytest.fixture(scope="module")
def two(alias_file, gemma_model):
    s = Server("-m", gemma_model, "--aliases", alias_file, "--log-format", "json")
    yield s
    s.stop()


@pytest.fixture
def client(two):
    with httpx.Client(base_url=two.url, timeout=120) as c:
        yield c


def metrics(client):
    r = client.get("/metrics")
    assert r.status_code == 200
    return parse(r.text)


def generated(samples, model):
    return value(samples, "pensieve_generated_tokens_total", model=model)


def message(client, model, **extra):
    r = client.post("/v1/messages", json={"model": model, "max_tokens": 8, "temperature": 0,
                                          "messages": HELLO, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def ran_on(client, send):
    """Which model a request ran on: the one whose generated-token counter
    moved by the reply's output tokens (the other's stays put)."""
    before = metrics(client)
    output_tokens = send()
    after = metrics(client)
    moved = {m: generated(after, m) - generated(before, m) for m in (SMOL, GEMMA)}
    assert output_tokens > 0
    ran = [m for m, d in moved.items() if d > 0]
    assert len(ran) == 1, moved
    assert moved[ran[0]] == output_tokens
    return ran[0]


def test_models_lists_both(client):
    r = client.get("/v1/models")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["data"]] == [SMOL, GEMMA]
    one = client.get(f"/v1/models/{GEMMA}")
    assert one.status_code == 200 and one.json()["id"] == GEMMA
    tags = client.get("/api/tags").json()["models"]
    assert [m["name"] for m in tags] == [SMOL, GEMMA]
    assert {m["details"]["family"] for m in tags} == {"llama", "gemma3"}


@pytest.mark.parametrize("name, expected", [
    (SMOL, SMOL), (GEMMA, GEMMA), (GEMMA + ".gguf", GEMMA), ("SmolLM2-135M-Instruct-Q4_1", SMOL),
    ("claude-3-5-haiku-20241022", GEMMA), ("claude-sonnet-4-5", SMOL), ("gpt-4o", GEMMA)])
def test_messages_routed_by_name_and_alias(client, name, expected):
    def send():
        reply = message(client, name)
        assert reply["model"] == name  # the reply names the model as asked
        return reply["usage"]["output_tokens"]
    assert ran_on(client, send) == expected


@pytest.mark.parametrize("name, expected", [
    ("claude-3-5-haiku-20241022", GEMMA), ("claude-sonnet-4-5", SMOL), (SMOL, SMOL)])
def test_access_log_names_the_model_that_served(two, client, name, expected):
    """The access line's `model` is the model that ran the request; the
    name the client sent is `requested_model`, present only when it differs."""
    r = client.post("/v1/messages", json={"model": name, "max_tokens": 4, "temperature": 0,
                                          "messages": HELLO})
    assert r.status_code == 200, r.text
    record = log_record(two, r.headers["request-id"])
    assert record["model"] == expected
    assert record.get("requested_model") == (None if name == expected else name)
    ollama = client.post("/api/chat", json={"model": name, "stream": False, "messages": HELLO,
                                            "options": {"num_predict": 4}})
    assert ollama.status_code == 200, ollama.text
    record = log_record(two, ollama.headers["request-id"])
    assert record["model"] == expected and record["route"] == "/api/chat"


def test_count_tokens_uses_the_named_models_tokenizer(client):
    def count(model):
        r = client.post("/v1/messages/count_tokens",
                        json={"model": model, "messages": [{"role": "user",
                                                            "content": "Pensieve " * 20}]})
        assert r.status_code == 200, r.text
        return r.json()["input_tokens"]
    # Different tokenizers and templates: different counts; aliases follow.
    assert count(SMOL) != count(GEMMA)
    assert count("claude-haiku-4-5") == count(GEMMA)
    assert count("claude-opus-4") == count(SMOL)


def test_openai_and_ollama_routed(client):
    def chat(model):
        def send():
            r = client.post("/v1/chat/completions", json={
                "model": model, "max_tokens": 8, "temperature": 0, "messages": HELLO})
            assert r.status_code == 200, r.text
            return r.json()["usage"]["completion_tokens"]
        return send

    def completion(model):
        def send():
            r = client.post("/v1/completions", json={
                "model": model, "max_tokens": 8, "temperature": 0, "prompt": "Once upon a"})
            assert r.status_code == 200, r.text
            return r.json()["usage"]["completion_tokens"]
        return send

    def ollama(path, model, **body):
        def send():
            r = client.post(path, json={"model": model, "stream": False,
                                        "options": {"num_predict": 8, "temperature": 0}, **body})
            assert r.status_code == 200, r.text
            return r.json()["eval_count"]
        return send

    assert ran_on(client, chat(GEMMA)) == GEMMA
    assert ran_on(client, chat("claude-3-haiku")) == GEMMA
    assert ran_on(client, chat(SMOL)) == SMOL
    assert ran_on(client, completion(GEMMA)) == GEMMA
    assert ran_on(client, completion(SMOL)) == SMOL
    assert ran_on(client, ollama("/api/chat", GEMMA + ":latest", messages=HELLO)) == GEMMA
    assert ran_on(client, ollama("/api/generate", SMOL, prompt="Once upon a")) == SMOL
    shown = client.post("/api/show", json={"model": GEMMA})
    assert shown.status_code == 200
    assert shown.json()["model_info"]["general.architecture"] == "gemma3"


def test_unknown_model_is_404_naming_the_servable_ones(client):
    body = {"model": "llama3.2", "max_tokens": 8, "messages": HELLO}
    anthropic = client.post("/v1/messages", json=body)
    assert anthropic.status_code == 404
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "not_found_error"
    openai = client.post("/v1/chat/completions", json=body)
    assert openai.status_code == 404
    assert openai.json()["error"]["type"] == "not_found_error"
    ollama = client.post("/api/chat", json={"model": "llama3.2", "messages": HELLO})
    assert ollama.status_code == 404
    assert set(ollama.json()) == {"error"}
    count = client.post("/v1/messages/count_tokens", json={"model": "llama3.2",
                                                           "messages": HELLO})
    assert count.status_code == 404
    for r in (anthropic, openai, ollama, count):
        assert SMOL in r.text and GEMMA in r.text, r.text
    assert client.post("/api/show", json={"model": "llama3.2"}).status_code == 404
    assert client.get("/v1/models/llama3.2").status_code == 404


def stream_text(url, model, out, key):
    body = {"model": model, "max_tokens": 48, "temperature": 0, "stream": True,
            "messages": [{"role": "user", "content": "Write a long poem about the sea."}]}
    events = []
    with httpx.stream("POST", url + "/v1/messages", json=body, timeout=120) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
    out[key] = events


def test_concurrent_streams_to_both_models(two, client):
    before = metrics(client)
    out = {}
    threads = [threading.Thread(target=stream_text, args=(two.url, m, out, m))
               for m in (SMOL, GEMMA, SMOL, GEMMA)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a stream is stuck"
    assert set(out) == {SMOL, GEMMA}
    for events in out.values():
        assert events[0] == "message_start" and events[-1] == "message_stop", events
    after = metrics(client)
    for m in (SMOL, GEMMA):
        assert generated(after, m) > generated(before, m)
        assert value(after, "pensieve_time_to_first_token_seconds_count", model=m) > \
            value(before, "pensieve_time_to_first_token_seconds_count", model=m)


def test_metrics_and_health_per_model(client):
    message(client, SMOL)
    message(client, GEMMA)
    samples = metrics(client)
    for m in (SMOL, GEMMA):
        assert value(samples, "pensieve_kv_blocks_capacity", model=m) > 0
        assert value(samples, "pensieve_model_bytes", model=m) > 50e6
    # The unlabelled series is the whole server's: the sum over the models.
    assert value(samples, "pensieve_kv_blocks_capacity") == sum(
        value(samples, "pensieve_kv_blocks_capacity", model=m) for m in (SMOL, GEMMA))
    assert value(samples, "pensieve_generated_tokens_total") >= sum(
        generated(samples, m) for m in (SMOL, GEMMA))
    health = client.get("/health").json()
    assert health["model"] == SMOL
    assert [(m["id"], m["state"]) for m in health["models"]] == [(SMOL, "loaded"),
                                                                (GEMMA, "loaded")]
    assert {m["name"] for m in client.get("/api/ps").json()["models"]} == {SMOL, GEMMA}


def states(c):
    return {m["id"]: (m["state"], m["loads"]) for m in c.get("/health").json()["models"]}


def test_max_loaded_unloads_the_idle_model_and_reloads_it(gemma_model):
    s = Server("-m", gemma_model, "--max-loaded", "1")
    try:
        with httpx.Client(base_url=s.url, timeout=120) as c:
            assert states(c) == {SMOL: ("loaded", 1), GEMMA: ("unloaded", 0)}
            message(c, GEMMA)
            assert states(c) == {SMOL: ("unloaded", 1), GEMMA: ("loaded", 1)}
            assert [m["name"] for m in c.get("/api/ps").json()["models"]] == [GEMMA]
            message(c, SMOL)
            assert states(c) == {SMOL: ("loaded", 2), GEMMA: ("unloaded", 1)}
            # A model answering a stream is busy: a request for the other
            # model waits for the stream to end instead of unloading it.
            body = {"model": SMOL, "max_tokens": 64, "temperature": 0, "stream": True,
                    "messages": [{"role": "user", "content": "Write a long poem about the sea."}]}
            other = {}
            with httpx.stream("POST", s.url + "/v1/messages", json=body, timeout=120) as r:
                assert r.status_code == 200
                lines = r.iter_lines()
                assert next(lines) == "event: message_start"
                waiter = threading.Thread(target=lambda: other.update(reply=message(c, GEMMA)))
                waiter.start()
                events = [line[7:] for line in lines if line.startswith("event: ")]
            assert events[-1] == "message_stop", events
            waiter.join(timeout=120)
            assert other["reply"]["usage"]["output_tokens"] > 0
            assert states(c) == {SMOL: ("unloaded", 2), GEMMA: ("loaded", 2)}
            # An unloaded model is still listed as servable.
            assert [m["id"] for m in c.get("/v1/models").json()["data"]] == [SMOL, GEMMA]
            # With only two models and no alias file, other names are unknown.
            assert c.post("/v1/messages", json={"model": "claude-haiku-4-5", "max_tokens": 4,
                                                "messages": HELLO}).status_code == 404
    finally:
        s.stop()
    assert any("unloading model" in line for line in s.log_lines())


def serve_fails(*args):
    """Runs `pensieve serve` that must refuse to start: its exit code and stderr."""
    r = subprocess.run([str(build_dir() / "pensieve"), "serve", "--port", "0", *map(str, args)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "Segmentation" not in r.stderr and "terminate called" not in r.stderr, r.stderr
    return r.stderr


@pytest.mark.parametrize("text, says", [
    ("{not json", "not valid JSON"),
    ('{"aliases": ["claude-*"]}', "must be an object"),
    ('{"aliases": {"claude-*": 7}}', "must map to a model name"),
    ('{"aliasses": {}}', 'unknown key "aliasses"'),
    ('{"aliases": {"claude-*": "no-such-model"}}', "does not serve"),
])
def test_bad_alias_file_stops_the_server_with_a_message(tmp_path, default_model, text, says):
    path = tmp_path / "aliases.json"
    path.write_text(text)
    err = serve_fails("-m", default_model, "--aliases", path)
    assert says in err, err


def test_bad_limits_and_dirs_are_errors(tmp_path, default_model):
    assert "--max-memory" in serve_fails("-m", default_model, "--max-memory", "lots")
    assert "no servable .gguf file" in serve_fails("--models-dir", tmp_path)
    assert "--aliases" in serve_fails("-m", default_model, "--aliases", tmp_path / "missing.json")
    # Files named on the command line are read up to a bound, never without end.
    assert "--aliases: /dev/zero is larger than" in serve_fails(
        "-m", default_model, "--aliases", "/dev/zero")
    assert "--chat-template: /dev/zero is larger than" in serve_fails(
        "-m", default_model, "--chat-template", "/dev/zero")


def test_models_dir_serves_every_file(default_model):
    s = Server("--models-dir", default_model.parent, "--max-loaded", "1")
    try:
        with httpx.Client(base_url=s.url, timeout=120) as c:
            ids = [m["id"] for m in c.get("/v1/models").json()["data"]]
            assert SMOL in ids and GEMMA in ids
            assert message(c, GEMMA)["usage"]["output_tokens"] > 0
    finally:
        s.stop()


def test_models_dir_leaves_out_files_it_cannot_serve_and_names_them(tmp_path, default_model):
    """A file that is not a GGUF, or whose name is not UTF-8 (no request
    could spell it), is left out with a warning naming it; the rest are
    served. An explicit -m of such a file stops start-up, naming it."""
    models = tmp_path / "models"
    models.mkdir()
    (models / SMOL).with_suffix(".gguf").symlink_to(default_model)
    (models / "junk.gguf").write_bytes(b"GGUF" + b"\xff" * 60)
    latin1 = bytes(models) + b"/caf\xe9.gguf"
    import os
    os.symlink(default_model, latin1)
    s = Server("--models-dir", models, "--log-format", "json")
    try:
        with httpx.Client(base_url=s.url, timeout=120) as c:
            assert [m["id"] for m in c.get("/v1/models").json()["data"]] == [SMOL]
            assert message(c, SMOL)["usage"]["output_tokens"] > 0
        left_out = [json.loads(line) for line in s.log_lines() if "left out a model file" in line]
        files = sorted(r["file"] for r in left_out)
        assert len(files) == 2 and files[1].endswith("junk.gguf"), left_out
        assert "not UTF-8" in next(r["error"] for r in left_out if "caf" in r["file"])
    finally:
        s.stop()
    assert "junk.gguf: unsupported GGUF version" in serve_fails("-m", models / "junk.gguf")


def test_a_model_that_fails_to_load_does_not_keep_unloading_the_others(tmp_path, default_model):
    """The first request for a broken file unloads the idle model to make
    room and fails; later ones fail at once with the same error, and the
    working model stays loaded (a client asking again and again for a broken
    model made every other request reload its own)."""
    models = tmp_path / "models"
    models.mkdir()
    data = bytearray(default_model.read_bytes())
    key = data.index(b"general.architecture") + len(b"general.architecture")
    assert data[key + 12: key + 17] == b"llama"  # value: type (4 bytes), length (8), bytes
    data[key + 12: key + 17] = b"zzzzz"  # an architecture no engine has: fails at load
    (models / "broken.gguf").write_bytes(data)
    s = Server("--models-dir", models, "--max-loaded", "1")
    try:
        with httpx.Client(base_url=s.url, timeout=120) as c:
            ask = lambda model: c.post("/v1/messages", json={"model": model, "max_tokens": 2,
                                                             "messages": HELLO})
            first = ask("broken")
            assert first.status_code == 500 and "failed to load" in first.text, first.text
            assert ask(SMOL).status_code == 200
            assert states(c)[SMOL] == ("loaded", 2)
            for _ in range(3):
                again = ask("broken")
                assert again.status_code == 500
                assert again.json()["error"]["message"] == first.json()["error"]["message"]
                assert ask(SMOL).status_code == 200
            assert states(c)[SMOL] == ("loaded", 2)
    finally:
        s.stop()


def test_max_memory_unloads_to_stay_under_the_budget(gemma_model):
    # Each model takes its file plus its KV pool (here 1024 tokens): both
    # together pass 300 MiB, either alone does not.
    s = Server("-m", gemma_model, "--kv-tokens", "1024", "--max-memory", "300MiB")
    try:
        with httpx.Client(base_url=s.url, timeout=120) as c:
            assert states(c)[GEMMA] == ("unloaded", 0)
            message(c, GEMMA)
            assert states(c) == {SMOL: ("unloaded", 1), GEMMA: ("loaded", 1)}
            message(c, SMOL)
            assert states(c) == {SMOL: ("loaded", 2), GEMMA: ("unloaded", 1)}
    finally:
        s.stop()


def test_config_file_lists_models_and_aliases(tmp_path, default_model, gemma_model):
    aliases = tmp_path / "aliases.json"
    aliases.write_text(json.dumps({"aliases": {"claude-*haiku*": GEMMA}}))
    config = tmp_path / "serve.toml"
    config.write_text(f'[serve]\nmodel = ["{default_model}", "{gemma_model}"]\n'
                      f'aliases = "{aliases}"\n')
    binary = build_dir() / "pensieve"
    proc = subprocess.Popen([str(binary), "serve", "--port", "0", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert "serving 2 models" in line, line
        url = line.rsplit(" on ", 1)[1].strip()
        with httpx.Client(base_url=url, timeout=120) as c:
            assert ran_on(c, lambda: message(c, "claude-3-5-haiku")["usage"]["output_tokens"]) \
                == GEMMA
            assert c.post("/v1/messages", json={"model": "claude-sonnet-4", "max_tokens": 4,
                                                "messages": HELLO}).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
