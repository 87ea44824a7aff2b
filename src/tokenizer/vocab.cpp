// Loading and validating tokenizer.ggml.* metadata.
#include "tokenizer/vocab.hpp"

#include <limits>

#include "gguf/error.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/error.hpp"
#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::string_view kPrefix = "tokenizer.ggml.";

std::string key(std::string_view name) {
    return std::string(kPrefix) + std::string(name);
}

// Wraps gguf lookups so a wrong type surfaces as tokenizer::Error.
template <class F>
auto checked(std::string_view name, F&& f) {
    try {
        return f();
    } catch (const gguf::Error& e) {
        throw Error("tokenizer: bad " + key(name) + ": " + e.what());
    }
}

const gguf::Array* array_of(const gguf::GgufFile& file, std::string_view name, gguf::ValueType elem,
                            size_t expected_count, bool required) {
    const gguf::Array* a = checked(name, [&] { return file.get_array(key(name)); });
    if (!a) {
        if (required) throw Error("tokenizer: missing " + key(name));
        return nullptr;
    }
    if (a->elem_type != elem) {
        throw Error("tokenizer: " + key(name) + " has elements of type " +
                    std::string(gguf::value_type_name(a->elem_type)) + ", expected " +
                    std::string(gguf::value_type_name(elem)));
    }
    if (expected_count != 0 && a->count != expected_count) {
        throw Error("tokenizer: " + key(name) + " has " + std::to_string(a->count) +
                    " entries, expected " + std::to_string(expected_count) + " (one per token)");
    }
    return a;
}

std::optional<TokenId> special_id(const gguf::GgufFile& file, std::string_view name,
                                  size_t n_vocab) {
    const std::optional<int64_t> v = checked(name, [&] { return file.get_int(key(name)); });
    if (!v) return std::nullopt;
    // Converters write -1 (or its unsigned twin) for "no such token".
    if (*v == -1 || *v == std::numeric_limits<uint32_t>::max()) return std::nullopt;
    if (*v < 0 || static_cast<uint64_t>(*v) >= n_vocab) {
        throw Error("tokenizer: " + key(name) + " = " + std::to_string(*v) +
                    " is out of range [0, " + std::to_string(n_vocab) + ")");
    }
    return static_cast<TokenId>(*v);
}

void load_merges(const gguf::GgufFile& file, Vocab& v) {
    const gguf::Array* merges = array_of(file, "merges", gguf::ValueType::String, 0, true);
    v.merges.reserve(merges->strings.size());
    std::string joined;
    for (size_t rank = 0; rank < merges->strings.size(); ++rank) {
        const std::string& m = merges->strings[rank];
        // The separator is the first space after the first character, so a
        // left side that is itself " " still parses.
        const size_t sep = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (sep == std::string::npos) {
            throw Error("tokenizer: merge " + std::to_string(rank) + " (\"" + m +
                        "\") is not two tokens separated by a space");
        }
        const std::string_view left = std::string_view(m).substr(0, sep);
        const std::string_view right = std::string_view(m).substr(sep + 1);
        joined.assign(left);
        joined.append(right);
        const auto l = v.find(left), r = v.find(right), j = v.find(joined);
        if (!l || !r || !j) {
            throw Error("tokenizer: merge " + std::to_string(rank) + " (\"" + m +
                        "\") names a token that is not in the vocabulary");
        }
        v.merges.emplace(Vocab::pair_key(*l, *r),
                         Vocab::Merge{static_cast<int32_t>(rank), *j});  // first rank wins
    }
}

}  // namespace

std::optional<TokenId> Vocab::find(std::string_view text) const {
    const auto it = index.find(text);
    if (it == index.end()) return std::nullopt;
    return it->second;
}

std::optional<uint8_t> parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<uint8_t>(hi * 16 + lo);
}

Vocab load_vocab(const gguf::GgufFile& file) {
    Vocab v;
    const auto model = checked("model", [&] { return file.get_string(key("model")); });
    if (!model) throw Error("tokenizer: missing " + key("model"));
    v.model_name = *model;
    if (*model == "llama")
        v.kind = ModelKind::SentencePiece;
    else if (*model == "gpt2")
        v.kind = ModelKind::ByteLevelBpe;
    else
        throw Error("tokenizer: unsupported tokenizer model \"" + *model + "\"");
    v.pre = checked("pre", [&] { return file.get_string(key("pre")); }).value_or("default");

    const gguf::Array* tokens = array_of(file, "tokens", gguf::ValueType::String, 0, true);
    const size_t n = tokens->strings.size();
    if (n == 0 || n > static_cast<size_t>(std::numeric_limits<TokenId>::max())) {
        throw Error("tokenizer: " + key("tokens") + " has " + std::to_string(n) + " entries");
    }
    v.texts = tokens->strings;
    v.index.reserve(n);
    for (size_t i = 0; i < n; ++i) v.index[v.texts[i]] = static_cast<TokenId>(i);  // last wins

    v.scores.assign(n, 0.0f);
    if (const gguf::Array* s = array_of(file, "scores", gguf::ValueType::Float32, n, false)) {
        v.scores = *s->as<float>();
    }
    v.types.assign(n, TokenType::Normal);
    if (const gguf::Array* t = array_of(file, "token_type", gguf::ValueType::Int32, n, false)) {
        const std::vector<int32_t> raw = *t->as<int32_t>();
        for (size_t i = 0; i < n; ++i) {
            if (raw[i] < 0 || raw[i] > static_cast<int32_t>(TokenType::Byte)) {
                throw Error("tokenizer: token " + std::to_string(i) + " has unknown type " +
                            std::to_string(raw[i]));
            }
            v.types[i] = raw[i] == 0 ? TokenType::Normal : static_cast<TokenType>(raw[i]);
        }
    }

    for (size_t i = 0; i < n; ++i) {
        if (v.types[i] != TokenType::Byte) continue;
        const std::optional<uint8_t> b = parse_byte_token(v.texts[i]);
        if (!b) {
            throw Error("tokenizer: byte token " + std::to_string(i) + " \"" + v.texts[i] +
                        "\" is not of the form <0xHH>");
        }
        if (v.byte_tokens[*b] < 0) v.byte_tokens[*b] = static_cast<TokenId>(i);
    }
    if (v.kind == ModelKind::ByteLevelBpe) {
        for (int b = 0; b < 256; ++b) {
            std::string text;
            utf8::append(text, byte_level::byte_to_code_point(static_cast<uint8_t>(b)));
            if (const auto id = v.find(text)) v.byte_tokens[static_cast<size_t>(b)] = *id;
        }
        load_merges(file, v);
    }

    v.special.bos = special_id(file, "bos_token_id", n);
    v.special.eos = special_id(file, "eos_token_id", n);
    v.special.unk = special_id(file, "unknown_token_id", n);
    v.special.pad = special_id(file, "padding_token_id", n);
    v.special.sep = special_id(file, "seperator_token_id", n);  // sic: the GGUF key's spelling
    v.special.eot = special_id(file, "eot_token_id", n);
    v.special.eom = special_id(file, "eom_token_id", n);

    auto flag = [&](std::string_view name, bool fallback) {
        return checked(name, [&] { return file.get_bool(key(name)); }).value_or(fallback);
    };
    const bool spm = v.kind == ModelKind::SentencePiece;
    v.add_bos = flag("add_bos_token", spm);
    v.add_eos = flag("add_eos_token", false);
    v.add_space_prefix = spm && flag("add_space_prefix", true);
    if (v.add_bos && !v.special.bos) throw Error("tokenizer: add_bos_token set without a BOS id");
    if (v.add_eos && !v.special.eos) throw Error("tokenizer: add_eos_token set without an EOS id");
    return v;
}

}  // namespace pensieve::tokenizer
