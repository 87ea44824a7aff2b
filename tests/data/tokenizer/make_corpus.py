#!/usr/bin/env python3
"""Builds corpus.jsonl: the strings the tokenizer reference tests compare.

Deterministic (fixed seed); rerun after editing and commit both files:

    python3 tests/data/tokenizer/make_corpus.py > tests/data/tokenizer/corpus.jsonl

Each line is {"kind": ..., "hex": ...}: the text's bytes in hex, so invalid
UTF-8 survives the trip. Kinds: prose, code, json, whitespace, digits, emoji,
cjk, rtl, combining, mixed, invalid_utf8, control_tokens, long.
"""
import json
import random
import sys
import unicodedata

rng = random.Random(20240601)

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
    "I'd've thought you'll be there; they're sure we'd come, isn't it?",
    "Dr. Smith paid $1,234.56 on 2024-03-15 at 10:45 a.m. (approx. 12% more).",
    "HELLO WORLD!!! What's UP??? ...and then... nothing.",
    "Résumé, naïve café, coöperate, façade, jalapeño, Ångström.",
    "Привет, как дела? Всё хорошо, спасибо!",
    "Γειά σου Κόσμε· η ζωή είναι ωραία.",
    "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "ẞ straße STRASSE ǅ ǈ ǋ — em dash – en dash … ellipsis “quotes” ‘single’ «guillemets»",
    "Tab\tseparated\tvalues\nand\r\nwindows line endings\rold mac.",
    "Ask: \"Why?\" Answer: 'Because.' Then: `code` and ~tilde~ and ^caret^ | pipe.",
]
CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"hello, world\\n\");\n\treturn 0;\n}\n",
    "for (int i = 0; i < 10; ++i) { sum += a[i] * b[i]; }  // dot product",
    "const x = async () => { await fetch('/api/v1/items?limit=100&offset=0'); };",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
    "    if (x != NULL && *x == '\\0') {\n        return -1;\n    }\n",
    "fn main() -> Result<(), Box<dyn Error>> {\n    let v: Vec<u8> = vec![1, 2, 3];\n    Ok(())\n}",
    "<div class=\"container\"><p>Hello &amp; welcome</p><br/></div>",
    "$ ls -la | grep '^d' && echo \"done\" > /dev/null 2>&1",
    "x = [i**2 for i in range(100) if i % 3 == 0]\nprint(f\"{x!r:>10}\")",
    "template <typename T> constexpr T max(T a, T b) noexcept { return a > b ? a : b; }",
    "@@ -1,4 +1,5 @@\n-old line\n+new line\n context\n",
]
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇺🇸", "🦀", "🤖", "✨", "🔥", "⌚", "☕"]
CJK = ["你好，世界！", "日本語のテキストです。", "한국어 텍스트입니다", "中文标点：，。！？、；",
       "漢字かなカナ混じり文", "東京タワー333メートル", "我爱北京天安门", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３"]
RTL = ["مرحبا بالعالم", "שלום עולם", "السلام عليكم ورحمة الله", "עברית עם ניקוד: שָׁלוֹם",
       "English mixed with العربية and עברית in one line", "فارسی: سلام دنیا ۱۲۳۴"]
OTHER_SCRIPTS = ["नमस्ते दुनिया", "สวัสดีชาวโลก", "ሰላም ልዑል", "გამარჯობა მსოფლიო", "Բարեւ աշխարհ",
                 "ខ្ញុំចង់ទៅសាលារៀន", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ", "𐐷𐐲𐑌 Deseret", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝟙𝟚𝟛"]
CONTROL = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<start_of_turn>", "<end_of_turn>",
           "<bos>", "<eos>", "<pad>", "<s>", "</s>", "<unk>", "<|eot_id|>", "<mask>",
           "<start_of_image>", "<table>", "<repo_name>", "<filename>", "<gh_stars>"]
JSON_OBJS = [
    {"name": "Alice", "age": 30, "tags": ["a", "b"], "nested": {"x": 1.5e-3, "ok": True}},
    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "input": {"city": "Paris"}},
    [1, 2, 3, None, False, "str with \"quotes\" and \\ backslash"],
    {"unicode": "caf\u00e9 \u2603 \U0001F600", "empty": {}, "list": []},
]


def whitespace() -> str:
    parts = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u200b", "\v", "\f"]
    s = "".join(rng.choice(parts) * rng.randint(1, 6) for _ in range(rng.randint(1, 5)))
    if rng.random() < 0.6:
        s = rng.choice(["", "word", "a"]) + s + rng.choice(["", "x", "end", "!"])
    return s


def digits() -> str:
    n = rng.randint(1, 40)
    s = "".join(rng.choice("0123456789") for _ in range(n))
    forms = [s, " " + s, s + ".5", "$" + s, "v" + s, "1,234,567", "3.14159", "-42", "1e-10",
             "٣٤٥ (Arabic-Indic)", "१२३ (Devanagari)", "Ⅻ ½ ² ③", "0x1F600", "2^32 = 4294967296"]
    return rng.choice(forms)


def combining() -> str:
    base = rng.choice(["e", "a", "o", "n", "Z", "i"])
    marks = "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(1, 4)))
    word = base + marks + rng.choice(["", "bc", " next"])
    return rng.choice([word, unicodedata.normalize("NFD", "Café Ñandú"), "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇"])


def invalid_utf8() -> bytes:
    bad = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xe2\x28\xa1", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28",
           b"\x80", b"\xbf\xbf", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xc3"]
    pre = rng.choice(["", "abc", "héllo ", "日本"]).encode()
    post = rng.choice(["", "xyz", " end", "€"]).encode()
    return pre + rng.choice(bad) + post


def control_text() -> str:
    tok = rng.choice(CONTROL)
    forms = [tok, "user says " + tok + " then more", tok + tok, "<" + tok, tok[:-1],
             "system\n" + tok + "assistant\n", "  " + tok + "  ", tok.upper()]
    return rng.choice(forms)


def mixed() -> str:
    pools = [PROSE, CODE, EMOJI, CJK, RTL, OTHER_SCRIPTS, CONTROL]
    return rng.choice(["", " ", "\n"]).join(rng.choice(rng.choice(pools))
                                            for _ in range(rng.randint(2, 5)))


def main() -> None:
    items = []

    def add(kind: str, text) -> None:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        items.append({"kind": kind, "hex": data.hex()})

    for s in PROSE:
        add("prose", s)
        add("prose", " " + s)
        add("prose", s.lower())
    for s in CODE:
        add("code", s)
    for o in JSON_OBJS:
        add("json", json.dumps(o))
        add("json", json.dumps(o, indent=2))
        add("json", json.dumps(o, ensure_ascii=False))
    for s in EMOJI + CJK + RTL + OTHER_SCRIPTS:
        add("script", s)
    for s in CONTROL:
        add("control_tokens", s)
    gens = [("whitespace", whitespace), ("digits", digits), ("combining", combining),
            ("invalid_utf8", invalid_utf8), ("control_tokens", control_text), ("mixed", mixed)]
    while len(items) < 2200:
        kind, gen = rng.choice(gens)
        add(kind, gen())
    # Random slices of everything, including cuts inside words.
    blob = "\n".join(PROSE + CODE + CJK + RTL + OTHER_SCRIPTS + EMOJI)
    for _ in range(200):
        a = rng.randrange(len(blob))
        add("slice", blob[a:a + rng.randint(1, 120)])
    add("long", (" ".join(PROSE) + "\n") * 20)
    add("long", "".join(CODE) * 10)
    for it in items:
        sys.stdout.write(json.dumps(it) + "\n")


if __name__ == "__main__":
    main()
