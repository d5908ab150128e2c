#include "pipeline/stages/geoip.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <maxminddb.h>
#include <netinet/in.h>

#include <cstring>
#include <utility>

#include "pipeline/stage_support.h"
#include "util/log.h"

namespace skidder::pipeline::stages {
namespace {

enum class DbType { kCity, kAsn, kCountry };

// An open database; closed with the stage.
class Database {
 public:
  Database() = default;
  ~Database() {
    if (open_) MMDB_close(&db_);
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status Open(const std::string& path) {
    int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
    if (rc != MMDB_SUCCESS) {
      return InvalidArgument(fmt::format("cannot open {}: {}", path, MMDB_strerror(rc)));
    }
    open_ = true;
    return Status::Ok();
  }
  MMDB_s* get() { return &db_; }

 private:
  MMDB_s db_{};
  bool open_ = false;
};

// The record's value at path as label text; "" when absent or of another type.
std::string Text(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s d{};
  if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data) return {};
  switch (d.type) {
    case MMDB_DATA_TYPE_UTF8_STRING:
      return std::string(d.utf8_string, d.data_size);
    case MMDB_DATA_TYPE_DOUBLE:
      return fmt::format("{}", d.double_value);
    case MMDB_DATA_TYPE_FLOAT:
      return fmt::format("{}", d.float_value);
    case MMDB_DATA_TYPE_UINT16:
      return d.uint16 == 0 ? std::string() : std::to_string(d.uint16);
    case MMDB_DATA_TYPE_UINT32:
      return d.uint32 == 0 ? std::string() : std::to_string(d.uint32);
    case MMDB_DATA_TYPE_UINT64:
      return d.uint64 == 0 ? std::string() : std::to_string(d.uint64);
    default:
      return {};
  }
}

void SetIfPresent(Labels& labels, std::string_view name, std::string value) {
  if (!value.empty()) labels.Set(name, value);
}

class GeoipStage final : public Stage {
 public:
  GeoipStage(std::unique_ptr<Database> db, std::string source, DbType type)
      : db_(std::move(db)), source_(std::move(source)), type_(type) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    MMDB_entry_s entry{};
    if (Lookup(e, &entry)) Populate(&entry, e.entry.labels);
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "geoip"; }

 private:
  bool Lookup(const PipelineEntry& e, MMDB_entry_s* entry) {
    if (source_.empty()) return false;
    const std::string* ip = e.extracted.Get(source_, e.entry.labels);
    if (ip == nullptr || ip->size() >= INET6_ADDRSTRLEN) return false;
    char text[INET6_ADDRSTRLEN];
    std::memcpy(text, ip->data(), ip->size());
    text[ip->size()] = '\0';
    sockaddr_storage addr{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
    } else {
      return false;
    }
    int error = MMDB_SUCCESS;
    MMDB_lookup_result_s r =
        MMDB_lookup_sockaddr(db_->get(), reinterpret_cast<sockaddr*>(&addr), &error);
    if (error != MMDB_SUCCESS || !r.found_entry) return false;
    *entry = r.entry;
    return true;
  }

  void Populate(MMDB_entry_s* entry, Labels& labels) {
    if (type_ == DbType::kAsn) {
      static const char* const kNumber[] = {"autonomous_system_number", nullptr};
      static const char* const kOrg[] = {"autonomous_system_organization", nullptr};
      SetIfPresent(labels, "geoip_autonomous_system_number", Text(entry, kNumber));
      SetIfPresent(labels, "geoip_autonomous_system_organization", Text(entry, kOrg));
      return;
    }
    static const char* const kCountry[] = {"country", "names", "en", nullptr};
    static const char* const kContinent[] = {"continent", "names", "en", nullptr};
    static const char* const kContinentCode[] = {"continent", "code", nullptr};
    SetIfPresent(labels, "geoip_country_name", Text(entry, kCountry));
    SetIfPresent(labels, "geoip_continent_name", Text(entry, kContinent));
    SetIfPresent(labels, "geoip_continent_code", Text(entry, kContinentCode));
    if (type_ == DbType::kCity) PopulateCity(entry, labels);
  }

  void PopulateCity(MMDB_entry_s* entry, Labels& labels) {
    static const char* const kCity[] = {"city", "names", "en", nullptr};
    static const char* const kPostal[] = {"postal", "code", nullptr};
    static const char* const kTimezone[] = {"location", "time_zone", nullptr};
    static const char* const kLat[] = {"location", "latitude", nullptr};
    static const char* const kLon[] = {"location", "longitude", nullptr};
    SetIfPresent(labels, "geoip_city_name", Text(entry, kCity));
    SetIfPresent(labels, "geoip_postal_code", Text(entry, kPostal));
    SetIfPresent(labels, "geoip_timezone", Text(entry, kTimezone));
    std::string lat = Text(entry, kLat), lon = Text(entry, kLon);
    if (!lat.empty() && !lon.empty()) {  // Promtail sets both or neither
      labels.Set("geoip_location_latitude", lat);
      labels.Set("geoip_location_longitude", lon);
    }
    // The most specific subdivision is the last one.
    static const char* const kSubdivisions[] = {"subdivisions", nullptr};
    MMDB_entry_data_s list{};
    if (MMDB_aget_value(entry, &list, kSubdivisions) != MMDB_SUCCESS || !list.has_data ||
        list.type != MMDB_DATA_TYPE_ARRAY || list.data_size == 0) {
      return;
    }
    const std::string last = std::to_string(list.data_size - 1);
    const char* const kName[] = {"subdivisions", last.c_str(), "names", "en", nullptr};
    const char* const kCode[] = {"subdivisions", last.c_str(), "iso_code", nullptr};
    SetIfPresent(labels, "geoip_subdivision_name", Text(entry, kName));
    SetIfPresent(labels, "geoip_subdivision_code", Text(entry, kCode));
  }

  std::unique_ptr<Database> db_;
  std::string source_;
  DbType type_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewGeoipStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string db_path, source, db_type;
  r.Str("db", &db_path);
  if (r.Has("source")) {
    r.Str("source", &source);
    if (source.empty()) r.Fail("source", "source cannot be empty");
  }
  r.Str("db_type", &db_type);
  DbType type = DbType::kCity;
  if (db_type == "asn")
    type = DbType::kAsn;
  else if (db_type == "country")
    type = DbType::kCountry;
  else if (db_type != "city")
    r.Fail("db_type", "db type should be either city or asn (or country)");
  if (db_path.empty()) r.Fail("db", "db path cannot be empty");
  auto db = std::make_unique<Database>();
  if (!db_path.empty()) {
    if (Status s = db->Open(db_path); !s.ok()) r.Fail("db", s.message());
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (source.empty()) {
    LOG_WARN("geoip stage has no source: it will not look anything up",
             {{"stage", path}, {"config", cfg.file}});
  }
  return std::make_unique<GeoipStage>(std::move(db), std::move(source), type);
}

}  // namespace skidder::pipeline::stages
