// Model directory: PENSIEVE_HOME, listing, and --model resolution.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "registry/model_dir.hpp"

namespace pensieve::registry {
namespace {

namespace fs = std::filesystem;

TEST(ModelDir, PensieveHomeOverridesTheDefault) {
    const char* old = std::getenv("PENSIEVE_HOME");
    const std::string saved = old ? old : "";
    setenv("PENSIEVE_HOME", "/srv/pensieve", 1);
    EXPECT_EQ(models_dir(), fs::path("/srv/pensieve/models"));
    unsetenv("PENSIEVE_HOME");
    EXPECT_EQ(pensieve_home().filename(), "pensieve");
    EXPECT_EQ(pensieve_home().parent_path().filename(), ".cache");
    if (old) setenv("PENSIEVE_HOME", saved.c_str(), 1);
}

TEST(ModelDir, ListsGgufFilesAndResolvesNamesAndPaths) {
    const fs::path dir = fs::temp_directory_path() / ("pensieve_md_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "smollm2-135m-instruct-q4_1.gguf") << "x";
    std::ofstream(dir / "mine.gguf") << "xyz";
    std::ofstream(dir / "mine.gguf.partial") << "half";
    std::ofstream(dir / "notes.txt") << "n";
    const auto models = list_models(dir);
    ASSERT_EQ(models.size(), 2u);
    EXPECT_EQ(models[0].name, "mine");
    EXPECT_EQ(models[0].size, 3u);
    EXPECT_FALSE(models[0].known.has_value());
    EXPECT_EQ(models[1].name, "smollm2-135m-instruct-q4_1");
    EXPECT_TRUE(models[1].known.has_value());

    EXPECT_EQ(resolve_model("smollm2", dir), dir / "smollm2-135m-instruct-q4_1.gguf");
    EXPECT_EQ(resolve_model((dir / "mine.gguf").string(), dir), dir / "mine.gguf");
    try {
        resolve_model("gemma3", dir);
        ADD_FAILURE() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("pensieve pull gemma3-270m-q4_k_m"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(resolve_model("no-such-model", dir), std::runtime_error);
    fs::remove_all(dir);
}

TEST(ModelDir, SplitModelsAreOneModelAndFilesResolveByName) {
    const fs::path dir =
        fs::temp_directory_path() / ("pensieve_split_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "big-Q4_0-00002-of-00002.gguf") << "22";
    std::ofstream(dir / "big-Q4_0-00001-of-00002.gguf") << "1";
    std::ofstream(dir / "lone-00002-of-00003.gguf") << "x";  // no first part
    std::ofstream(dir / "Tiny-Q8_0.gguf") << "t";
    const auto models = list_models(dir);
    ASSERT_EQ(models.size(), 3u);
    EXPECT_EQ(models[0].name, "Tiny-Q8_0");
    EXPECT_EQ(models[1].name, "big-Q4_0");
    EXPECT_EQ(models[1].files.size(), 2u);
    EXPECT_EQ(models[1].split_count, 2);
    EXPECT_EQ(models[1].size, 3u);
    EXPECT_EQ(models[1].path, dir / "big-Q4_0-00001-of-00002.gguf");
    EXPECT_EQ(models[2].name, "lone-00002-of-00003");

    EXPECT_EQ(resolve_model("big-Q4_0", dir), dir / "big-Q4_0-00001-of-00002.gguf");
    EXPECT_EQ(resolve_model("tiny-q8_0", dir), dir / "Tiny-Q8_0.gguf");  // case ignored
    EXPECT_EQ(resolve_model("Tiny-Q8_0.gguf", dir), dir / "Tiny-Q8_0.gguf");
    EXPECT_FALSE(find_present_model("big", dir).has_value());
    fs::remove_all(dir);
}

}  // namespace
}  // namespace pensieve::registry
