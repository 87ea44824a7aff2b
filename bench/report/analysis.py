"""Bottleneck analysis and recommendations. Both are derived from the numbers
in the results file by stated rules (thresholds are in the text they
produce), so they change when the measurements do; nothing here is a
hand-written conclusion."""
from fmt import mib, ms, num, table


def _bad(section):
    return section is None or (isinstance(section, dict) and "error" in section)


def _group(profile, phase, name):
    return next((g["percent"] for g in profile.get(phase, {}).get("groups", []) if g["group"] == name), 0.0)


def _profile_tables(p, phase):
    prof = p[phase]
    out = [f"**{phase.capitalize()}** (`{p[phase + '_command']}`, {prof['samples']} samples):", ""]
    out.append(table(["Group (by function name)", "Share of samples"],
                     [[g["group"], f"{g['percent']:.1f}%"] for g in prof["groups"]]))
    out += ["", table(["Top functions", "Share"],
                      [[f"`{t['symbol']}`", f"{t['percent']:.1f}%"] for t in prof["top"][:8]]), ""]
    return out


def _facts(r):
    """The derived numbers both sections use; missing inputs give None."""
    f = {}
    threads = r.get("threads")
    if not _bad(threads):
        best = max(threads, key=lambda t: t["decode_tok_s"])
        f["best_threads"], f["best_decode"] = best["threads"], best["decode_tok_s"]
        f["all_cores"] = next((t for t in threads if t["threads"] == r["machine"]["cpu_count"]), None)
        f["thread_gain"] = best["decode_tok_s"] / threads[0]["decode_tok_s"]
    ctx = r.get("context")
    if not _bad(ctx):
        sizes = ctx["ctx_sweep"]["sizes"]
        f["weight_bytes"] = ctx["weight_bytes_per_token"]
        f["ctx_first"], f["ctx_last"] = sizes[0], sizes[-1]
        f["depth_slowdown"] = sizes[0]["decode_tok_s"] / sizes[-1]["decode_tok_s"]
        f["kv_mib_per_1k"] = sizes[-1]["kv_cache_mib"] / sizes[-1]["ctx"] * 1024
        f["interactive_ctx"] = max((s["ctx"] for s in sizes if s["decode_tok_s"] >= 0.5 * sizes[0]["decode_tok_s"]),
                                   default=sizes[0]["ctx"])
    conc = r.get("concurrency")
    if not _bad(conc):
        lv = conc["levels"]
        f["batch_gain"] = max(x["tok_per_s"] for x in lv) / lv[0]["tok_per_s"]
        f["peak_tok_s_level"] = max(lv, key=lambda x: x["tok_per_s"])
        ok = [x for x in lv if x["errors"] == 0 and x["gap_p50_ms"] < 50]
        f["streaming_ok_level"] = max((x["concurrency"] for x in ok), default=None)
    single = r.get("single")
    if not _bad(single):
        f["overhead_ms"] = single["overhead"]["client_minus_engine_ms"]["p50"]
        f["full_s"] = single["full_response"]["latency_s"]["p50"]
    return f


def bottlenecks(r):
    out = ["## Bottleneck Analysis", ""]
    p, f = r.get("profile", {}), _facts(r)
    if not _bad(p) and p.get("tool"):
        out += [f"Profile: `{p['tool']}` of the default model, taken by `bench/report/perf_profile.py`. "
                "Groups are assigned by function name (a heuristic); the top-functions tables show the "
                "raw names.", ""]
        out += _profile_tables(p, "decode") + _profile_tables(p, "prefill")
    else:
        note = p.get("note") or p.get("error") or "no profile"
        out += [f"No sampling profile in this run ({note}); the analysis uses the engine's own phase "
                "timings (`Server-Timing` prefill/decode/handler) and the sweeps instead.", ""]
    out += ["### Identified Bottlenecks", ""]
    rows = []
    mm = _group(p, "decode", "quantized matmul / GEMV") if not _bad(p) else 0
    if mm and "weight_bytes" in f and "best_decode" in f:
        gbs = f["weight_bytes"] * f["best_decode"] / 1e9
        rows.append(["Quantized matmul (weights streamed per token)",
                     f"{mm:.0f}% of decode samples; {mib(f['weight_bytes'] / 2**20)} of weights read per token × "
                     f"{num(f['best_decode'])} tok/s = {gbs:.1f} GB/s",
                     "High" if mm > 50 else "Medium"])
    if "depth_slowdown" in f:
        a, b = f["ctx_first"], f["ctx_last"]
        rows.append(["Attention over a long context",
                     f"decode {num(a['decode_tok_s'])} tok/s at {a['ctx']} tokens → {num(b['decode_tok_s'])} at "
                     f"{b['ctx']} ({f['depth_slowdown']:.1f}× slower); prefill {num(a['prefill_tok_s'])} → "
                     f"{num(b['prefill_tok_s'])} tok/s",
                     "High" if f["depth_slowdown"] > 3 else "Medium" if f["depth_slowdown"] > 1.5 else "Low"])
    if "thread_gain" in f:
        load = r["machine"]["load_average_start"][0]
        rows.append(["Thread scaling",
                     f"best decode at {f['best_threads']} thread(s), {f['thread_gain']:.2f}× one thread "
                     f"(machine has {r['machine']['cpu_count']} logical CPUs; load average {load:.1f} at the "
                     "start, so other work may have taken the spare cores)",
                     "High" if f["thread_gain"] < 1.3 and r["machine"]["cpu_count"] > 1 else "Low"])
    pool = _group(p, "decode", "thread pool (waiting/spinning)") if not _bad(p) else 0
    if pool:
        rows.append(["Thread pool synchronisation", f"{pool:.1f}% of decode samples", "Medium" if pool > 10 else "Low"])
    if "overhead_ms" in f:
        share = f["overhead_ms"] / 1e3 / f["full_s"] * 100
        rows.append(["HTTP, JSON and request handling",
                     f"{ms(f['overhead_ms'], 2)} per request (p50), {share:.1f}% of a full reply",
                     "Low" if share < 5 else "Medium"])
    if "batch_gain" in f:
        lv = f["peak_tok_s_level"]
        rows.append(["Batching across requests",
                     f"aggregate {num(lv['tok_per_s'])} tok/s at {lv['concurrency']} clients, {f['batch_gain']:.1f}× "
                     "one client", "Low (batching works)" if f["batch_gain"] > 2 else "Medium"])
    out.append(table(["Component", "Evidence (this run)", "Impact"], rows) if rows else "_No data._")
    out += ["", "Impact rules: matmul High above 50% of decode samples; attention High when decode at the "
            "largest context is over 3× slower than at the smallest; threads High when the best thread "
            "count gains under 1.3×; request handling Low under 5% of a full reply."]
    return "\n".join(out)


def recommendations(r):
    f = _facts(r)
    out = ["## Recommendations", ""]
    if "best_threads" in f:
        text = (f"- **Threads:** decode was fastest at `--threads {f['best_threads']}` on this "
                f"{r['machine']['cpu_count']}-CPU machine ({num(f['best_decode'])} tok/s)")
        if f["all_cores"] and f["all_cores"]["threads"] != f["best_threads"]:
            ac = f["all_cores"]
            text += (f"; the default, all {ac['threads']} cores, reached {num(ac['decode_tok_s'])} tok/s "
                     f"({ac['decode_tok_s'] / f['best_decode']:.0%} of that)")
        out.append(text + ".")
    if f.get("streaming_ok_level") is not None:
        out.append(f"- **Concurrency:** up to {f['streaming_ok_level']} streaming clients kept the median token gap "
                   "under the 50 ms/token target with no errors; set `--parallel` near that for interactive use, "
                   "higher only for throughput.")
    elif "batch_gain" in f:
        out.append("- **Concurrency:** no tested level kept the median token gap under 50 ms/token; keep "
                   "`--parallel` low for interactive use on this machine.")
    if "interactive_ctx" in f:
        out.append(f"- **Context:** decode stays within half its short-context speed up to {f['interactive_ctx']} "
                   f"tokens; each 1,024 tokens of context holds {mib(f['kv_mib_per_1k'])} of KV per sequence, so "
                   "memory is not the limit here, attention time is.")
    quant = r.get("quantization")
    quant = [q for q in quant if "error" not in q] if not _bad(quant) else None
    if quant and len(quant) > 1:
        fast = max(quant, key=lambda q: q["decode_tok_s"])
        good = min(quant, key=lambda q: q["perplexity"])
        if fast is good:
            out.append(f"- **Model:** `{fast['name']}` is both the fastest ({num(fast['decode_tok_s'])} tok/s decode) "
                       f"and the lowest in perplexity ({num(good['perplexity'], 2)}) on the shipped text.")
        else:
            out.append(f"- **Model:** `{fast['name']}` is the fastest ({num(fast['decode_tok_s'])} tok/s decode); "
                       f"`{good['name']}` scores the lowest perplexity ({num(good['perplexity'], 2)}) on the "
                       "shipped text.")
    p = r.get("profile", {})
    if not _bad(p) and p.get("tool") and p["decode"]["top"]:
        top = p["decode"]["top"][0]
        out.append(f"- **Next optimisation target:** `{top['symbol']}` ({top['percent']:.0f}% of decode samples)"
                   + ("; and attention at long context (see above)." if f.get("depth_slowdown", 0) > 3 else "."))
    return "\n".join(out)
