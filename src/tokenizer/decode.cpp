// Token ids back to bytes.
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";        // U+2581 "▁"
constexpr std::string_view kUnknownPiece = " \xE2\x81\x87 ";  // " ⁇ ", as SentencePiece shows <unk>

std::string unescape_spm(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        if (text.substr(pos, kSpmSpace.size()) == kSpmSpace) {
            out.push_back(' ');
            pos += kSpmSpace.size();
        } else {
            out.push_back(text[pos++]);
        }
    }
    return out;
}

std::string unmap_bytes(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const size_t len = utf8::sequence_length(text, pos);
        if (len == 0) {  // not UTF-8: keep the byte as it is
            out.push_back(text[pos++]);
            continue;
        }
        const uint32_t cp = utf8::decode_at(text, pos, len);
        if (const auto b = byte_level::code_point_to_byte(cp))
            out.push_back(static_cast<char>(*b));
        else
            out.append(text.substr(pos, len));
        pos += len;
    }
    return out;
}

}  // namespace

std::string Tokenizer::token_bytes(TokenId id, bool render_control) const {
    if (id < 0 || static_cast<size_t>(id) >= size()) return {};
    const Vocab& v = *vocab_;
    const std::string& text = v.texts[static_cast<size_t>(id)];
    switch (v.types[static_cast<size_t>(id)]) {
        case TokenType::Control:
        case TokenType::Unused:
            return render_control ? text : std::string();
        case TokenType::UserDefined:
            return text;
        case TokenType::Byte:
            if (const auto b = parse_byte_token(text)) return std::string(1, static_cast<char>(*b));
            return {};
        case TokenType::Unknown:
            if (v.kind == ModelKind::SentencePiece) return std::string(kUnknownPiece);
            return render_control ? text : std::string();
        case TokenType::Undefined:
        case TokenType::Normal:
            break;
    }
    return v.kind == ModelKind::SentencePiece ? unescape_spm(text) : unmap_bytes(text);
}

std::string Tokenizer::decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
    std::string out;
    bool at_start = options.strip_prefix_space && vocab_->add_space_prefix;
    for (const TokenId id : ids) {
        std::string piece = token_bytes(id, options.render_control);
        if (at_start && !piece.empty()) {
            if (!is_control(id) && piece[0] == ' ') piece.erase(0, 1);
            at_start = false;
        }
        out += piece;
    }
    return out;
}

}  // namespace pensieve::tokenizer
