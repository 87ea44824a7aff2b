"""The report's pictures, drawn with matplotlib from the results file:
latency and throughput against concurrency, memory against context size,
tokens/s against threads and against context depth (beside llama.cpp), and
the soak's memory over time. Each function writes one PNG and returns its
file name; every axis is labelled with its unit."""
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, out_dir, name, rect=None):
    fig.tight_layout(rect=rect)  # rect: room left for a legend under the axes
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    return name


def soak_rss(samples, out_dir):
    t = [s["t"] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(t, [s["rss_mib"] for s in samples], color="tab:blue", label="server RSS")
    ax.set_xlabel("time since the soak started (min)")
    ax.set_ylabel("server RSS (MiB)", color="tab:blue")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(t, [s["kv_blocks_used"] for s in samples], color="tab:orange", alpha=0.6,
             label="KV blocks in use")
    ax2.set_ylabel("KV blocks in use (count)", color="tab:orange")
    ax.set_title("Soak: server memory and KV blocks over time")
    return _save(fig, out_dir, "soak_rss.png")


def latency_vs_concurrency(levels, out_dir):
    x = [r["concurrency"] for r in levels]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, label in (("avg_s", "average"), ("p50_s", "p50"), ("p95_s", "p95"), ("p99_s", "p99")):
        ax.plot(x, [r[key] for r in levels], marker="o", label=label)
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("request latency (s)")
    ax.set_title("Streaming request latency vs concurrency")
    ax.set_xticks(x)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out_dir, "latency_vs_concurrency.png")


def throughput_vs_concurrency(levels, out_dir):
    x = [r["concurrency"] for r in levels]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, [r["tok_per_s"] for r in levels], marker="o", color="tab:blue", label="tokens/s")
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("generated tokens per second (tok/s)", color="tab:blue")
    ax.set_xticks(x)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(x, [r["req_per_s"] for r in levels], marker="s", color="tab:orange", label="requests/s")
    ax2.set_ylabel("completed requests per second (req/s)", color="tab:orange")
    ax.set_title("Throughput vs concurrency")
    return _save(fig, out_dir, "throughput_vs_concurrency.png")


def memory_vs_context(sweep, out_dir):
    sizes = sweep["sizes"]
    x = [s["ctx"] for s in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, [s["rss_mib"] - sweep["rss_mib_warm"] for s in sizes], marker="o",
            label="measured RSS growth")
    ax.plot(x, [s["kv_cache_mib"] for s in sizes], linestyle="--", label="KV cache size (F16 K+V)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlabel("tokens in context")
    ax.set_ylabel("memory (MiB)")
    ax.set_title("Memory growth vs context size")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out_dir, "memory_vs_context.png")


def speed_vs_context(sweep, out_dir):
    sizes = sweep["sizes"]
    x = [s["ctx"] for s in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, [s["prefill_tok_s"] for s in sizes], marker="o", label="prefill (new tokens up to this depth)")
    ax.plot(x, [s["decode_tok_s"] for s in sizes], marker="s", label="decode at this depth")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlabel("tokens in context")
    ax.set_ylabel("tokens per second (tok/s, log scale)")
    ax.set_title("Speed vs context depth (one sequence)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, out_dir, "speed_vs_context.png")


def speed_vs_threads(rows, out_dir):
    x = [r["threads"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, [r["prefill_tok_s"] for r in rows], marker="o", label="prefill")
    ax.plot(x, [r["decode_tok_s"] for r in rows], marker="s", label="decode")
    ax.set_xticks(x)
    ax.set_xlabel("threads")
    ax.set_ylabel("tokens per second (tok/s)")
    ax.set_title("Prefill and decode speed vs threads")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out_dir, "speed_vs_threads.png")


def speed_vs_depth(dp, out_dir):
    """Prefill and decode side by side; one colour per model, Pensieve solid,
    llama.cpp dashed. Depths are evenly spaced (they roughly double), so the
    depth-0 point fits on the same axis."""
    depths = sorted({row["depth"] for m in dp["models"] for row in m["rows"]})
    pos = {d: i for i, d in enumerate(depths)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, key, title in ((axes[0], "prefill_tok_s", f"Prefill ({dp['prompt_tokens']} new tokens)"),
                           (axes[1], "decode_tok_s", f"Decode ({dp['gen_tokens']} tokens)")):
        for i, m in enumerate(dp["models"]):
            colour = f"C{i}"
            x = [pos[row["depth"]] for row in m["rows"]]
            ax.plot(x, [row["pensieve"][key] for row in m["rows"]], marker="o", color=colour,
                    label=f"{m['model']}: Pensieve")
            if dp["llama_cpp"]["measured"]:
                ax.plot(x, [row["llama_cpp"][key] for row in m["rows"]], marker="s", linestyle="--",
                        color=colour, label=f"{m['model']}: llama.cpp")
        ax.set_xticks(range(len(depths)), [str(d) for d in depths])
        ax.set_xlabel("tokens already in context (depth)")
        ax.set_ylabel("tokens per second (tok/s)")
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    rows = -(-len(labels) // 2)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize="small")
    suffix = "" if dp["llama_cpp"]["measured"] else " (llama.cpp not measured)"
    fig.suptitle(f"Speed vs context depth, {dp['threads']} threads{suffix}")
    return _save(fig, out_dir, "speed_vs_depth.png", rect=(0, 0.02 + 0.05 * rows, 1, 1))


def speed_by_shape(sp, out_dir):
    """Pensieve ÷ llama.cpp for prefill and decode, and decode's share of the
    roofline, one group of bars per shape and mix."""
    rows = sp["rows"]
    labels = [f"{r['shape']}\n{r['mix']}" for r in rows]
    x = range(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 0.9 * len(rows) + 3), 4.6))
    if sp["llama_cpp"]["measured"]:
        w = 0.38
        axes[0].bar([i - w / 2 for i in x], [r["pensieve"]["prefill_tok_s"] / r["llama_cpp"]["prefill_tok_s"]
                                             for r in rows], w, label="prefill")
        axes[0].bar([i + w / 2 for i in x], [r["pensieve"]["decode_tok_s"] / r["llama_cpp"]["decode_tok_s"]
                                             for r in rows], w, label="decode")
        axes[0].axhline(1.0, color="grey", linewidth=1)
        axes[0].set_ylabel("Pensieve ÷ llama.cpp")
        axes[0].legend()
    axes[0].set_title("Speed against llama.cpp" if sp["llama_cpp"]["measured"] else "llama.cpp not measured")
    axes[1].bar(list(x), [100 * r["pensieve"]["decode_share_of_roofline"] for r in rows], 0.6, label="Pensieve")
    if sp["llama_cpp"]["measured"]:
        axes[1].plot(list(x), [100 * r["llama_cpp"]["decode_share_of_roofline"] for r in rows], "s", color="C3",
                     label="llama.cpp")
    axes[1].set_ylabel("decode, % of the bandwidth roofline")
    shares = [r[who]["decode_share_of_roofline"] for r in rows for who in ("pensieve", "llama_cpp") if who in r]
    axes[1].set_ylim(0, max(100, 105 * max(shares, default=0)))
    axes[1].legend()
    axes[1].set_title("Decode vs the read bandwidth measured around each row")
    for ax in axes:
        ax.set_xticks(list(x), labels, fontsize="small", rotation=45, ha="right")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"Model shapes (random weights), {sp['threads']} threads")
    return _save(fig, out_dir, "speed_by_shape.png")
