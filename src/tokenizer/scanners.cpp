// The scanners declared in scanners.hpp. Class predicates come first, then
// one function per regex; each comment shows the alternative it implements.
#include "tokenizer/scanners.hpp"

#include <algorithm>
#include <iterator>

#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer::scan {
namespace {

using unicode::flags;

bool is_l(uint32_t c) {
    return flags(c) & unicode::kLetter;
}
bool is_n(uint32_t c) {
    return flags(c) & unicode::kNumber;
}
bool is_p(uint32_t c) {
    return flags(c) & unicode::kPunctuation;
}
bool is_s(uint32_t c) {
    return flags(c) & unicode::kWhitespace;
}
bool is_crlf(uint32_t c) {
    return c == '\r' || c == '\n';
}
// [^\s\p{L}\p{N}]
bool is_other(uint32_t c) {
    return !(flags(c) & (unicode::kWhitespace | unicode::kLetter | unicode::kNumber));
}

template <class Pred>
size_t run(const uint32_t* cps, size_t pos, size_t end, Pred pred) {
    size_t i = pos;
    while (i < end && pred(cps[i])) ++i;
    return i - pos;
}

// Like run(), but stops after `max` characters: \p{N}{1,3} must not scan a
// whole digit run at every position (quadratic).
template <class Pred>
size_t run_at_most(const uint32_t* cps, size_t pos, size_t end, size_t max, Pred pred) {
    return run(cps, pos, std::min(end, pos + max), pred);
}

// Optional leading ' ' (or any \s when any_space) then one or more of pred.
template <class Pred>
size_t opt_space_then_run(const uint32_t* cps, size_t pos, size_t end, bool any_space, Pred pred) {
    const uint32_t c = cps[pos];
    const bool space = any_space ? is_s(c) : c == ' ';
    if (space && pos + 1 < end && pred(cps[pos + 1])) return 1 + run(cps, pos + 1, end, pred);
    return run(cps, pos, end, pred);
}

uint32_t lower_ascii(uint32_t c) {
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// 's|'t|'re|'ve|'m|'ll|'d, case-insensitively when asked.
size_t contraction(const uint32_t* cps, size_t pos, size_t end, bool fold) {
    if (cps[pos] != '\'' || pos + 1 >= end) return 0;
    auto at = [&](size_t i) { return fold ? lower_ascii(cps[i]) : cps[i]; };
    const uint32_t a = at(pos + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (pos + 2 >= end) return 0;
    const uint32_t b = at(pos + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

// \s+(?!\S)|\s+ : a whitespace run, leaving its last character to the next
// token when a non-space follows and the run is longer than one.
size_t space_run(const uint32_t* cps, size_t pos, size_t end) {
    const size_t n = run(cps, pos, end, is_s);
    if (n == 0) return 0;
    if (pos + n < end && n > 1) return n - 1;
    return n;
}

size_t llama3_like(const uint32_t* cps, size_t pos, size_t end, size_t max_digits) {
    if (const size_t n = contraction(cps, pos, end, true)) return n;
    const uint32_t c = cps[pos];
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (is_l(c)) return run(cps, pos, end, is_l);
    if (!is_crlf(c) && !is_n(c) && pos + 1 < end && is_l(cps[pos + 1])) {
        return 1 + run(cps, pos + 1, end, is_l);
    }
    // \p{N}{1,max}
    if (is_n(c)) return run_at_most(cps, pos, end, max_digits, is_n);
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    size_t p = pos;
    if (c == ' ' && p + 1 < end && is_other(cps[p + 1])) ++p;
    if (is_other(cps[p])) {
        p += run(cps, p, end, is_other);
        p += run(cps, p, end, is_crlf);
        return p - pos;
    }
    // \s*[\r\n]+ : through the last newline of the whitespace run.
    const size_t n = run(cps, pos, end, is_s);
    for (size_t i = n; i > 0; --i) {
        if (is_crlf(cps[pos + i - 1])) return i;
    }
    return space_run(cps, pos, end);
}

// The two letter classes of the o200k/Tekken regexes. Lm, Lo and M are in
// both, so "upper" runs and "lower" runs overlap.
// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
bool is_upperish(uint32_t c) {
    return flags(c) & (unicode::kUpper | unicode::kTitle | unicode::kModifier |
                       unicode::kOtherLetter | unicode::kMark);
}
// [\p{Ll}\p{Lm}\p{Lo}\p{M}]
bool is_lowerish(uint32_t c) {
    return flags(c) &
           (unicode::kLower | unicode::kModifier | unicode::kOtherLetter | unicode::kMark);
}
// [^\r\n\p{L}\p{N}]: the optional character before a word (marks included).
bool is_word_lead(uint32_t c) {
    return !is_crlf(c) && !(flags(c) & (unicode::kLetter | unicode::kNumber));
}
bool is_crlf_or_slash(uint32_t c) {
    return is_crlf(c) || c == '/';
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) as the reference engine folds case: besides
// ASCII upper case, U+017F (long s) matches 's' (checked against the
// reference over every code point).
size_t folded_contraction(const uint32_t* cps, size_t pos, size_t end) {
    if (cps[pos] != '\'' || pos + 1 >= end) return 0;
    if (cps[pos + 1] == 0x17F) return 2;
    return contraction(cps, pos, end, true);
}

// X*Y+ at q, X = is_upperish, Y = is_lowerish: X* takes its longest run,
// then gives characters back until Y+ can start, i.e. Y+ starts at the last
// position j <= (end of the X run) holding a Y. Returns the end of the
// match, or q when there is none. Linear: the X run is scanned once, and a
// failure here means the second alternative (X+Y*) consumes that run.
size_t upper_then_lower(const uint32_t* cps, size_t q, size_t end) {
    const size_t x_end = q + run(cps, q, end, is_upperish);
    size_t j = x_end;
    if (j == end || !is_lowerish(cps[j])) {
        while (j > q && !is_lowerish(cps[j - 1])) --j;
        if (j == q) return q;
        --j;
    }
    return j + run(cps, j, end, is_lowerish);
}

// The o200k/Tekken word alternatives: P?X*Y+C? | P?X+Y*C?, where P is
// is_word_lead and C the optional contraction. Each alternative tries P
// taken, then not taken, before the next alternative is tried.
size_t cased_word(const uint32_t* cps, size_t pos, size_t end, bool contractions) {
    const bool lead = is_word_lead(cps[pos]) && pos + 1 < end;
    auto finish = [&](size_t e) {
        if (contractions && e < end) e += folded_contraction(cps, e, end);
        return e - pos;
    };
    for (const size_t q : {pos + (lead ? 1 : 0), pos}) {
        const size_t e = upper_then_lower(cps, q, end);
        if (e > q) return finish(e);
        if (!lead) break;
    }
    for (const size_t q : {pos + (lead ? 1 : 0), pos}) {
        const size_t x = run(cps, q, end, is_upperish);
        if (x > 0) return finish(q + x + run(cps, q + x, end, is_lowerish));
        if (!lead) break;
    }
    return 0;
}

size_t o200k_like(const uint32_t* cps, size_t pos, size_t end, size_t max_digits,
                  bool contractions) {
    if (const size_t n = cased_word(cps, pos, end, contractions)) return n;
    const uint32_t c = cps[pos];
    // \p{N}{1,max}
    if (is_n(c)) return run_at_most(cps, pos, end, max_digits, is_n);
    // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
    size_t p = pos;
    if (c == ' ' && p + 1 < end && is_other(cps[p + 1])) ++p;
    if (is_other(cps[p])) {
        p += run(cps, p, end, is_other);
        p += run(cps, p, end, is_crlf_or_slash);
        return p - pos;
    }
    // \s*[\r\n]+ : through the last newline of the whitespace run.
    const size_t n = run(cps, pos, end, is_s);
    for (size_t i = n; i > 0; --i) {
        if (is_crlf(cps[pos + i - 1])) return i;
    }
    return space_run(cps, pos, end);
}

struct Range {
    uint32_t lo, hi;
};

template <size_t N>
bool in_ranges(const Range (&ranges)[N], uint32_t c) {
    return std::any_of(std::begin(ranges), std::end(ranges),
                       [c](const Range& r) { return c >= r.lo && c <= r.hi; });
}

// The cased letters listed in DeepSeek LLM's split regex.
constexpr Range kDeepseekLetters[] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
    {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
    {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
    {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

// [!-/:-~！-／：-～‘-‟　-。]
constexpr Range kDeepseekPunct[] = {{0x21, 0x2F},     {0x3A, 0x7E},     {0xFF01, 0xFF0F},
                                    {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};

// [一-龥ࠀ-一가-퟿]
constexpr Range kCjk[] = {{0x4E00, 0x9FA5}, {0x800, 0x4E00}, {0xAC00, 0xD7FF}};

bool is_falcon_punct(uint32_t c) {
    return is_p(c) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
           c == '~' || c == '|' || c == '`';
}

bool is_default_punct(uint32_t c) {
    return c != '`' ? is_falcon_punct(c) : is_p(c);
}

}  // namespace

size_t gpt2(const uint32_t* cps, size_t pos, size_t end) {
    if (const size_t n = contraction(cps, pos, end, false)) return n;
    // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': the optional space binds to
    // whichever class follows it.
    const uint32_t c = cps[pos];
    const uint32_t head = (c == ' ' && pos + 1 < end) ? cps[pos + 1] : c;
    const size_t skip = (c == ' ' && pos + 1 < end && !is_s(head)) ? 1 : 0;
    if (skip || !is_s(c)) {
        const uint32_t h = skip ? head : c;
        if (is_l(h)) return skip + run(cps, pos + skip, end, is_l);
        if (is_n(h)) return skip + run(cps, pos + skip, end, is_n);
        return skip + run(cps, pos + skip, end, is_other);
    }
    return space_run(cps, pos, end);
}

size_t llama3(const uint32_t* cps, size_t pos, size_t end) {
    return llama3_like(cps, pos, end, 3);
}
size_t qwen2(const uint32_t* cps, size_t pos, size_t end) {
    return llama3_like(cps, pos, end, 1);
}

size_t gpt4o(const uint32_t* cps, size_t pos, size_t end) {
    return o200k_like(cps, pos, end, 3, true);
}
size_t tekken(const uint32_t* cps, size_t pos, size_t end) {
    return o200k_like(cps, pos, end, 1, false);
}

size_t one_number(const uint32_t* cps, size_t pos, size_t) {
    return is_n(cps[pos]) ? 1 : 0;
}
size_t number_run(const uint32_t* cps, size_t pos, size_t end) {
    return run(cps, pos, end, is_n);
}
size_t three_ascii_digits(const uint32_t* cps, size_t pos, size_t end) {
    auto digit = [](uint32_t c) { return c >= '0' && c <= '9'; };
    return (pos + 3 <= end && digit(cps[pos]) && digit(cps[pos + 1]) && digit(cps[pos + 2])) ? 3
                                                                                             : 0;
}
size_t one_newline(const uint32_t* cps, size_t pos, size_t) {
    return is_crlf(cps[pos]) ? 1 : 0;
}

size_t falcon_punct(const uint32_t* cps, size_t pos, size_t end) {
    return run(cps, pos, end, is_falcon_punct);
}
size_t default_punct(const uint32_t* cps, size_t pos, size_t end) {
    return run(cps, pos, end, is_default_punct);
}

size_t space_letters(const uint32_t* cps, size_t pos, size_t end) {
    return opt_space_then_run(cps, pos, end, true, is_l);
}
size_t space_punct(const uint32_t* cps, size_t pos, size_t end) {
    return opt_space_then_run(cps, pos, end, true, is_p);
}
size_t deepseek_cased_letters(const uint32_t* cps, size_t pos, size_t end) {
    return opt_space_then_run(cps, pos, end, true,
                              [](uint32_t c) { return in_ranges(kDeepseekLetters, c); });
}
size_t deepseek_punct(const uint32_t* cps, size_t pos, size_t end) {
    return opt_space_then_run(cps, pos, end, true,
                              [](uint32_t c) { return in_ranges(kDeepseekPunct, c); });
}
size_t cjk_run(const uint32_t* cps, size_t pos, size_t end) {
    return run(cps, pos, end, [](uint32_t c) { return in_ranges(kCjk, c); });
}

size_t trailing_space(const uint32_t* cps, size_t pos, size_t end) {
    // Only the run that reaches `end` matches; the caller (pre_tokenizer.cpp)
    // jumps straight to that run instead of trying every position.
    const size_t n = run(cps, pos, end, is_s);
    return (n > 0 && pos + n == end) ? n : 0;
}

}  // namespace pensieve::tokenizer::scan
