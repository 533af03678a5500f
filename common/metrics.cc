#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "common/strings.h"

namespace webhooks {
namespace {

bool IsNameStart(char c, bool colon_ok) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (colon_ok && c == ':');
}

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names: [a-zA-Z_][a-zA-Z0-9_]*
// and not starting with "__" (reserved).
bool IsValidName(std::string_view name, bool metric) {
  if (name.empty() || !IsNameStart(name[0], metric)) return false;
  for (char c : name) {
    if (!IsNameStart(c, metric) && !(c >= '0' && c <= '9')) return false;
  }
  return metric || name.substr(0, 2) != "__";
}

void AppendEscaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quotes && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}`, with `le` last when given; nothing for no labels.
void AppendLabels(std::string& out, const MetricLabels& labels,
                  const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  auto append = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out.append(name);
    out += "=\"";
    AppendEscaped(out, value, /*quotes=*/true);
    out += '"';
  };
  for (const auto& [name, value] : labels) append(name, value);
  if (le != nullptr) append("le", *le);
  out += '}';
}

void AppendSample(std::string& out, std::string_view name,
                  std::string_view suffix, const MetricLabels& labels,
                  std::string_view value, const std::string* le = nullptr) {
  out.append(name);
  out.append(suffix);
  AppendLabels(out, labels, le);
  out += ' ';
  out.append(value);
  out += '\n';
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const std::to_chars_result r =
      std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, r.ptr);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<int64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value; past the end: the +Inf bucket.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) -
      bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  int64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> Histogram::ExponentialBounds(double start, double factor,
                                                 int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

absl::StatusOr<MetricsRegistry::Series*> MetricsRegistry::NewSeries(
    std::string_view name, std::string_view help, Type type,
    MetricLabels labels) {
  if (!IsValidName(name, /*metric=*/true)) {
    return absl::InvalidArgumentError(
        StrCat("metric name \"", name, "\" is not valid"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& [label, value] : labels) {
    if (!IsValidName(label, /*metric=*/false)) {
      return absl::InvalidArgumentError(
          StrCat(name, ": label name \"", label, "\" is not valid"));
    }
    if (type == Type::kHistogram && label == "le") {
      return absl::InvalidArgumentError(
          StrCat(name, ": a histogram cannot have a label \"le\""));
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(
          StrCat(name, ": label \"", label, "\" given twice"));
    }
  }
  Family* family;
  auto it = by_name_.find(AsAbsl(name));
  if (it == by_name_.end()) {
    families_.push_back(std::make_unique<Family>(
        Family{std::string(name), std::string(help), type, {}}));
    family = families_.back().get();
    by_name_.emplace(family->name, family);
  } else {
    family = it->second;
    if (family->type != type || family->help != help) {
      return absl::InvalidArgumentError(StrCat(
          "metric \"", name, "\" is registered with another type or help"));
    }
    for (const Series& series : family->series) {
      if (series.labels == labels) {
        return absl::InvalidArgumentError(StrCat(
            "metric \"", name, "\" already has a series with these labels"));
      }
    }
  }
  family->series.push_back(Series{std::move(labels), {}, {}, {}, {}});
  return &family->series.back();
}

absl::StatusOr<Counter*> MetricsRegistry::AddCounter(std::string_view name,
                                                     std::string_view help,
                                                     MetricLabels labels) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Series*> series =
      NewSeries(name, help, Type::kCounter, std::move(labels));
  if (!series.ok()) return series.status();
  (*series)->counter = std::make_unique<Counter>();
  return (*series)->counter.get();
}

absl::StatusOr<Gauge*> MetricsRegistry::AddGauge(std::string_view name,
                                                 std::string_view help,
                                                 MetricLabels labels) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Series*> series =
      NewSeries(name, help, Type::kGauge, std::move(labels));
  if (!series.ok()) return series.status();
  (*series)->gauge = std::make_unique<Gauge>();
  return (*series)->gauge.get();
}

absl::StatusOr<Histogram*> MetricsRegistry::AddHistogram(
    std::string_view name, std::string_view help, std::vector<double> bounds,
    MetricLabels labels) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(StrCat(
          name, ": histogram bounds must be finite and strictly increasing"));
    }
  }
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Series*> series =
      NewSeries(name, help, Type::kHistogram, std::move(labels));
  if (!series.ok()) return series.status();
  (*series)->histogram = std::make_unique<Histogram>(std::move(bounds));
  return (*series)->histogram.get();
}

absl::Status MetricsRegistry::AddCounterCallback(std::string_view name,
                                                 std::string_view help,
                                                 std::function<double()> read,
                                                 MetricLabels labels) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Series*> series =
      NewSeries(name, help, Type::kCounter, std::move(labels));
  if (!series.ok()) return series.status();
  (*series)->read = std::move(read);
  return absl::OkStatus();
}

absl::Status MetricsRegistry::AddGaugeCallback(std::string_view name,
                                               std::string_view help,
                                               std::function<double()> read,
                                               MetricLabels labels) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Series*> series =
      NewSeries(name, help, Type::kGauge, std::move(labels));
  if (!series.ok()) return series.status();
  (*series)->read = std::move(read);
  return absl::OkStatus();
}

std::string MetricsRegistry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<Family>& family : families_) {
    out += "# HELP ";
    out += family->name;
    out += ' ';
    AppendEscaped(out, family->help, /*quotes=*/false);
    out += "\n# TYPE ";
    out += family->name;
    out += family->type == Type::kCounter ? " counter\n"
           : family->type == Type::kGauge ? " gauge\n"
                                          : " histogram\n";
    for (const Series& s : family->series) {
      if (s.histogram != nullptr) {
        const Histogram::Snapshot snap = s.histogram->snapshot();
        const std::vector<double>& bounds = s.histogram->bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          const std::string le =
              i < bounds.size() ? FormatMetricValue(bounds[i]) : "+Inf";
          AppendSample(out, family->name, "_bucket", s.labels,
                       StrCat(snap.cumulative[i]), &le);
        }
        AppendSample(out, family->name, "_sum", s.labels,
                     FormatMetricValue(snap.sum));
        AppendSample(out, family->name, "_count", s.labels, StrCat(snap.count));
      } else if (s.counter != nullptr) {
        AppendSample(out, family->name, "", s.labels,
                     StrCat(s.counter->value()));
      } else if (s.gauge != nullptr) {
        AppendSample(out, family->name, "", s.labels,
                     FormatMetricValue(s.gauge->value()));
      } else {
        AppendSample(out, family->name, "", s.labels,
                     FormatMetricValue(s.read()));
      }
    }
  }
  return out;
}

}  // namespace webhooks
