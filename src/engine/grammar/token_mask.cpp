// Token masks: the vocabulary trie, the string fast path and the per-state
// mask cache (see token_mask.hpp for the cost model).
#include "engine/grammar/token_mask.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace pensieve::grammar {

namespace {

void set_bit(std::span<uint64_t> out, TokenId id) {
    out[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (static_cast<size_t>(id) & 63);
}

// Code points of a token that can only continue a JSON string body: valid,
// complete UTF-8 without '"', '\\' or control bytes. -1 for any other token.
int string_safe_code_points(const std::string& s) {
    int n = 0;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<uint8_t>(s[i]);
        size_t len = 1;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == '"' || c == '\\' || c < 0x20) return -1;
        if (c >= 0x80) {
            if (c >= 0xC2 && c <= 0xDF)
                len = 2;
            else if (c >= 0xE0 && c <= 0xEF)
                len = 3;
            else if (c >= 0xF0 && c <= 0xF4)
                len = 4;
            else
                return -1;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
            if (i + len > s.size()) return -1;
            for (size_t k = 1; k < len; ++k) {
                const auto b = static_cast<uint8_t>(s[i + k]);
                if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return -1;
            }
        }
        i += len;
        ++n;
    }
    return n;
}

void build_node(TokenTrie& t, const std::vector<std::string>& bytes,
                const std::vector<TokenId>& sorted, size_t lo, size_t hi, size_t depth,
                uint8_t byte) {
    const size_t idx = t.nodes.size();
    t.nodes.push_back({});
    t.nodes[idx].byte = byte;
    t.nodes[idx].depth = static_cast<uint16_t>(depth);
    t.nodes[idx].tok_begin = static_cast<uint32_t>(t.ids.size());
    while (lo < hi && bytes[static_cast<size_t>(sorted[lo])].size() == depth)
        t.ids.push_back(sorted[lo++]);
    t.nodes[idx].tok_end = static_cast<uint32_t>(t.ids.size());
    t.max_depth = std::max(t.max_depth, depth);
    while (lo < hi) {
        const auto b = static_cast<uint8_t>(bytes[static_cast<size_t>(sorted[lo])][depth]);
        size_t j = lo;
        while (j < hi && static_cast<uint8_t>(bytes[static_cast<size_t>(sorted[j])][depth]) == b)
            ++j;
        build_node(t, bytes, sorted, lo, j, depth + 1, b);
        lo = j;
    }
    t.nodes[idx].next = static_cast<uint32_t>(t.nodes.size());
}

// Marks every token of the trie whose bytes the machine consumes from `start`.
// Preorder walk: levels[d] is the state after the first d bytes of the
// current path; a dead state skips the node's whole subtree.
void walk(const TokenTrie& t, const Machine& m, const State& start, std::span<uint64_t> out) {
    thread_local std::vector<State> levels;
    if (levels.size() < t.max_depth + 1) levels.resize(t.max_depth + 1);
    levels[0] = start;
    size_t i = 1;
    while (i < t.nodes.size()) {
        const TokenTrie::Node& n = t.nodes[i];
        State& here = levels[n.depth];
        m.feed(levels[n.depth - 1u], n.byte, here);
        if (here.dead()) {
            i = n.next;
            continue;
        }
        for (uint32_t k = n.tok_begin; k < n.tok_end; ++k) set_bit(out, t.ids[k]);
        ++i;
    }
}

void append_state_key(const State& s, std::string& key) {
    auto put = [&](const auto& v) {
        char buf[sizeof(v)];
        std::memcpy(buf, &v, sizeof(v));
        key.append(buf, sizeof(v));
    };
    for (const Frame& f : s.frames) {
        put(f.node);
        put(static_cast<uint8_t>(f.kind));
        put(f.phase);
        put(f.sub);
        put(f.pos);
        put(f.count);
        put(f.bits);
    }
    for (uint32_t e : s.ends) put(e);
}

}  // namespace

TokenTrie TokenTrie::build(const std::vector<std::string>& bytes,
                           const std::vector<TokenId>& members) {
    std::vector<TokenId> sorted = members;
    std::sort(sorted.begin(), sorted.end(), [&](TokenId a, TokenId b) {
        return bytes[static_cast<size_t>(a)] < bytes[static_cast<size_t>(b)];
    });
    TokenTrie t;
    build_node(t, bytes, sorted, 0, sorted.size(), 0, 0);
    return t;
}

TokenVocabulary::TokenVocabulary(std::vector<std::string> bytes, std::vector<TokenId> eog)
    : bytes_(std::move(bytes)), eog_(std::move(eog)) {
    std::sort(eog_.begin(), eog_.end());
    eog_.erase(std::remove_if(
                   eog_.begin(), eog_.end(),
                   [&](TokenId id) { return id < 0 || static_cast<size_t>(id) >= bytes_.size(); }),
               eog_.end());
    std::vector<TokenId> members;
    std::vector<int> safe_cp(bytes_.size(), -1);
    int max_cp = 0;
    for (size_t id = 0; id < bytes_.size(); ++id) {
        const auto tid = static_cast<TokenId>(id);
        if (bytes_[id].empty() || is_eog(tid)) continue;
        members.push_back(tid);
        safe_cp[id] = string_safe_code_points(bytes_[id]);
        if (safe_cp[id] < 0) unsafe_ids_.push_back(tid);
        max_cp = std::max(max_cp, safe_cp[id]);
    }
    all_ = TokenTrie::build(bytes_, members);
    unsafe_ = TokenTrie::build(bytes_, unsafe_ids_);
    safe_upto_.assign(static_cast<size_t>(max_cp) + 1, std::vector<uint64_t>(words(), 0));
    for (size_t id = 0; id < bytes_.size(); ++id) {
        if (safe_cp[id] >= 0)
            set_bit(safe_upto_[static_cast<size_t>(safe_cp[id])], static_cast<TokenId>(id));
    }
    for (size_t k = 1; k < safe_upto_.size(); ++k) {
        for (size_t w = 0; w < words(); ++w) safe_upto_[k][w] |= safe_upto_[k - 1][w];
    }
}

std::shared_ptr<const TokenVocabulary> TokenVocabulary::from_tokenizer(
    const tokenizer::Tokenizer& tok) {
    std::vector<std::string> bytes(tok.size());
    for (size_t id = 0; id < tok.size(); ++id) {
        const auto tid = static_cast<TokenId>(id);
        // Control, unused and unknown tokens never appear inside a document.
        if (tok.is_control(tid) || tok.vocab().types[id] == tokenizer::TokenType::Unknown) continue;
        bytes[id] = tok.token_bytes(tid);
    }
    return std::make_shared<const TokenVocabulary>(std::move(bytes), tok.end_of_generation_ids());
}

bool TokenVocabulary::is_eog(TokenId id) const {
    return std::binary_search(eog_.begin(), eog_.end(), id);
}

const std::vector<uint64_t>& TokenVocabulary::string_safe_upto(size_t k) const {
    return safe_upto_[std::min(k, safe_upto_.size() - 1)];
}

GrammarMasks::GrammarMasks(std::shared_ptr<const Grammar> g,
                           std::shared_ptr<const TokenVocabulary> vocab, size_t cache_entries)
    : grammar_(std::move(g)),
      vocab_(std::move(vocab)),
      machine_(*grammar_),
      cache_entries_(cache_entries) {
    // For each string node with a class pattern: the string-safe tokens made
    // only of class characters.
    class_tokens_.resize(grammar_->nodes.size());
    const std::vector<uint64_t>& safe = vocab_->string_safe_upto(SIZE_MAX);
    for (size_t id = 0; id < grammar_->nodes.size(); ++id) {
        const Node& n = grammar_->nodes[id];
        if (n.kind != NodeKind::String || !n.pattern || !n.pattern->has_class) continue;
        const auto& cls = n.pattern->cls;
        std::vector<uint64_t> bits(vocab_->words(), 0);
        for (size_t t = 0; t < vocab_->size(); ++t) {
            if (!((safe[t >> 6] >> (t & 63)) & 1)) continue;
            const std::string& b = vocab_->bytes(static_cast<TokenId>(t));
            const bool in_class = std::all_of(b.begin(), b.end(), [&](char ch) {
                const auto c = static_cast<uint8_t>(ch);
                return c < 0x80 && ((cls[c >> 6] >> (c & 63)) & 1);
            });
            if (in_class) set_bit(bits, static_cast<TokenId>(t));
        }
        class_tokens_[id] = std::move(bits);
    }
}

bool GrammarMasks::add_string_safe(const State& s, std::span<uint64_t> out) const {
    // Per live alternative (stack k is frames[ends[k-1] .. ends[k])): its top
    // frame must be a string body past any pattern prefix, or a key that may
    // be an extra key; else no shortcut. The string-safe sets are nested by
    // length, so the alternatives without a class pattern need only the
    // largest remaining length; each class pattern adds its own.
    size_t free_budget = 0;
    bool any_free = false;
    thread_local std::vector<std::pair<size_t, NodeId>> classes;
    classes.clear();
    uint32_t begin = 0;
    for (uint32_t end : s.ends) {
        if (end == begin) return false;
        const Frame& top = s.frames[end - 1];
        begin = end;
        const Node& n = grammar_->nodes[top.node];
        if (top.kind == FrameKind::Value && n.kind == NodeKind::String && top.phase == 1 &&
            top.sub == 0 && (!n.pattern || top.count >= n.pattern->prefix.size())) {
            const size_t left = n.max_length - top.count;
            if (n.pattern && n.pattern->has_class) {
                classes.emplace_back(left, top.node);
            } else {
                free_budget = std::max(free_budget, left);
                any_free = true;
            }
        } else if (top.kind == FrameKind::Key && top.phase == 1 && top.sub == 0) {
            free_budget = SIZE_MAX;
            any_free = true;
        } else {
            return false;
        }
    }
    if (any_free) {
        const std::vector<uint64_t>& safe = vocab_->string_safe_upto(free_budget);
        for (size_t w = 0; w < out.size(); ++w) out[w] |= safe[w];
    }
    for (const auto& [left, node] : classes) {
        const std::vector<uint64_t>& safe = vocab_->string_safe_upto(left);
        const std::vector<uint64_t>& cls = class_tokens_[node];
        for (size_t w = 0; w < out.size(); ++w) out[w] |= safe[w] & cls[w];
    }
    return true;
}

void GrammarMasks::compute_uncached(const State& s, std::span<uint64_t> out) const {
    std::fill(out.begin(), out.end(), 0);
    if (s.dead()) return;
    if (machine_.accepting(s)) {
        for (TokenId id : vocab_->eog()) set_bit(out, id);
    }
    // Inside a string body past any pattern prefix, a string-safe token
    // within the length budget (and, under a class pattern, made of class
    // characters) is allowed whatever encloses the string: it cannot leave
    // the string. When every live alternative is in such a body, only the
    // other tokens need the walk, whose cost grows with the alternatives
    // (anyOf branches of strings stay alive together for a whole string).
    if (add_string_safe(s, out)) {
        walk(vocab_->string_unsafe_trie(), machine_, s, out);
        return;
    }
    walk(vocab_->trie(), machine_, s, out);
}

void GrammarMasks::compute(const State& s, std::span<uint64_t> out) const {
    thread_local std::string key;
    key.clear();
    append_state_key(s, key);
    {
        std::lock_guard lock(mu_);
        if (auto it = cache_.find(key); it != cache_.end()) {
            std::copy(it->second.begin(), it->second.end(), out.begin());
            return;
        }
    }
    compute_uncached(s, out);
    std::lock_guard lock(mu_);
    if (cache_.size() >= cache_entries_) cache_.clear();  // bounded memory; hot states come back
    cache_.emplace(key, std::vector<uint64_t>(out.begin(), out.end()));
}

size_t GrammarMasks::cache_size() const {
    std::lock_guard lock(mu_);
    return cache_.size();
}

void apply_mask(std::span<const uint64_t> allowed, std::span<float> logits) {
    const float ninf = -std::numeric_limits<float>::infinity();
    for (size_t w = 0; w * 64 < logits.size(); ++w) {
        const uint64_t bits = w < allowed.size() ? allowed[w] : 0;
        const size_t end = std::min(logits.size(), w * 64 + 64);
        if (bits == ~uint64_t{0}) continue;
        for (size_t i = w * 64; i < end; ++i) {
            if (!((bits >> (i & 63)) & 1)) logits[i] = ninf;
        }
    }
}

Constraint::Constraint(std::shared_ptr<const GrammarMasks> masks)
    : masks_(std::move(masks)), matcher_(masks_->grammar()) {}

size_t Constraint::fill_mask(std::span<uint64_t> allowed) const {
    if (ended_) {
        std::fill(allowed.begin(), allowed.end(), 0);
        return 0;
    }
    masks_->compute(matcher_.state(), allowed);
    size_t n = 0;
    for (uint64_t w : allowed) n += static_cast<size_t>(std::popcount(w));
    return n;
}

bool Constraint::accept(TokenId id) {
    const TokenVocabulary& v = masks_->vocab();
    if (ended_ || id < 0 || static_cast<size_t>(id) >= v.size()) return false;
    if (v.is_eog(id)) {
        if (!matcher_.accepting()) return false;
        ended_ = true;
        return true;
    }
    if (v.bytes(id).empty()) return false;
    return matcher_.advance(v.bytes(id));
}

bool Constraint::advance(std::string_view bytes) {
    return !ended_ && matcher_.advance(bytes);
}

}  // namespace pensieve::grammar
