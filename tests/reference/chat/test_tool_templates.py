"""Anthropic conversations with tools through every collected chat template: the
chat_render probe converts them (src/chat/tools/tool_prompt.cpp) and renders; the
conversion must equal tool_conversations.template_inputs (the documented rules) and the
text must equal Python jinja2's render of those inputs, byte for byte. Templates that
render tools themselves get Hugging Face's tool shape; the others the built-in prompt."""

import json
import subprocess

import pytest

from hf_jinja import make_environment, render
from test_chat_templates import TEMPLATES, probe_path
from tool_conversations import TOOL_CONVERSATIONS, TOOLS, template_inputs, template_support

# The families the brief names must be recognised as rendering tools themselves.
EXPECTED_SUPPORT = {
    "qwen2.5-instruct": (True, "hermes"),
    "qwen3-0.6b": (True, "hermes"),
    "hermes-3-llama-3.1-8b-tool-use": (True, "hermes"),
    "llama-3.2-3b-instruct": (True, "llama"),
    "mistral-nemo-instruct-2407": (True, "mistral"),
    "smollm2-135m-instruct": (False, "hermes"),
    "gemma-3-it": (False, "hermes"),
    "chatml": (False, "hermes"),
}


def cases():
    out = []
    for path in sorted(TEMPLATES.glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        for conv_name, messages in TOOL_CONVERSATIONS.items():
            for tools in (TOOLS, None):
                name = f"{path.stem}-{conv_name}{'' if tools else '-notools'}"
                out.append((name, path.stem, {
                    "template": source,
                    "anthropic": {"messages": messages, "tools": tools},
                    "add_generation_prompt": True,
                    "bos_token": "<s>",
                    "eos_token": "</s>",
                    "extra": {"date_string": "26 Jul 2024"},
                }))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def results():
    probe = probe_path()
    if not probe.exists():
        pytest.fail(f"chat_render probe not built at {probe} (build target chat_render)")
    requests = [req for _, _, req in CASES]
    proc = subprocess.run([str(probe), "--batch"], input=json.dumps(requests).encode("utf-8"),
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    ours = json.loads(proc.stdout.decode("utf-8"))
    assert len(ours) == len(requests)
    env = make_environment()
    expected = {}
    for (name, _, req), got in zip(CASES, ours):
        messages, tools = template_inputs(req["template"], req["anthropic"]["tools"],
                                          req["anthropic"]["messages"])
        plain = {**req, "messages": messages, "tools": tools}
        del plain["anthropic"]
        expected[name] = ((messages, tools), render(env, plain), got)
    return expected


def test_families_are_recognised():
    for stem, want in EXPECTED_SUPPORT.items():
        source = (TEMPLATES / f"{stem}.jinja").read_text(encoding="utf-8")
        assert template_support(source) == want, stem


@pytest.mark.parametrize("name", [name for name, _, _ in CASES])
def test_tool_conversation_matches_jinja2(results, name):
    (messages, tools), (kind, text), got = results[name]
    assert "converted" in got, got
    assert got["converted"]["messages"] == messages
    assert got["converted"]["tools"] == tools
    if kind == "ok":
        assert got["ok"], f"jinja2 rendered, Pensieve failed: {got.get('kind')}: {got.get('message')}"
        assert got["text"] == text
    elif kind == "raised":
        assert not got["ok"] and got["kind"] == "raised" and got["message"] == text, got
    else:
        assert not got["ok"] and got["kind"] in ("render", "limit"), f"jinja2: {text}; Pensieve: {got}"


def test_named_families_render_tool_history(results):
    # The brief's templates must actually render a tool round trip (not just fail alike).
    for stem in EXPECTED_SUPPORT:
        _, (kind, text), got = results[f"{stem}-round_trip"]
        assert kind == "ok" and got["ok"], (stem, text, got.get("message"))
        assert "Zürich" in got["text"] and "21.5 °C, sunny" in got["text"], stem


def test_malformed_tool_input_is_a_typed_error():
    source = (TEMPLATES / "qwen2.5-instruct.jinja").read_text(encoding="utf-8")
    bad = [
        {"tools": [{"name": "x"}], "messages": []},
        {"tools": None, "messages": [{"role": "assistant", "content": [
            {"type": "tool_use", "id": "t", "name": "f", "input": []}]}]},
    ]
    requests = [{"template": source, "anthropic": b} for b in bad]
    proc = subprocess.run([str(probe_path()), "--batch"], input=json.dumps(requests).encode("utf-8"),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    got = json.loads(proc.stdout.decode("utf-8"))
    assert [g["kind"] for g in got] == ["tool_input", "tool_input"], got
    assert "tools.0.input_schema" in got[0]["message"]
    assert "messages.0.content.0.input" in got[1]["message"]
