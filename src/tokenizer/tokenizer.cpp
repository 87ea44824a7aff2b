// Construction and encoding: split the input around special tokens, then
// encode each stretch of plain text with the vocabulary's algorithm.
#include "tokenizer/tokenizer.hpp"

#include <algorithm>
#include <unordered_map>

#include "gguf/error.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/error.hpp"
#include "tokenizer/spm.hpp"
#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

// Control tokens that end a turn in the chat formats we know.
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|eot_id|>",      "<|im_end|>",         "<|end|>",    "<end_of_turn>",
    "<|endoftext|>",   "<|eom_id|>",         "<|return|>", "<|call|>",
    "<|end_of_text|>", "<end_of_utterance>", "<EOT>",      "<｜end▁of▁sentence｜>",
};

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 "▁"

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::make_shared<const Vocab>(std::move(vocab))) {
    const Vocab& v = *vocab_;
    if (v.kind == ModelKind::ByteLevelBpe) {
        const auto pre = pre_tokenizer_from_name(v.pre);
        if (!pre) throw Error("tokenizer: unsupported pre-tokenizer \"" + v.pre + "\"");
        pre_ = *pre;
    }
    for (const std::string& t : v.texts) max_token_bytes_ = std::max(max_token_bytes_, t.size());
    specials_ = std::make_shared<const SpecialTokenMatcher>(v);
    for (const auto& id : {v.special.eos, v.special.eot, v.special.eom}) {
        if (id && !is_end_of_generation(*id)) eog_.push_back(*id);
    }
    for (const std::string_view text : kEndOfTurnTexts) {
        const auto id = v.find(text);
        if (id && is_control(*id) && !is_end_of_generation(*id)) eog_.push_back(*id);
    }
}

Tokenizer Tokenizer::from_gguf(const gguf::GgufFile& file) {
    return Tokenizer(load_vocab(file));
}

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
    try {
        return from_gguf(gguf::GgufFile::open(path));
    } catch (const gguf::Error& e) {
        throw Error(path.string() + ": " + e.what());
    }
}

std::string_view Tokenizer::token_text(TokenId id) const {
    if (id < 0 || static_cast<size_t>(id) >= size()) return {};
    return vocab_->texts[static_cast<size_t>(id)];
}

bool Tokenizer::is_control(TokenId id) const {
    if (id < 0 || static_cast<size_t>(id) >= size()) return false;
    const TokenType t = vocab_->types[static_cast<size_t>(id)];
    return t == TokenType::Control || t == TokenType::Unused;
}

bool Tokenizer::is_end_of_generation(TokenId id) const {
    return std::find(eog_.begin(), eog_.end(), id) != eog_.end();
}

std::vector<Tokenizer::Fragment> Tokenizer::partition(std::span<const Segment> segments) const {
    std::vector<Fragment> out;
    auto add_text = [&](std::string_view t) {
        if (t.empty()) return;
        if (out.empty() || out.back().id >= 0) out.push_back({});
        out.back().text.append(t);  // adjacent text of different segments joins up
    };
    for (const Segment& seg : segments) {
        const std::string valid =
            utf8::is_valid(seg.text) ? std::string(seg.text) : utf8::make_valid(seg.text);
        const bool parse = seg.specials == Specials::Parse;
        size_t pos = 0;
        while (pos < valid.size()) {
            const auto m = specials_->find(valid, pos, parse);
            if (!m) break;
            add_text(std::string_view(valid).substr(pos, m->pos - pos));
            out.push_back({{}, m->id});
            pos = m->pos + m->len;
        }
        add_text(std::string_view(valid).substr(std::min(pos, valid.size())));
    }
    return out;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, Specials specials,
                                       const EncodeOptions& options) const {
    const Segment seg{text, specials};
    return encode(std::span<const Segment>(&seg, 1), options);
}

std::vector<TokenId> Tokenizer::encode(std::span<const Segment> segments,
                                       const EncodeOptions& options) const {
    const Vocab& v = *vocab_;
    std::vector<TokenId> out;
    if (options.add_bos && v.add_bos && v.special.bos) out.push_back(*v.special.bos);
    bool after_special = true;  // SentencePiece prefixes a space at the start and after specials
    for (const Fragment& f : partition(segments)) {
        if (f.id >= 0) {
            out.push_back(f.id);
            after_special = true;
            continue;
        }
        if (v.kind == ModelKind::SentencePiece)
            encode_spm(f.text, after_special, out);
        else
            encode_bpe(f.text, out);
        after_special = false;
    }
    if (options.add_eos && v.add_eos && v.special.eos) out.push_back(*v.special.eos);
    return out;
}

void Tokenizer::encode_spm(std::string_view text, bool after_special,
                           std::vector<TokenId>& out) const {
    std::string escaped;
    escaped.reserve(text.size() + text.size() / 4 + 3);
    if (vocab_->add_space_prefix && after_special) escaped.append(kSpmSpace);
    for (const char c : text) {
        if (c == ' ')
            escaped.append(kSpmSpace);
        else
            escaped.push_back(c);
    }
    SpmMerger(*vocab_, max_token_bytes_).encode(escaped, out);
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<TokenId>& out) const {
    // Code points and the byte offset where each starts (text is valid UTF-8).
    std::vector<uint32_t> cps;
    std::vector<uint32_t> offsets;
    cps.reserve(text.size());
    offsets.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
        const size_t len = std::max<size_t>(1, utf8::sequence_length(text, pos));
        cps.push_back(utf8::decode_at(text, pos, len));
        offsets.push_back(static_cast<uint32_t>(pos));
        pos += len;
    }
    offsets.push_back(static_cast<uint32_t>(text.size()));

    std::vector<Span> words, scratch;
    pre_tokenize(pre_, cps, words, scratch);

    // Prompts repeat words a lot: remember each distinct word's tokens
    // (offset, count into `out`) for this call.
    std::unordered_map<std::string_view, std::pair<size_t, size_t>> cache;
    BpeMerger merger(*vocab_);
    const bool whole_words = ignores_merges(pre_);
    std::string mapped;
    for (const Span& w : words) {
        const std::string_view word =
            text.substr(offsets[w.begin], offsets[w.end] - offsets[w.begin]);
        if (const auto it = cache.find(word); it != cache.end()) {
            const auto [start, count] = it->second;
            for (size_t i = 0; i < count; ++i) {
                const TokenId t = out[start + i];
                out.push_back(t);
            }
            continue;
        }
        const size_t start = out.size();
        bool done = false;
        if (whole_words) {
            mapped.clear();
            for (const char c : word) {
                utf8::append(mapped, byte_level::byte_to_code_point(static_cast<uint8_t>(c)));
            }
            if (const auto id = vocab_->find(mapped)) {
                out.push_back(*id);
                done = true;
            }
        }
        if (!done) merger.encode_word(word, out);
        cache.emplace(word, std::make_pair(start, out.size() - start));
    }
}

}  // namespace pensieve::tokenizer
