// The one generation path: the server's engine thread and the CLI both
// generate through a Scheduler. Continuous batching on the engine thread. Each step admits waiting
// sequences whose KV (prompt + max_tokens, capped by the context) can be
// reserved up front, builds one batch from the next token of every decoding
// sequence plus a budget of prompt tokens (chunked prefill), runs one forward
// pass, samples each sequence with its own sampler, emits text, and retires
// finished or cancelled sequences, returning their KV blocks at once.
// Admission is first come, first served: a waiting sequence is never passed
// by a later one, so none starves.
//
// Failures stay with the sequences they belong to. An exception from a
// task's callbacks or its sampler fails that sequence alone. A failed
// forward pass changes no sequence's state (positions advance only after a
// pass succeeds); its sequences are then run one at a time until each has
// passed a step or failed alone, so one bad sequence cannot take down the
// others that shared its batch. A failed sequence's KV blocks are released
// and never enter the prefix cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/generate.hpp"
#include "engine/prefix_cache.hpp"
#include "engine/reply.hpp"
#include "engine/sampler.hpp"
#include "kernels/thread_pool.hpp"
#include "model/forward.hpp"

namespace pensieve::engine {

// One request as the scheduler runs it. The callbacks run on the engine
// thread and must not block.
struct SequenceTask {
    GenerateRequest request;
    // KV reserved; prefill starts now, after the prompt tokens the prefix
    // cache held (their count is the argument).
    std::function<void(int64_t)> on_admitted;
    std::function<bool(std::string_view)> on_text;       // false: cancel
    std::function<void(const GenerateResult&)> on_done;  // finished (any StopReason)
    std::function<void(const std::string&)> on_error;    // failed; the others carry on
};

// A request whose KV reservation (prompt + max_tokens, capped by the context)
// is larger than the whole KV pool: it could never be admitted.
class KvPoolError : public std::runtime_error {
  public:
    KvPoolError(int64_t needed_tokens, int64_t pool_tokens);
    int64_t needed_tokens;
    int64_t pool_tokens;
};

struct SchedulerConfig {
    int64_t n_ctx = 4096;    // most tokens (prompt + output) of one sequence
    int64_t n_parallel = 4;  // most running sequences
    int64_t kv_tokens = 0;   // KV pool size in tokens; 0: n_ctx × n_parallel
    gguf::TensorType kv_type = gguf::TensorType::F16;  // F16, BF16 or Q8_0
    // Prompt tokens per step, over all sequences: large while nothing is
    // decoding (fast time to first token), small while others stream, so a
    // new prompt never holds their next token back by more than a short step.
    int64_t prefill_chunk = 512;
    int64_t prefill_chunk_busy = 48;
    int n_threads = 0;
    // Most tokens of finished sequences' KV kept for prompts that start
    // alike (0: no prefix cache; -1: n_ctx). The cap keeps the pool's idle
    // blocks from all becoming resident memory under a stream of distinct
    // requests.
    int64_t prefix_cache_tokens = -1;
    // Test hook: a forward pass whose batch holds this token id fails, as a
    // kernel error would (-1: never). Set from PENSIEVE_TEST_FAULT_TOKEN by
    // the server so its tests can provoke an engine-side failure.
    int32_t fault_token = -1;
};

struct SchedulerStats {
    int64_t running = 0;
    int64_t waiting = 0;
    int64_t kv_blocks_used = 0;  // held by running sequences
    int64_t kv_blocks_total = 0;
    int64_t kv_block_tokens = 0;
    int64_t last_step_prefill_tokens = 0;  // prompt tokens evaluated by the latest step
    int64_t last_step_decode_tokens = 0;   // decode tokens evaluated by the latest step
    int64_t kv_blocks_cached = 0;          // indexed by the prefix cache (some also in use)
    int64_t prefix_tokens_reused = 0;      // prompt tokens whose prefill the cache saved, in total
};

class Scheduler {
  public:
    Scheduler(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
              const SchedulerConfig& config);
    ~Scheduler();

    // Queues a task. Throws ContextError when its prompt cannot fit the
    // context, KvPoolError when prompt + max_tokens can never fit the KV pool,
    // and std::invalid_argument for an empty prompt or a token id outside the
    // vocabulary: such a task could never run, so it never waits in line.
    void add(std::unique_ptr<SequenceTask> task);

    // Runs one step; false when there was nothing to do.
    bool step();

    // Runs one request to its end on the calling thread, streaming text to
    // on_text (false cancels), for a caller that drives the scheduler alone
    // (the CLI). Finished sequences feed the prefix cache, so a conversation
    // re-sent turn after turn evaluates only its new tokens. Throws what
    // add() throws, and std::runtime_error if the generation fails.
    GenerateResult run(const GenerateRequest& request,
                       const std::function<bool(std::string_view)>& on_text);

    // Cancels every waiting and running task (on_done with Cancelled).
    void cancel_all();

    // Fails every waiting and running task (on_error) and frees their KV: the
    // last resort when a step failed in a way no sequence could be blamed for.
    void fail_all(const std::string& what);

    SchedulerStats stats() const;
    const SchedulerConfig& config() const { return config_; }

  private:
    struct Sequence;
    void admit();
    void retire_cancelled();
    void finish(Sequence& s, StopReason reason);
    void fail(Sequence& s, const std::string& what);
    bool emit(Sequence& s, int32_t token);  // true when the sequence finished
    void build_batch();
    void run_batch();  // a failed pass is handled here: its sequences become suspects or fail

    const tokenizer::Tokenizer& tokenizer_;
    SchedulerConfig config_;
    kernels::ThreadPool pool_;
    model::KvCache kv_;
    PrefixCache prefix_{kv_};
    model::Forward forward_;
    std::deque<std::unique_ptr<SequenceTask>> waiting_;
    std::vector<std::unique_ptr<Sequence>> running_;
    std::vector<model::BatchToken> batch_;
    std::vector<Sequence*> row_owner_;    // sequence of each logits row of the batch
    std::vector<int32_t> sampled_;        // token sampled for each logits row
    std::vector<std::string> row_error_;  // a sampler's exception, per logits row
    // Sequences that shared a failed forward pass: they run one per step
    // until each has passed a step alone (or failed alone).
    std::deque<int32_t> suspects_;
    int32_t next_id_ = 0;
    int64_t last_prefill_ = 0;
    int64_t last_decode_ = 0;
    int64_t reused_tokens_ = 0;
    int64_t prefix_cap_blocks_ = 0;
};

}  // namespace pensieve::engine
