#include "lang/go/template_engine.h"

#include <fmt/format.h>

#include <optional>
#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "lang/go/template_internal.h"

namespace skidder::lang::go {
namespace {

using tmpl::Arg;
using tmpl::Command;
using tmpl::kMaxArgs;
using tmpl::Node;
using tmpl::NodeList;
using tmpl::Pipe;
using tmpl::Value;

// Runs a parsed tree against one TemplateData.
class Exec {
 public:
  Exec(const TemplateData& data, std::string* out, std::string* error, Template::Limit* limit)
      : data_(data),
        out_(out),
        error_(error),
        limit_(limit != nullptr ? limit : &unlimited_),
        end_(limit_->max_bytes > out->max_size() - out->size() ? out->max_size()
                                                               : out->size() + limit_->max_bytes) {}

  bool Run(const NodeList& nodes) {
    for (const Node& n : nodes) {
      switch (n.kind) {
        case Node::kText:
          out_->append(n.text);
          break;
        case Node::kAction: {
          Value v;
          if (!EvalPipe(n.pipe, &v)) return false;
          tmpl::AppendPrint(v, out_);
          break;
        }
        case Node::kIf:
          if (!RunIf(n)) return false;
          break;
      }
      if (out_->size() > end_) {  // cut, and stop: nothing after this can be kept
        formats::TruncateUtf8(*out_, end_);
        limit_->exceeded = true;
      }
      if (limit_->exceeded) return true;
    }
    return true;
  }

 private:
  bool RunIf(const Node& n) {
    for (const auto& [cond, body] : n.branches) {
      Value v;
      if (!EvalPipe(cond, &v)) return false;
      if (tmpl::Truth(v)) return Run(body);
    }
    return Run(n.else_body);
  }

  bool EvalPipe(const Pipe& p, Value* out) {
    Value piped;
    bool have = false;
    for (const Command& c : p.cmds) {
      Value r;
      if (!EvalCommand(c, have ? &piped : nullptr, &r)) return false;
      piped = std::move(r);
      have = true;
    }
    *out = std::move(piped);
    return true;
  }

  bool EvalCommand(const Command& c, Value* piped, Value* out) {
    const Arg& first = c.args[0];
    if (first.kind != Arg::kFunc) {
      if (piped != nullptr) return Fail("can't give argument to non-function");
      return EvalArg(first, out);
    }
    const tmpl::FuncDef& fn = *first.fn;
    const size_t n = c.args.size() - 1 + (piped != nullptr ? 1 : 0);
    if (static_cast<int>(n) < fn.min_args ||
        (fn.max_args >= 0 && static_cast<int>(n) > fn.max_args)) {
      return Fail(
          fmt::format("wrong number of args for {}: want {} got {}", fn.name, fn.min_args, n));
    }
    if (fn.fn == nullptr) return AndOr(c, piped, fn.name == "and", out);
    Value args[kMaxArgs];
    for (size_t i = 1; i < c.args.size(); ++i) {
      if (!EvalArg(c.args[i], &args[i - 1])) return false;
    }
    if (piped != nullptr) args[n - 1] = std::move(*piped);
    tmpl::Call call{.name = fn.name,
                    .args = std::span<Value>(args, n),
                    .result = out,
                    .error = error_,
                    .data = &data_,
                    .re = c.re.get(),
                    .max_bytes = limit_->max_bytes,
                    .exceeded = &limit_->exceeded};
    return fn.fn(call);
  }

  // Go's and/or: stop at the first false (and) / true (or) argument and return it.
  bool AndOr(const Command& c, Value* piped, bool is_and, Value* out) {
    for (size_t i = 1; i < c.args.size(); ++i) {
      if (!EvalArg(c.args[i], out)) return false;
      if (tmpl::Truth(*out) != is_and) return true;
    }
    if (piped != nullptr) *out = std::move(*piped);
    return true;
  }

  bool EvalArg(const Arg& a, Value* out) {
    switch (a.kind) {
      case Arg::kField:
        if (const std::string* v = data_.Field(a.text))
          *out = Value::Str(*v);
        else
          *out = Value{};
        return true;
      case Arg::kDot:
        return Fail("printing the whole data map ({{ . }}) is not supported");
      case Arg::kString:
        *out = Value::Str(a.text);
        return true;
      case Arg::kInt:
        *out = Value::Int(a.i);
        return true;
      case Arg::kBool:
        *out = Value::Bool(a.b);
        return true;
      case Arg::kNil:
        *out = Value{};
        return true;
      case Arg::kPipe:
        return EvalPipe(*a.pipe, out);
      case Arg::kFunc: {  // a function as an argument is called without arguments
        Command c;
        c.args.emplace_back();
        c.args[0].kind = Arg::kFunc;
        c.args[0].fn = a.fn;
        return EvalCommand(c, nullptr, out);
      }
    }
    return false;
  }

  bool Fail(std::string msg) {
    *error_ = std::move(msg);
    return false;
  }

  const TemplateData& data_;
  std::string* out_;
  std::string* error_;
  Template::Limit unlimited_;
  Template::Limit* limit_;
  size_t end_;  // the size *out_ may reach
};

}  // namespace

struct Template::Tree {
  NodeList nodes;
  std::optional<std::string> constant;
};

Template::Template(std::unique_ptr<Tree> tree) : tree_(std::move(tree)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::Parse(std::string_view text) {
  auto tree = std::make_unique<Tree>();
  if (Status s = tmpl::ParseTree(text, &tree->nodes); !s.ok()) return Err(std::move(s));
  bool constant = true;
  std::string out;
  for (const Node& n : tree->nodes) {
    if (n.kind != Node::kText)
      constant = false;
    else
      out += n.text;
  }
  if (constant) tree->constant = std::move(out);
  return Template(std::move(tree));
}

bool Template::Execute(const TemplateData& data, std::string* out, std::string* error,
                       Limit* limit) const {
  if (tree_->constant) {
    const std::string& text = *tree_->constant;
    const size_t start = out->size();
    out->append(text);  // bounded by the config file's size
    if (limit != nullptr && text.size() > limit->max_bytes) {
      formats::TruncateUtf8(*out, start + limit->max_bytes);
      limit->exceeded = true;
    }
    return true;
  }
  return Exec(data, out, error, limit).Run(tree_->nodes);
}

const std::string* Template::Constant() const {
  return tree_->constant ? &*tree_->constant : nullptr;
}

}  // namespace skidder::lang::go
