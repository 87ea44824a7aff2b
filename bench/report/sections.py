"""The report's benchmark sections, one function each, in the seed report's
order. Each takes the whole results dict and the plot directory and returns
Markdown; a benchmark that failed in the run shows its error instead."""
import plots
from fmt import failed, mib, ms, num, s, table, us


def _bad(section):
    return section is None or (isinstance(section, dict) and "error" in section)


def api_response(r, plot_dir):
    out = ["### 1. API Response Performance", "", "#### Single Request Latency", ""]
    single, js = r.get("single"), r.get("api_json")
    if _bad(single):
        out.append(failed(single or {"error": "missing"}))
    else:
        full, over = single["full_response"], single["overhead"]
        lat, tok, per = full["latency_s"], full["output_tokens"], full["decode_ms_per_token"]
        out += [
            "```",
            f"Model: {r['settings']['model']}   Prompt: \"Write a long story about a lighthouse keeper.\"",
            f"Temperature: 0.7   max_tokens: {full['max_tokens']}   one client, requests back to back",
            "```", ""]
        rows = [
            ["Token generation (engine, per token)", ms(per["p50"], 2), ms(per["p95"], 2), ms(per["p99"], 2),
             ms(per["mean"], 2), per["n"]],
            [f"Full response (up to {full['max_tokens']} tokens; mean {num(tok['mean'], 0)} generated)",
             s(lat["p50"]), s(lat["p95"]), s(lat["p99"]), s(lat["mean"]), lat["n"]],
            ["API overhead (client latency − engine time, 1-token reply)",
             *(ms(over["client_minus_engine_ms"][k], 2) for k in ("p50", "p95", "p99", "mean")),
             over["client_minus_engine_ms"]["n"]],
            ["… of which inside the server (handler − engine: parse, template, tokenize, hand-off)",
             *(ms(over["handler_minus_engine_ms"][k], 2) for k in ("p50", "p95", "p99", "mean")),
             over["handler_minus_engine_ms"]["n"]],
            ["HTTP round trip alone (GET /health)",
             *(ms(over["health_rtt_ms"][k], 2) for k in ("p50", "p95", "p99", "mean")),
             over["health_rtt_ms"]["n"]],
        ]
        if not _bad(js):
            for key, label in (("parse_request", "JSON parsing of a Messages request"),
                               ("serialize_message_100_tokens", "JSON serialization of a 100-token Message"),
                               ("serialize_stream_100_events", "JSON + SSE framing of 100 stream events")):
                v = js[key]
                rows.append([label, us(v["p50_ms"]), us(v["p95_ms"]), us(v["p99_ms"]), us(v["mean_ms"]),
                             js["iterations"]])
        out.append(table(["Operation", "P50", "P95", "P99", "Average", "samples"], rows))
        out += ["", "Token generation is the engine's decode time per token from the `Server-Timing` "
                "header (decode ÷ (tokens − 1); the first token comes out of prefill). JSON rows are "
                "timed in-process by `pensieve bench --api-json` (no network), since the server's own "
                "timing does not separate them."]
    out += ["", "#### Concurrent Request Performance", ""]
    conc = r.get("concurrency")
    if _bad(conc):
        out.append(failed(conc or {"error": "missing"}))
        return "\n".join(out)
    levels = conc["levels"]
    out += [f"Each level: that many clients stream requests (`max_tokens` {conc['max_tokens']}, prompt "
            f"\"Hello, performance test!\") back to back for {conc['seconds_per_level']:.0f} s; requests "
            f"still running at the deadline finish and count. Server: `pensieve serve {conc['server_args']}`. "
            "Memory is the server's peak RSS during the level.", ""]
    out.append(table(
        ["Concurrent requests", "Requests", "Errors", "Avg response", "P50", "P95", "P99", "Throughput (req/s)",
         "Tokens/s", "TTFT p50", "Token gap p50", "Memory (peak RSS)"],
        [[lv["concurrency"], lv["requests"], lv["errors"], s(lv["avg_s"]), s(lv["p50_s"]), s(lv["p95_s"]),
          s(lv["p99_s"]), num(lv["req_per_s"], 2), num(lv["tok_per_s"], 1), ms(lv["ttft_p50_ms"], 0),
          ms(lv["gap_p50_ms"], 1), mib(lv["peak_rss_mib"])] for lv in levels]))
    lat = plots.latency_vs_concurrency(levels, plot_dir)
    thr = plots.throughput_vs_concurrency(levels, plot_dir)
    out += ["", f"![Latency vs concurrency](performance/{lat})", "",
            f"![Throughput vs concurrency](performance/{thr})"]
    return "\n".join(out)


def memory(r, plot_dir):
    out = ["### 2. Memory Performance", "", "#### Model Loading Memory Usage", ""]
    load, quant = r.get("load"), r.get("quantization")
    if _bad(load):
        out.append(failed(load or {"error": "missing"}))
    else:
        size = {q["name"]: q for q in quant} if not _bad(quant) else {}
        out.append(table(
            ["Model", "File size", "Ready to serve", "First reply", "Load to first reply", "Peak memory",
             "Steady state"],
            [[m["model"], mib(size[m["model"]]["file_mib"]) if m["model"] in size else "—", s(m["ready_s"]),
              s(m["first_reply_s"]), s(m["load_to_first_reply_s"]), mib(m["rss_mib_peak"]),
              mib(m["rss_mib_steady"])] for m in load]))
        out += ["", "Ready: `pensieve serve` started → listening (maps the file, reads tokenizer and "
                "template, reserves the KV pool). First reply: one 16-token request, which pages the "
                "weights in from the page cache (a cold disk read would add to it). Memory is the "
                "server's RSS (peak = VmHWM) after that reply; weights are mmap'd, so they count once "
                "touched."]
    out += ["", "#### Memory Scaling with Context", ""]
    ctx = r.get("context")
    if _bad(ctx):
        out.append(failed(ctx or {"error": "missing"}))
        return "\n".join(out)
    sweep = ctx["ctx_sweep"]
    out += [f"One sequence grown to each size in turn (`pensieve bench --ctx-sweep`, {sweep['threads']} "
            f"threads): prefill up to the size, then {sweep['decode_tokens']} decode steps at that depth. "
            f"Growth is RSS minus the RSS after a 16-token warm-up ({mib(sweep['rss_mib_warm'])}, weights "
            "resident). The KV column is the F16 K+V bytes those tokens need by the model's shape.", ""]
    out.append(table(
        ["Context size", "Memory increase (measured)", "KV cache (computed)", "Prefill tok/s (new tokens)",
         "Decode tok/s at this depth"],
        [[c["ctx"], mib(c["rss_mib"] - sweep["rss_mib_warm"]), mib(c["kv_cache_mib"]), num(c["prefill_tok_s"]),
          num(c["decode_tok_s"])] for c in sweep["sizes"]]))
    mem = plots.memory_vs_context(sweep, plot_dir)
    spd = plots.speed_vs_context(sweep, plot_dir)
    out += ["", f"![Memory vs context](performance/{mem})", "", f"![Speed vs context](performance/{spd})"]
    return "\n".join(out)


def threads(r, plot_dir):
    out = ["### 3. CPU Threads", "",
           "Pensieve runs on the CPU only (the seed's GPU-layers table has no counterpart); the knob "
           "is `--threads`.", ""]
    rows = r.get("threads")
    if _bad(rows):
        out.append(failed(rows or {"error": "missing"}))
        return "\n".join(out)
    first = rows[0]
    out += [f"`pensieve bench -t N -p {first['prompt_tokens']} -g {first['gen_tokens']} -r "
            f"{first['repetitions']}` (medians). More threads than cores shows the cost of oversubscription.", ""]
    base = rows[0]
    out.append(table(["Threads", "Prefill tok/s", "Decode tok/s", "Decode vs 1 thread"],
                     [[t["threads"], num(t["prefill_tok_s"]), num(t["decode_tok_s"]),
                       f"{t['decode_tok_s'] / base['decode_tok_s']:.2f}×"] for t in rows]))
    p = plots.speed_vs_threads(rows, plot_dir)
    out += ["", f"![Speed vs threads](performance/{p})"]
    return "\n".join(out)


def models(r, _plot_dir):
    out = ["### 4. Model Performance Comparison", "", "#### Quality vs Performance by Quantization", ""]
    quant = r.get("quantization")
    if _bad(quant):
        out.append(failed(quant or {"error": "missing"}))
        return "\n".join(out)
    ok = [q for q in quant if "error" not in q]
    q0 = ok[0]
    out += [f"Quality is perplexity on `{q0['text']}` (public domain, shipped in the repo) in chunks of "
            f"{q0['ctx']} tokens; lower is better. Speed is `pensieve bench -p {q0.get('prompt_tokens', 256)} "
            f"-g {q0.get('gen_tokens', 64)}` (medians). "
            "The published rows are **different models**, each in the one format it is published in, and "
            "their perplexities are not strictly comparable (different tokenizers). The requantized rows are "
            "the model under test converted by `pensieve quantize` from its published file: they compare "
            "formats of one model, but can only lose quality against the published one (a Q8_0 copy of a "
            "4-bit file still holds 4-bit information). Formats are given as shares of weight bytes; tensors "
            "whose rows are not whole blocks of the target format keep their format.", ""]
    rows = []
    for q in quant:
        if "error" in q:
            rows.append([q["name"], "—", "—", f"not measured: {q['error']}", "—", "—", "—", "—"])
            continue
        rows.append([q["name"], q.get("source", "published"), f"{q['parameters'] / 1e6:.0f} M",
                     ", ".join(f"{m['type'].upper()} {m['share']:.0%}" for m in q["quant_mix"]), mib(q["file_mib"]),
                     num(q["prefill_tok_s"]), num(q["decode_tok_s"]), num(q["perplexity"], 2)])
    out.append(table(["Model", "Source", "Parameters", "Format (share of weight bytes)", "File size",
                      "Prefill tok/s", "Decode tok/s", "Perplexity"], rows))
    return "\n".join(out)


def _ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}×"


def _pct(v):
    return "—" if v is None else f"{v:.0%}"


def _count(n, word):
    """'1 run', '2 runs'."""
    return f"1 {word}" if n == 1 else f"{n} {word}s"


def _share(v, base):
    return "—" if v is None or not base else f"{v / base:.0%}"


def _depth_rows(model, depth_rows):
    """One model's rows of a speed-by-depth table, shares against its depth 0."""
    base = next((row["pensieve"] for row in depth_rows if row["depth"] == 0), {})
    rows = []
    for row in depth_rows:
        ours, theirs = row["pensieve"], row.get("llama_cpp", {})
        rows.append([model, f"{row['depth']:,}",
                     num(ours["prefill_tok_s"]), num(theirs.get("prefill_tok_s")),
                     _ratio(ours["prefill_tok_s"], theirs.get("prefill_tok_s")),
                     num(ours["decode_tok_s"]), num(theirs.get("decode_tok_s")),
                     _ratio(ours["decode_tok_s"], theirs.get("decode_tok_s")),
                     _share(ours["prefill_tok_s"], base.get("prefill_tok_s")),
                     _share(ours["decode_tok_s"], base.get("decode_tok_s"))])
    return rows


def depth(r, plot_dir):
    """Speed by context depth, Pensieve beside llama.cpp's llama-bench -d."""
    out = ["#### Speed by Context Depth, Side by Side with llama.cpp", ""]
    dp = r.get("depth")
    if _bad(dp):
        out.append(failed(dp or {"error": "missing"}))
        return "\n".join(out)
    lc = dp["llama_cpp"]
    runs = _count(dp["repetitions"], "run")
    out += [f"Prefill of {dp['prompt_tokens']} new tokens and decode of {dp['gen_tokens']} tokens after "
            "*depth* tokens already in the context, as `llama-bench -d` measures them: "
            f"`pensieve bench -p {dp['prompt_tokens']} -g {dp['gen_tokens']} -d D -t {dp['threads']}` and "
            f"`llama-bench -p {dp['prompt_tokens']} -n {dp['gen_tokens']} -d D -t {dp['threads']}` on the same "
            f"GGUF file, run in turns (Pensieve, llama.cpp, …), {runs} of each per depth "
            "(figures are medians). Depths go up to each model's trained context length. Ratios above 1× mean "
            "Pensieve is faster; the last two columns are Pensieve's speed as a share of its own speed at depth 0.", ""]
    if lc["measured"]:
        st = lc.get("settings", {})
        fa = {-1: "auto", 0: "off", 1: "on"}.get(st.get("flash_attn"), st.get("flash_attn"))
        out += [f"llama.cpp: `{lc['version']}`, built by `bench/llamacpp/build.sh` (`{lc['binary']}`); its "
                f"defaults otherwise (K/V cache {st.get('type_k', '?')}/{st.get('type_v', '?')}, flash "
                f"attention {fa}, batch {st.get('n_batch', '?')}, micro-batch {st.get('n_ubatch', '?')}). Its "
                f"worker threads busy-wait between steps (`--poll {st.get('poll', '?')}`), so other work on the "
                "machine can slow it sharply: read its figures with the load average of the Hardware section in "
                "mind.", ""]
    else:
        out += [f"**llama.cpp was not measured in this run**: {lc['reason']}. Its columns are empty.", ""]
    columns = ["Model", "Depth", "Prefill tok/s: Pensieve", "llama.cpp", "Pensieve ÷ llama.cpp",
               "Decode tok/s: Pensieve", "llama.cpp", "Pensieve ÷ llama.cpp",
               "Pensieve prefill vs depth 0", "Pensieve decode vs depth 0"]
    rows = [row for m in dp["models"] for row in _depth_rows(m["model"], m["rows"])]
    out.append(table(columns, rows))
    q8 = dp.get("kv_q8_0")
    if q8 and q8["rows"]:
        out += ["", "The same with a Q8_0 KV cache, half the bytes a decoding token reads at depth "
                "(`pensieve bench … --kv-type q8_0`; `llama-bench … -ctk q8_0 -ctv q8_0 -fa 1`, since llama.cpp "
                "quantizes its V cache only with flash attention):", "",
                table(columns, _depth_rows(q8["model"], q8["rows"]))]
    skipped = [f"`{m['model']}` {', '.join(map(str, m['skipped_depths']))} (trained context "
               f"{m['context_length']:,})" for m in dp["models"] if m["skipped_depths"]]
    if skipped:
        out += ["", "Depths past a model's trained context are left out: " + "; ".join(skipped) + "."]
    if any(m["rows"] for m in dp["models"]):
        out += ["", f"![Speed vs depth, Pensieve and llama.cpp](performance/{plots.speed_vs_depth(dp, plot_dir)})"]
    return "\n".join(out)


def long_prompt(r, plot_dir):
    """A long prompt's prefill time against the same number of tokens in short prompts."""
    out = ["#### Long Prompts", ""]
    lp = r.get("long_prompt")
    if _bad(lp):
        out.append(failed(lp or {"error": "missing"}))
        return "\n".join(out)
    n = lp["long_tokens"] // lp["short_tokens"]
    runs = _count(lp["repetitions"], "turn")
    out += [f"One prompt of {lp['long_tokens']:,} tokens against {n} prompts of {lp['short_tokens']:,}: "
            f"`pensieve bench -p {lp['long_tokens']} -g 1 -r 1` and `pensieve bench -p {lp['short_tokens']} "
            f"-g 1 -r 3` ({lp['threads']} threads), in turns, {runs} (medians). Prefill runs in chunks of at most 512 "
            "tokens either way, so the ratio is what attention over the longer context costs; sliding windows "
            "keep it near 1× (Gemma 3 attends its last 512 positions in five layers of six). Target: at most "
            f"{lp['target_ratio']}×. Models whose trained context is shorter than the long prompt are left out.",
            ""]
    rows = [[m["model"], num(m["long_tok_s"]), s(m["long_seconds"]), num(m["short_tok_s"]),
             s(m["short_seconds"]), f"{m['ratio']:.2f}×",
             "✅" if m["ratio"] <= lp["target_ratio"] else "❌"] for m in lp["models"]]
    out.append(table(["Model", "Long prompt tok/s", "Time", f"{n} short prompts tok/s", "Time", "Ratio", "Target"],
                     rows))
    if lp["skipped"]:
        out += ["", "Left out: " + "; ".join(f"`{m['model']}` (trained context {m['context_length']:,})"
                                           for m in lp["skipped"]) + "."]
    return "\n".join(out)


def shapes(r, plot_dir):
    """Speed on real model shapes (random weights) beside llama.cpp, and decode against the roofline."""
    out = ["#### Speed on the Shapes of Real Models, Side by Side with llama.cpp", ""]
    sp = r.get("shapes")
    if _bad(sp):
        out.append(failed(sp or {"error": "missing"}))
        return "\n".join(out)
    runs = _count(sp["repetitions"], "run")
    measured = [row["read_bandwidth_gb_s"]["median"] for row in sp["rows"] if "read_bandwidth_gb_s" in row]
    longer = sorted({(row["shape"], row["prompt_tokens"]) for row in sp["rows"]
                     if row["prompt_tokens"] != sp["prompt_tokens"]})
    out += [f"Random-weight files of real models' shapes and weight mixes (`{sp['tool']}`: the shapes' "
            "hyper-parameters, the tensor types llama.cpp's quantizer gives each tensor of the mix, the SmolLM2 "
            "tokenizer padded to the shape's vocabulary), so that speed is measured on the gigabytes users' models "
            f"stream per token. `pensieve bench -p {sp['prompt_tokens']} -g {sp['gen_tokens']} -t {sp['threads']}` "
            f"and `llama-bench -p {sp['prompt_tokens']} -n {sp['gen_tokens']} -t {sp['threads']}` on the same file, "
            f"in turns, {runs} of each (medians)"
            + "".join(f"; {shape} prefills {pp} tokens, the prompt its target names" for shape, pp in longer)
            + ". Before each program's turn the file is dropped from the page cache, so that each reads it in "
            "its own way (Pensieve's mapping reads 2 MiB pages, which a file left cached in smaller pages by "
            "another program would not give it).", ""]
    if measured:
        out[-2] += (f" The roofline is the read bandwidth (BM_ReadBandwidth, the faster of its two read patterns, "
                    f"{sp['threads']} threads) measured before each row and after each of its turns, the median of "
                    "those samples (the column below: this machine's bandwidth moves with its neighbours' load, "
                    f"{min(measured):.1f} to {max(measured):.1f} GB/s between rows here), divided by the bytes one "
                    "decode step reads (every weight matrix, one row of the embedding table unless it is also the "
                    "output; of a mixture of experts' expert tensors, the active experts' share).")
    else:
        out += [f"**The read bandwidth was not measured in this run**: {sp['bandwidth_missing']}.", ""]
    if not sp["llama_cpp"]["measured"]:
        out += [f"**llama.cpp was not measured in this run**: {sp['llama_cpp']['reason']}.", ""]
    rows = []
    for row in sp["rows"]:
        ours, theirs = row["pensieve"], row.get("llama_cpp", {})
        rows.append([row["shape"], row["mix"], f"{row['decode_bytes'] / 1e9:.2f}",
                     num(ours["prefill_tok_s"]), num(theirs.get("prefill_tok_s")),
                     _ratio(ours["prefill_tok_s"], theirs.get("prefill_tok_s")),
                     num(ours["decode_tok_s"]), num(theirs.get("decode_tok_s")),
                     _ratio(ours["decode_tok_s"], theirs.get("decode_tok_s")),
                     num(row.get("read_bandwidth_gb_s", {}).get("median")),
                     num(row.get("roofline_tok_s")), _pct(ours.get("decode_share_of_roofline")),
                     _pct(theirs.get("decode_share_of_roofline"))])
    out.append(table(["Shape", "Mix", "GB read per token", "Prefill tok/s: Pensieve", "llama.cpp",
                      "Pensieve ÷ llama.cpp", "Decode tok/s: Pensieve", "llama.cpp", "Pensieve ÷ llama.cpp",
                      "Read GB/s", "Roofline tok/s", "Pensieve % of roofline", "llama.cpp % of roofline"], rows))
    if measured:
        out += ["", f"![Speed by model shape](performance/{plots.speed_by_shape(sp, plot_dir)})"]
    out += ["", *_batched(sp["batched"])]
    if "split" in sp:
        out += ["", *_split(sp["split"])]
    return "\n".join(out)


def _split(sm):
    """The work-split model over more threads than this machine's cores."""
    threads = ",".join(map(str, sm["threads"]))
    out = ["**Work split over more cores (modelled).** This machine has few cores, so how prefill and decode "
           f"would spread over more is modelled (`pensieve bench -p {sm['prompt_tokens']} -g {sm['gen_tokens']} "
           f"--split-model {threads}`): each thread count's forward pass is recorded with a pool of that many "
           "threads (the task sizes the planner picks for it), each task timed by its thread's CPU clock, and each "
           "call's tasks handed out in order to whichever of that many free cores is free first. Compute only: "
           "decode also waits on memory bandwidth, which more cores do not add. Per token: synchronisation points "
           "(calls of two or more tasks), the median tasks per thread in a call, the weight bytes per task, "
           f"and the modelled speed-up over one thread (target: prefill on 16 threads ≥ {sm['target_16']:g}× "
           "one thread).", ""]
    rows = []
    for row in sm["rows"]:
        for pre, dec in zip(row["prefill_per_token"], row["decode_per_token"]):
            t = pre["threads"]
            mark = ""
            if t == 16:
                mark = " ✅" if pre["modelled_speedup"] >= sm["target_16"] else " ❌"
            rows.append([row["shape"], row["mix"], str(t), f"{pre['sync_points']:.2f}",
                         f"{pre['median_tasks_per_thread']:.1f}", f"{pre['weight_bytes_per_task'] / 1024:,.0f} KiB",
                         f"{pre['modelled_speedup']:.2f}×{mark}", f"{dec['sync_points']:.0f}",
                         f"{dec['median_tasks_per_thread']:.1f}", f"{dec['weight_bytes_per_task'] / 1024:,.0f} KiB",
                         f"{dec['modelled_speedup']:.2f}×"])
    out.append(table(["Shape", "Mix", "Threads", "Prefill sync points", "tasks per thread", "bytes per task",
                      "speed-up", "Decode sync points", "tasks per thread", "bytes per task", "speed-up"], rows))
    return out


def _batched(bd):
    """Aggregate decode of several sequences at once against one."""
    sizes, targets = bd["batch_sizes"], bd["targets"]
    runs = _count(bd["repetitions"], "run")
    out = ["**Batched decode.** Aggregate decode speed of several sequences decoding together "
           f"(`pensieve bench -p 16 -g {bd['gen_tokens']} -t {bd['threads']} --batch-sizes "
           f"{','.join(map(str, sizes))}`, {runs}, medians) against one sequence; targets: "
           + ", ".join(f"{b} sequences ≥ {t}× one" for b, t in targets.items()) + ".", ""]
    rows = []
    for row in bd["rows"]:
        agg = row["aggregate_tok_s"]
        one = agg["1"]
        cells = [row["shape"], row["mix"], *(num(agg[str(b)]) for b in sizes)]
        for b in sizes[1:]:
            ratio = agg[str(b)] / one
            mark = "" if str(b) not in targets else (" ✅" if ratio >= targets[str(b)] else " ❌")
            cells.append(f"{ratio:.2f}×{mark}")
        rows.append(cells)
    out.append(table(["Shape", "Mix", *(f"{b} seq. tok/s" for b in sizes),
                      *(f"{b} ÷ 1" for b in sizes[1:])], rows))
    return out


def streaming(r, _plot_dir):
    out = ["### 5. Streaming Latency", ""]
    single = r.get("single")
    if _bad(single):
        out.append(failed(single or {"error": "missing"}))
        return "\n".join(out)
    st = single["streaming"]
    per = single["full_response"]["decode_ms_per_token"]
    out += [f"One client streams replies (`max_tokens` {st['max_tokens']}, prompt \"{st['prompt']}\") back to "
            f"back; mean {num(st['tokens_per_reply']['mean'], 0)} tokens per reply over "
            f"{st['ttft_ms']['n']} replies.", ""]
    out.append(table(["Measure", "P50", "P95", "P99", "Average"], [
        ["Time to first token", *(ms(st["ttft_ms"][k]) for k in ("p50", "p95", "p99", "mean"))],
        ["Gap between tokens (client)", *(ms(st["gap_ms"][k]) for k in ("p50", "p95", "p99", "mean"))],
        ["Engine decode step (Server-Timing)", *(ms(per[k]) for k in ("p50", "p95", "p99", "mean"))],
    ]))
    conc = r.get("concurrency")
    if not _bad(conc):
        out += ["", "Under load the gap grows with the batch: " + ", ".join(
            f"{lv['concurrency']} clients {ms(lv['gap_p50_ms'])} (p99 {ms(lv['gap_p99_ms'])})"
            for lv in conc["levels"]) + "."]
    return "\n".join(out)


def errors(r, _plot_dir):
    out = ["### 6. Error Recovery", ""]
    e = r.get("errors")
    if _bad(e):
        out.append(failed(e or {"error": "missing"}))
        return "\n".join(out)
    b = e["baseline_ok_ms"]
    out += ["From the moment a failure is over for the client (its error response arrived, or it hung "
            "up) to the next successful `200` reply to a 1-token request sent at once; "
            f"`pensieve serve {e['server_args']}`, {b['n']} times each. For comparison, the same 1-token "
            f"request with no failure before it takes {ms(b['p50'])} (p50).", ""]
    rows = []
    for k in e["kinds"]:
        v = k["recovery_ms"]
        note = ""
        if "in_flight_zero_after_ms" in k:
            note = (f"aborted sequence cancelled (nothing in flight) {ms(k['in_flight_zero_after_ms']['p50'])} "
                    "after the hang-up, p50")
        rows.append([k["kind"], k["status"], ms(v["p50"]), ms(v["p95"]), ms(v["p99"]), note])
    out.append(table(["Failure", "HTTP status", "Recovery P50", "P95", "P99", "Note"], rows))
    out += ["", "**Engine crash:** Pensieve has no supervisor process yet (the engine runs in the server's "
            "own process), so time from an engine crash to serving again is not measured; a process "
            "manager restarting `pensieve serve` would take about the load time above."]
    return "\n".join(out)


def soak(k, plot_dir):
    """The soak run of bench/server/soak.py (its own run, its own JSON)."""
    out = ["### 7. Soak", ""]
    a, v, m = k["args"], k["verdict"], k["machine"]
    out += [f"`bench/server/soak.py --minutes {a['minutes']:g} --clients {a['clients']}` against "
            f"`pensieve serve {' '.join(k['serve_args'])}` (default model) on a {m['cpu_count']}-CPU "
            f"{m['cpu_model']}, commit `{m['git_commit_short']}`, {m['date_utc']}; load average "
            f"{m['load_average_start'][0]:.2f} at start, {m['load_average_end'][0]:.2f} at end. "
            f"{a['clients']} streaming clients send requests back to back for {a['minutes']:g} minutes; "
            f"{a['disconnect']:.0%} of requests hang up after their first text delta and "
            f"{a['hostile']:.0%} are malformed or hostile (bad JSON, wrong types, 50,000-deep nesting, "
            "a 1 MB prompt, a body over `--max-body`, a gzip bomb, `text/plain`, a foreign `Host` or "
            "`Origin`, an unknown route), each with the statuses it may get.", ""]
    rows = [[kind, str(n), "expected"] for kind, n in sorted(k["outcomes"].items())]
    rows += [[kind, str(n), "**unexpected**"] for kind, n in sorted(k["unexpected"].items())]
    out += [table(["Outcome", "Count", ""], rows), ""]
    drift = v["rss_drift"]
    out.append(table(["Check", "Target", "Result", "Status"], [
        ["unexpected errors", "0", str(v["unexpected_errors"]),
         "✅" if v["unexpected_errors"] == 0 else "❌"],
        ["KV blocks in use at the end", "0", str(v["kv_blocks_used_at_end"]),
         "✅" if v["kv_blocks_used_at_end"] == 0 else "❌"],
        ["RSS at the end vs after the first minute", "within 5%",
         f"{mib(v['rss_at_end_mib'])} vs {mib(v['rss_after_first_minute_mib'])} ({drift:+.1%})",
         "✅" if abs(drift) <= 0.05 else "❌"],
        ["server alive at the end", "yes", "yes" if v["server_alive"] else "no",
         "✅" if v["server_alive"] else "❌"],
    ]))
    out += ["", f"![Server RSS and KV blocks in use during the soak](performance/"
            f"{plots.soak_rss(k['samples'], plot_dir)})"]
    return "\n".join(out)
