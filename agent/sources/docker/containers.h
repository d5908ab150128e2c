// What Prometheus' Docker discovery makes of the daemon's answers: one target per container,
// with the __meta_docker_* labels Promtail's Docker target relabels. Pure: parses JSON text.
//
// Labels (Prometheus' discovery/moby): __meta_docker_container_id, _name (with Docker's leading
// "/"), _network_mode, _label_<name> (sanitised); of the container's network (with
// match_first_network, the first by name; a container sharing another's network gets that
// one's): __meta_docker_network_ip, _id, _name, _scope, _internal, _ingress, _label_<name>; of
// its first TCP port: __meta_docker_port_private, _public and _public_ip; and __address__.
// Prometheus makes one target per network and port; Promtail reads each container once, from
// the first, so one is made here.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/labels.h"
#include "util/status.h"

namespace skidder::sources::docker {

struct ContainerTarget {
  std::string id;
  Labels labels;  // the meta labels above
};

// containers: the answer of GET /containers/json; networks: of GET /networks.
Result<std::vector<ContainerTarget>> ParseContainers(std::string_view containers,
                                                     std::string_view networks,
                                                     const config::DockerSdConfig& cfg);
// The ids of the containers in an answer of GET /containers/json.
Result<std::set<std::string>> ParseContainerIds(std::string_view containers);
// Config.Tty of GET /containers/{id}/json: whether the log stream is raw rather than framed.
Result<bool> ParseTty(std::string_view inspect);

}  // namespace skidder::sources::docker
