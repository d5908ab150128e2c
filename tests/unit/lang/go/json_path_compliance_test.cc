// JMESPath cases in the JMESPath compliance suite's format (jmespath.test's tests/*.json:
// groups of {given, cases: [{expression, result | error}]}), a few dozen per feature, kept in
// tests/testdata/jmespath/compliance.json. Results are compared as JSON values.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <sstream>
#include <string>

#include "lang/go/json_path.h"

namespace skidder::lang::go {
namespace {

using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;

std::string ToJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

// Runs one case; an empty string when it passes, else what went wrong.
std::string RunCase(const Doc& given, const rapidjson::Value& c) {
  const std::string expr = c["expression"].GetString();
  auto path = CompileJsonPath(expr);
  std::string out, error;
  const bool ok = path.has_value() && path->EvalJson(given, &out, &error);
  if (!path) error = path.error().message();
  if (c.HasMember("error")) {
    const std::string want = c["error"].GetString();
    if (ok) return "want error " + want + ", got " + out;
    if (want != "syntax" && error.find(want) == std::string::npos) return "wrong error: " + error;
    if (want == "invalid-type" && !path) return "invalid-type at compile time: " + error;
    return "";
  }
  if (!ok) return "error: " + error;
  rapidjson::Document got;
  got.Parse(out.c_str());
  if (got.HasParseError()) return "not JSON: " + out;
  if (got != c["result"]) return "got " + out + ", want " + ToJson(c["result"]);
  return "";
}

TEST(JsonPathCompliance, PassesTheSuitesCasesForEveryFeature) {
  std::ifstream in(std::string(SKIDDER_TESTDATA) + "/jmespath/compliance.json");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document suite;
  suite.Parse(text.str().c_str());
  ASSERT_FALSE(suite.HasParseError());
  int cases = 0;
  for (auto feature = suite.MemberBegin(); feature != suite.MemberEnd(); ++feature) {
    for (const auto& group : feature->value.GetArray()) {
      Doc given;
      given.Parse(ToJson(group["given"]).c_str());
      for (const auto& c : group["cases"].GetArray()) {
        ++cases;
        EXPECT_EQ(RunCase(given, c), "")
            << feature->name.GetString() << ": " << c["expression"].GetString();
      }
    }
  }
  EXPECT_GE(cases, 150);
}

}  // namespace
}  // namespace skidder::lang::go
