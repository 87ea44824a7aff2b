#include "server/prometheus.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pensieve::server::prom {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

Histogram::Histogram(const Histogram& other) {
    std::lock_guard lock(other.mutex_);
    bounds_ = other.bounds_;
    counts_ = other.counts_;
    sum_ = other.sum_;
}

void Histogram::observe(double value) {
    // A bucket counts observations <= its bound ("le").
    const auto bucket = static_cast<size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    std::lock_guard lock(mutex_);
    counts_[bucket] += 1;
    sum_ += value;
}

Histogram::Snapshot Histogram::snapshot() const {
    std::lock_guard lock(mutex_);
    Snapshot s;
    s.upper_bounds = bounds_;
    uint64_t running = 0;
    for (uint64_t c : counts_) {
        running += c;
        s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum = sum_;
    return s;
}

std::vector<double> latency_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            1,     2.5,    5,     10,   25,    50,   100, 250};
}

std::vector<double> token_gap_buckets() {
    return {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2};
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[40];
    if (v == std::trunc(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.9g", v);
    }
    return buf;
}

namespace {

// Label values escape backslash, double quote and newline; HELP text
// escapes backslash and newline.
void append_escaped(std::string& out, std::string_view s, bool quotes) {
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quotes) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

}  // namespace

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_escaped(out_, help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void TextWriter::labels(const Labels& labels, std::string_view extra_name,
                        std::string_view extra_value) {
    if (labels.empty() && extra_name.empty()) return;
    out_ += '{';
    bool first = true;
    auto one = [&](std::string_view k, std::string_view v) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        append_escaped(out_, v, true);
        out_ += '"';
    };
    for (const auto& [k, v] : labels) one(k, v);
    if (!extra_name.empty()) one(extra_name, extra_value);
    out_ += '}';
}

void TextWriter::sample(std::string_view name, const Labels& l, double value) {
    out_ += name;
    labels(l);
    out_ += ' ';
    out_ += format_value(value);
    out_ += '\n';
}

void TextWriter::histogram(std::string_view name, const Labels& l, const Histogram::Snapshot& h) {
    const std::string bucket = std::string(name) + "_bucket";
    for (size_t i = 0; i < h.cumulative.size(); ++i) {
        const std::string le =
            i < h.upper_bounds.size() ? format_value(h.upper_bounds[i]) : std::string("+Inf");
        out_ += bucket;
        labels(l, "le", le);
        out_ += ' ';
        out_ += format_value(static_cast<double>(h.cumulative[i]));
        out_ += '\n';
    }
    sample(std::string(name) + "_sum", l, h.sum);
    sample(std::string(name) + "_count", l, static_cast<double>(h.count));
}

}  // namespace pensieve::server::prom
