// Probe for tests/reference/grammar: compiles a JSON Schema and prints
// documents made by random walks that sample only tokens the mask allows,
// over a real model's vocabulary. One JSON string (the document's text) per
// line, so the pytest can validate them with the PyPI jsonschema package.
//
// usage: grammar_sample <model.gguf> <schema.json> <count> <seed>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>

#include "engine/grammar/schema_compiler.hpp"
#include "engine/grammar/token_mask.hpp"

namespace g = pensieve::grammar;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: grammar_sample <model.gguf> <schema.json> <count> <seed>\n";
        return 2;
    }
    try {
        const auto tok = pensieve::tokenizer::Tokenizer::from_file(argv[1]);
        std::ifstream in(argv[2]);
        const auto schema = nlohmann::ordered_json::parse(in);
        const auto vocab = g::TokenVocabulary::from_tokenizer(tok);
        const auto masks = std::make_shared<const g::GrammarMasks>(
            std::make_shared<const g::Grammar>(g::compile_schema(schema)), vocab);
        const int count = std::stoi(argv[3]);
        std::mt19937 rng(static_cast<uint32_t>(std::stoul(argv[4])));
        std::uniform_real_distribution<double> coin(0, 1);
        std::vector<uint64_t> mask(vocab->words());
        for (int n = 0; n < count; ++n) {
            g::Constraint c(masks);
            std::string text;
            for (int step = 0;; ++step) {
                if (step == 5000 || c.fill_mask(mask) == 0) {
                    std::cerr << "walk did not finish: " << text << "\n";
                    return 1;
                }
                // Lean towards structure and ending so documents stay short.
                std::vector<g::TokenId> allowed, eog, structural;
                for (size_t id = 0; id < vocab->size(); ++id) {
                    if (!((mask[id >> 6] >> (id & 63)) & 1)) continue;
                    const auto t = static_cast<g::TokenId>(id);
                    allowed.push_back(t);
                    if (vocab->is_eog(t))
                        eog.push_back(t);
                    else if (vocab->bytes(t).find_first_of("\"]}") != std::string::npos)
                        structural.push_back(t);
                }
                auto pick = [&](const std::vector<g::TokenId>& from) {
                    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
                };
                g::TokenId id = pick(allowed);
                if (!eog.empty() && coin(rng) < 0.8)
                    id = pick(eog);
                else if (!structural.empty() && coin(rng) < 0.4)
                    id = pick(structural);
                if (!c.accept(id)) {
                    std::cerr << "allowed token refused\n";
                    return 1;
                }
                if (vocab->is_eog(id)) break;
                text += vocab->bytes(id);
            }
            std::cout << nlohmann::json(text).dump() << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "grammar_sample: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
