// The scheduler's step: admit → retire cancelled → batch → forward → sample
// → emit → retire finished.
#include "engine/scheduler.hpp"

#include <algorithm>
#include <type_traits>

namespace pensieve::engine {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kBlockTokens = model::KvCache::kBlockTokens;
// Prompt tokens always evaluated even when the prefix cache holds more: the
// last one for its logits, and enough rows that they take the same batched
// kernel path as a whole prefill would (matmul picks its path by batch size),
// so a repeated greedy request answers as it did the first time.
constexpr int64_t kMinEvaluated = 8;

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// Runs one of a task's callbacks. They belong to the caller (the server's job
// channel) and must not throw; if one does anyway, it is reported and the
// engine carries on.
template <class Fn, class... Args>
std::optional<std::string> call_guarded(const Fn& fn, Args&&... args) {
    if constexpr (std::is_constructible_v<bool, const Fn&>) {
        if (!fn) return std::nullopt;
    }
    try {
        fn(std::forward<Args>(args)...);
        return std::nullopt;
    } catch (const std::exception& e) {
        return std::string(e.what());
    } catch (...) {
        return std::string("unknown exception");
    }
}

}  // namespace

KvPoolError::KvPoolError(int64_t needed, int64_t pool)
    : std::runtime_error("prompt + max_tokens need " + std::to_string(needed) +
                         " tokens of KV cache, but the whole pool holds " + std::to_string(pool)),
      needed_tokens(needed),
      pool_tokens(pool) {}

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
    std::vector<uint64_t> mask;  // tokens the constraint allows next (when there is one)
    ReplyBuilder reply;
    int64_t n_prompt;
    Clock::time_point admitted = Clock::now();
    Clock::time_point first_token;
    bool done = false;

    bool prefilling() const { return n_evaluated < n_prompt; }
};

Scheduler::Scheduler(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                     const SchedulerConfig& config)
    : tokenizer_(tokenizer),
      config_(config),
      pool_(config.n_threads),
      kv_({model.hparams().n_layer, model.hparams().n_head_kv, model.hparams().head_dim,
           model::KvCache::blocks_for(config.kv_tokens > 0 ? config.kv_tokens
                                                           : config.n_ctx * config.n_parallel),
           config.kv_type}),
      forward_(model, pool_,
               config.n_parallel + std::max(config.prefill_chunk, config.prefill_chunk_busy),
               config.n_ctx),
      prefix_cap_blocks_(
          (config.prefix_cache_tokens < 0 ? config.n_ctx : config.prefix_cache_tokens) /
          kBlockTokens) {}

Scheduler::~Scheduler() = default;

void Scheduler::add(std::unique_ptr<SequenceTask> task) {
    const auto n = static_cast<int64_t>(task->request.prompt.size());
    const int64_t pool = kv_.config().n_blocks * kBlockTokens;
    const int64_t limit = std::min(config_.n_ctx, pool);
    if (n == 0) throw std::invalid_argument("empty prompt");
    if (n >= limit) throw ContextError(n, limit);
    const int64_t need =
        std::min(config_.n_ctx, n + std::max<int64_t>(task->request.max_tokens, 1));
    if (kv_.blocks_for(need) > kv_.config().n_blocks) throw KvPoolError(need, pool);
    const int64_t n_vocab = forward_.n_vocab();
    for (const int32_t t : task->request.prompt) {
        if (t < 0 || t >= n_vocab) {
            throw std::invalid_argument("prompt token id " + std::to_string(t) +
                                        " is outside the vocabulary");
        }
    }
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
        call_guarded(t->on_done, r);
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
        const int64_t short_by =
            kv_.blocks_for(need) - static_cast<int64_t>(shared.size()) - kv_.free_blocks();
        if (short_by > 0) prefix_.evict(short_by);
        if (!kv_.reserve(id, need)) {
            kv_.release(id);
            break;  // FCFS: wait for blocks rather than skip ahead
        }
        std::unique_ptr<SequenceTask> task = std::move(waiting_.front());
        waiting_.pop_front();
        // Kept aside: a constructor that throws takes the task with it.
        const std::function<void(const std::string&)> on_error = task->on_error;
        std::unique_ptr<Sequence> seq;
        try {
            seq = std::make_unique<Sequence>(id, std::move(task), tokenizer_, config_.n_ctx);
        } catch (const std::exception& e) {
            kv_.release(id);
            call_guarded(on_error, std::string(e.what()));
            continue;
        }
        seq->n_evaluated = static_cast<int64_t>(shared.size()) * kBlockTokens;
        seq->reply.result().cached_tokens = seq->n_evaluated;
        if (const auto err = call_guarded(seq->task->on_admitted, seq->n_evaluated)) {
            fail(*seq, *err);
            continue;
        }
        reused_tokens_ += seq->n_evaluated;
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
        try {
            prefix_.insert(s.tokens, s.n_evaluated, kv_.block_table(s.id));
        } catch (const std::exception&) {
            // Only reuse is lost: the blocks go back to the pool below.
        }
    }
    kv_.release(s.id);
    if (prefix_.blocks() > prefix_cap_blocks_) prefix_.evict(prefix_.blocks() - prefix_cap_blocks_);
    call_guarded(s.task->on_done, r);
}

void Scheduler::fail(Sequence& s, const std::string& what) {
    if (s.done) return;
    s.done = true;
    kv_.release(s.id);
    call_guarded(s.task->on_error, what);
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
    if (!step.text.empty() && s.task->on_text) {
        bool keep_going = false;
        if (const auto err = call_guarded([&] { keep_going = s.task->on_text(step.text); })) {
            fail(s, *err);
            return true;
        }
        if (!keep_going) {
            finish(s, StopReason::Cancelled);
            return true;
        }
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
    std::erase_if(suspects_, [&](int32_t id) {
        return std::none_of(running_.begin(), running_.end(),
                            [id](const auto& s) { return s->id == id; });
    });
    last_prefill_ = 0;
    last_decode_ = 0;
    if (running_.empty()) return false;
    build_batch();
    run_batch();
    std::erase_if(running_, [](const auto& s) { return s->done; });
    return true;
}

// One decode token per decoding sequence, then prompt chunks in arrival
// order; while suspects of a failed pass remain, only the first of them.
void Scheduler::build_batch() {
    batch_.clear();
    row_owner_.clear();
    const auto in_batch = [&](const Sequence& s) {
        return suspects_.empty() || s.id == suspects_.front();
    };
    for (auto& s : running_) {
        if (s->prefilling() || !in_batch(*s)) continue;
        const auto pos = static_cast<int32_t>(s->tokens.size() - 1);
        batch_.push_back({s->tokens.back(), pos, s->id, true});
        row_owner_.push_back(s.get());
    }
    last_decode_ = static_cast<int64_t>(batch_.size());
    int64_t budget = batch_.empty() ? config_.prefill_chunk : config_.prefill_chunk_busy;
    for (auto& s : running_) {
        if (!s->prefilling() || budget == 0 || !in_batch(*s)) continue;
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
}

void Scheduler::run_batch() {
    // Decode tokens' K/V land in the cache during this pass. Nothing else
    // changes until it has succeeded, so a failed pass can be run again.
    std::span<const float> logits;
    try {
        if (config_.fault_token >= 0 &&
            std::any_of(batch_.begin(), batch_.end(), [&](const model::BatchToken& t) {
                return t.token == config_.fault_token;
            })) {
            throw std::runtime_error("injected fault (PENSIEVE_TEST_FAULT_TOKEN)");
        }
        logits = forward_.run(batch_, kv_);
    } catch (const std::exception& e) {
        std::vector<int32_t> ids;
        for (const model::BatchToken& t : batch_) {
            if (ids.empty() || ids.back() != t.seq) ids.push_back(t.seq);
        }
        if (ids.size() == 1) {
            for (auto& s : running_) {
                if (s->id == ids.front()) fail(*s, e.what());
            }
            if (!suspects_.empty() && suspects_.front() == ids.front()) suspects_.pop_front();
        } else {
            suspects_.assign(ids.begin(), ids.end());
        }
        last_prefill_ = 0;
        last_decode_ = 0;
        return;
    }
    if (!suspects_.empty()) suspects_.pop_front();  // passed alone: cleared
    for (const model::BatchToken& t : batch_) {
        for (auto& s : running_) {
            if (s->id == t.seq) {
                s->n_evaluated = std::max<int64_t>(s->n_evaluated, t.pos + 1);
                break;
            }
        }
    }
    // Sampling is independent per sequence (each has its own sampler), so
    // the rows are sampled in parallel; emitting stays in batch order. An
    // exception must not escape a pool thread: it is kept for its row.
    const auto n_vocab = static_cast<size_t>(forward_.n_vocab());
    sampled_.resize(row_owner_.size());
    row_error_.assign(row_owner_.size(), std::string());
    pool_.parallel_for(static_cast<int64_t>(row_owner_.size()), [&](int64_t r, int) {
        const auto i = static_cast<size_t>(r);
        Sequence& s = *row_owner_[i];
        try {
            grammar::TokenConstraint* constraint = s.task->request.constraint.get();
            std::span<const uint64_t> allowed;
            if (constraint != nullptr) {
                s.mask.resize(constraint->mask_words());
                if (constraint->fill_mask(s.mask)) allowed = s.mask;
            }
            sampled_[i] = s.sampler.sample(logits.subspan(i * n_vocab, n_vocab), s.tokens, allowed);
            if (constraint != nullptr) constraint->accept(sampled_[i]);
        } catch (const std::exception& e) {
            row_error_[i] = e.what();
            if (row_error_[i].empty()) row_error_[i] = "sampling failed";
        }
    });
    for (size_t r = 0; r < row_owner_.size(); ++r) {
        Sequence& s = *row_owner_[r];
        if (s.done) continue;
        if (!row_error_[r].empty()) {
            fail(s, row_error_[r]);
            continue;
        }
        try {
            emit(s, sampled_[r]);
        } catch (const std::exception& e) {
            fail(s, e.what());
        }
    }
}

GenerateResult Scheduler::run(const GenerateRequest& request,
                              const std::function<bool(std::string_view)>& on_text) {
    std::optional<GenerateResult> result;
    std::optional<std::string> error;
    auto task = std::make_unique<SequenceTask>();
    task->request = request;
    task->on_text = on_text;
    task->on_done = [&result](const GenerateResult& r) { result = r; };
    task->on_error = [&error](const std::string& what) { error = what; };
    add(std::move(task));
    while (!result && !error) step();
    if (error) throw std::runtime_error("generation failed: " + *error);
    return *result;
}

void Scheduler::cancel_all() {
    for (auto& s : running_) finish(*s, StopReason::Cancelled);
    running_.clear();
    while (!waiting_.empty()) {
        GenerateResult r;
        r.reason = StopReason::Cancelled;
        call_guarded(waiting_.front()->on_done, r);
        waiting_.pop_front();
    }
    suspects_.clear();
}

void Scheduler::fail_all(const std::string& what) {
    for (auto& s : running_) fail(*s, what);
    running_.clear();
    while (!waiting_.empty()) {
        call_guarded(waiting_.front()->on_error, what);
        waiting_.pop_front();
    }
    suspects_.clear();
}

SchedulerStats Scheduler::stats() const {
    return {static_cast<int64_t>(running_.size()),
            static_cast<int64_t>(waiting_.size()),
            kv_.config().n_blocks - kv_.free_blocks() - prefix_.idle_blocks(),
            kv_.config().n_blocks,
            kBlockTokens,
            last_prefill_,
            last_decode_,
            prefix_.blocks(),
            reused_tokens_};
}

}  // namespace pensieve::engine
