// The character-level matcher: walks a Grammar one byte at a time. Its state
// is a small set of stacks (one per live anyOf branch), each a stack of
// frames, one per open JSON value. Feeding a byte never allocates once the
// state's vectors have grown, so the token-mask walk (token_mask.hpp) can
// feed millions of bytes per second.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/grammar/grammar.hpp"

namespace pensieve::grammar {

enum class FrameKind : uint8_t { Value, Key };

// One open value. Field meaning depends on the node's kind; see matcher.cpp.
struct Frame {
    NodeId node = 0;
    FrameKind kind = FrameKind::Value;
    uint8_t phase = 0;
    uint8_t sub = 0;     // string lexer state; integer sign
    uint16_t pos = 0;    // object: index of the key being valued (0xFFFF: extra key)
    uint32_t count = 0;  // items, code points, digits, literal/key byte position
    uint64_t bits = 0;   // seen keys, key candidates, literal range, integer magnitude
    bool operator==(const Frame&) const = default;
};

// Alternatives of the matcher: stack k is frames[ends[k-1] .. ends[k]).
// No alternatives = the input so far is rejected.
struct State {
    std::vector<Frame> frames;
    std::vector<uint32_t> ends;

    size_t alternatives() const { return ends.size(); }
    bool dead() const { return ends.empty(); }
    void clear() {
        frames.clear();
        ends.clear();
    }
    // Adds one stack unless an identical one is already there.
    void add(const std::vector<Frame>& stack);
    bool operator==(const State&) const = default;
};

// Stateless byte transitions over one grammar.
class Machine {
  public:
    explicit Machine(const Grammar& g) : g_(&g) {}

    State initial() const;
    // out = in after byte c (cleared first; dead when every branch rejects).
    void feed(const State& in, uint8_t c, State& out) const;
    // Whether the input so far is a complete document.
    bool accepting(const State& s) const;
    const Grammar& grammar() const { return *g_; }

  private:
    void run(std::vector<Frame>& st, uint8_t c, State& out) const;
    bool can_end(const Frame& f) const;
    const Grammar* g_;
};

// A matcher over one document: the state plus the grammar it walks.
class Matcher {
  public:
    explicit Matcher(std::shared_ptr<const Grammar> g);

    // Consumes all of `bytes` or nothing: false (state unchanged) if any byte
    // is rejected.
    bool advance(std::string_view bytes);
    bool accepting() const { return machine_.accepting(state_); }
    // Accepting, and no further byte can be consumed.
    bool finished() const;
    const State& state() const { return state_; }
    const Machine& machine() const { return machine_; }
    const std::shared_ptr<const Grammar>& grammar() const { return g_; }

  private:
    std::shared_ptr<const Grammar> g_;
    Machine machine_;
    State state_, scratch_;
};

}  // namespace pensieve::grammar
