// pp/tg timing. Token ids are spread over the vocabulary (the values do not
// change the work done); decode feeds back the argmax so the work is real.
#include "engine/speed_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <stdexcept>

namespace pensieve::engine {

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void stats(std::vector<double> v, double& mean, double& sd, double& median) {
    mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int32_t argmax(std::span<const float> logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// Token ids for positions [from, from + n), spread over the vocabulary.
std::vector<int32_t> filler(const Evaluator& s, int64_t from, int64_t n) {
    std::vector<int32_t> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        out[static_cast<size_t>(i)] = static_cast<int32_t>(((from + i) * 7919 + 13) % s.n_vocab());
    }
    return out;
}

// pp or tg 0: that part is not run (its rate stays 0).
SpeedSample run_once(Evaluator& s, int64_t pp, int64_t tg, int64_t depth) {
    SpeedSample out;
    if (pp > 0) {
        const std::vector<int32_t> prompt = filler(s, depth, pp);
        const double t = now_s();
        s.evaluate(prompt, depth, false);
        out.prefill_tok_s = static_cast<double>(pp) / (now_s() - t);
    }
    if (tg == 0) return out;
    int32_t token = filler(s, depth, 1)[0];
    const double t = now_s();
    for (int64_t i = 0; i < tg; ++i) {
        token = argmax(s.evaluate(std::span(&token, 1), depth + i, false));
    }
    out.decode_tok_s = static_cast<double>(tg) / (now_s() - t);
    return out;
}

}  // namespace

SpeedResult measure_speed(Evaluator& evaluator, int64_t pp, int64_t tg, int repetitions,
                          int64_t depth) {
    if (pp < 0 || tg < 0 || pp + tg == 0 || repetitions < 1 || depth < 0 ||
        depth + std::max(pp, tg) > evaluator.n_ctx()) {
        throw std::invalid_argument(
            "bench sizes must not be negative, not both 0, and must fit the context");
    }
    if (depth > 0) evaluator.evaluate(filler(evaluator, 0, depth), 0, false);         // never timed
    run_once(evaluator, std::min<int64_t>(pp, 32), std::min<int64_t>(tg, 4), depth);  // warm-up
    SpeedResult r;
    std::vector<double> pre, dec;
    for (int i = 0; i < repetitions; ++i) {
        r.samples.push_back(run_once(evaluator, pp, tg, depth));
        pre.push_back(r.samples.back().prefill_tok_s);
        dec.push_back(r.samples.back().decode_tok_s);
    }
    stats(pre, r.prefill_mean, r.prefill_sd, r.prefill_median);
    stats(dec, r.decode_mean, r.decode_sd, r.decode_median);
    return r;
}

}  // namespace pensieve::engine

namespace pensieve::engine {

double measure_batched_decode(const model::Model& model, kernels::ThreadPool& pool, int64_t n_seqs,
                              int64_t gen_tokens, int repetitions) {
    const auto& hp = model.hparams();
    const int64_t ctx = gen_tokens + 1;
    model::KvCache kv(
        {hp.n_layer, hp.n_head_kv, hp.head_dim, n_seqs * model::KvCache::blocks_for(ctx)});
    for (int32_t s = 0; s < n_seqs; ++s) {
        if (!kv.reserve(s, ctx)) throw std::logic_error("batched bench: KV sized too small");
    }
    model::Forward forward(model, pool, n_seqs, ctx);
    std::vector<model::BatchToken> batch(static_cast<size_t>(n_seqs));
    std::vector<double> rates;
    for (int rep = 0; rep <= repetitions; ++rep) {  // the first run warms up
        const double t = now_s();
        for (int64_t step = 0; step < gen_tokens; ++step) {
            for (int32_t s = 0; s < n_seqs; ++s) {
                batch[static_cast<size_t>(s)] = {
                    static_cast<int32_t>((s * 131 + step * 7) % hp.n_vocab),
                    static_cast<int32_t>(step), s, true};
            }
            forward.run(batch, kv);
        }
        if (rep > 0) rates.push_back(static_cast<double>(n_seqs * gen_tokens) / (now_s() - t));
    }
    double mean = 0, sd = 0, median = 0;
    stats(rates, mean, sd, median);
    return median;
}

}  // namespace pensieve::engine

namespace pensieve::engine {

FillResult extend_context(Evaluator& s, int64_t from, int64_t to, int64_t decode_tokens) {
    if (from < 0 || to <= from || decode_tokens < 1 || to + decode_tokens > s.n_ctx()) {
        throw std::invalid_argument("context fill must grow and fit the context");
    }
    const std::vector<int32_t> prompt = filler(s, from, to - from);
    FillResult out;
    double t = now_s();
    int32_t token = argmax(s.evaluate(prompt, from, false));
    out.prefill_tok_s = static_cast<double>(to - from) / (now_s() - t);
    t = now_s();
    for (int64_t i = 0; i < decode_tokens; ++i)
        token = argmax(s.evaluate(std::span(&token, 1), to + i, false));
    out.decode_tok_s = static_cast<double>(decode_tokens) / (now_s() - t);
    return out;
}

}  // namespace pensieve::engine

namespace pensieve::engine {

double list_schedule(std::span<const double> task_seconds, int threads) {
    // Free times of the threads, as a min-heap: each task goes to the one
    // free first.
    std::vector<double> free_at(static_cast<size_t>(std::max(threads, 1)), 0.0);
    const auto later = std::greater<double>();
    for (double t : task_seconds) {
        std::pop_heap(free_at.begin(), free_at.end(), later);
        free_at.back() += t;
        std::push_heap(free_at.begin(), free_at.end(), later);
    }
    return *std::max_element(free_at.begin(), free_at.end());
}

SplitFigures split_figures(std::span<const kernels::ThreadPool::CallRecord> calls, int threads,
                           int64_t tokens) {
    SplitFigures f;
    f.threads = threads;
    double short_work = 0, bytes = 0, weight_tasks = 0;
    std::vector<double> per_thread;
    for (const kernels::ThreadPool::CallRecord& c : calls) {
        const auto n = static_cast<double>(c.task_seconds.size());
        double work = 0;
        for (double t : c.task_seconds) work += t;
        (n > 1 ? f.calls : f.serial_calls) += 1;
        f.tasks += n;
        f.work_seconds += work;
        f.span_seconds += list_schedule(c.task_seconds, threads);
        if (n < threads) {
            f.short_calls += 1;
            short_work += work;
        }
        if (c.bytes > 0) {
            bytes += static_cast<double>(c.bytes);
            weight_tasks += n;
        }
        per_thread.push_back(n / threads);
    }
    f.short_share = f.work_seconds > 0 ? short_work / f.work_seconds : 0;
    f.bytes_per_task = weight_tasks > 0 ? bytes / weight_tasks : 0;
    if (!per_thread.empty()) {
        std::nth_element(per_thread.begin(), per_thread.begin() + per_thread.size() / 2,
                         per_thread.end());
        f.tasks_per_thread = per_thread[per_thread.size() / 2];
    }
    const auto per = static_cast<double>(std::max<int64_t>(tokens, 1));
    f.calls /= per;
    f.serial_calls /= per;
    f.tasks /= per;
    f.short_calls /= per;
    f.work_seconds /= per;
    f.span_seconds /= per;
    return f;
}

SplitModel model_split(const model::Model& model, std::span<const int> threads,
                       int64_t prompt_tokens, int64_t decode_tokens, int64_t depth,
                       gguf::TensorType kv_type) {
    if (prompt_tokens < 1 || decode_tokens < 1 || depth < 0) {
        throw std::invalid_argument("split model: sizes must be positive");
    }
    SplitModel out;
    for (int n : threads) {
        if (n < 1) throw std::invalid_argument("split model: thread counts must be positive");
        Evaluator ev(model, {.n_ctx = depth + prompt_tokens + decode_tokens + 1,
                             .n_batch = std::min<int64_t>(prompt_tokens, 512),
                             .n_threads = n,
                             .kv_type = kv_type});
        if (depth > 0) ev.evaluate(filler(ev, 0, depth), 0, false);
        run_once(ev, std::min<int64_t>(prompt_tokens, 32), 2, depth);  // warm-up
        std::vector<kernels::ThreadPool::CallRecord> calls;
        ev.pool().record_calls(&calls);
        const std::vector<int32_t> prompt = filler(ev, depth, prompt_tokens);
        ev.evaluate(prompt, depth, false);
        ev.pool().record_calls(nullptr);
        out.prefill.push_back(split_figures(calls, n, prompt_tokens));
        calls.clear();
        int32_t token = prompt.back();
        ev.pool().record_calls(&calls);
        for (int64_t i = 0; i < decode_tokens; ++i) {
            token = argmax(ev.evaluate(std::span(&token, 1), depth + prompt_tokens + i, false));
        }
        ev.pool().record_calls(nullptr);
        out.decode.push_back(split_figures(calls, n, decode_tokens));
    }
    return out;
}

}  // namespace pensieve::engine
