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
      if (!RunNode(n)) return false;
      if (out_->size() > end_) {  // cut, and stop: nothing after this can be kept
        formats::TruncateUtf8(*out_, end_);
        limit_->exceeded = true;
      }
      if (limit_->exceeded || flow_ != Flow::kNormal) return true;
    }
    return true;
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  bool RunNode(const Node& n) {
    switch (n.kind) {
      case Node::kText:
        out_->append(n.text);
        return true;
      case Node::kAction: {
        Value v;
        if (!EvalPipe(n.pipe, &v)) return false;
        if (n.pipe.decl.empty()) return Print(v);
        return Declare(n.pipe, std::move(v));
      }
      case Node::kControl: {
        const size_t mark = vars_.size();
        const Value saved_dot = dot_;
        const bool ok = RunControl(n);
        vars_.resize(mark);  // the block's variables end with it
        dot_ = saved_dot;
        return ok;
      }
      case Node::kBreak:
        flow_ = Flow::kBreak;
        return true;
      case Node::kContinue:
        flow_ = Flow::kContinue;
        return true;
    }
    return false;
  }

  bool Print(const Value& v) {
    if (v.kind == Value::kData)
      return Fail("printing the whole data map ({{ . }}) is not supported");
    tmpl::AppendPrint(v, out_, end_);  // Run() cuts what is past end_
    return true;
  }

  // `$x := v` pushes a slot (the parser chose its index); `$x = v` overwrites one.
  bool Declare(const Pipe& p, Value v) {
    const size_t slot = static_cast<size_t>(p.decl[0]);
    if (p.assign) {
      if (slot >= vars_.size()) return Fail("undefined variable");
      vars_[slot] = std::move(v);
      return true;
    }
    vars_.resize(slot);
    vars_.push_back(std::move(v));
    return true;
  }

  // The clauses of an if/with/range in order: the first that holds runs, else {{else}}.
  bool RunControl(const Node& n) {
    for (const tmpl::Branch& b : n.branches) {
      if (b.kind == tmpl::Branch::kRange) {
        bool ran = false;
        if (!RunRange(b, &ran)) return false;
        if (ran) return true;
        continue;
      }
      Value v;
      if (!EvalPipe(b.pipe, &v)) return false;
      if (!b.pipe.decl.empty() && !Declare(b.pipe, v)) return false;
      if (!tmpl::Truth(v)) continue;
      if (b.kind == tmpl::Branch::kWith) dot_ = std::move(v);
      return Run(b.body);
    }
    return Run(n.else_body);
  }

  bool RunRange(const tmpl::Branch& b, bool* ran) {
    Value coll;
    if (!EvalPipe(b.pipe, &coll)) return false;
    size_t n = 0;
    switch (coll.kind) {
      case Value::kNil:
        return true;
      case Value::kList:
        n = coll.list->size();
        break;
      case Value::kMap:
        n = coll.map->size();
        break;
      case Value::kInt:  // Go 1.22: range over an integer counts from 0
        n = coll.i > 0 ? static_cast<size_t>(coll.i) : 0;
        break;
      default:
        return Fail(fmt::format("range can't iterate over {}", tmpl::KindName(coll.kind)));
    }
    const size_t mark = vars_.size();
    for (size_t k = 0; k < n; ++k) {
      if (++iterations_ > tmpl::kMaxIterations) {
        return Fail(fmt::format("range: more than {} iterations", tmpl::kMaxIterations));
      }
      // The key is copied: the map may be gone before a variable assigned from it ($x = $k).
      Value key = coll.kind == Value::kMap ? Value::Own((*coll.map)[k].first)
                                           : Value::Int(static_cast<int64_t>(k));
      Value elem = coll.kind == Value::kList  ? (*coll.list)[k]
                   : coll.kind == Value::kMap ? (*coll.map)[k].second
                                              : Value::Int(static_cast<int64_t>(k));
      vars_.resize(mark);
      if (b.pipe.decl.size() == 2) vars_.push_back(std::move(key));
      if (!b.pipe.decl.empty()) vars_.push_back(elem);
      dot_ = std::move(elem);
      *ran = true;
      if (!Run(b.body)) return false;
      if (limit_->exceeded) return true;
      const Flow f = flow_;
      flow_ = Flow::kNormal;
      if (f == Flow::kBreak) break;
    }
    return true;
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
    Value inline_args[kMaxArgs];
    std::vector<Value> many;
    Value* args = inline_args;
    if (n > kMaxArgs) {
      many.resize(n);
      args = many.data();
    }
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
        return Field(dot_, a.text, out);
      case Arg::kDot:
        *out = dot_;
        return true;
      case Arg::kVar: {
        const size_t slot = static_cast<size_t>(a.i);
        if (slot >= vars_.size()) return Fail("undefined variable");
        if (a.text.empty()) {
          *out = vars_[slot];
          return true;
        }
        return Field(vars_[slot], a.text, out);
      }
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

  // .name of a value: the TemplateData's field, or a map's key ("<no value>" when absent).
  bool Field(const Value& base, std::string_view name, Value* out) {
    if (base.kind == Value::kData) {
      const std::string* v = data_.Field(name);
      *out = v != nullptr ? Value::Str(*v) : Value{};
      return true;
    }
    if (base.kind == Value::kMap) {
      const Value* v = tmpl::MapFind(*base.map, name);
      *out = v != nullptr ? *v : Value{};
      return true;
    }
    return Fail(fmt::format("can't evaluate field {} in type {}", name, tmpl::KindName(base.kind)));
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
  Value dot_ = Root();
  std::vector<Value> vars_{Root()};  // slot 0 is $
  Flow flow_ = Flow::kNormal;        // a {{break}} or {{continue}} unwinding to its range
  size_t iterations_ = 0;

  static Value Root() {
    Value v;
    v.kind = Value::kData;
    return v;
  }
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
