"""Seeded random templates built from whitespace-sensitive fragments (tags with -/+
markers, comments, raw blocks, text runs of spaces, tabs and newlines), for the
differential test against jinja2."""

import random

TEXT = ["", " ", "  ", "\t", "\n", "\n\n", " \n", "\n  ", "\t\n\t", "x", " y ", "z\n", "\r\n", "\n \t "]
OPEN = ["{%", "{%-", "{%+"]
CLOSE = ["%}", "-%}", "+%}"]
VOPEN = ["{{", "{{-", "{{+"]
VCLOSE = ["}}", "-}}"]
COPEN = ["{#", "{#-", "{#+"]
CCLOSE = ["#}", "-#}", "+#}"]


def _block(rng, depth):
    kind = rng.choice(["if", "for", "set", "var", "comment", "text", "text", "raw", "macro"] if depth < 3
                      else ["var", "comment", "text", "set"])
    o, c = rng.choice(OPEN), rng.choice(CLOSE)
    if kind == "if":
        return (f"{o} if n > {rng.randint(0, 3)} {c}" + _body(rng, depth + 1) + f"{rng.choice(OPEN)} else {rng.choice(CLOSE)}"
                + _body(rng, depth + 1) + f"{rng.choice(OPEN)} endif {rng.choice(CLOSE)}")
    if kind == "for":
        return f"{o} for i in range(2) {c}" + _body(rng, depth + 1) + f"{rng.choice(OPEN)} endfor {rng.choice(CLOSE)}"
    if kind == "set":
        value = rng.choice(TEXT).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return f"{o} set v = '{value}' {c}"
    if kind == "var":
        operand = rng.choice(["n", "i", "v", "'a b'"])
        return f"{rng.choice(VOPEN)} {operand} {rng.choice(VCLOSE)}"
    if kind == "comment":
        return f"{rng.choice(COPEN)} note {rng.choice(CCLOSE)}"
    if kind == "raw":
        return f"{o} raw {c}{rng.choice(TEXT)}{{{{ x }}}}{rng.choice(TEXT)}{rng.choice(OPEN)} endraw {rng.choice(CLOSE)}"
    if kind == "macro":
        return (f"{o} macro m(a) {c}" + _body(rng, depth + 1) + f"{rng.choice(OPEN)} endmacro {rng.choice(CLOSE)}"
                + rng.choice(TEXT) + "{{ m(1) }}")
    return rng.choice(TEXT)


def _body(rng, depth):
    return "".join(rng.choice(TEXT) + _block(rng, depth) for _ in range(rng.randint(1, 4))) + rng.choice(TEXT)


def random_templates(count, seed=1234):
    rng = random.Random(seed)
    return [_body(rng, 0) for _ in range(count)]
