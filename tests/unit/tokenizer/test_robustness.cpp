// 200,000 repetitions of one character tokenize without crashing on a thread
// with a 512 KiB stack, in time that grows linearly (no regex recursion, no
// quadratic rescans).
#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "test_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {
namespace {

// Runs fn on a new thread whose stack is `stack_bytes`.
void run_on_small_stack(const std::function<void()>& fn, size_t stack_bytes) {
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, stack_bytes), 0);
    pthread_t thread;
    auto trampoline = [](void* arg) -> void* {
        (*static_cast<const std::function<void()>*>(arg))();
        return nullptr;
    };
    ASSERT_EQ(pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&fn)),
              0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}

std::string repeat(std::string_view unit, size_t n) {
    std::string s;
    s.reserve(unit.size() * n);
    for (size_t i = 0; i < n; ++i) s += unit;
    return s;
}

// The fastest of three encodings: a loaded machine only ever adds time, so
// the minimum is the measure least disturbed by other work.
double seconds_to_encode(const Tokenizer& tok, const std::string& text, size_t* n_tokens) {
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        *n_tokens = tok.encode(text, Specials::AsText).size();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

void check_vocab(const std::filesystem::path& gguf) {
    const Tokenizer tok = Tokenizer::from_file(gguf);
    for (const std::string_view unit : {"a", " ", "\n", "à", "中", "🎉"}) {
        SCOPED_TRACE(std::string(gguf.filename()) + " unit '" + std::string(unit) + "'");
        const std::string big = repeat(unit, 200'000);
        const std::string small = repeat(unit, 50'000);
        size_t n_big = 0, n_small = 0;
        double t_big = 0, t_small = 0;
        run_on_small_stack(
            [&] {
                t_small = seconds_to_encode(tok, small, &n_small);
                t_big = seconds_to_encode(tok, big, &n_big);
            },
            512 * 1024);
        EXPECT_GT(n_big, 0u);
        EXPECT_GE(n_big, n_small);
        // 4x the input may cost ~4x (n log n) but never ~16x (quadratic).
        EXPECT_LT(t_big, 10 * t_small + 0.05) << t_small << " s -> " << t_big << " s";
        EXPECT_EQ(tok.decode(tok.encode(small, Specials::AsText)), small);
    }
}

TEST(Robustness, LongRunsOfOneCharacterOnASmallStackByteLevel) {
    const auto smol = testing::model_path(testing::kSmolLm);
    ASSERT_TRUE(std::filesystem::exists(smol)) << smol << " missing: run `pensieve pull`";
    check_vocab(smol);
    check_vocab(testing::vocab_dir() / "ggml-vocab-gpt-2.gguf");
}

TEST(Robustness, LongRunsOfOneCharacterOnASmallStackSentencePiece) {
    const auto gemma = testing::model_path(testing::kGemma3);
    ASSERT_TRUE(std::filesystem::exists(gemma)) << gemma << " missing: run `pensieve pull`";
    check_vocab(gemma);
    check_vocab(testing::vocab_dir() / "ggml-vocab-llama-spm.gguf");
}

TEST(Robustness, LongRunsThroughEveryPreTokenizer) {
    for (const char* name : {"deepseek-coder", "deepseek-llm", "falcon", "starcoder"}) {
        const auto gguf = testing::vocab_dir() / ("ggml-vocab-" + std::string(name) + ".gguf");
        ASSERT_TRUE(std::filesystem::exists(gguf)) << gguf;
        const Tokenizer tok = Tokenizer::from_file(gguf);
        const std::string text = repeat(" ", 100'000) + "x" + repeat("1", 100'000) +
                                 repeat("中", 50'000) + repeat("!", 50'000);
        run_on_small_stack([&] { EXPECT_FALSE(tok.encode(text, Specials::AsText).empty()); },
                           512 * 1024);
    }
}

}  // namespace
}  // namespace pensieve::tokenizer
