#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stage_test_util.h"
#include "support/mmdb_writer.h"
#include "support/test_util.h"

namespace skidder::pipeline {
namespace {

using skidder::testing::MmdbValue;
using skidder::testing::MmdbWriter;
using testing::ConfigError;
using ::testing::HasSubstr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

MmdbValue Names(const char* en) { return MmdbValue::Map({{"en", MmdbValue::String(en)}}); }

// The record of Promtail's documentation example (34.120.177.193, Kansas City).
MmdbValue KansasCity() {
  return MmdbValue::Map({
      {"city", MmdbValue::Map(
                   {{"geoname_id", MmdbValue::Uint32(4393217)}, {"names", Names("Kansas City")}})},
      {"continent",
       MmdbValue::Map({{"code", MmdbValue::String("NA")}, {"names", Names("North America")}})},
      {"country",
       MmdbValue::Map({{"iso_code", MmdbValue::String("US")}, {"names", Names("United States")}})},
      {"location", MmdbValue::Map({{"latitude", MmdbValue::Double(39.1027)},
                                   {"longitude", MmdbValue::Double(-94.5778)},
                                   {"time_zone", MmdbValue::String("America/Chicago")}})},
      {"postal", MmdbValue::Map({{"code", MmdbValue::String("64184")}})},
      {"subdivisions", MmdbValue::Array({MmdbValue::Map({{"iso_code", MmdbValue::String("MO")},
                                                         {"names", Names("Missouri")}})})},
  });
}

// A country-level record only, in a network of its own.
MmdbValue Germany() {
  return MmdbValue::Map({
      {"continent",
       MmdbValue::Map({{"code", MmdbValue::String("EU")}, {"names", Names("Europe")}})},
      {"country", MmdbValue::Map({{"names", Names("Germany")}})},
      {"subdivisions", MmdbValue::Array({MmdbValue::Map({{"iso_code", MmdbValue::String("BY")},
                                                         {"names", Names("Bavaria")}}),
                                         MmdbValue::Map({{"iso_code", MmdbValue::String("091")},
                                                         {"names", Names("Upper Bavaria")}})})},
  });
}

class GeoipStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int version : {4, 6}) {
      MmdbWriter city("GeoLite2-City", version);
      ASSERT_TRUE(city.Insert("34.120.0.0/16", KansasCity()));
      ASSERT_TRUE(city.Insert("85.10.0.0/17", Germany()));
      if (version == 6) {
        ASSERT_TRUE(city.Insert("2001:db8::/32", Germany()));
      }
      ASSERT_TRUE(city.WriteFile(dir_ / ("city" + std::to_string(version) + ".mmdb")));
    }
    MmdbWriter asn("GeoLite2-ASN", 6);
    ASSERT_TRUE(asn.Insert("34.120.0.0/14",
                           MmdbValue::Map({{"autonomous_system_number", MmdbValue::Uint32(396982)},
                                           {"autonomous_system_organization",
                                            MmdbValue::String("GOOGLE-CLOUD-PLATFORM")}})));
    ASSERT_TRUE(asn.WriteFile(dir_ / "asn.mmdb"));
  }

  std::unique_ptr<Stage> Build(const std::string& db, const std::string& type) {
    return MustBuild("geoip:\n  db: " + (dir_ / db) + "\n  source: ip\n  db_type: " + type);
  }

  // Labels after looking up ip.
  std::string Lookup(Stage& stage, const std::string& ip) {
    PipelineEntry pe{MakeEntry("line", {{"job", "web"}}), {}};
    pe.extracted.Set("ip", ip);
    testing::Collect out;
    stage.Process(std::move(pe), out);
    EXPECT_EQ(out.entries.size(), 1u);
    return out.entries.empty() ? "" : out.entries[0].entry.labels.ToString();
  }

  skidder::testing::TempDir dir_;
};

TEST_F(GeoipStageTest, SetsCityLabelsAsInPromtailsExample) {
  const std::string kKansas =
      "{geoip_city_name=\"Kansas City\", geoip_continent_code=\"NA\", "
      "geoip_continent_name=\"North America\", geoip_country_name=\"United States\", "
      "geoip_location_latitude=\"39.1027\", geoip_location_longitude=\"-94.5778\", "
      "geoip_postal_code=\"64184\", geoip_subdivision_code=\"MO\", "
      "geoip_subdivision_name=\"Missouri\", geoip_timezone=\"America/Chicago\", job=\"web\"}";
  const std::string kGermany =
      "{geoip_continent_code=\"EU\", geoip_continent_name=\"Europe\", "
      "geoip_country_name=\"Germany\", geoip_subdivision_code=\"091\", "
      "geoip_subdivision_name=\"Upper Bavaria\", job=\"web\"}";
  for (const char* db : {"city4.mmdb", "city6.mmdb"}) {
    SCOPED_TRACE(db);
    auto stage = Build(db, "city");
    ASSERT_NE(stage, nullptr);
    EXPECT_EQ(Lookup(*stage, "34.120.177.193"), kKansas);
    EXPECT_EQ(Lookup(*stage, "85.10.99.1"), kGermany);          // most specific subdivision
    EXPECT_EQ(Lookup(*stage, "85.10.128.1"), "{job=\"web\"}");  // outside the /17
    EXPECT_EQ(Lookup(*stage, "not an ip"), "{job=\"web\"}");
    EXPECT_EQ(Lookup(*stage, "34.120.177.193 "), "{job=\"web\"}");
  }
  auto v6 = Build("city6.mmdb", "city");
  EXPECT_EQ(Lookup(*v6, "2001:db8::1"), kGermany);
  EXPECT_EQ(Lookup(*Build("city4.mmdb", "city"), "2001:db8::1"), "{job=\"web\"}");
}

TEST_F(GeoipStageTest, SetsAsnLabels) {
  auto stage = Build("asn.mmdb", "asn");
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(Lookup(*stage, "34.121.0.9"),
            "{geoip_autonomous_system_number=\"396982\", "
            "geoip_autonomous_system_organization=\"GOOGLE-CLOUD-PLATFORM\", job=\"web\"}");
}

TEST_F(GeoipStageTest, CountryDatabaseSetsCountryAndContinent) {
  auto stage = Build("city4.mmdb", "country");
  EXPECT_EQ(Lookup(*stage, "34.120.1.1"),
            "{geoip_continent_code=\"NA\", geoip_continent_name=\"North America\", "
            "geoip_country_name=\"United States\", job=\"web\"}");
}

TEST_F(GeoipStageTest, PassesEntriesWithoutTheSourceUnchanged) {
  auto stage = Build("city4.mmdb", "city");
  auto out = RunStage(*stage, MakeEntry("34.120.177.193", {{"job", "web"}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.labels.ToString(), "{job=\"web\"}");
}

TEST_F(GeoipStageTest, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("geoip:\n  source: ip\n  db_type: city"),
            "promtail.yaml:2:3: pipeline_stages[0].db: db path cannot be empty");
  EXPECT_EQ(ConfigError("geoip:\n  db: " + (dir_ / "asn.mmdb") + "\n  source: ip\n  db_type: isp"),
            "promtail.yaml:4:12: pipeline_stages[0].db_type: db type should be either city or "
            "asn (or country)");
  EXPECT_THAT(ConfigError("geoip:\n  db: /nonexistent.mmdb\n  source: ip\n  db_type: city"),
              HasSubstr("promtail.yaml:2:7: pipeline_stages[0].db: cannot open "
                        "/nonexistent.mmdb: "));
  EXPECT_EQ(ConfigError("geoip:\n  db: " + (dir_ / "asn.mmdb") + "\n  source: ''\n  db_type: asn"),
            "promtail.yaml:3:11: pipeline_stages[0].source: source cannot be empty");
  EXPECT_EQ(ConfigError("geoip:\n  db: " + (dir_ / "asn.mmdb") + "\n  db_type: asn\n  src: ip"),
            "promtail.yaml:4:3: pipeline_stages[0]: unknown key \"src\"");
}

}  // namespace
}  // namespace skidder::pipeline
