// The per-render memory budget. See memory_budget.hpp.
#include "chat/memory_budget.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "chat/error.hpp"

namespace pensieve::chat {

namespace {

// The budget values built on this thread charge; null outside a render.
thread_local const std::shared_ptr<MemoryBudget>* active_budget = nullptr;

std::string describe(std::size_t bytes) {
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
    return std::to_string(bytes) + " bytes";
}

}  // namespace

void MemoryBudget::charge(std::size_t bytes) {
    if (bytes > max_bytes_ - std::min(live_, max_bytes_)) {
        throw TemplateLimitError("the template used more than " + describe(max_bytes_));
    }
    live_ += bytes;
    peak_ = std::max(peak_, live_);
}

BudgetScope::BudgetScope(std::shared_ptr<MemoryBudget> budget)
    : budget_(std::move(budget)), saved_(active_budget) {
    active_budget = &budget_;
}

BudgetScope::~BudgetScope() {
    active_budget = saved_;
}

Charge::Charge(Charge&& other) noexcept
    : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}

Charge& Charge::operator=(Charge&& other) noexcept {
    if (this != &other) {
        reset();
        budget_ = std::move(other.budget_);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

void Charge::set(std::size_t bytes) {
    if (!budget_) {
        if (!active_budget || bytes == 0) return;  // not built by a render: not counted
        budget_ = *active_budget;
    }
    if (bytes > bytes_) {
        budget_->charge(bytes - bytes_);
    } else {
        budget_->release(bytes_ - bytes);
    }
    bytes_ = bytes;
}

void Charge::reset() noexcept {
    if (budget_) budget_->release(bytes_);
    budget_.reset();
    bytes_ = 0;
}

}  // namespace pensieve::chat
