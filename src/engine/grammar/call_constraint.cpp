// The call-framing state machine (see call_constraint.hpp).
#include "engine/grammar/call_constraint.hpp"

#include <algorithm>

namespace pensieve::grammar {

void mark_prefix_tokens(const TokenTrie& trie, std::string_view target, std::span<uint64_t> out) {
    // Preorder walk that follows only `target`'s bytes: a node off the path,
    // or deeper than the target, is skipped with its whole subtree.
    size_t i = 1;
    while (i < trie.nodes.size()) {
        const TokenTrie::Node& n = trie.nodes[i];
        if (n.depth > target.size() || n.byte != static_cast<uint8_t>(target[n.depth - 1u])) {
            i = n.next;
            continue;
        }
        for (uint32_t k = n.tok_begin; k < n.tok_end; ++k) {
            const auto id = static_cast<size_t>(trie.ids[k]);
            out[id >> 6] |= uint64_t{1} << (id & 63);
        }
        ++i;
    }
}

bool CallConstraint::text_can_share(const CallFraming& framing) {
    if (framing.opener.empty()) return false;
    const char c = framing.opener[0];
    return std::string_view("{[\"-0123456789tfn \t\r\n").find(c) == std::string_view::npos;
}

bool CallConstraint::inside_call() const {
    switch (phase_) {
        case Phase::Gap:
        case Phase::Json:
            return true;
        case Phase::Literal:
            return !literal_is_opener_ || !written_.empty();
        default:
            return false;
    }
}

CallConstraint::CallConstraint(std::shared_ptr<const GrammarMasks> call, CallFraming framing,
                               std::shared_ptr<const GrammarMasks> text)
    : masks_(std::move(call)), framing_(std::move(framing)) {
    if (text && !framing_.must_call && text_can_share(framing_)) {
        text_ = std::make_unique<Constraint>(std::move(text));
        phase_ = Phase::Start;
        return;
    }
    if (framing_.must_call) {
        if (framing_.opener.empty()) {
            start_call_json();
        } else {
            start_literal({framing_.opener}, false);
            literal_is_opener_ = true;
        }
    } else if (framing_.opener.empty()) {
        phase_ = Phase::Off;  // nothing marks where a call would start
    }
}

void CallConstraint::allow_eog(std::span<uint64_t> allowed) const {
    for (const TokenId id : masks_->vocab().eog()) {
        const auto i = static_cast<size_t>(id);
        if (i >> 6 < allowed.size()) allowed[i >> 6] |= uint64_t{1} << (i & 63);
    }
}

bool CallConstraint::fill_mask(std::span<uint64_t> allowed) {
    const TokenTrie& trie = masks_->vocab().trie();
    switch (phase_) {
        case Phase::Free:
        case Phase::Off:
            return false;
        case Phase::Start:
            text_->fill_mask(allowed);
            mark_prefix_tokens(trie, framing_.opener, allowed);
            return true;
        case Phase::Text:
            if (text_->fill_mask(allowed) == 0) allow_eog(allowed);
            return true;
        case Phase::Literal:
            std::fill(allowed.begin(), allowed.end(), 0);
            for (const std::string& t : targets_) {
                if (t.size() > written_.size() && t.starts_with(written_)) {
                    mark_prefix_tokens(trie, std::string_view(t).substr(written_.size()), allowed);
                }
            }
            // The end only before the next opener has begun (a newline
            // aside): ending inside it would leave a broken opener as text.
            if (literal_eog_ && (written_.empty() || written_ == "\n")) allow_eog(allowed);
            return true;
        case Phase::Gap:
        case Phase::Json: {
            const size_t n = json_->fill_mask(allowed);
            if (phase_ == Phase::Gap && !gap_used_) mark_prefix_tokens(trie, "\n", allowed);
            // A grammar with no way forward (it should not happen) ends the
            // reply rather than sampling from nothing.
            if (n == 0 && phase_ == Phase::Json) allow_eog(allowed);
            return true;
        }
        case Phase::End:
            std::fill(allowed.begin(), allowed.end(), 0);
            allow_eog(allowed);
            return true;
    }
    return false;
}

void CallConstraint::start_literal(std::vector<std::string> targets, bool eog_too) {
    phase_ = Phase::Literal;
    targets_ = std::move(targets);
    written_.clear();
    literal_eog_ = eog_too;
}

void CallConstraint::start_call_json() {
    phase_ = Phase::Gap;
    gap_used_ = framing_.opener.empty();  // no newline before a bare document
    json_ = std::make_unique<Constraint>(masks_);
}

void CallConstraint::after_json() {
    if (framing_.closer.empty()) {
        finish_call();
        return;
    }
    start_literal({framing_.closer, "\n" + framing_.closer}, false);
    literal_is_opener_ = false;
}

void CallConstraint::finish_call() {
    ++calls_;
    const bool capped = framing_.max_calls > 0 && calls_ >= framing_.max_calls;
    if (capped || framing_.opener.empty()) {
        phase_ = Phase::End;
        return;
    }
    start_literal({framing_.opener, "\n" + framing_.opener}, true);
    literal_is_opener_ = true;
}

void CallConstraint::consume(std::string_view bytes) {
    if (!gap_used_ && bytes.starts_with('\n')) {
        gap_used_ = true;
        bytes.remove_prefix(1);
    }
    if (bytes.empty()) return;
    phase_ = Phase::Json;
    if (!json_->advance(bytes)) {
        phase_ = Phase::Off;
        return;
    }
    // A document that ended inside the opener's token cannot be framed.
    if (json_->finished()) phase_ = Phase::Off;
}

void CallConstraint::accept(TokenId id) {
    const TokenVocabulary& vocab = masks_->vocab();
    if (id < 0 || static_cast<size_t>(id) >= vocab.size()) return;
    if (vocab.is_eog(id)) {
        phase_ = Phase::End;
        return;
    }
    const std::string& bytes = vocab.bytes(id);
    switch (phase_) {
        case Phase::Start:
            if (!bytes.empty() && framing_.opener.starts_with(bytes)) {
                start_literal({framing_.opener}, false);
                literal_is_opener_ = true;
                written_ = bytes;
                if (written_ == framing_.opener) start_call_json();
                return;
            }
            phase_ = Phase::Text;
            [[fallthrough]];
        case Phase::Text:
            if (!text_->accept(id)) {
                phase_ = Phase::Off;
            } else if (text_->finished()) {
                phase_ = Phase::End;
            }
            return;
        case Phase::Free: {
            tail_ += bytes;
            const size_t at = tail_.find(framing_.opener);
            if (at == std::string::npos) {
                const size_t keep = framing_.opener.size() - 1;
                if (tail_.size() > keep) tail_.erase(0, tail_.size() - keep);
                return;
            }
            const std::string rest = tail_.substr(at + framing_.opener.size());
            tail_.clear();
            start_call_json();
            consume(rest);
            return;
        }
        case Phase::Literal: {
            written_ += bytes;
            const bool complete =
                std::find(targets_.begin(), targets_.end(), written_) != targets_.end();
            if (!complete) {
                const bool on_track =
                    std::any_of(targets_.begin(), targets_.end(),
                                [&](const std::string& t) { return t.starts_with(written_); });
                if (!on_track) phase_ = Phase::Off;
                return;
            }
            if (literal_is_opener_) {
                start_call_json();
                return;
            }
            finish_call();  // the closer is written
            return;
        }
        case Phase::Gap:
            if (!gap_used_ && bytes == "\n") {
                gap_used_ = true;
                return;
            }
            phase_ = Phase::Json;
            [[fallthrough]];
        case Phase::Json:
            if (!json_->accept(id)) {
                phase_ = Phase::Off;
                return;
            }
            if (json_->finished()) after_json();
            return;
        case Phase::End:
        case Phase::Off:
            return;
    }
}

}  // namespace pensieve::grammar
