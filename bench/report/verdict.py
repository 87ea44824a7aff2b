"""The executive summary: the seed report's six targets, each with the one
figure from the results that answers it and how that figure was measured.
The figure chosen for each target is stated next to it, so a reader can
disagree with the choice but not be misled by it."""
from fmt import mib, ms, s


def _status(achieved, target, lower_is_better=True):
    if achieved is None:
        return "— not measured"
    ratio = target / achieved if lower_is_better else achieved / target
    if ratio >= 2:
        return "✅ Exceeded"
    return "✅ Achieved" if ratio >= 1 else "❌ Missed"


def _ok(section):
    return isinstance(section, dict) and "error" not in section or isinstance(section, list)


def _default_load(r):
    if not _ok(r.get("load")):
        return None
    return next((m for m in r["load"] if m["model"] == r["settings"]["model"]), None)


def rows(r):
    """[metric, target, achieved, status, how measured] for each target."""
    out = []
    single = r.get("single", {})
    stream = single.get("streaming") if _ok(single) else None
    ttft = stream["ttft_ms"]["p50"] if stream else None
    out.append(["API response time", "< 100 ms", ms(ttft), _status(ttft, 100),
                "time to first token of a streamed reply, one client, short prompt, p50"
                + (f" (p95 {ms(stream['ttft_ms']['p95'])})" if stream else "")])

    load = _default_load(r)
    base = load["rss_mib_steady"] if load else None
    out.append(["Memory usage (base)", "< 2.5 GB", mib(base),
                _status(None if base is None else base / 1024 * 1.073741824, 2.5),
                "resident memory of `pensieve serve` with the default model after a first reply (weights paged in)"])

    conc = r.get("concurrency", {})
    levels = conc.get("levels", []) if _ok(conc) else []
    clean = [lv["concurrency"] for lv in levels if lv["errors"] == 0]
    best = max(clean) if clean else None
    gap = next((lv["gap_p50_ms"] for lv in levels if lv["concurrency"] == best), None)
    out.append(["Concurrent requests", "5+", "—" if best is None else f"{best} (highest level tested)",
                _status(best, 5, lower_is_better=False) if best is not None else "— not measured",
                "largest number of streaming clients served at once with no failed request"
                + (f" (token gap p50 {ms(gap)} at that level)" if gap is not None else "")])

    load_s = load["load_to_first_reply_s"] if load else None
    out.append(["Model loading time", "< 30 s", s(load_s), _status(load_s, 30),
                "`pensieve serve` start to the first complete reply, default model"])

    gap = stream["gap_ms"]["p50"] if stream else None
    out.append(["Streaming latency", "< 50 ms/token", "—" if gap is None else f"{gap:.1f} ms/token",
                _status(gap, 50),
                "gap between streamed tokens as the client sees them, one client, p50"
                + (f" (p95 {ms(stream['gap_ms']['p95'])})" if stream else "")])

    errs = r.get("errors", {})
    worst = max((k["recovery_ms"]["p95"] for k in errs.get("kinds", [])), default=None) if _ok(errs) else None
    out.append(["Error recovery time", "< 1 s", ms(worst), _status(None if worst is None else worst / 1000, 1),
                "failed request (malformed body, over-long prompt, over-size body, client abort) "
                "to the next 200 reply; worst p95 over the kinds"])
    return out
