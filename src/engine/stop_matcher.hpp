// Stop strings over streamed text: text that might be the start of a stop
// string is held back until it is known not to be one, so a stop string that
// spans several tokens is caught and never emitted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::engine {

class StopMatcher {
  public:
    explicit StopMatcher(std::vector<std::string> stops);

    struct Result {
        std::string emit;                    // text that is safe to send now
        std::optional<std::string> matched;  // the stop string found, if any
    };
    // Appends generated text. After a match, the text before the stop string is
    // emitted and everything after it is dropped.
    Result push(std::string_view text);
    // Releases text held back at the end of generation.
    std::string flush();

  private:
    std::vector<std::string> stops_;
    std::string pending_;
};

}  // namespace pensieve::engine
