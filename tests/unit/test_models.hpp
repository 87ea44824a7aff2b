// Where the unit tests find the real models: the model store of `pensieve
// pull` ($PENSIEVE_HOME/models, else ~/.cache/pensieve/models). Tests that
// read a model assert that it exists (scripts/test.sh pulls the known models
// before the unit tests run), so a missing model is a failure, not a skip.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace pensieve::testing {

inline std::filesystem::path model_path(const std::string& name) {
    std::filesystem::path home = ".";
    if (const char* h = std::getenv("PENSIEVE_HOME"); h && *h) {
        home = h;
    } else if (const char* u = std::getenv("HOME"); u && *u) {
        home = std::filesystem::path(u) / ".cache" / "pensieve";
    }
    return home / "models" / name;
}

inline constexpr const char* kSmolLm = "smollm2-135m-instruct-q4_1.gguf";
inline constexpr const char* kGemma3 = "gemma3-270m-q4_k_m.gguf";

}  // namespace pensieve::testing
