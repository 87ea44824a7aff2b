// Hold-back matching of stop strings.
#include "engine/stop_matcher.hpp"

#include <algorithm>

namespace pensieve::engine {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
    for (std::string& s : stops) {
        if (!s.empty()) stops_.push_back(std::move(s));
    }
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
    pending_ += text;
    // The earliest complete match wins.
    size_t best = std::string::npos;
    const std::string* best_stop = nullptr;
    for (const std::string& s : stops_) {
        const size_t at = pending_.find(s);
        if (at < best) {
            best = at;
            best_stop = &s;
        }
    }
    if (best_stop != nullptr) {
        Result r{pending_.substr(0, best), *best_stop};
        pending_.clear();
        return r;
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const std::string& s : stops_) {
        for (size_t len = std::min(s.size() - 1, pending_.size()); len > hold; --len) {
            if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    Result r{pending_.substr(0, pending_.size() - hold), std::nullopt};
    pending_.erase(0, pending_.size() - hold);
    return r;
}

std::string StopMatcher::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace pensieve::engine
