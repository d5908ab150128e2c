// The geoip stage: labels from a MaxMind database lookup of an extracted IP, like Promtail's
// geoip stage (libmaxminddb).
//
// `db` is the .mmdb file (opened, memory-mapped, when the stage is built), `source` the
// extracted key holding the IP, `db_type` city | asn | country. The fields Promtail sets, as
// labels, when the record has them:
//   city:    geoip_city_name, geoip_country_name, geoip_continent_name, geoip_continent_code,
//            geoip_location_latitude, geoip_location_longitude, geoip_postal_code,
//            geoip_timezone, geoip_subdivision_name, geoip_subdivision_code (most specific one)
//   asn:     geoip_autonomous_system_number, geoip_autonomous_system_organization
//   country: geoip_country_name, geoip_continent_name, geoip_continent_code (skidder's addition:
//            Promtail knows only city and asn)
// Names are the English ones. A missing source, an unparsable IP or an address not in the
// database leaves the entry unchanged. Without `source` the stage does nothing, as in Promtail.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewGeoipStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
