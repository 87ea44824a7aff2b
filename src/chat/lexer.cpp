// jinja2-compatible tokenizer. See lexer.hpp; the rules follow jinja2/lexer.py.
#include "chat/lexer.hpp"

#include <algorithm>

#include "chat/error.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

SourceMap::SourceMap(std::string_view source) : source_(source) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
    }
}

std::pair<int, int> SourceMap::position(uint32_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const auto line = static_cast<std::size_t>(it - line_starts_.begin());
    const uint32_t start = line_starts_[line - 1];
    const auto end = std::min<std::size_t>(offset, source_.size());
    const auto col = pystr::length(source_.substr(start, end - start)) + 1;
    return {static_cast<int>(line), static_cast<int>(col)};
}

std::string normalize_source(std::string_view source) {
    std::string out;
    out.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            out += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            out += source[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
    return is_name_start(c) || is_digit(c);
}

class Lexer {
  public:
    explicit Lexer(std::string_view src) : src_(src), map_(src) {}

    std::vector<Token> run() {
        while (pos_ < src_.size()) {
            const std::size_t tag = find_tag_start(pos_);
            if (tag == std::string_view::npos) {
                emit_text(std::string(src_.substr(pos_)), pos_);
                break;
            }
            root_tag(tag);
        }
        tokens_.push_back({Tok::Eof, "", static_cast<uint32_t>(src_.size())});
        return std::move(tokens_);
    }

  private:
    [[noreturn]] void fail(const std::string& msg, std::size_t offset) {
        auto [line, col] = map_.position(static_cast<uint32_t>(offset));
        throw TemplateSyntaxError(msg, line, col);
    }

    std::size_t find_tag_start(std::size_t from) const {
        for (std::size_t i = src_.find('{', from); i != std::string_view::npos;
             i = src_.find('{', i + 1)) {
            if (i + 1 < src_.size()) {
                const char c = src_[i + 1];
                if (c == '{' || c == '%' || c == '#') return i;
            }
        }
        return std::string_view::npos;
    }

    bool at(std::size_t p, std::string_view s) const { return src_.substr(p, s.size()) == s; }

    std::size_t skip_space(std::size_t p) const {
        while (p < src_.size()) {
            std::size_t next = p;
            if (!pystr::is_space(pystr::decode(src_, next))) break;
            p = next;
        }
        return p;
    }

    void emit_text(std::string text, std::size_t offset) {
        if (!text.empty())
            tokens_.push_back({Tok::Text, std::move(text), static_cast<uint32_t>(offset)});
    }

    // Applies "-" (strip all whitespace before the tag) or lstrip_blocks (strip the
    // spaces that precede the tag on its own line) to the text in front of a tag.
    std::string strip_before(std::string_view text, char sign, bool lstrip_applies) const {
        if (sign == '-') return pystr::strip(text, false, true);
        if (sign != '+' && lstrip_applies) {
            const std::size_t nl = text.rfind('\n');
            const std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
            if (l_pos > 0 || line_starting_) {
                const std::string_view tail = text.substr(l_pos);
                if (!tail.empty() && pystr::strip(tail, true, false).empty()) {
                    return std::string(text.substr(0, l_pos));
                }
            }
        }
        return std::string(text);
    }

    // Consumes the end marker `close` (e.g. "%}") at p with its "-", "+" or trim_blocks
    // rule; returns the position after it. `trim` is false for }} (no trim_blocks).
    std::size_t consume_end(std::size_t p, std::size_t close_len, bool trim) {
        const char sign = src_[p];
        std::size_t end = p + close_len + ((sign == '-' || sign == '+') ? 1 : 0);
        if (sign == '-') {
            end = skip_space(end);
        } else if (sign != '+' && trim && end < src_.size() && src_[end] == '\n') {
            ++end;
        }
        line_starting_ = end > 0 && src_[end - 1] == '\n';
        return end;
    }

    // `{% raw %}`: returns the position after the opening tag, or npos if not raw.
    std::size_t match_raw_open(std::size_t tag) const {
        std::size_t p = tag + 2;
        if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
        p = skip_space(p);
        if (!at(p, "raw")) return std::string_view::npos;
        p = skip_space(p + 3);
        if (at(p, "-%}")) return skip_space(p + 3);
        if (at(p, "%}")) return p + 2;
        return std::string_view::npos;
    }

    void raw_block(std::size_t body) {
        for (std::size_t i = src_.find("{%", body); i != std::string_view::npos;
             i = src_.find("{%", i + 1)) {
            std::size_t p = i + 2;
            char sign = 0;
            if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
            p = skip_space(p);
            if (!at(p, "endraw")) continue;
            p = skip_space(p + 6);
            if (!(at(p, "%}") || at(p, "-%}") || at(p, "+%}"))) continue;
            emit_text(strip_before(src_.substr(body, i - body), sign, true), body);
            pos_ = consume_end(p, 2, true);
            return;
        }
        fail("Missing end of raw directive", body);
    }

    void root_tag(std::size_t tag) {
        const char kind = src_[tag + 1];
        const char sign = (tag + 2 < src_.size()) ? src_[tag + 2] : 0;
        const char strip_sign = (sign == '-' || sign == '+') ? sign : 0;
        emit_text(strip_before(src_.substr(pos_, tag - pos_), strip_sign, kind != '{'), pos_);
        line_starting_ = false;
        std::size_t p = tag + 2 + (strip_sign ? 1 : 0);
        if (kind == '#') {
            comment(p, tag);
        } else if (kind == '%') {
            const std::size_t raw_body = match_raw_open(tag);
            if (raw_body != std::string_view::npos) {
                raw_block(raw_body);
                return;
            }
            tokens_.push_back({Tok::BlockBegin, "{%", static_cast<uint32_t>(tag)});
            inner(p, true);
        } else {
            tokens_.push_back({Tok::VarBegin, "{{", static_cast<uint32_t>(tag)});
            inner(p, false);
        }
    }

    void comment(std::size_t p, std::size_t tag) {
        for (std::size_t close = src_.find("#}", p); close != std::string_view::npos;
             close = src_.find("#}", close + 1)) {
            std::size_t marker = close;
            if (close > p && (src_[close - 1] == '-' || src_[close - 1] == '+')) marker = close - 1;
            pos_ = consume_end(marker, 2, true);
            return;
        }
        fail("Missing end of comment tag", tag);
    }

    // Tokens inside {{ }} or {% %}, up to and including the end marker.
    void inner(std::size_t p, bool block) {
        std::vector<char> balance;
        for (;;) {
            if (p >= src_.size()) {
                fail(block ? "unexpected end of template, expected 'end of statement block'"
                           : "unexpected end of template, expected 'end of print statement'",
                     p);
            }
            if (balance.empty()) {
                const std::string_view close = block ? "%}" : "}}";
                if (at(p, close) ||
                    (at(p + 1, close) && (src_[p] == '-' || (block && src_[p] == '+')))) {
                    tokens_.push_back({block ? Tok::BlockEnd : Tok::VarEnd, std::string(close),
                                       static_cast<uint32_t>(p)});
                    pos_ = consume_end(p, 2, block);
                    return;
                }
            }
            std::size_t next = p;
            if (pystr::is_space(pystr::decode(src_, next))) {
                p = next;
                continue;
            }
            p = token(p, balance);
        }
    }

    std::size_t token(std::size_t p, std::vector<char>& balance) {
        const char c = src_[p];
        const auto off = static_cast<uint32_t>(p);
        if (is_digit(c)) return number(p);
        if (is_name_start(c)) {
            std::size_t e = p + 1;
            while (e < src_.size() && is_name_char(src_[e])) ++e;
            tokens_.push_back({Tok::Name, std::string(src_.substr(p, e - p)), off});
            return e;
        }
        if (c == '\'' || c == '"') return string_literal(p);
        static constexpr std::string_view two[] = {"**", "//", "==", "!=", ">=", "<="};
        for (auto op : two) {
            if (at(p, op)) {
                tokens_.push_back({Tok::Op, std::string(op), off});
                return p + 2;
            }
        }
        static constexpr std::string_view one = "+-/*%~[](){}><=.:|,;";
        if (one.find(c) == std::string_view::npos) {
            fail(std::string("unexpected char '") + c + "'", p);
        }
        if (c == '(' || c == '[' || c == '{') {
            balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
        } else if (c == ')' || c == ']' || c == '}') {
            if (balance.empty()) fail(std::string("unexpected '") + c + "'", p);
            if (balance.back() != c) {
                fail(std::string("unexpected '") + c + "', expected '" + balance.back() + "'", p);
            }
            balance.pop_back();
        }
        tokens_.push_back({Tok::Op, std::string(1, c), off});
        return p + 1;
    }

    // Digits with optional single underscores between them ("1_000").
    std::size_t digits(std::size_t p, std::string& out) const {
        while (p < src_.size()) {
            if (is_digit(src_[p])) {
                out += src_[p++];
            } else if (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]) &&
                       !out.empty()) {
                ++p;
            } else {
                break;
            }
        }
        return p;
    }

    std::size_t number(std::size_t p) {
        const auto off = static_cast<uint32_t>(p);
        // Base-prefixed integers: 0b / 0o / 0x.
        if (src_[p] == '0' && p + 1 < src_.size()) {
            const char b = static_cast<char>(src_[p + 1] | 0x20);
            if (b == 'b' || b == 'o' || b == 'x') {
                std::string text = std::string("0") + b;
                std::size_t e = p + 2;
                while (e < src_.size()) {
                    const char d = static_cast<char>(src_[e] | 0x20);
                    const bool ok = b == 'x'   ? (is_digit(src_[e]) || (d >= 'a' && d <= 'f'))
                                    : b == 'o' ? (src_[e] >= '0' && src_[e] <= '7')
                                               : (src_[e] == '0' || src_[e] == '1');
                    if (ok)
                        text += d;
                    else if (src_[e] != '_')
                        break;
                    ++e;
                }
                if (text.size() > 2) {
                    tokens_.push_back({Tok::Integer, text, off});
                    return e;
                }
            }
        }
        const bool after_dot = p > 0 && src_[p - 1] == '.';
        std::string text;
        std::size_t e = digits(p, text);
        if (!after_dot) {
            std::string frac;
            std::size_t f = e;
            if (f + 1 < src_.size() && src_[f] == '.' && is_digit(src_[f + 1])) {
                frac = ".";
                f = digits(f + 1, frac);
            }
            std::size_t x = f;
            std::string expo;
            if (x < src_.size() && (src_[x] | 0x20) == 'e') {
                std::size_t q = x + 1;
                expo = "e";
                if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) expo += src_[q++];
                std::string ed;
                const std::size_t qe = digits(q, ed);
                if (!ed.empty()) {
                    expo += ed;
                    x = qe;
                } else {
                    expo.clear();
                }
            }
            if (!frac.empty() || !expo.empty()) {
                tokens_.push_back({Tok::Float, text + frac + expo, off});
                return expo.empty() ? f : x;
            }
        }
        // jinja2's integer rule: [1-9](_?\d)* or 0(_?0)* - "007" lexes as "00", "7".
        if (text[0] == '0') {
            std::size_t z = p;
            while (z < src_.size() && (src_[z] == '0' || (src_[z] == '_' && z + 1 < src_.size() &&
                                                          src_[z + 1] == '0'))) {
                ++z;
            }
            tokens_.push_back({Tok::Integer, "0", off});
            return z;
        }
        tokens_.push_back({Tok::Integer, text, off});
        return e;
    }

    std::size_t string_literal(std::size_t p) {
        const char quote = src_[p];
        std::size_t e = p + 1;
        while (e < src_.size() && src_[e] != quote) {
            if (src_[e] == '\\') ++e;
            ++e;
        }
        if (e >= src_.size()) fail(std::string("unexpected char '") + quote + "'", p);
        tokens_.push_back(
            {Tok::String, unescape(src_.substr(p + 1, e - p - 1), p), static_cast<uint32_t>(p)});
        return e + 1;
    }

    // Python's "unicode-escape" decoding, which jinja2 applies to string literals.
    std::string unescape(std::string_view s, std::size_t offset) {
        std::string out;
        out.reserve(s.size());
        auto hexval = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            c = static_cast<char>(c | 0x20);
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            return -1;
        };
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '\\' || i + 1 >= s.size()) {
                out += s[i];
                continue;
            }
            const char c = s[++i];
            switch (c) {
                case '\n':
                    break;  // line continuation
                case '\\':
                    out += '\\';
                    break;
                case '\'':
                    out += '\'';
                    break;
                case '"':
                    out += '"';
                    break;
                case 'a':
                    out += '\a';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'v':
                    out += '\v';
                    break;
                case 'x':
                case 'u':
                case 'U': {
                    const std::size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                    char32_t cp = 0;
                    bool ok = i + n < s.size();
                    for (std::size_t k = 1; ok && k <= n; ++k) {
                        const int h = i + k < s.size() ? hexval(s[i + k]) : -1;
                        if (h < 0)
                            ok = false;
                        else
                            cp = cp * 16 + static_cast<char32_t>(h);
                    }
                    if (!ok || cp > 0x10FFFF) {
                        fail("truncated \\" + std::string(1, c) + " escape in string literal",
                             offset);
                    }
                    pystr::append_utf8(out, cp);
                    i += n;
                    break;
                }
                default:
                    if (c >= '0' && c <= '7') {
                        char32_t cp = static_cast<char32_t>(c - '0');
                        for (int k = 0;
                             k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) {
                            cp = cp * 8 + static_cast<char32_t>(s[++i] - '0');
                        }
                        pystr::append_utf8(out, cp);
                    } else {
                        out += '\\';  // unknown escapes are kept as written
                        out += c;
                    }
            }
        }
        return out;
    }

    std::string_view src_;
    SourceMap map_;
    std::size_t pos_ = 0;
    bool line_starting_ = true;
    std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
    return Lexer(source).run();
}

}  // namespace pensieve::chat
