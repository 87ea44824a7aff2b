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


def make_random_model(out: Path, *extra):
    from paths import build_dir
    tool = build_dir() / "tools" / "make_random_model"
    assert tool.exists(), f"{tool} is not built"
    made = run(tool, "--arch", "llama", "--mix", "q4_k_m", "--seed", "4", "--out", out, *extra)
    assert made.returncode == 0, made.stderr


def test_info_show_and_models_describe_a_split_model_whole(pensieve_bin, tmp_path):
    """The same random model (a Q4_K_M mix, so several formats) written whole
    and as three gguf-split parts: `info` on the first part reports the whole
    model (parameters, tensor count, bytes and format mix of all parts, each
    tensor's part and offset in that part), `info` on a later part that part
    alone, and `show` and `models` the whole model."""
    home = tmp_path / "home"
    models = home / "models"
    models.mkdir(parents=True)
    make_random_model(tmp_path / "whole.gguf")
    make_random_model(models / "tiny.gguf", "--split", "3")
    parts = [models / f"tiny-0000{i}-of-00003.gguf" for i in (1, 2, 3)]

    whole = json.loads(run(pensieve_bin, "info", "--json", tmp_path / "whole.gguf").stdout)
    result = run(pensieve_bin, "info", "--json", "--tensors", parts[0])
    assert result.returncode == 0, result.stderr
    split = json.loads(result.stdout)
    assert whole["parts"] == 1 and split["parts"] == 3
    for key in ("parameters", "tensor_count", "tensor_bytes", "types", "architecture"):
        assert split[key] == whole[key], key
    assert len(split["types"]) > 1
    by_name = {t["name"]: t for t in split["tensors"]}
    assert len(by_name) == whole["tensor_count"]
    for i, part in enumerate(parts):
        for t in gguf.GGUFReader(str(part)).tensors:
            assert by_name[t.name]["part"] == i, t.name
            assert by_name[t.name]["offset"] == t.data_offset, t.name

    text = run(pensieve_bin, "info", parts[0]).stdout
    assert "split parts:      3 (all read)" in text
    assert f"parameters:       {whole['parameters']} " in text

    later = json.loads(run(pensieve_bin, "info", "--json", parts[1]).stdout)
    assert later["parts"] == 1
    assert later["tensor_count"] == len(gguf.GGUFReader(str(parts[1])).tensors)
    assert later["tensor_count"] < whole["tensor_count"]

    env = {"PENSIEVE_HOME": str(home), "PATH": "/usr/bin:/bin", "PENSIEVE_PORT": "1"}
    shown = subprocess.run([str(pensieve_bin), "show", "tiny"], capture_output=True, text=True,
                           timeout=60, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "split parts:      3" in shown.stdout
    assert f"parameters:       {whole['parameters']} " in shown.stdout
    assert f"tensors:          {whole['tensor_count']} " in shown.stdout
    for name, use in whole["types"].items():
        assert f"  {name:<8}        {use['tensors']:4} tensors" in shown.stdout, name

    listed = subprocess.run([str(pensieve_bin), "models"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("tiny "))
    assert "llama" in row and "split into 3 files" in listed.stdout
    assert "warning" not in listed.stdout


@pytest.mark.parametrize("args,option,lowest", [
    (["bench", "-r", "0"], "--repetitions", "1"),
    (["run", "-n", "0", "hi"], "--max-tokens", "1"),
    (["perplexity", "--chunks", "0", "x.txt"], "--chunks", "1"),
])
def test_a_count_below_one_names_the_option_and_its_range(pensieve_bin, args, option, lowest):
    result = run(pensieve_bin, *args)
    assert result.returncode != 0
    assert f"{option}: Value 0 not in range {lowest} to " in result.stderr, result.stderr
