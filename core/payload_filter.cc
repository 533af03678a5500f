#include "core/payload_filter.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "core/errors.h"

// The one file that includes the JSON library (simdjson, DOM API, error codes
// only: no exceptions cross it).
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

// How a filter runs: Compile turns the JSON document into a tree of Nodes
// (and/or/not over predicates), each predicate holding its path split into
// segments and its operands as Scalars. Passes walks the tree over the
// payload's simdjson DOM; a predicate resolves its path into the (few)
// values it names and tests them. Nothing is allocated per evaluation unless
// a path fans out over more than kInlineValues array elements.

namespace webhooks::core {

namespace dom = simdjson::dom;

namespace {

constexpr size_t kNoIndex = std::numeric_limits<size_t>::max();
constexpr size_t kInlineValues = 4;
constexpr size_t kMaxReasonText = 200;

enum class Op {
  kAnd, kOr, kNot,                                         // logical
  kEq, kNe, kIn, kNin, kLt, kLe, kGt, kGe, kExists,  // predicates
};

// An operand: JSON null, boolean, number or string.
struct Scalar {
  enum class Type { kNull, kBool, kNumber, kString };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  bool integral = false;  // `integer` holds the number exactly
  int64_t integer = 0;
  std::string string;
};

struct Segment {
  std::string key;
  size_t index = kNoIndex;  // the key as an array index, when it is one
};

}  // namespace

struct PayloadFilter::Node {
  Op op = Op::kAnd;
  std::vector<Node> children;  // kAnd, kOr, kNot
  std::vector<Segment> path;   // predicates
  std::vector<Scalar> values;  // predicates: one, or the $in/$nin list
  bool exists = true;          // kExists
  std::string text;            // the condition, for WhyNot
};

using Node = PayloadFilter::Node;

namespace {

using Values = absl::InlinedVector<dom::element, kInlineValues>;

std::string Truncated(std::string text) {
  if (text.size() > kMaxReasonText) {
    text.resize(kMaxReasonText);
    text += "...";
  }
  return text;
}

// The element as a T, which its type() says it is. (Through a local: a
// simdjson_result's value_unsafe() on a temporary would dangle.)
template <typename T>
T As(dom::element e) {
  T value{};
  if (e.get<T>().get(value) != simdjson::SUCCESS) return T{};
  return value;
}

bool IsScalar(dom::element_type type) {
  return type != dom::element_type::ARRAY && type != dom::element_type::OBJECT;
}

Scalar ToScalar(dom::element e) {
  Scalar s;
  switch (e.type()) {
    case dom::element_type::BOOL:
      s.type = Scalar::Type::kBool;
      s.boolean = As<bool>(e);
      break;
    case dom::element_type::INT64:
      s.type = Scalar::Type::kNumber;
      s.integral = true;
      s.integer = As<int64_t>(e);
      s.number = static_cast<double>(s.integer);
      break;
    case dom::element_type::UINT64:
      s.type = Scalar::Type::kNumber;
      s.number = static_cast<double>(As<uint64_t>(e));
      break;
    case dom::element_type::DOUBLE:
      s.type = Scalar::Type::kNumber;
      s.number = As<double>(e);
      break;
    case dom::element_type::STRING:
      s.type = Scalar::Type::kString;
      s.string = std::string(As<std::string_view>(e));
      break;
    default:
      break;
  }
  return s;
}

template <typename T>
int Order(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// <0, 0, >0 as `v` orders before, equal to or after `s`; nullopt when their
// types differ (a string is never equal to, or less than, a number).
std::optional<int> Compare(dom::element v, const Scalar& s) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      if (s.type == Scalar::Type::kNull) return 0;
      return std::nullopt;
    case dom::element_type::BOOL:
      if (s.type != Scalar::Type::kBool) return std::nullopt;
      return Order(As<bool>(v), s.boolean);
    case dom::element_type::INT64:
      if (s.type != Scalar::Type::kNumber) return std::nullopt;
      if (s.integral) return Order(As<int64_t>(v), s.integer);
      return Order(static_cast<double>(As<int64_t>(v)), s.number);
    case dom::element_type::UINT64:
      if (s.type != Scalar::Type::kNumber) return std::nullopt;
      return Order(static_cast<double>(As<uint64_t>(v)), s.number);
    case dom::element_type::DOUBLE:
      if (s.type != Scalar::Type::kNumber) return std::nullopt;
      return Order(As<double>(v), s.number);
    case dom::element_type::STRING:
      if (s.type != Scalar::Type::kString) return std::nullopt;
      return As<std::string_view>(v).compare(s.string);
    default:
      return std::nullopt;
  }
}

// Appends the values `path[i...]` names below `v`.
void Resolve(dom::element v, const std::vector<Segment>& path, size_t i,
             Values& out) {
  if (i == path.size()) {
    out.push_back(v);
    return;
  }
  const Segment& segment = path[i];
  dom::element child;
  if (v.type() == dom::element_type::OBJECT) {
    if (As<dom::object>(v).at_key(segment.key).get(child) ==
        simdjson::SUCCESS) {
      Resolve(child, path, i + 1, out);
    }
  } else if (v.type() == dom::element_type::ARRAY) {
    dom::array array = As<dom::array>(v);
    if (segment.index != kNoIndex) {
      if (array.at(segment.index).get(child) == simdjson::SUCCESS) {
        Resolve(child, path, i + 1, out);
      }
      return;
    }
    for (dom::element element : array) {
      if (element.type() == dom::element_type::OBJECT) {
        Resolve(element, path, i, out);
      }
    }
  }
}

// Whether the scalar `v` satisfies `op` (one of kEq, kIn, kLt..kGe).
bool TestScalar(Op op, const std::vector<Scalar>& operands, dom::element v) {
  if (op == Op::kIn) {
    for (const Scalar& s : operands) {
      if (Compare(v, s) == 0) return true;
    }
    return false;
  }
  const std::optional<int> order = Compare(v, operands[0]);
  if (!order.has_value()) return false;
  switch (op) {
    case Op::kEq: return *order == 0;
    case Op::kLt: return *order < 0;
    case Op::kLe: return *order <= 0;
    case Op::kGt: return *order > 0;
    case Op::kGe: return *order >= 0;
    default: return false;
  }
}

// Whether `v`, or an element of it when it is an array, satisfies `op`.
bool TestValue(Op op, const std::vector<Scalar>& operands, dom::element v) {
  if (v.type() != dom::element_type::ARRAY) return TestScalar(op, operands, v);
  for (dom::element element : As<dom::array>(v)) {
    if (TestScalar(op, operands, element)) return true;
  }
  return false;
}

bool Eval(const Node& node, dom::element root) {
  switch (node.op) {
    case Op::kAnd:
      for (const Node& child : node.children) {
        if (!Eval(child, root)) return false;
      }
      return true;
    case Op::kOr:
      for (const Node& child : node.children) {
        if (Eval(child, root)) return true;
      }
      return false;
    case Op::kNot:
      return !Eval(node.children[0], root);
    default:
      break;
  }
  Values values;
  Resolve(root, node.path, 0, values);
  if (node.op == Op::kExists) return values.empty() != node.exists;
  // $ne and $nin pass when no value is equal (a missing field included).
  const bool negated = node.op == Op::kNe || node.op == Op::kNin;
  const Op test = node.op == Op::kNe ? Op::kEq
                  : node.op == Op::kNin ? Op::kIn
                                        : node.op;
  for (dom::element v : values) {
    if (TestValue(test, node.values, v)) return !negated;
  }
  return negated;
}

// The first failing condition below `node` (which fails).
const Node& FirstFailing(const Node& node, dom::element root) {
  if (node.op == Op::kAnd) {
    for (const Node& child : node.children) {
      if (!Eval(child, root)) return FirstFailing(child, root);
    }
  }
  return node;
}

// Turns the parsed filter document into Nodes, checking it as it goes.
class Compiler {
 public:
  Compiler(std::string_view field, const Limits& limits)
      : field_(field), limits_(limits) {}

  // A filter document (an object) at `where`, `depth` levels deep.
  absl::StatusOr<Node> Document(dom::element e, const std::string& where,
                                int depth) {
    if (depth > limits_.max_filter_depth) {
      return Fail(where, StrCat("nested deeper than ",
                                limits_.max_filter_depth, " levels"));
    }
    if (e.type() != dom::element_type::OBJECT) {
      return Fail(where, StrCat("wants an object, got ", TypeName(e)));
    }
    Node node;
    node.op = Op::kAnd;
    node.text = simdjson::minify(e);
    absl::flat_hash_set<std::string_view> keys;
    for (dom::key_value_pair field : As<dom::object>(e)) {
      const std::string_view key = field.key;
      if (!keys.insert(key).second) {
        return Fail(where, StrCat("duplicate key \"", key, "\""));
      }
      absl::StatusOr<Node> child =
          key.empty() || key[0] != '$'
              ? Field(key, field.value, StrCat(where, "[\"", key, "\"]"), depth)
              : Logical(key, field.value, StrCat(where, ".", key), depth);
      if (!child.ok()) return child.status();
      node.children.push_back(*std::move(child));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }

 private:
  absl::Status Fail(const std::string& where, std::string_view problem) const {
    return error::InvalidField(StrCat(field_, where), problem);
  }

  static std::string_view TypeName(dom::element e) {
    switch (e.type()) {
      case dom::element_type::ARRAY: return "an array";
      case dom::element_type::OBJECT: return "an object";
      case dom::element_type::STRING: return "a string";
      case dom::element_type::BOOL: return "a boolean";
      case dom::element_type::NULL_VALUE: return "null";
      default: return "a number";
    }
  }

  // $and, $or, $not at document level.
  absl::StatusOr<Node> Logical(std::string_view key, dom::element value,
                               const std::string& where, int depth) {
    Node node;
    node.text = StrCat("{\"", key, "\":", simdjson::minify(value), "}");
    if (key == "$not") {
      node.op = Op::kNot;
      absl::StatusOr<Node> child = Document(value, where, depth + 1);
      if (!child.ok()) return child.status();
      node.children.push_back(*std::move(child));
      return node;
    }
    if (key != "$and" && key != "$or") {
      return Fail(where,
                  StrCat("unknown operator \"", key,
                         "\" (one of $and, $or, $not, or a field path)"));
    }
    node.op = key == "$and" ? Op::kAnd : Op::kOr;
    dom::array items;
    if (value.get_array().get(items) != simdjson::SUCCESS ||
        items.size() == 0) {
      return Fail(where, "wants a non-empty array of filters");
    }
    size_t i = 0;
    for (dom::element item : items) {
      absl::StatusOr<Node> child =
          Document(item, StrCat(where, "[", i++, "]"), depth + 1);
      if (!child.ok()) return child.status();
      node.children.push_back(*std::move(child));
    }
    return node;
  }

  // A field path and its value or operator object.
  absl::StatusOr<Node> Field(std::string_view key, dom::element value,
                             const std::string& where, int depth) {
    std::vector<Segment> path;
    for (absl::string_view piece : absl::StrSplit(AsAbsl(key), '.')) {
      const std::string_view part(piece.data(), piece.size());
      if (part.empty()) {
        return Fail(where, "a path has no empty segments (\"a.b\", not "
                           "\"a..b\" or \".a\")");
      }
      Segment& segment = path.emplace_back();
      segment.key = std::string(part);
      uint64_t index;
      if (absl::SimpleAtoi(piece, &index) &&
          part.find_first_not_of("0123456789") == std::string_view::npos) {
        segment.index = static_cast<size_t>(index);
      }
    }
    if (IsScalar(value.type())) {
      absl::StatusOr<Node> node =
          Predicate(Op::kEq, path, key, "$eq", value, where);
      if (node.ok()) {
        node->text = StrCat("{\"", key, "\":", simdjson::minify(value), "}");
      }
      return node;
    }
    if (value.type() == dom::element_type::ARRAY) {
      return Fail(where, "an array cannot be compared; use {\"$in\": [...]}");
    }
    dom::object ops = As<dom::object>(value);
    if (ops.size() == 0) return Fail(where, "wants a value or an operator");
    Node node;
    node.op = Op::kAnd;
    node.text = StrCat("{\"", key, "\":", simdjson::minify(value), "}");
    absl::flat_hash_set<std::string_view> seen;
    for (dom::key_value_pair op : ops) {
      const std::string at = StrCat(where, ".", op.key);
      if (op.key.empty() || op.key[0] != '$') {
        return Fail(at, "wants an operator ($eq, $in, $gte, ...); objects "
                        "cannot be compared");
      }
      if (!seen.insert(op.key).second) {
        return Fail(where, StrCat("duplicate key \"", op.key, "\""));
      }
      absl::StatusOr<Node> child = FieldOperator(path, key, op.key, op.value,
                                                 at, depth);
      if (!child.ok()) return child.status();
      node.children.push_back(*std::move(child));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }

  absl::StatusOr<Node> FieldOperator(const std::vector<Segment>& path,
                                     std::string_view key, std::string_view op,
                                     dom::element value,
                                     const std::string& where, int depth) {
    static constexpr std::pair<std::string_view, Op> kOps[] = {
        {"$eq", Op::kEq},   {"$ne", Op::kNe},         {"$in", Op::kIn},
        {"$nin", Op::kNin}, {"$lt", Op::kLt},         {"$lte", Op::kLe},
        {"$gt", Op::kGt},   {"$gte", Op::kGe},        {"$exists", Op::kExists},
        {"$exist", Op::kExists}};
    if (op == "$not") {
      // {"a": {"$not": {"$gt": 5}}}: the field's operators, negated.
      if (value.type() != dom::element_type::OBJECT) {
        return Fail(where, StrCat("wants an operator object, got ",
                                  TypeName(value)));
      }
      if (depth + 1 > limits_.max_filter_depth) {
        return Fail(where, StrCat("nested deeper than ",
                                  limits_.max_filter_depth, " levels"));
      }
      Node node;
      node.op = Op::kNot;
      node.text = StrCat("{\"", key, "\":{\"$not\":", simdjson::minify(value),
                         "}}");
      absl::StatusOr<Node> child = Field(key, value, where, depth + 1);
      if (!child.ok()) return child.status();
      node.children.push_back(*std::move(child));
      return node;
    }
    for (const auto& [name, code] : kOps) {
      if (name == op) return Predicate(code, path, key, op, value, where);
    }
    return Fail(where, StrCat("unknown operator \"", op,
                              "\" (one of $eq, $ne, $in, $nin, $lt, $lte, "
                              "$gt, $gte, $exists, $not)"));
  }

  absl::StatusOr<Node> Predicate(Op op, const std::vector<Segment>& path,
                                 std::string_view key, std::string_view name,
                                 dom::element value, const std::string& where) {
    if (++predicates_ > limits_.max_filter_predicates) {
      return Fail(where, StrCat("more than ", limits_.max_filter_predicates,
                                " conditions"));
    }
    Node node;
    node.op = op;
    node.path = path;
    node.text = StrCat("{\"", key, "\":{\"", name, "\":",
                       simdjson::minify(value), "}}");
    switch (op) {
      case Op::kExists: {
        bool wanted;
        if (value.get_bool().get(wanted) != simdjson::SUCCESS) {
          return Fail(where,
                      StrCat("wants true or false, got ", TypeName(value)));
        }
        node.exists = wanted;
        return node;
      }
      case Op::kIn:
      case Op::kNin: {
        dom::array items;
        if (value.get_array().get(items) != simdjson::SUCCESS ||
            items.size() == 0) {
          return Fail(where, "wants a non-empty array of strings, numbers, "
                             "booleans or nulls");
        }
        size_t i = 0;
        for (dom::element item : items) {
          if (!IsScalar(item.type())) {
            return Fail(StrCat(where, "[", i, "]"),
                        StrCat("wants a string, number, boolean or null, got ",
                               TypeName(item)));
          }
          if (++values_ > limits_.max_filter_values) {
            return Fail(where, StrCat("more than ", limits_.max_filter_values,
                                      " values in all"));
          }
          node.values.push_back(ToScalar(item));
          ++i;
        }
        return node;
      }
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        const Scalar s = ToScalar(value);
        if (!IsScalar(value.type()) || (s.type != Scalar::Type::kNumber &&
                                        s.type != Scalar::Type::kString)) {
          return Fail(where, StrCat("wants a number or a string, got ",
                                    TypeName(value)));
        }
        node.values.push_back(s);
        return node;
      }
      default:  // kEq, kNe
        if (!IsScalar(value.type())) {
          return Fail(where,
                      StrCat("wants a string, number, boolean or null, got ",
                             TypeName(value),
                             " (objects and arrays cannot be compared)"));
        }
        if (++values_ > limits_.max_filter_values) {
          return Fail(where, StrCat("more than ", limits_.max_filter_values,
                                    " values in all"));
        }
        node.values.push_back(ToScalar(value));
        return node;
    }
  }

  const std::string_view field_;
  const Limits& limits_;
  int predicates_ = 0;
  int values_ = 0;
};

}  // namespace

struct JsonPayload::Impl {
  dom::parser parser;
  dom::element root;
};

JsonPayload::JsonPayload() : impl_(std::make_unique<Impl>()) {}
JsonPayload::~JsonPayload() = default;

absl::Status JsonPayload::Parse(std::string_view text) {
  ok_ = false;
  if (text.empty()) text = "null";
  const simdjson::error_code parsed =
      impl_->parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true)
          .get(impl_->root);
  if (parsed != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        StrCat("is not JSON: ", simdjson::error_message(parsed)));
  }
  ok_ = true;
  return absl::OkStatus();
}

std::optional<std::string> JsonPayload::ValueAt(std::string_view path) const {
  if (!ok_) return std::nullopt;
  std::vector<Segment> segments;
  for (absl::string_view piece : absl::StrSplit(AsAbsl(path), '.')) {
    Segment& segment = segments.emplace_back();
    segment.key = std::string(piece);
    uint64_t index;
    if (!piece.empty() && absl::SimpleAtoi(piece, &index) &&
        piece.find_first_not_of("0123456789") == absl::string_view::npos) {
      segment.index = static_cast<size_t>(index);
    }
  }
  Values values;
  Resolve(impl_->root, segments, 0, values);
  if (values.empty()) return std::nullopt;
  if (values[0].type() == dom::element_type::STRING) {
    return std::string(As<std::string_view>(values[0]));
  }
  return simdjson::minify(values[0]);
}

PayloadFilter::PayloadFilter() = default;
PayloadFilter::~PayloadFilter() = default;

absl::StatusOr<PayloadFilterPtr> PayloadFilter::Compile(
    std::string_view field, std::string_view json, const Limits& limits) {
  if (json.size() > static_cast<size_t>(limits.max_filter_bytes)) {
    return error::FieldTooLong(field,
                               static_cast<size_t>(limits.max_filter_bytes));
  }
  dom::parser parser;
  dom::element root;
  const simdjson::error_code parsed =
      parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true)
          .get(root);
  if (parsed != simdjson::SUCCESS) {
    return error::InvalidField(
        field, StrCat("not JSON: ", simdjson::error_message(parsed)));
  }
  Compiler compiler(field, limits);
  absl::StatusOr<Node> node = compiler.Document(root, "", 1);
  if (!node.ok()) return node.status();
  std::unique_ptr<PayloadFilter> filter(new PayloadFilter());
  filter->source_ = std::string(json);
  filter->root_ = std::make_unique<Node>(*std::move(node));
  return PayloadFilterPtr(std::move(filter));
}

PayloadFilterPtr PayloadFilter::Rejecting(std::string source,
                                          std::string problem) {
  std::unique_ptr<PayloadFilter> filter(new PayloadFilter());
  filter->source_ = std::move(source);
  filter->problem_ = std::move(problem);
  return PayloadFilterPtr(std::move(filter));
}

bool PayloadFilter::Passes(const JsonPayload& payload) const {
  if (root_ == nullptr || !payload.ok()) return false;
  return Eval(*root_, payload.impl_->root);
}

std::string PayloadFilter::WhyNot(const JsonPayload& payload) const {
  if (root_ == nullptr) {
    return StrCat("cannot pass: the stored filter no longer compiles (",
                  problem_, ")");
  }
  if (!payload.ok()) return "is not JSON";
  if (Eval(*root_, payload.impl_->root)) return "";
  return StrCat("fails ",
                Truncated(FirstFailing(*root_, payload.impl_->root).text));
}

}  // namespace webhooks::core
