"""Anthropic-shaped conversations with tools, and an independent Python statement of how
Pensieve turns them into chat-template inputs (docs/TOOLS.md): the chat_render probe's
conversion (src/chat/tools/tool_prompt.cpp) must give exactly these inputs, and its
render must match jinja2's render of them."""

import json
import re

READ_TOOL = {
    "name": "Read",
    "description": "Reads a file from the local filesystem.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "The absolute path to the file to read"},
            "limit": {"type": "number", "description": "The number of lines to read"},
        },
        "required": ["file_path"],
        "additionalProperties": False,
    },
}

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a city — \"live\" data.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city, e.g. Zürich"},
            "days": {"type": "integer", "description": "Forecast days"},
        },
        "required": ["city"],
    },
}

# A server tool (no input_schema): dropped, never shown to the model.
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}

TOOLS = [READ_TOOL, WEATHER_TOOL, WEB_SEARCH]


def _use(id_, name, input_):
    return {"type": "tool_use", "id": id_, "name": name, "input": input_}


def _result(id_, content, is_error=None):
    block = {"type": "tool_result", "tool_use_id": id_, "content": content}
    if is_error is not None:
        block["is_error"] = is_error
    return block


ID1 = "toolu_01A09q90qw90lq917835lq9"
ID2 = "toolu_01B7xYz3kLmNoPqRsTuVwXyZ"

TOOL_CONVERSATIONS = {
    "tools_no_history": [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "What is in README.md?"},
    ],
    "round_trip": [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            _use(ID1, "get_weather", {"city": "Zürich", "days": 2}),
        ]},
        {"role": "user", "content": [_result(ID1, "21.5 °C, sunny")]},
        {"role": "assistant", "content": "It is 21.5 °C and sunny."},
        {"role": "user", "content": "Thanks! And tomorrow?"},
    ],
    "ends_with_result": [
        {"role": "user", "content": "Read /etc/hosts"},
        {"role": "assistant", "content": [_use(ID1, "Read", {"file_path": "/etc/hosts"})]},
        {"role": "user", "content": [
            _result(ID1, [{"type": "text", "text": "127.0.0.1 localhost"},
                          {"type": "text", "text": "::1 localhost"}]),
        ]},
    ],
    "result_then_text": [
        {"role": "user", "content": "Read a.txt"},
        {"role": "assistant", "content": [_use(ID1, "Read", {"file_path": "a.txt", "limit": 10})]},
        {"role": "user", "content": [
            _result(ID1, "File does not exist.", is_error=True),
            {"type": "text", "text": "<system-reminder>\nThe file may have moved.\n</system-reminder>"},
        ]},
    ],
    "parallel_calls": [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Two calls.", "signature": ""},
            _use(ID1, "get_weather", {"city": "Oslo"}),
            _use(ID2, "get_weather", {"city": "Rome", "days": 1}),
        ]},
        {"role": "user", "content": [
            _result(ID1, "3 degrees"),
            _result(ID2, [{"type": "text", "text": "18 degrees"},
                          {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]),
        ]},
    ],
}


def _text_of(content):
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(b["text"] for b in content if b["type"] == "text")


def _nine_char_id(id_):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    h = 14695981039346656037
    for byte in id_.encode("utf-8"):
        h = ((h ^ byte) * 1099511628211) % (1 << 64)
    out = ""
    for _ in range(9):
        out += alphabet[h % 62]
        h //= 62
    return out


def _uses(pattern, source):
    return re.search(r"(?<![A-Za-z0-9_])" + pattern + r"(?![A-Za-z0-9_])", source) is not None


def template_support(source):
    """(template renders tools, syntax)."""
    if "[TOOL_CALLS]" in source:
        syntax = "mistral"
    elif "<tool_call>" in source:
        syntax = "hermes"
    elif "<|python_tag|>" in source or "ipython" in source:
        syntax = "llama"
    else:
        return False, "hermes"
    if not _uses("tools", source):
        return False, "hermes"
    return True, syntax


def custom_tools(tools):
    return [{"name": t["name"], "description": t.get("description") or "", "input_schema": t["input_schema"]}
            for t in tools if "input_schema" in t]


def builtin_section(tools):
    out = ("# Tools\n\nYou can call tools to help with the request. Each tool is listed below as JSON "
           "with its name, description and input_schema (a JSON Schema for its input):\n")
    for t in tools:
        out += json.dumps(t, ensure_ascii=False) + "\n"
    out += ("\nTo call a tool, write the call in exactly this form, one block per call, and then stop:\n"
            "<tool_call>\n"
            "{\"name\": \"<tool name>\", \"arguments\": <the input: a JSON object matching the tool's input_schema>}\n"
            "</tool_call>\n"
            "The result of each call comes back in the next user turn as:\n"
            "<tool_response name=\"<tool name>\">\n"
            "<the result>\n"
            "</tool_response>")
    return out


def _builtin_messages(messages, tools):
    names = {}
    out = []
    for m in messages:
        content = m.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else (content or [])
        pieces = []
        for b in blocks:
            if b["type"] == "text":
                pieces.append(b["text"])
            elif b["type"] == "tool_use":
                names[b["id"]] = b["name"]
                pieces.append("<tool_call>\n" + json.dumps({"name": b["name"], "arguments": b["input"]},
                                                           ensure_ascii=False) + "\n</tool_call>")
            elif b["type"] == "tool_result":
                err = ' is_error="true"' if b.get("is_error") else ""
                pieces.append(f'<tool_response name="{names.get(b["tool_use_id"], "")}"{err}>\n'
                              + _text_of(b.get("content")) + "\n</tool_response>")
        text = "\n".join(pieces)
        if out and out[-1]["role"] == m["role"] and m["role"] != "system":
            if out[-1]["content"] and text:
                out[-1]["content"] += "\n\n"
            out[-1]["content"] += text
        else:
            out.append({"role": m["role"], "content": text})
    if tools:
        section = builtin_section(tools)
        if out and out[0]["role"] == "system":
            out[0]["content"] = out[0]["content"] + "\n\n" + section if out[0]["content"] else section
        else:
            out.insert(0, {"role": "system", "content": section})
    return out


def _hf_messages(messages, syntax):
    names = {}
    call_id = _nine_char_id if syntax == "mistral" else (lambda i: i)
    out = []
    for m in messages:
        content = m.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else (content or [])
        if m["role"] == "system":
            out.append({"role": "system", "content": _text_of(blocks)})
        elif m["role"] == "assistant":
            msg = {"role": "assistant", "content": _text_of(blocks)}
            calls = []
            for b in blocks:
                if b["type"] == "tool_use":
                    names[b["id"]] = b["name"]
                    calls.append({"type": "function", "id": call_id(b["id"]),
                                  "function": {"name": b["name"], "arguments": b["input"]}})
            if syntax == "llama" and len(calls) > 1:
                # One call per assistant turn: the Llama 3.x template takes no more.
                for i, call in enumerate(calls):
                    out.append({"role": "assistant", "content": msg["content"] if i == 0 else "",
                                "tool_calls": [call]})
                continue
            if calls:
                msg["tool_calls"] = calls
            out.append(msg)
        else:
            texts, after_result = [], False

            def flush():
                if not texts:
                    return
                if after_result and syntax == "mistral":
                    out[-1]["content"] += "\n\n" + "\n".join(texts)
                else:
                    out.append({"role": "user", "content": "\n".join(texts)})
                texts.clear()

            for b in blocks:
                if b["type"] == "text":
                    texts.append(b["text"])
                elif b["type"] == "tool_result":
                    flush()
                    after_result = True
                    prefix = "Error: " if b.get("is_error") else ""
                    out.append({"role": "tool", "tool_call_id": call_id(b["tool_use_id"]),
                                "name": names.get(b["tool_use_id"], ""),
                                "content": prefix + _text_of(b.get("content"))})
            if not blocks:
                texts.append("")
            flush()
    return out


def template_inputs(source, tools, messages):
    """The (messages, tools) Pensieve must hand the template for this conversation."""
    renders_tools, syntax = template_support(source)
    kept = custom_tools(tools or [])
    if not renders_tools:
        return _builtin_messages(messages, kept), None
    hf_tools = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                                  "parameters": t["input_schema"]}} for t in kept]
    return _hf_messages(messages, syntax), (hf_tools or None)
