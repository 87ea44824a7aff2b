"""Byte-exact comparison of Pensieve's chat-template renderer (via the chat_render probe)
with Python jinja2 configured like Hugging Face transformers.

Every template in tests/data/chat_templates/ is rendered for every conversation in
conversations.py, with and without the generation prompt, and with tools where the
template mentions them; snippets.py adds one small template per construct, and
random_templates.py seeded random templates stressing whitespace control and scoping. When
jinja2 fails, Pensieve must fail the same way (raise_exception messages must match).

The probe is found in $PENSIEVE_BUILD_DIR/tools/chat_render (default: build/).
"""

import json
import os
import pathlib
import subprocess

import pytest

from conversations import CONVERSATIONS, TOOLS, TOOLS_SIMPLE
from hf_jinja import make_environment, render
from random_templates import random_templates
from snippets import SNIPPETS, V

ROOT = pathlib.Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "tests" / "data" / "chat_templates"


def probe_path():
    build = pathlib.Path(os.environ.get("PENSIEVE_BUILD_DIR", "build"))
    if not build.is_absolute():
        build = ROOT / build
    return build / "tools" / "chat_render"


def template_cases():
    cases = []
    for path in sorted(TEMPLATES.glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        tool_variants = [None, TOOLS, TOOLS_SIMPLE] if "tools" in source else [None]
        for conv_name, messages in CONVERSATIONS.items():
            for gen in (False, True):
                for tools in tool_variants:
                    extra = {}
                    if conv_name == "content_parts":
                        extra["add_vision_id"] = True
                    if conv_name == "thinking":
                        extra["enable_thinking"] = False
                    if conv_name == "multi_turn":
                        extra["date_string"] = "26 Jul 2024"
                    suffix = "" if tools is None else "-tools" if tools is TOOLS else "-tool"
                    name = f"{path.stem}-{conv_name}-{'gen' if gen else 'nogen'}{suffix}"
                    cases.append((name, {
                        "template": source,
                        "messages": messages,
                        "tools": tools,
                        "add_generation_prompt": gen,
                        "bos_token": "<s>",
                        "eos_token": "</s>",
                        "extra": extra,
                    }))
    return cases


def snippet_cases():
    return [(f"snippet-{name}", {"template": tmpl, "messages": [], "extra": {**V, **extra}})
            for name, tmpl, extra in SNIPPETS]


def random_cases():
    # Whitespace-control and scoping corner cases, generated (seeded) from fragments.
    return [(f"random-{i}", {"template": t, "messages": [], "extra": {"n": 2, "v": "w", "i": 0}})
            for i, t in enumerate(random_templates(400, seed=2024))]


CASES = template_cases() + snippet_cases() + random_cases()


@pytest.fixture(scope="module")
def results():
    probe = probe_path()
    if not probe.exists():
        pytest.fail(f"chat_render probe not built at {probe} (build target chat_render, "
                    "or set PENSIEVE_BUILD_DIR)")
    requests = [req for _, req in CASES]
    proc = subprocess.run([str(probe), "--batch"], input=json.dumps(requests).encode("utf-8"),
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    ours = json.loads(proc.stdout.decode("utf-8"))
    assert len(ours) == len(requests)
    env = make_environment()
    return {name: (render(env, req), got) for (name, req), got in zip(CASES, ours)}


def test_templates_and_conversations_are_collected():
    assert len(list(TEMPLATES.glob("*.jinja"))) >= 10
    assert len(CASES) > 300


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_matches_jinja2(results, name):
    (kind, expected), got = results[name]
    if kind == "ok":
        assert got["ok"], f"jinja2 rendered, Pensieve failed: {got.get('kind')}: {got.get('message')}"
        assert got["text"] == expected
    elif kind == "raised":
        assert not got["ok"], f"jinja2 raised {expected!r}, Pensieve rendered {got.get('text')!r}"
        assert got["kind"] == "raised" and got["message"] == expected
    elif kind == "syntax":
        assert not got["ok"] and got["kind"] == "syntax", f"jinja2: {expected}; Pensieve: {got}"
    else:
        assert not got["ok"], f"jinja2 failed ({expected}), Pensieve rendered {got.get('text')!r}"
        assert got["kind"] in ("render", "limit"), f"jinja2: {expected}; Pensieve: {got}"
