// The memory one render may hold at once (Limits::max_live_bytes). A template can keep
// many large values alive (strings in a list, in namespace attributes, in the frames of
// a recursion) while each stays within its own size bound; this counts them together.
//
// Each value's storage (a str's bytes, a list's item array, a dict's entries, a loop's
// items, an output buffer being captured) carries a Charge: its bytes are added to the
// budget of the render that built it as it grows and given back when it is destroyed.
// What is counted is what is alive at once, not what was ever built: a string rebuilt
// a thousand times in a loop counts once.
#pragma once

#include <cstddef>
#include <memory>

namespace pensieve::chat {

class MemoryBudget {
  public:
    explicit MemoryBudget(std::size_t max_bytes) : max_bytes_(max_bytes) {}
    // TemplateLimitError ("the template used more than N MiB") when the live bytes
    // would pass the maximum; nothing is charged then.
    void charge(std::size_t bytes);
    void release(std::size_t bytes) noexcept { live_ -= bytes; }
    std::size_t live_bytes() const { return live_; }
    std::size_t peak_bytes() const { return peak_; }

  private:
    std::size_t max_bytes_;
    std::size_t live_ = 0;
    std::size_t peak_ = 0;
};

// While a BudgetScope lives, the values built on its thread charge its budget. The
// interpreter opens one per render: values built outside a render (the request's
// messages, parsed template constants) are not counted.
class BudgetScope {
  public:
    explicit BudgetScope(std::shared_ptr<MemoryBudget> budget);
    ~BudgetScope();
    BudgetScope(const BudgetScope&) = delete;
    BudgetScope& operator=(const BudgetScope&) = delete;

  private:
    std::shared_ptr<MemoryBudget> budget_;
    const std::shared_ptr<MemoryBudget>* saved_;
};

// The storage bytes of one value, charged to the budget that was active when they
// were first charged. The charge keeps that budget alive, so a value that outlives its
// render still gives its bytes back to the count they were taken from. A render's
// values stay on its thread, so the counts need no synchronisation. A copied value
// sets its own charge for its own storage, so a Charge is not copied.
class Charge {
  public:
    Charge() = default;
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    Charge(Charge&& other) noexcept;
    Charge& operator=(Charge&& other) noexcept;
    ~Charge() { reset(); }

    // The storage now holds `bytes`: charges or releases the difference. Throws
    // MemoryBudget::charge's error, leaving the previous charge in place.
    void set(std::size_t bytes);
    std::size_t bytes() const { return bytes_; }

  private:
    void reset() noexcept;
    std::shared_ptr<MemoryBudget> budget_;
    std::size_t bytes_ = 0;
};

}  // namespace pensieve::chat
