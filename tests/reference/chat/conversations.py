"""Conversations rendered through every collected template."""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"},
                "days": {"type": "integer", "description": "Forecast days"},
                "hourly": {"type": "boolean", "description": "Hourly detail"},
                "extras": {"type": "array", "items": {"type": "string"}, "description": "Extra fields"},
            },
            "required": ["city"],
        },
    },
}

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web. Returns \"snippets\" — ranked.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": ["string", "null"], "description": "  Query text  "},
                "limit": {"type": "number", "description": "Max results (1.5 means 1)"},
                "filters": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Key/value filters",
                },
            },
            "required": ["query", "limit"],
        },
    },
}

# SEARCH_TOOL's "type": ["string", "null"] sends Hermes / Command-R's json_to_python_type
# macro into endless recursion over the characters of "null" (jinja2: RecursionError;
# Pensieve: its recursion bound). WEATHER_TOOL alone renders everywhere.
TOOLS = [WEATHER_TOOL, SEARCH_TOOL]
TOOLS_SIMPLE = [WEATHER_TOOL]

_LONG = []
for i in range(15):
    _LONG.append({"role": "user", "content": f"Question {i}: what is {i} + {i}?"})
    _LONG.append({"role": "assistant", "content": f"{i} + {i} = {2 * i}."})

CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hello!"}],
    "system_user": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Hi there"},
    ],
    "multi_turn": [
        {"role": "user", "content": "Hello, how are you?"},
        {"role": "assistant", "content": "I'm doing great. How can I help you today?"},
        {"role": "user", "content": "I'd like to show off how chat templating works!"},
    ],
    "system_multi_turn_assistant_last": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another?"},
        {"role": "assistant", "content": "Green."},
    ],
    "content_parts": [
        {"role": "system", "content": [{"type": "text", "text": "System in parts."}]},
        {"role": "user", "content": [{"type": "text", "text": "Look at "}, {"type": "text", "text": "this."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "I see it."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "And this?"}]},
    ],
    "unicode_and_whitespace": [
        {"role": "system", "content": "  Ünïcode sýstem — with \"quotes\" and 'apostrophes'\n"},
        {"role": "user", "content": "\n\tTabs, newlines\r\nand emoji 🤖🎉 and CJK 你好 \\ backslash  "},
        {"role": "assistant", "content": "  Sure: {\"a\": [1, 2]} <tag> &amp; </s>  "},
        {"role": "user", "content": "ok"},
    ],
    "thinking": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "<think>\nSimple arithmetic.\n</think>\n\n4"},
        {"role": "user", "content": "And 3+3?"},
    ],
    "tool_round_trip": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call12345",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temp\": 21.5}"},
        {"role": "assistant", "content": "It is 21.5°C in Paris."},
        {"role": "user", "content": "Thanks!"},
    ],
    "two_tool_calls": [
        {"role": "user", "content": "Check both cities."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "callAAAAA", "type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}},
                {"id": "callBBBBB", "type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Rome", "hourly": True, "extras": ["wind", "uv"]}}},
            ],
        },
        {"role": "tool", "tool_call_id": "callAAAAA", "content": "3 degrees"},
        {"role": "tool", "tool_call_id": "callBBBBB", "content": "18 degrees"},
    ],
    "empty": [],
    "long_30": _LONG,
}
