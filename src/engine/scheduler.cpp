// The scheduler's step: admit → retire cancelled → batch → forward → sample
// → emit → retire finished.
#include "engine/scheduler.hpp"

#include <algorithm>

namespace pensieve::engine {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kBlockTokens = 16;
// Prompt tokens always evaluated even when the prefix cache holds more: the
// last one for its logits, and enough rows that they take the same batched
// kernel path as a whole prefill would (matmul picks its path by batch size),
// so a repeated greedy request answers as it did the first time.
constexpr int64_t kMinEvaluated = 8;

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

}  // namespace

struct Scheduler::Sequence {
    Sequence(int32_t seq_id, std::unique_ptr<SequenceTask> t, const tokenizer::Tokenizer& tok,
             int64_t n_ctx)
        : id(seq_id),
          task(std::move(t)),
          tokens(task->request.prompt),
          sampler(task->request.sampling),
          reply(tok, task->request, n_ctx),
          n_prompt(static_cast<int64_t>(tokens.size())) {}
    int32_t id;
    std::unique_ptr<SequenceTask> task;
    std::vector<int32_t> tokens;  // prompt, then output
    int64_t n_evaluated = 0;      // positions whose K/V are in the cache
    Sampler sampler;
    ReplyBuilder reply;
    int64_t n_prompt;
    Clock::time_point admitted = Clock::now();
    Clock::time_point first_token;
    bool done = false;

    bool prefilling() const { return n_evaluated < n_prompt; }
};

Scheduler::Scheduler(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                     const SchedulerConfig& config)
    : model_(model),
      tokenizer_(tokenizer),
      config_(config),
      pool_(config.n_threads),
      kv_({model.hparams().n_layer, model.hparams().kv_dim(),
           ((config.kv_tokens > 0 ? config.kv_tokens : config.n_ctx * config.n_parallel) +
            kBlockTokens - 1) /
               kBlockTokens,
           kBlockTokens}),
      forward_(model, pool_,
               config.n_parallel + std::max(config.prefill_chunk, config.prefill_chunk_busy),
               config.n_ctx),
      prefix_cap_blocks_((config.prefix_cache_tokens < 0 ? config.n_ctx : config.prefix_cache_tokens) /
                         kBlockTokens) {}

Scheduler::~Scheduler() = default;

void Scheduler::add(std::unique_ptr<SequenceTask> task) {
    const auto n = static_cast<int64_t>(task->request.prompt.size());
    const int64_t limit = std::min(config_.n_ctx, kv_.config().n_blocks * kBlockTokens);
    if (n == 0) throw std::invalid_argument("empty prompt");
    if (n >= limit) throw ContextError(n, limit);
    waiting_.push_back(std::move(task));
}

void Scheduler::admit() {
    // Drop waiting tasks whose client left or whose wait timed out, wherever
    // they are in the queue.
    std::erase_if(waiting_, [](const std::unique_ptr<SequenceTask>& t) {
        if (!t->request.cancelled || !t->request.cancelled()) return false;
        GenerateResult r;
        r.reason = StopReason::Cancelled;
        r.prompt_tokens = static_cast<int64_t>(t->request.prompt.size());
        if (t->on_done) t->on_done(r);
        return true;
    });
    while (!waiting_.empty() && static_cast<int64_t>(running_.size()) < config_.n_parallel) {
        SequenceTask& next = *waiting_.front();
        // Reserve everything this sequence can ever need, so a running
        // sequence never fails because another one grew.
        const auto n_prompt = static_cast<int64_t>(next.request.prompt.size());
        const int64_t need =
            std::min(config_.n_ctx, n_prompt + std::max<int64_t>(next.request.max_tokens, 1));
        const int32_t id = next_id_++;
        // Blocks of an earlier sequence that hold this prompt's start (none
        // when the cache is off: it stays empty).
        const int64_t max_shared = std::max<int64_t>(0, n_prompt - kMinEvaluated) / kBlockTokens;
        const std::vector<int32_t> shared = prefix_.lookup(next.request.prompt, max_shared);
        kv_.share(id, shared);
        const int64_t short_by = kv_.blocks_for(need) - static_cast<int64_t>(shared.size()) -
                                 kv_.free_blocks();
        if (short_by > 0) prefix_.evict(short_by);
        if (!kv_.reserve(id, need)) {
            kv_.release(id);
            break;  // FCFS: wait for blocks rather than skip ahead
        }
        auto seq =
            std::make_unique<Sequence>(id, std::move(waiting_.front()), tokenizer_, config_.n_ctx);
        waiting_.pop_front();
        seq->n_evaluated = static_cast<int64_t>(shared.size()) * kBlockTokens;
        seq->reply.result().cached_tokens = seq->n_evaluated;
        reused_tokens_ += seq->n_evaluated;
        if (seq->task->on_admitted) seq->task->on_admitted();
        running_.push_back(std::move(seq));
    }
}

void Scheduler::finish(Sequence& s, StopReason reason) {
    if (s.done) return;
    s.done = true;
    GenerateResult& r = s.reply.result();
    r.reason = reason;
    const auto now = Clock::now();
    if (r.output.empty()) {
        r.prefill_seconds = seconds(s.admitted, now);
    } else {
        r.decode_seconds = seconds(s.first_token, now);
    }
    if (prefix_cap_blocks_ > 0) {
        prefix_.insert(s.tokens, s.n_evaluated, kv_.block_table(s.id));
    }
    kv_.release(s.id);
    if (prefix_.blocks() > prefix_cap_blocks_) prefix_.evict(prefix_.blocks() - prefix_cap_blocks_);
    if (s.task->on_done) s.task->on_done(r);
}

void Scheduler::retire_cancelled() {
    for (auto& s : running_) {
        if (!s->done && s->task->request.cancelled && s->task->request.cancelled()) {
            finish(*s, StopReason::Cancelled);
        }
    }
}

bool Scheduler::emit(Sequence& s, int32_t token) {
    if (s.reply.result().output.empty()) {
        s.first_token = Clock::now();
        s.reply.result().prefill_seconds = seconds(s.admitted, s.first_token);
    }
    const ReplyBuilder::Step step = s.reply.add(token);
    s.tokens.push_back(token);
    if (!step.text.empty() && s.task->on_text && !s.task->on_text(step.text)) {
        finish(s, StopReason::Cancelled);
        return true;
    }
    if (step.stop) {
        finish(s, *step.stop);
        return true;
    }
    return false;
}

bool Scheduler::step() {
    admit();
    retire_cancelled();
    std::erase_if(running_, [](const auto& s) { return s->done; });
    last_prefill_ = 0;
    last_decode_ = 0;
    if (running_.empty()) return false;

    // One decode token per decoding sequence, then prompt chunks in arrival order.
    batch_.clear();
    row_owner_.clear();
    for (auto& s : running_) {
        if (s->prefilling()) continue;
        const auto pos = static_cast<int32_t>(s->tokens.size() - 1);
        batch_.push_back({s->tokens.back(), pos, s->id, true});
        row_owner_.push_back(s.get());
    }
    last_decode_ = static_cast<int64_t>(batch_.size());
    int64_t budget = batch_.empty() ? config_.prefill_chunk : config_.prefill_chunk_busy;
    for (auto& s : running_) {
        if (!s->prefilling() || budget == 0) continue;
        const int64_t take = std::min(budget, s->n_prompt - s->n_evaluated);
        for (int64_t i = 0; i < take; ++i) {
            const int64_t pos = s->n_evaluated + i;
            const bool last = pos == s->n_prompt - 1;
            batch_.push_back(
                {s->tokens[static_cast<size_t>(pos)], static_cast<int32_t>(pos), s->id, last});
            if (last) row_owner_.push_back(s.get());
        }
        budget -= take;
    }
    last_prefill_ = static_cast<int64_t>(batch_.size()) - last_decode_;
    // Decode tokens' K/V land in the cache during this pass.
    std::span<const float> logits;
    try {
        logits = forward_.run(batch_, kv_);
    } catch (const std::exception& e) {
        // A failed pass fails the sequences in it, never the engine.
        for (auto& s : running_) {
            if (s->done) continue;
            s->done = true;
            kv_.release(s->id);
            if (s->task->on_error) s->task->on_error(e.what());
        }
        running_.clear();
        return true;
    }
    for (const model::BatchToken& t : batch_) {
        for (auto& s : running_) {
            if (s->id == t.seq) {
                s->n_evaluated = std::max<int64_t>(s->n_evaluated, t.pos + 1);
                break;
            }
        }
    }
    // Sampling is independent per sequence (each has its own sampler), so
    // the rows are sampled in parallel; emitting stays in batch order.
    const auto n_vocab = static_cast<size_t>(forward_.n_vocab());
    sampled_.resize(row_owner_.size());
    pool_.parallel_for(static_cast<int64_t>(row_owner_.size()), [&](int64_t r, int) {
        Sequence& s = *row_owner_[static_cast<size_t>(r)];
        sampled_[static_cast<size_t>(r)] =
            s.sampler.sample(logits.subspan(static_cast<size_t>(r) * n_vocab, n_vocab), s.tokens);
    });
    for (size_t r = 0; r < row_owner_.size(); ++r) {
        if (!row_owner_[r]->done) emit(*row_owner_[r], sampled_[r]);
    }
    std::erase_if(running_, [](const auto& s) { return s->done; });
    return true;
}

void Scheduler::cancel_all() {
    for (auto& s : running_) finish(*s, StopReason::Cancelled);
    running_.clear();
    while (!waiting_.empty()) {
        GenerateResult r;
        r.reason = StopReason::Cancelled;
        if (waiting_.front()->on_done) waiting_.front()->on_done(r);
        waiting_.pop_front();
    }
}

SchedulerStats Scheduler::stats() const {
    return {static_cast<int64_t>(running_.size()),
            static_cast<int64_t>(waiting_.size()),
            kv_.config().n_blocks - kv_.free_blocks() - prefix_.idle_blocks(),
            kv_.config().n_blocks,
            kv_.config().block_tokens,
            last_prefill_,
            last_decode_,
            prefix_.blocks(),
            reused_tokens_};
}

}  // namespace pensieve::engine
