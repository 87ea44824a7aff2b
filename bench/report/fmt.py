"""Number formatting for the report, in one place so every table rounds the
same way. None (not measured) prints as an em dash."""


def num(v, digits=1):
    return "—" if v is None else f"{v:,.{digits}f}"


def ms(v, digits=1):
    return "—" if v is None else f"{v:,.{digits}f} ms"


def us(v_ms):
    return "—" if v_ms is None else f"{v_ms * 1e3:,.1f} µs"


def s(v, digits=2):
    return "—" if v is None else f"{v:,.{digits}f} s"


def mib(v):
    if v is None:
        return "—"
    return f"{v / 1024:,.2f} GiB" if v >= 1024 else f"{v:,.0f} MiB"


def table(header, rows):
    """A Markdown table from a header list and a list of row lists."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def failed(section):
    """The report's line for a benchmark that did not produce numbers."""
    return f"_Not measured in this run: {section['error']}_"
