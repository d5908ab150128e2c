// Alloy's custom components (declare blocks) expanded into the built-in components they are
// made of.
//
// Alloy runs each instance of a declare as a module with a scope of its own. skidder, which
// maps the whole component graph onto one Promtail-shaped config at load, copies instead: each
// instance becomes a copy of its declare's components, their ids prefixed with the instance's
// ("pod_logs.feature/loki.process.pod_logs", as Alloy names them), their references to one
// another renamed to match, and `argument.NAME.value` replaced by the expression the instance
// gives (or the argument's default). The instance's exports and arguments are kept for the
// loader: exports are read through Loader::Resolve (`pod_logs.feature.NAME`), and both are
// evaluated once even when nothing reads them, as Alloy evaluates them. Scoping is Alloy's: a
// declare's body sees its own components, its arguments and the declares of its own and
// enclosing bodies, never the components outside it.
//
// A config is hostile input: depth, the number of copies and the bytes of copied expressions
// are bounded, since each level of nesting multiplies them.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/alloy_internal.h"
#include "lang/alloy/lexer.h"

namespace skidder::config::alloy_internal {
namespace {

using lang::alloy::Expr;
using lang::alloy::ExprPtr;
using lang::alloy::Short;

// Custom components used inside custom components, this deep at most.
constexpr size_t kMaxInstanceDepth = 16;
// Components and instances that all instances together may expand into: depth alone does not
// bound them (a declare using another twice, sixteen levels down, is 65,536 instances). No
// real config comes near either bound.
constexpr size_t kMaxExpandedComponents = 2000;
// Bytes of expressions copied into instances (an argument is copied wherever it is read).
constexpr size_t kMaxExpandedBytes = 64 << 20;

// Names a declare cannot take: Alloy's own blocks, and the first part of built-in component
// names (a declare "loki" would take every loki.* block for an instance of it).
const std::set<std::string, std::less<>> kReservedNames = {
    "argument",     "export",    "declare",
    "import",       "logging",   "http",
    "tracing",      "remotecfg", "foreach",
    "constants",    "loki",      "discovery",
    "local",        "otelcol",   "prometheus",
    "pyroscope",    "faro",      "remote",
    "mimir",        "beyla",     "database_observability",
    "livedebugging"};

// `base.f1.f2...` for the parts from `from` on, written at pos.
ExprPtr WithFields(ExprPtr base, const std::vector<std::string>& parts, size_t from, Pos pos) {
  for (size_t i = from; i < parts.size(); ++i) {
    auto f = std::make_unique<Expr>();
    f->kind = Expr::Kind::kField;
    f->pos = pos;
    f->name = parts[i];
    f->depth = base->depth + 1;
    f->kids.push_back(std::move(base));
    base = std::move(f);
  }
  return base;
}

// About the memory an expression takes.
size_t Weight(const Expr& e) {
  size_t n = sizeof(Expr) + e.name.size() + lang::alloy::ValueBytes(e.value);
  for (const std::string& k : e.keys) n += k.size();
  for (const ExprPtr& k : e.kids) n += Weight(*k);
  return n;
}

struct Scope;

struct Declare {
  const Block* block;
  const Scope* scope;  // where it was declared: its body sees that scope's declares
};

// One body being expanded: the top level, or a custom component instance.
struct Scope {
  const Scope* parent = nullptr;            // the enclosing body of the declare, for declares
  std::map<std::string, Declare> declares;  // declared in this body
  std::string id_prefix;                    // of its components' ids; "" at the top
  std::string declare_name;                 // the declare instantiated; "" at the top
  int instance = 0;                         // its Pos::instance, naming it in errors
  std::set<std::string> local_ids;          // of this body's components and instances
  // Instances only: the declare's argument blocks, the arguments bound so far (an optional one
  // the instance leaves out is bound to its default when first read) and those being bound.
  std::map<std::string, const Block*> arguments;
  std::map<std::string, ExprPtr> bound;
  std::set<std::string> binding;

  bool top() const { return declare_name.empty(); }
  const Declare* Find(const std::string& name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent) {
      auto it = s->declares.find(name);
      if (it != s->declares.end()) return &it->second;
    }
    return nullptr;
  }
};

// The ids of a body's components and instances, which its references are renamed from.
std::set<std::string> LocalIds(const std::vector<Block>& body) {
  std::set<std::string> ids;
  for (const Block& b : body) {
    if (b.name != "declare" && b.name != "argument" && b.name != "export") ids.insert(Id(b));
  }
  return ids;
}

class Expander {
 public:
  Expander(const Loader& loader, std::map<std::string, CustomInstance>* instances,
           std::vector<std::string>* instance_names)
      : loader_(loader), instances_(*instances), instance_names_(*instance_names) {}

  // Appends to out the built-in components of body, instances expanded.
  Status Body(const std::vector<Block>& body, Scope* scope, std::vector<Block>* out) {
    for (const Block& b : body) {
      if (b.name == "declare") {
        if (Status s = AddDeclare(b, scope); !s.ok()) return s;
      }
    }
    scope->local_ids = LocalIds(body);
    for (const Block& b : body) {
      if (b.name == "declare") continue;
      if (b.name == "argument" || b.name == "export") {
        if (scope->top()) {
          return Error(b.pos, fmt::format("{} blocks belong inside a declare block", b.name));
        }
        continue;  // read by Instantiate
      }
      if (!scope->top()) {
        if (b.name == "logging" || b.name == "http" || b.name == "livedebugging") {
          return Error(b.pos, fmt::format("the {} block belongs at the top level, not inside "
                                          "declare \"{}\"",
                                          b.name, scope->declare_name));
        }
        if (++copies_ > kMaxExpandedComponents) {
          return Error(b.pos, fmt::format("custom components expand into more than {} components",
                                          kMaxExpandedComponents));
        }
      }
      if (const Declare* d = scope->Find(b.name)) {
        if (Status s = Instantiate(b, *d, *scope, out); !s.ok()) return s;
        continue;
      }
      Result<Block> copy = Copy(b, *scope);
      if (!copy) return copy.error();
      out->push_back(std::move(*copy));
    }
    return Status::Ok();
  }

 private:
  Status Error(Pos pos, std::string_view msg) const { return loader_.ErrorAt(pos, msg); }

  Status AddDeclare(const Block& b, Scope* scope) {
    if (!lang::alloy::IsIdentifier(b.label)) {
      return Error(b.pos,
                   "declare needs a label that names the custom component, e.g. declare "
                   "\"pod_logs\" { ... }");
    }
    if (kReservedNames.contains(b.label)) {
      return Error(b.pos, fmt::format("declare \"{}\": {} is the name of Alloy's own blocks or "
                                      "components and cannot name a custom component",
                                      b.label, b.label));
    }
    auto [it, added] = scope->declares.emplace(b.label, Declare{&b, scope});
    if (!added) {
      return Error(b.pos, fmt::format("declare \"{}\" is defined twice (first at {})", b.label,
                                      loader_.Where(it->second.block->pos)));
    }
    if (!b.attributes.empty()) {
      return Error(b.attributes[0].pos, "attributes belong inside a component block");
    }
    // Checked here, so that a declare nothing instantiates yet has its definitions checked.
    Result<Definitions> d = ReadDefinitions(b);
    return d ? Status::Ok() : d.error();
  }

  Status Instantiate(const Block& inst, const Declare& d, Scope& scope, std::vector<Block>* out) {
    const std::string& name = inst.name;
    if (!lang::alloy::IsIdentifier(inst.label)) {
      return Error(inst.pos, fmt::format("{} needs a label (letters, digits and _), e.g. {} "
                                         "\"default\" {{ ... }}",
                                         name, name));
    }
    if (std::ranges::find(expanding_, name) != expanding_.end()) {
      std::string path;
      for (const std::string& n : expanding_) path += n + " -> ";
      return Error(inst.pos, fmt::format("declare \"{}\" uses itself ({}{})", name, path, name));
    }
    if (expanding_.size() >= kMaxInstanceDepth) {
      return Error(inst.pos,
                   fmt::format("custom components nested more than {} deep", kMaxInstanceDepth));
    }
    if (!inst.blocks.empty()) {
      return Error(inst.blocks[0].pos, fmt::format("block {} in {}: a custom component takes its "
                                                   "arguments as attributes, not blocks",
                                                   inst.blocks[0].name, name));
    }
    const std::string id = scope.id_prefix + name + "." + inst.label;
    if (instances_.contains(id)) {
      return Error(inst.pos, fmt::format("{}.{} is defined twice", name, inst.label));
    }
    Result<Definitions> defs = ReadDefinitions(*d.block);
    if (!defs) return defs.error();
    Scope inner;
    inner.parent = d.scope;
    inner.id_prefix = id + "/";
    inner.declare_name = name;
    inner.instance = static_cast<int>(instance_names_.size());
    instance_names_.push_back(id);
    inner.local_ids = LocalIds(d.block->blocks);
    inner.arguments = defs->arguments;
    CustomInstance& instance = instances_[id];
    if (Status s = BindArguments(inst, scope, &inner, &instance); !s.ok()) return s;
    expanding_.push_back(name);
    Status s = Body(d.block->blocks, &inner, out);
    expanding_.pop_back();
    if (!s.ok()) return s;
    for (const Block* e : defs->exports) {
      Result<ExprPtr> v = Rewrite(*e->Attr("value")->value, inner);
      if (!v) return v.error();
      instance.exports[e->label] = std::move(*v);
    }
    return Status::Ok();
  }

  // The arguments the instance gives, read in the instance's (caller's) scope; a required one
  // left out is an error. Each is also kept for the loader to evaluate once.
  Status BindArguments(const Block& inst, Scope& scope, Scope* inner, CustomInstance* instance) {
    for (const Attribute& a : inst.attributes) {
      if (!inner->arguments.contains(a.name)) {
        return Error(a.pos, fmt::format("{} has no argument {}{}", inst.name, Short(a.name),
                                        ArgumentList(inner->arguments)));
      }
      Result<ExprPtr> v = Rewrite(*a.value, scope);
      if (!v) return v.error();
      instance->arguments.push_back(lang::alloy::Clone(**v));
      inner->bound[a.name] = std::move(*v);
    }
    for (const auto& [arg, b] : inner->arguments) {
      const Attribute* optional = b->Attr("optional");
      if (inner->bound.contains(arg) || (optional != nullptr && optional->value->value.boolean)) {
        continue;
      }
      return Error(inst.pos, fmt::format("{} \"{}\": argument {} is required (declared at {})",
                                         inst.name, inst.label, arg, loader_.Where(b->pos)));
    }
    return Status::Ok();
  }

  // A declare's argument blocks by name and its export blocks, checked.
  struct Definitions {
    std::map<std::string, const Block*> arguments;
    std::vector<const Block*> exports;
  };
  Result<Definitions> ReadDefinitions(const Block& declare) const {
    Definitions d;
    for (const Block& b : declare.blocks) {
      if (b.name != "argument" && b.name != "export") continue;
      if (Status s = CheckDefinition(b, d); !s.ok()) return Err(std::move(s));
      if (b.name == "argument") {
        d.arguments[b.label] = &b;
      } else {
        d.exports.push_back(&b);
      }
    }
    return d;
  }

  // An argument or export block of a declare: a unique label, the attributes Alloy defines.
  Status CheckDefinition(const Block& b, const Definitions& d) const {
    const bool arg = b.name == "argument";
    if (!lang::alloy::IsIdentifier(b.label)) {
      return Error(b.pos, fmt::format("{} needs a label that names it, e.g. {} \"name\" {{ ... }}",
                                      b.name, b.name));
    }
    const bool twice =
        arg ? d.arguments.contains(b.label)
            : std::ranges::any_of(d.exports, [&](const Block* e) { return e->label == b.label; });
    if (twice) return Error(b.pos, fmt::format("{} \"{}\" is defined twice", b.name, b.label));
    if (!b.blocks.empty()) return Error(b.blocks[0].pos, fmt::format("{} takes no blocks", b.name));
    for (const Attribute& a : b.attributes) {
      const bool known = arg ? (a.name == "optional" || a.name == "default" || a.name == "comment")
                             : a.name == "value";
      if (!known) {
        return Error(a.pos, fmt::format("{} has no attribute {} (it has {})", b.name, Short(a.name),
                                        arg ? "optional, default and comment" : "value"));
      }
      // A literal, as every config writes it: whether an argument is required must be known
      // before anything is evaluated.
      if (a.name == "optional" && (a.value->kind != Expr::Kind::kLiteral ||
                                   a.value->value.kind != lang::alloy::Value::Kind::kBool)) {
        return Error(a.pos, "optional must be true or false");
      }
    }
    if (!arg && b.Attr("value") == nullptr) {
      return Error(b.pos, fmt::format("export \"{}\": value is required", b.label));
    }
    return Status::Ok();
  }

  static std::string ArgumentList(const std::map<std::string, const Block*>& declared) {
    if (declared.empty()) return " (it declares none)";
    std::string names;
    for (const auto& [n, b] : declared) names += (names.empty() ? "" : ", ") + n;
    return fmt::format(" (its arguments: {})", names);
  }

  // A block of scope's body with its references renamed into the instance.
  Result<Block> Copy(const Block& b, Scope& scope) {
    Block out{.name = b.name,
              .label = b.label,
              .pos = InInstance(b.pos, scope),
              .attributes = {},
              .blocks = {},
              .id_prefix = scope.id_prefix};
    for (const Attribute& a : b.attributes) {
      Result<ExprPtr> v = Rewrite(*a.value, scope);
      if (!v) return Err(v.error());
      out.attributes.push_back({a.name, InInstance(a.pos, scope), std::move(*v)});
    }
    for (const Block& nb : b.blocks) {
      Result<Block> n = Copy(nb, scope);
      if (!n) return n;
      out.blocks.push_back(std::move(*n));
    }
    return out;
  }

  // e with references into the instance renamed and arguments substituted; at the top level,
  // e as written (Loader::Resolve reads it there).
  Result<ExprPtr> Rewrite(const Expr& e, Scope& scope) {
    if (scope.top()) return lang::alloy::Clone(e);
    std::vector<std::string> parts;
    Result<ExprPtr> out =
        lang::alloy::DottedParts(e, &parts) ? Reference(e, parts, scope) : Node(e, scope);
    if (!out) return out;
    // Arguments substituted into arguments of nested instances make deeper trees than the
    // parser allows; the evaluator's recursion follows them, so they stay bounded too.
    if ((*out)->depth > 2 * lang::alloy::kMaxDepth) {
      return Err(Error(InInstance(e.pos, scope),
                       "expression nested too deeply once arguments are substituted"));
    }
    return out;
  }

  // An operator, call, literal, array or object: itself, its operands rewritten.
  Result<ExprPtr> Node(const Expr& e, Scope& scope) {
    ExprPtr out = lang::alloy::CloneNode(e);
    out->pos = InInstance(e.pos, scope);
    int height = 0;
    for (size_t i = 0; i < e.kids.size(); ++i) {
      // A call's callee is a function's name, never a component's.
      Result<ExprPtr> k = (e.kind == Expr::Kind::kCall && i == 0) ? lang::alloy::Clone(*e.kids[0])
                                                                  : Rewrite(*e.kids[i], scope);
      if (!k) return k;
      // A call's errors are reported at its callee: in the instance too.
      if (e.kind == Expr::Kind::kCall && i == 0) (*k)->pos = InInstance((*k)->pos, scope);
      height = std::max(height, (*k)->depth);
      out->kids.push_back(std::move(*k));
    }
    out->depth = height + 1;
    if (Status s = Charge(sizeof(Expr) + e.name.size() + lang::alloy::ValueBytes(e.value), e.pos);
        !s.ok()) {
      return Err(std::move(s));
    }
    return out;
  }

  Result<ExprPtr> Reference(const Expr& e, const std::vector<std::string>& parts, Scope& scope) {
    if (parts[0] == "constants") {
      ExprPtr c = lang::alloy::Clone(e);
      c->pos = InInstance(e.pos, scope);
      return c;
    }
    if (parts[0] == "argument") {
      if (parts.size() < 3 || parts[2] != "value") {
        return Err(Error(e.pos, "an argument is read as argument.NAME.value"));
      }
      Result<const Expr*> arg = Argument(parts[1], scope, e.pos);
      if (!arg) return Err(arg.error());
      if (Status s = Charge(Weight(**arg), e.pos); !s.ok()) return Err(std::move(s));
      return WithFields(lang::alloy::Clone(**arg), parts, 3, InInstance(e.pos, scope));
    }
    for (size_t n = parts.size(); n >= 1; --n) {
      const std::string id = JoinParts(parts, n);
      if (!scope.local_ids.contains(id)) continue;
      auto ident = std::make_unique<Expr>();
      ident->kind = Expr::Kind::kIdent;
      const Pos at = InInstance(e.pos, scope);
      ident->pos = at;
      ident->name = scope.id_prefix + id;
      return WithFields(std::move(ident), parts, n, at);
    }
    return Err(Error(
        e.pos, fmt::format("unknown reference {}: inside declare \"{}\" only its own components, "
                           "argument.NAME.value and constants can be referenced",
                           Short(JoinParts(parts, parts.size())), scope.declare_name)));
  }

  // The expression argument `name` stands for: the instance's, or for an optional argument it
  // left out the argument's default (null without one), read in the declare's scope when first
  // needed, so that a default may read the declare's components and other arguments.
  Result<const Expr*> Argument(const std::string& name, Scope& scope, Pos pos) {
    if (auto it = scope.bound.find(name); it != scope.bound.end()) return it->second.get();
    auto decl = scope.arguments.find(name);
    if (decl == scope.arguments.end()) {
      return Err(Error(
          pos, fmt::format("declare \"{}\" has no argument {}", scope.declare_name, Short(name))));
    }
    if (!scope.binding.insert(name).second) {
      return Err(Error(pos, fmt::format("the default of argument {} reads itself", name)));
    }
    auto null = std::make_unique<Expr>();  // Alloy's value of an unset argument
    null->pos = decl->second->pos;
    Result<ExprPtr> v = std::move(null);
    if (const Attribute* def = decl->second->Attr("default")) v = Rewrite(*def->value, scope);
    scope.binding.erase(name);
    if (!v) return Err(v.error());
    return scope.bound.emplace(name, std::move(*v)).first->second.get();
  }

  Status Charge(size_t bytes, Pos pos) {
    copied_bytes_ += bytes;
    if (copied_bytes_ <= kMaxExpandedBytes) return Status::Ok();
    return Error(pos, fmt::format("custom components expand into more than {} MiB of expressions",
                                  kMaxExpandedBytes >> 20));
  }

  // Where a copy's node is: its place in the declare, and the instance (for errors).
  static Pos InInstance(Pos pos, const Scope& scope) {
    pos.instance = scope.instance;
    return pos;
  }

  const Loader& loader_;
  std::map<std::string, CustomInstance>& instances_;
  std::vector<std::string>& instance_names_;
  std::vector<std::string> expanding_;  // the declares being instantiated, outermost first
  size_t copies_ = 0;                   // components and instances made inside instances
  size_t copied_bytes_ = 0;             // of expressions made inside instances
};

}  // namespace

Status Loader::ExpandCustomComponents() {
  const bool any = std::ranges::any_of(ast_.blocks, [](const Block& b) {
    return b.name == "declare" || b.name == "argument" || b.name == "export";
  });
  if (!any) return Status::Ok();
  Scope top;
  std::vector<Block> out;
  if (Status s = Expander(*this, &instances_, &instance_names_).Body(ast_.blocks, &top, &out);
      !s.ok()) {
    return s;
  }
  ast_.blocks = std::move(out);
  return Status::Ok();
}

Status Loader::CheckInstances() {
  for (const auto& [id, inst] : instances_) {
    for (const lang::alloy::ExprPtr& a : inst.arguments) {
      if (Result<Value> v = eval_.Eval(*a); !v) return v.error();
    }
    for (const auto& [name, e] : inst.exports) {
      size_t consumed = 0;
      Result<Value> v = InstanceExport(id, inst, {id, name}, 1, &consumed, e->pos);
      if (!v) return v.error();
    }
  }
  return Status::Ok();
}

}  // namespace skidder::config::alloy_internal
