"""`pensieve info` on the real models, checked against the PyPI `gguf`
package's reader, and on malformed files (exit 1 with one `error:` line,
never a crash or a hang)."""
import json
import subprocess
from collections import Counter
from pathlib import Path

import gguf
import pytest


def run(binary, *args, timeout=60):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def reference_facts(path: Path):
    reader = gguf.GGUFReader(str(path))
    types = Counter(t.tensor_type.name.lower() for t in reader.tensors)
    return reader, types


@pytest.mark.parametrize("fixture,arch", [("default_model", "llama"), ("gemma_model", "gemma3")])
def test_info_json_matches_the_gguf_package(request, pensieve_bin, fixture, arch):
    path = request.getfixturevalue(fixture)
    result = run(pensieve_bin, "info", "--json", "--tensors", path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    reader, types = reference_facts(path)
    assert info["architecture"] == arch
    assert info["tensor_count"] == len(reader.tensors)
    assert {k.lower(): v["tensors"] for k, v in info["types"].items()} == dict(types)
    assert info["parameters"] == sum(int(t.n_elements) for t in reader.tensors)
    assert info["vocab_size"] == len(reader.fields["tokenizer.ggml.tokens"].data)
    assert info["context_length"] == reader.fields[f"{arch}.context_length"].contents()
    assert info["block_count"] == reader.fields[f"{arch}.block_count"].contents()
    by_name = {t["name"]: t for t in info["tensors"]}
    for t in reader.tensors:
        ours = by_name[t.name]
        assert ours["shape"] == [int(d) for d in t.shape], t.name
        assert ours["offset"] == t.data_offset, t.name
        assert ours["bytes"] == t.n_bytes, t.name


def test_info_text_names_the_facts(pensieve_bin, default_model):
    result = run(pensieve_bin, "info", default_model)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in ["architecture:     llama", "layers:           30", "q4_1", "q8_0",
                   "heads / KV heads: 9 / 3", "vocabulary:       49152 tokens",
                   "tokenizer:        gpt2 (pre-tokenizer: smollm)", "chat template:    yes"]:
        assert needle in out, needle


def header_of(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def malformed_variants(model: Path):
    """Mutations of the real model's header: each must be rejected."""
    head = header_of(model, 1 << 20)  # metadata fits in the first MiB
    u64 = lambda v: v.to_bytes(8, "little")
    yield "empty", b""
    yield "bad magic", b"GGUX" + head[4:]
    yield "version 1", head[:4] + (1).to_bytes(4, "little") + head[8:]
    yield "huge tensor count", head[:8] + u64(1 << 62) + head[16:]
    yield "huge kv count", head[:16] + u64(1 << 62) + head[24:]
    yield "first key length huge", head[:24] + u64(1 << 50) + head[32:]
    for cut in (3, 23, 100, 5000, 200000, len(head) - 1):
        yield f"truncated at {cut}", head[:cut]
    yield "header only, no tensor data", head


def test_malformed_files_exit_1_with_an_error_line(pensieve_bin, default_model, tmp_path):
    for name, data in malformed_variants(default_model):
        path = tmp_path / "bad.gguf"
        path.write_bytes(data)
        result = run(pensieve_bin, "info", path, timeout=30)
        assert result.returncode == 1, f"{name}: exit {result.returncode}\n{result.stderr}"
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{name}: {result.stderr!r}"


def test_missing_file_is_an_error_not_a_crash(pensieve_bin, tmp_path):
    result = run(pensieve_bin, "info", tmp_path / "absent.gguf")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")


def test_models_lists_the_pulled_default_model(pensieve_bin, default_model):
    result = run(pensieve_bin, "models", "--known")
    assert result.returncode == 0, result.stderr
    assert str(default_model) in result.stdout
    assert "gemma3-270m-q4_k_m" in result.stdout


def test_pull_of_a_present_model_only_verifies_it(pensieve_bin, default_model):
    result = run(pensieve_bin, "pull", "smollm2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"already present: {default_model}"


def test_pull_of_an_unknown_model_is_a_clear_error(pensieve_bin):
    result = run(pensieve_bin, "pull", "no-such-model")
    assert result.returncode == 1
    assert "unknown model 'no-such-model'" in result.stderr
