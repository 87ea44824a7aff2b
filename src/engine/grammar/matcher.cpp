// Byte transitions of the grammar matcher. Each open value is a Frame whose
// `phase` says what it expects next:
//   Object  0 '{'  1 '}' or '"'  2 '"'  3 (key frame open)  4 ':'  5 ' '
//           6 (value starts)  7 (value open)  8 ',' or '}'  9 ' '
//           bits: declared keys seen; count: next declared index (schema
//           order); pos: the key being valued (0xFFFF: an extra key)
//   Key     1 body, extra keys allowed  2 body, declared keys only
//           bits: declared keys whose text starts with the bytes so far
//   Array   0 '['  1 ']' or value  3 (value open)  4 ',' or ']'  5 ' '  6 (value)
//   String  0 '"'  1 body (count: code points, sub: lexer state)
//   Number  0 start 1 '-' 2 '0' 3 int 4 '.' 5 frac 6 'e' 7 exp sign 8 exp
//   Integer 0 start 1 '-' 2 '0' 3 digits (bits: magnitude, sub: negative)
//   Literal count: bytes matched; bits: candidate range lo | hi << 32
// A frame that completes pops and tells its parent (child_done); a number or
// literal learns it is complete only from the next byte, which it hands back
// to its parent (PopRetry).
#include "engine/grammar/matcher.hpp"

#include <algorithm>
#include <bit>

namespace pensieve::grammar {

namespace {

enum class Act : uint8_t { Reject, Consumed, Done, PopRetry, PushKey, PushRetry };

struct Action {
    Act act;
    NodeId node = 0;  // PushRetry: the node to open
};

// Integer bounds need 65 bits of magnitude plus a sign.
__extension__ typedef __int128 I128;

constexpr uint16_t kExtraKey = 0xFFFF;

bool is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}
bool is_hex(uint8_t c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// JSON string body lexer. sub: 0 plain, 1 after '\', 2..5 expecting \u hex
// digit 1..4, 6 second hex digit after \uD (no surrogates: 0-7 only),
// 0x80 | remaining << 3 | range: inside a UTF-8 sequence.
bool lex_string(uint8_t& sub, uint8_t c, bool& starts, bool& closes) {
    starts = closes = false;
    if (sub & 0x80) {
        static constexpr uint8_t lo[] = {0x80, 0xA0, 0x80, 0x90, 0x80};
        static constexpr uint8_t hi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
        const int range = sub & 7, rem = (sub >> 3) & 3;
        if (c < lo[range] || c > hi[range]) return false;
        sub = rem > 1 ? static_cast<uint8_t>(0x80 | (rem - 1) << 3) : 0;
        return true;
    }
    switch (sub) {
        case 0:
            if (c == '"') {
                closes = true;
                return true;
            }
            starts = true;
            if (c == '\\') {
                sub = 1;
                return true;
            }
            if (c < 0x20) return false;
            if (c < 0x80) return true;
            if (c >= 0xC2 && c <= 0xDF)
                sub = 0x80 | 1 << 3;
            else if (c == 0xE0)
                sub = 0x80 | 2 << 3 | 1;
            else if (c == 0xED)
                sub = 0x80 | 2 << 3 | 2;
            else if (c >= 0xE1 && c <= 0xEF)
                sub = 0x80 | 2 << 3;
            else if (c == 0xF0)
                sub = 0x80 | 3 << 3 | 3;
            else if (c >= 0xF1 && c <= 0xF3)
                sub = 0x80 | 3 << 3;
            else if (c == 0xF4)
                sub = 0x80 | 3 << 3 | 4;
            else
                return false;
            return true;
        case 1:
            if (c == 'u') {
                sub = 2;
                return true;
            }
            if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                c == 't') {
                sub = 0;
                return true;
            }
            return false;
        case 2:
            if (c == 'd' || c == 'D')
                sub = 6;
            else if (is_hex(c))
                sub = 3;
            else
                return false;
            return true;
        case 6:
            if (c < '0' || c > '7') return false;
            sub = 4;
            return true;
        case 3:
        case 4:
        case 5:
            if (!is_hex(c)) return false;
            sub = sub == 5 ? 0 : static_cast<uint8_t>(sub + 1);
            return true;
        default:
            return false;
    }
}

uint64_t low_bits(size_t n) {
    return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

// Integer bounds: can a magnitude m of k digits (no leading zero) still grow
// into [min, max]?
bool int_reachable(const Node& n, bool neg, uint64_t m, uint32_t k) {
    I128 p = 1;
    for (uint32_t j = 0; k + j <= 19; ++j, p *= 10) {
        const I128 lo = static_cast<I128>(m) * p, hi = lo + p - 1;
        const I128 vlo = neg ? -hi : lo, vhi = neg ? -lo : hi;
        if (vhi >= n.minimum && vlo <= n.maximum) return true;
    }
    return false;
}

bool int_in_range(const Node& n, bool neg, uint64_t m) {
    const I128 v = neg ? -static_cast<I128>(m) : static_cast<I128>(m);
    return v >= n.minimum && v <= n.maximum;
}

Frame start_frame(const Grammar& g, NodeId id) {
    Frame f;
    f.node = id;
    const Node& n = g.nodes[id];
    if (n.kind == NodeKind::Literal) f.bits = static_cast<uint64_t>(n.literals.size()) << 32;
    return f;
}

// Declared keys the object may take next.
uint64_t allowed_keys(const Grammar& g, const Node& obj, const Frame& of) {
    const uint64_t all = low_bits(obj.properties.size());
    if (!g.layout.schema_order) return all & ~of.bits;
    const uint64_t from = all & ~low_bits(of.count);
    const uint64_t req = obj.required_mask & from;
    if (req == 0) return from;
    return from & low_bits(static_cast<size_t>(std::countr_zero(req)) + 1);
}

bool extra_key_allowed(const Grammar& g, const Node& obj, const Frame& of) {
    if (!obj.additional) return false;
    // Schema order: extra keys come after every required declared key.
    return !g.layout.schema_order || (obj.required_mask & ~of.bits) == 0;
}

Action key_open(const Grammar& g, const Node& obj, Frame& f) {
    const bool extra = extra_key_allowed(g, obj, f);
    if (allowed_keys(g, obj, f) == 0 && !extra) return {Act::Reject};
    f.phase = 3;
    return {Act::PushKey};
}

Action object_step(const Grammar& g, const Node& n, Frame& f, uint8_t c) {
    switch (f.phase) {
        case 0:
            if (c != '{') return {Act::Reject};
            f.phase = 1;
            return {Act::Consumed};
        case 1:
            if (c == '}') return {n.required_mask == 0 ? Act::Done : Act::Reject};
            if (c == '"') return key_open(g, n, f);
            return {Act::Reject};
        case 2:
            if (c == '"') return key_open(g, n, f);
            return {Act::Reject};
        case 4:
            if (c != ':') return {Act::Reject};
            f.phase = 5;
            return {Act::Consumed};
        case 5:
            if (c != ' ') return {Act::Reject};
            f.phase = 6;
            return {Act::Consumed};
        case 6:
            f.phase = 7;
            return {Act::PushRetry, f.pos == kExtraKey ? *n.additional : n.properties[f.pos].value};
        case 8:
            if (c == ',') {
                if (allowed_keys(g, n, f) == 0 && !extra_key_allowed(g, n, f)) return {Act::Reject};
                f.phase = 9;
                return {Act::Consumed};
            }
            if (c == '}') return {(n.required_mask & ~f.bits) == 0 ? Act::Done : Act::Reject};
            return {Act::Reject};
        case 9:
            if (c != ' ') return {Act::Reject};
            f.phase = 2;
            return {Act::Consumed};
        default:
            return {Act::Reject};
    }
}

Action key_step(const Grammar& g, const Node& obj, Frame& f, Frame& parent, uint8_t c) {
    const uint8_t before = f.sub;
    bool starts = false, closes = false;
    if (!lex_string(f.sub, c, starts, closes)) return {Act::Reject};
    if (closes) {
        for (uint64_t b = f.bits; b; b &= b - 1) {
            const int j = std::countr_zero(b);
            if (obj.properties[static_cast<size_t>(j)].key.size() != f.count) continue;
            // The text is a declared key: it is that key or nothing (never an
            // extra key that duplicates it).
            if (!((allowed_keys(g, obj, parent) >> j) & 1)) return {Act::Reject};
            parent.pos = static_cast<uint16_t>(j);
            return {Act::Done};
        }
        if (f.phase != 1) return {Act::Reject};
        parent.pos = kExtraKey;
        return {Act::Done};
    }
    uint64_t next = 0;
    for (uint64_t b = f.bits; b; b &= b - 1) {
        const int j = std::countr_zero(b);
        const std::string& key = obj.properties[static_cast<size_t>(j)].key;
        if (key.size() > f.count && static_cast<uint8_t>(key[f.count]) == c)
            next |= uint64_t{1} << j;
    }
    // Extra keys may not use \u escapes, so they cannot spell a declared key
    // another way.
    if (before == 1 && c == 'u' && next == 0) return {Act::Reject};
    f.bits = next;
    ++f.count;
    if (f.phase == 2 && (next & allowed_keys(g, obj, parent)) == 0) return {Act::Reject};
    return {Act::Consumed};
}

Action array_step(const Node& n, Frame& f, uint8_t c) {
    switch (f.phase) {
        case 0:
            if (c != '[') return {Act::Reject};
            f.phase = 1;
            return {Act::Consumed};
        case 1:
            if (c == ']') return {n.min_items == 0 ? Act::Done : Act::Reject};
            if (n.max_items == 0) return {Act::Reject};
            f.phase = 3;
            return {Act::PushRetry, n.items};
        case 4:
            if (c == ',') {
                if (f.count >= n.max_items) return {Act::Reject};
                f.phase = 5;
                return {Act::Consumed};
            }
            if (c == ']') return {f.count >= n.min_items ? Act::Done : Act::Reject};
            return {Act::Reject};
        case 5:
            if (c != ' ') return {Act::Reject};
            f.phase = 6;
            return {Act::Consumed};
        case 6:
            f.phase = 3;
            return {Act::PushRetry, n.items};
        default:
            return {Act::Reject};
    }
}

Action string_step(const Node& n, Frame& f, uint8_t c) {
    if (f.phase == 0) {
        if (c != '"') return {Act::Reject};
        f.phase = 1;
        return {Act::Consumed};
    }
    bool starts = false, closes = false;
    if (!lex_string(f.sub, c, starts, closes)) return {Act::Reject};
    if (closes) return {f.count >= n.min_length ? Act::Done : Act::Reject};
    if (starts) {
        if (f.count >= n.max_length) return {Act::Reject};
        if (n.pattern) {
            const StringPattern& p = *n.pattern;
            if (f.count < p.prefix.size()) {
                if (c != static_cast<uint8_t>(p.prefix[f.count])) return {Act::Reject};
            } else if (p.has_class) {
                if (c >= 0x80 || !((p.cls[c >> 6] >> (c & 63)) & 1)) return {Act::Reject};
            }
        }
        ++f.count;
    }
    return {Act::Consumed};
}

Action number_step(Frame& f, uint8_t c) {
    const bool digit = is_digit(c);
    const bool e = c == 'e' || c == 'E';
    auto to = [&](uint8_t phase, uint32_t count) {
        f.phase = phase;
        f.count = count;
        return Action{Act::Consumed};
    };
    switch (f.phase) {
        case 0:
            if (c == '-') return to(1, 0);
            [[fallthrough]];
        case 1:
            if (c == '0') return to(2, 1);
            if (digit) return to(3, 1);
            return {Act::Reject};
        case 2:
        case 3:
            if (digit && f.phase == 3) {
                return f.count < kMaxNumberDigits ? to(3, f.count + 1) : Action{Act::Reject};
            }
            if (c == '.') return to(4, 0);
            if (e) return to(6, 0);
            return {Act::PopRetry};
        case 4:
            return digit ? to(5, 1) : Action{Act::Reject};
        case 5:
            if (digit) return f.count < kMaxNumberDigits ? to(5, f.count + 1) : Action{Act::Reject};
            if (e) return to(6, 0);
            return {Act::PopRetry};
        case 6:
            if (c == '+' || c == '-') return to(7, 0);
            [[fallthrough]];
        case 7:
            return digit ? to(8, 1) : Action{Act::Reject};
        case 8:
            if (digit)
                return f.count < kMaxExponentDigits ? to(8, f.count + 1) : Action{Act::Reject};
            return {Act::PopRetry};
        default:
            return {Act::Reject};
    }
}

Action integer_step(const Node& n, Frame& f, uint8_t c) {
    const bool neg = f.sub != 0;
    switch (f.phase) {
        case 0:
            if (c == '-') {
                if (n.minimum >= 0) return {Act::Reject};
                f.sub = 1;
                f.phase = 1;
                return {Act::Consumed};
            }
            if (c == '0') {
                if (!int_in_range(n, false, 0)) return {Act::Reject};
                f.phase = 2;
                return {Act::Consumed};
            }
            [[fallthrough]];
        case 1:  // "-0" is never produced: 0 is spelled one way
            if (c < '1' || c > '9' || !int_reachable(n, neg, c - '0', 1)) return {Act::Reject};
            f.phase = 3;
            f.bits = c - '0';
            f.count = 1;
            return {Act::Consumed};
        case 2:
            return {Act::PopRetry};
        case 3:
            if (is_digit(c)) {
                if (f.count >= 19) return {Act::Reject};
                const uint64_t m = f.bits * 10 + (c - '0');
                if (!int_reachable(n, neg, m, f.count + 1)) return {Act::Reject};
                f.bits = m;
                ++f.count;
                return {Act::Consumed};
            }
            return {int_in_range(n, neg, f.bits) ? Act::PopRetry : Act::Reject};
        default:
            return {Act::Reject};
    }
}

Action literal_step(const Node& n, Frame& f, uint8_t c) {
    const auto lo = static_cast<uint32_t>(f.bits), hi = static_cast<uint32_t>(f.bits >> 32);
    uint32_t nlo = hi, nhi = hi;
    for (uint32_t i = lo; i < hi; ++i) {
        const std::string& l = n.literals[i];
        if (l.size() > f.count && static_cast<uint8_t>(l[f.count]) == c) {
            if (nlo == hi) nlo = i;
            nhi = i + 1;
        }
    }
    if (nlo == nhi) return {n.literals[lo].size() == f.count ? Act::PopRetry : Act::Reject};
    f.bits = nlo | static_cast<uint64_t>(nhi) << 32;
    ++f.count;
    if (nhi - nlo == 1 && n.literals[nlo].size() == f.count) return {Act::Done};
    return {Act::Consumed};
}

void child_done(const Grammar& g, Frame& parent) {
    const Node& n = g.nodes[parent.node];
    if (n.kind == NodeKind::Object) {
        if (parent.phase == 3) {
            parent.phase = 4;
        } else if (parent.phase == 7) {
            if (parent.pos == kExtraKey) {
                parent.count = static_cast<uint32_t>(n.properties.size());
            } else {
                parent.bits |= uint64_t{1} << parent.pos;
                parent.count = parent.pos + 1u;
            }
            parent.phase = 8;
        }
    } else if (n.kind == NodeKind::Array && parent.phase == 3) {
        ++parent.count;
        parent.phase = 4;
    }
}

}  // namespace

void State::add(const std::vector<Frame>& stack) {
    uint32_t begin = 0;
    for (uint32_t end : ends) {
        if (end - begin == stack.size() &&
            std::equal(stack.begin(), stack.end(), frames.begin() + begin)) {
            return;
        }
        begin = end;
    }
    if (ends.size() >= kMaxAlternatives) return;  // documented bound: extra branches are dropped
    frames.insert(frames.end(), stack.begin(), stack.end());
    ends.push_back(static_cast<uint32_t>(frames.size()));
}

State Machine::initial() const {
    State s;
    for (NodeId a : g_->nodes[g_->root].alts) s.add({start_frame(*g_, a)});
    return s;
}

void Machine::run(std::vector<Frame>& st, uint8_t c, State& out) const {
    const Grammar& g = *g_;
    while (!st.empty()) {
        Frame& f = st.back();
        const Node& n = g.nodes[f.node];
        Action a{Act::Reject};
        if (f.kind == FrameKind::Key) {
            a = key_step(g, n, f, st[st.size() - 2], c);
        } else {
            switch (n.kind) {
                case NodeKind::Object:
                    a = object_step(g, n, f, c);
                    break;
                case NodeKind::Array:
                    a = array_step(n, f, c);
                    break;
                case NodeKind::String:
                    a = string_step(n, f, c);
                    break;
                case NodeKind::Number:
                    a = number_step(f, c);
                    break;
                case NodeKind::Integer:
                    a = integer_step(n, f, c);
                    break;
                case NodeKind::Literal:
                    a = literal_step(n, f, c);
                    break;
                case NodeKind::AnyOf:
                    break;  // never on a stack: alts are concrete
            }
        }
        switch (a.act) {
            case Act::Reject:
                return;
            case Act::Consumed:
                out.add(st);
                return;
            case Act::Done:
                st.pop_back();
                if (!st.empty()) child_done(g, st.back());
                out.add(st);
                return;
            case Act::PopRetry:
                st.pop_back();
                if (!st.empty()) child_done(g, st.back());
                continue;
            case Act::PushKey: {
                if (st.size() >= kMaxStackDepth) return;
                Frame k;
                k.node = f.node;
                k.kind = FrameKind::Key;
                k.phase = extra_key_allowed(g, n, f) ? 1 : 2;
                k.bits = low_bits(n.properties.size());
                st.push_back(k);
                out.add(st);
                return;
            }
            case Act::PushRetry: {
                if (st.size() >= kMaxStackDepth) return;
                const std::vector<NodeId>& alts = g.nodes[a.node].alts;
                NodeId last = 0;
                bool any = false;
                for (NodeId alt : alts) {
                    if (!g.nodes[alt].can_start(c)) continue;
                    if (any) {  // fork: the earlier match runs on a copy
                        std::vector<Frame> copy = st;
                        copy.push_back(start_frame(g, last));
                        run(copy, c, out);
                    }
                    last = alt;
                    any = true;
                }
                if (!any) return;
                st.push_back(start_frame(g, last));
                continue;
            }
        }
    }
}

void Machine::feed(const State& in, uint8_t c, State& out) const {
    thread_local std::vector<Frame> work;
    out.clear();
    uint32_t begin = 0;
    for (uint32_t end : in.ends) {
        work.assign(in.frames.begin() + begin, in.frames.begin() + end);
        run(work, c, out);
        begin = end;
    }
}

bool Machine::can_end(const Frame& f) const {
    if (f.kind != FrameKind::Value) return false;
    const Node& n = g_->nodes[f.node];
    switch (n.kind) {
        case NodeKind::Number:
            return f.phase == 2 || f.phase == 3 || f.phase == 5 || f.phase == 8;
        case NodeKind::Integer:
            return f.phase == 2 || (f.phase == 3 && int_in_range(n, f.sub != 0, f.bits));
        case NodeKind::Literal:
            return n.literals[static_cast<uint32_t>(f.bits)].size() == f.count;
        default:
            return false;
    }
}

bool Machine::accepting(const State& s) const {
    uint32_t begin = 0;
    for (uint32_t end : s.ends) {
        if (end == begin || (end - begin == 1 && can_end(s.frames[begin]))) return true;
        begin = end;
    }
    return false;
}

Matcher::Matcher(std::shared_ptr<const Grammar> g)
    : g_(std::move(g)), machine_(*g_), state_(machine_.initial()) {}

bool Matcher::advance(std::string_view bytes) {
    State trial = state_;
    for (char ch : bytes) {
        machine_.feed(trial, static_cast<uint8_t>(ch), scratch_);
        if (scratch_.dead()) return false;
        std::swap(trial, scratch_);
    }
    state_ = std::move(trial);
    return true;
}

bool Matcher::finished() const {
    return !state_.dead() &&
           std::all_of(state_.ends.begin(), state_.ends.end(), [](uint32_t e) { return e == 0; });
}

}  // namespace pensieve::grammar
