// LoadYamlBounded: yaml-cpp's Load with a bound on alias expansion. yaml-cpp shares an aliased
// node instead of copying it, so loading a "billion laughs" document is cheap; but everything
// that reads the config afterwards (stage construction above all) walks the expanded tree, and
// 800 bytes of nested aliases expand to millions of match stages. A first pass over the
// parser's events counts the nodes aliases add and refuses the document past a bound.
#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <cstdint>
#include <sstream>
#include <vector>

#include "config/yaml_reader.h"

namespace skidder::config {
namespace {

class AliasBudget final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { Leaf(anchor); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    Leaf(anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const uint64_t size = anchor < sizes_.size() ? sizes_[anchor] : 1;
    nodes_ += size;
    added_ += size;
    if (added_ > kMaxYamlAliasNodes) {
      throw YAML::ParserException(
          mark,
          fmt::format("aliases expand to more than {} nodes (an alias bomb?)", kMaxYamlAliasNodes));
    }
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    uint64_t start;  // nodes_ before the collection
  };

  void Leaf(YAML::anchor_t anchor) {
    ++nodes_;
    Record(anchor, 1);
  }
  void Open(YAML::anchor_t anchor) {
    open_.push_back({anchor, nodes_});
    ++nodes_;
  }
  void Close() {
    if (open_.empty()) return;
    const Frame f = open_.back();
    open_.pop_back();
    Record(f.anchor, nodes_ - f.start);
  }
  // The size of what an anchor names, aliases inside it expanded.
  void Record(YAML::anchor_t anchor, uint64_t size) {
    if (anchor == YAML::NullAnchor) return;
    if (sizes_.size() <= anchor) sizes_.resize(anchor + 1, 1);
    sizes_[anchor] = size;
  }

  std::vector<uint64_t> sizes_;  // by anchor id
  std::vector<Frame> open_;
  uint64_t nodes_ = 0;  // nodes so far, aliases expanded
  uint64_t added_ = 0;  // of which aliases added
};

}  // namespace

YAML::Node LoadYamlBounded(const std::string& text) {
  {
    std::istringstream in(text);
    YAML::Parser parser(in);
    AliasBudget budget;
    parser.HandleNextDocument(budget);  // YAML::Load reads the first document only, too
  }
  return YAML::Load(text);
}

}  // namespace skidder::config
