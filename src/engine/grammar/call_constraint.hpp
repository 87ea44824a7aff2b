// Constrained decoding of calls framed in text: free text until the model
// writes an opener ("<tool_call>"), then one JSON document that a grammar
// forces (the call's name and arguments), then a closer ("</tool_call>"),
// then either another call or the end of the reply. The same machine covers
// a reply that must be a call at once (tool_choice "any" or one named tool:
// the opener itself is forced) and structured output (no opener, no closer:
// the whole reply is the JSON document).
//
// Between the pieces the model may write one newline ("<tool_call>\n{...}\n
// </tool_call>" is how the Hermes family writes them). If the model's own
// tokens run the opener into bytes the grammar rejects, the constraint gives
// up on that reply and lets it run free: the caller's parser then sees text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/grammar/token_constraint.hpp"
#include "engine/grammar/token_mask.hpp"

namespace pensieve::grammar {

struct CallFraming {
    std::string opener;      // text that opens a call; empty: the JSON starts the call
    std::string closer;      // text after the JSON; empty: none
    bool must_call = false;  // the reply starts with a call (else it starts as free text)
    int max_calls = 1;       // after this many calls only end of generation may follow; 0: no cap
};

// Tokens whose bytes are a non-empty prefix of `target` (set in `out`).
void mark_prefix_tokens(const TokenTrie& trie, std::string_view target, std::span<uint64_t> out);

class CallConstraint : public TokenConstraint {
  public:
    // `call` is the grammar of one call's JSON document, bound to the
    // vocabulary. `text`, when given (structured output next to callable
    // tools), is the grammar the reply's text must follow instead of running
    // free: the reply is then either calls or that one document. It needs an
    // opener no JSON document can start with (see text_can_share).
    CallConstraint(std::shared_ptr<const GrammarMasks> call, CallFraming framing,
                   std::shared_ptr<const GrammarMasks> text = nullptr);

    // Whether a reply can be either a call with this opener or a document of
    // another grammar: the opener's first byte never starts a JSON value.
    static bool text_can_share(const CallFraming& framing);

    // The reply is inside a call (its opener begun, the call not complete).
    bool inside_call() const;

    bool fill_mask(std::span<uint64_t> allowed) override;
    void accept(TokenId id) override;
    size_t mask_words() const override { return masks_->vocab().words(); }

    // Start: the reply's first token, when text follows a grammar: either
    // the opener or the document. Text: inside that document.
    enum class Phase { Free, Start, Text, Literal, Gap, Json, End, Off };
    Phase phase() const { return phase_; }
    int calls() const { return calls_; }

  private:
    void start_literal(std::vector<std::string> targets, bool eog_too);
    void start_call_json();
    void after_json();
    void finish_call();
    void consume(std::string_view bytes);  // bytes past an opener seen in free text
    void allow_eog(std::span<uint64_t> allowed) const;

    std::shared_ptr<const GrammarMasks> masks_;
    CallFraming framing_;
    Phase phase_ = Phase::Free;
    std::string tail_;                  // Free: the last bytes, to spot the opener
    std::vector<std::string> targets_;  // Literal: what may be written
    std::string written_;               // Literal: written so far
    bool literal_eog_ = false;          // Literal: end of generation allowed instead
    bool literal_is_opener_ = false;    // Literal: completing it starts a call
    bool gap_used_ = false;             // Gap: the one newline was written
    std::unique_ptr<Constraint> json_;
    std::unique_ptr<Constraint> text_;  // Start / Text: the reply's own document
    int calls_ = 0;
};

}  // namespace pensieve::grammar
