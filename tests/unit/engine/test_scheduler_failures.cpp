// The scheduler keeps every failure with the sequence it belongs to: a task
// whose callbacks throw, or whose tokens make a forward pass fail, is failed
// alone; the sequences that shared its batch finish as if nothing happened;
// and every KV block comes back. Runs the real engine on the default model.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../test_models.hpp"
#include "engine/scheduler.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::engine {
namespace {

struct Outcome {
    bool admitted = false;
    bool done = false;
    std::optional<std::string> error;
    GenerateResult result;
    int texts = 0;
};

class SchedulerFailures : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const auto path = testing::model_path(testing::kSmolLm);
        ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run `pensieve pull`";
        model_ = model::Model::load(path).release();
        tokenizer_ = new tokenizer::Tokenizer(tokenizer::Tokenizer::from_file(path));
    }
    static void TearDownTestSuite() {
        delete tokenizer_;
        delete model_;
    }

    static SchedulerConfig config() {
        SchedulerConfig c;
        c.n_ctx = 256;
        c.n_parallel = 4;
        c.n_threads = 2;
        c.prefix_cache_tokens = 0;
        return c;
    }

    std::vector<int32_t> prompt(const std::string& text) const {
        return tokenizer_->encode(text, tokenizer::Specials::AsText);
    }

    // A greedy task that records what happens to it; `throw_after` texts
    // later its text callback throws.
    std::unique_ptr<SequenceTask> task(const std::vector<int32_t>& tokens, Outcome& out,
                                       int throw_after = -1, int64_t max_tokens = 12) {
        auto t = std::make_unique<SequenceTask>();
        t->request.prompt = tokens;
        t->request.max_tokens = max_tokens;
        t->request.sampling.temperature = 0.0f;
        t->on_admitted = [&out](int64_t) { out.admitted = true; };
        t->on_text = [&out, throw_after](std::string_view) {
            if (throw_after >= 0 && out.texts >= throw_after) {
                throw std::runtime_error("the client channel broke");
            }
            ++out.texts;
            return true;
        };
        t->on_done = [&out](const GenerateResult& r) {
            out.done = true;
            out.result = r;
        };
        t->on_error = [&out](const std::string& what) { out.error = what; };
        return t;
    }

    static void run_to_completion(Scheduler& s) {
        for (int i = 0; i < 10000 && s.step(); ++i) {
        }
        EXPECT_FALSE(s.step());
    }

    static void expect_all_blocks_free(const Scheduler& s) {
        const SchedulerStats st = s.stats();
        EXPECT_EQ(st.running, 0);
        EXPECT_EQ(st.waiting, 0);
        EXPECT_EQ(st.kv_blocks_used, 0);
    }

    static inline model::Model* model_ = nullptr;
    static inline tokenizer::Tokenizer* tokenizer_ = nullptr;
};

TEST_F(SchedulerFailures, ATaskWhoseCallbackThrowsFailsAloneAndTheOthersFinish) {
    Scheduler s(*model_, *tokenizer_, config());
    Outcome a, b, c;
    s.add(task(prompt("The capital of France is"), a));
    s.add(task(prompt("Once upon a time"), b, /*throw_after=*/2));
    s.add(task(prompt("List three colours:"), c));
    run_to_completion(s);
    ASSERT_TRUE(b.error.has_value());
    EXPECT_NE(b.error->find("client channel broke"), std::string::npos);
    EXPECT_FALSE(b.done);
    for (const Outcome* o : {&a, &c}) {
        EXPECT_TRUE(o->done);
        EXPECT_FALSE(o->error.has_value());
        EXPECT_FALSE(o->result.output.empty());
    }
    expect_all_blocks_free(s);
}

TEST_F(SchedulerFailures, AFailedForwardPassFailsOnlyTheSequenceThatCausedIt) {
    const std::vector<int32_t> clean_a = prompt("The capital of France is");
    const std::vector<int32_t> clean_c = prompt("List three colours:");
    std::vector<int32_t> poisoned = prompt("Once upon a time");
    // A token no clean prompt holds and greedy text never produces (a turn
    // opener comes only after a turn end, which stops generation); the pass
    // that carries it fails.
    const int32_t fault = *tokenizer_->find_token("<|im_start|>");
    poisoned.push_back(fault);

    // The reference: the clean prompts alone, in a batch of two.
    std::map<std::string, std::vector<int32_t>> alone;
    {
        Scheduler s(*model_, *tokenizer_, config());
        Outcome a, c;
        s.add(task(clean_a, a));
        s.add(task(clean_c, c));
        run_to_completion(s);
        alone["a"] = a.result.output;
        alone["c"] = c.result.output;
    }

    SchedulerConfig cfg = config();
    cfg.fault_token = fault;
    Scheduler s(*model_, *tokenizer_, cfg);
    Outcome a, b, c;
    s.add(task(clean_a, a));
    s.add(task(poisoned, b));
    s.add(task(clean_c, c));
    run_to_completion(s);
    ASSERT_TRUE(b.error.has_value());
    EXPECT_NE(b.error->find("injected fault"), std::string::npos);
    ASSERT_TRUE(a.done && c.done);
    EXPECT_FALSE(a.error.has_value() || c.error.has_value());
    // Nothing half-updated: the failed pass was run again, sequence by
    // sequence, and the survivors generate what they generate without it.
    // (Greedy over the same prompts; batching may flip a near-tie at most.)
    EXPECT_EQ(a.result.output.size(), alone["a"].size());
    EXPECT_EQ(c.result.output.size(), alone["c"].size());
    EXPECT_EQ(a.result.output.front(), alone["a"].front());
    EXPECT_EQ(c.result.output.front(), alone["c"].front());
    expect_all_blocks_free(s);

    // And the scheduler still serves.
    Outcome d;
    s.add(task(clean_a, d));
    run_to_completion(s);
    EXPECT_TRUE(d.done);
    expect_all_blocks_free(s);
}

TEST_F(SchedulerFailures, ARequestThatCanNeverFitThePoolIsRejectedWhenAdded) {
    SchedulerConfig cfg = config();
    cfg.kv_tokens = 64;  // a pool smaller than the context
    Scheduler s(*model_, *tokenizer_, cfg);
    Outcome a;
    try {
        s.add(task(prompt("Hello there"), a, -1, /*max_tokens=*/200));
        FAIL() << "expected KvPoolError";
    } catch (const KvPoolError& e) {
        EXPECT_EQ(e.pool_tokens, 64);
        EXPECT_GT(e.needed_tokens, 64);
    }
    EXPECT_EQ(s.stats().waiting, 0);
    Outcome b;
    s.add(task(prompt("Hello there"), b, -1, /*max_tokens=*/8));
    run_to_completion(s);
    EXPECT_TRUE(b.done);
}

TEST_F(SchedulerFailures, PromptTokensOutsideTheVocabularyAreRejectedWhenAdded) {
    Scheduler s(*model_, *tokenizer_, config());
    Outcome a;
    EXPECT_THROW(s.add(task({1, 2, static_cast<int32_t>(model_->hparams().n_vocab)}, a)),
                 std::invalid_argument);
    EXPECT_THROW(s.add(task({-1}, a)), std::invalid_argument);
    EXPECT_THROW(s.add(task({}, a)), std::invalid_argument);
    EXPECT_EQ(s.stats().waiting, 0);
}

TEST_F(SchedulerFailures, FailAllAnswersEveryTaskAndFreesTheirBlocks) {
    Scheduler s(*model_, *tokenizer_, config());
    Outcome a, b;
    s.add(task(prompt("The capital of France is"), a, -1, 100));
    s.add(task(prompt("Once upon a time"), b, -1, 100));
    s.step();  // both admitted and prefilled
    s.fail_all("engine broke");
    EXPECT_EQ(a.error, std::optional<std::string>("engine broke"));
    EXPECT_EQ(b.error, std::optional<std::string>("engine broke"));
    expect_all_blocks_free(s);
}

}  // namespace
}  // namespace pensieve::engine
