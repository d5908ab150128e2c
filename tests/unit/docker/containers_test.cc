// Discovery labels as Prometheus' Docker discovery sets them, and the position format.
#include "sources/docker/containers.h"

#include <gtest/gtest.h>

#include "sources/docker/container_reader.h"
#include "sources/docker/docker_api.h"

namespace skidder::sources::docker {
namespace {

constexpr const char* kNetworks = R"([
  {"Id":"net1","Name":"bridge","Scope":"local","Internal":false,"Ingress":false,
   "Labels":{"com.example.tier":"front"}},
  {"Id":"net2","Name":"zeta","Scope":"swarm","Internal":true,"Ingress":false,"Labels":{}}])";

std::string Get(const Labels& l, std::string_view name) {
  const std::string* v = l.Get(name);
  return v == nullptr ? "<absent>" : *v;
}

TEST(DockerDiscovery, ContainerGetsPrometheusMetaLabels) {
  const char* list =
      R"([{"Id":"abc123","Names":["/web"],"Labels":{"com.docker.compose.service":"web"},
    "HostConfig":{"NetworkMode":"bridge"},
    "NetworkSettings":{"Networks":{"zeta":{"NetworkID":"net2","IPAddress":"10.0.0.9"},
                                   "bridge":{"NetworkID":"net1","IPAddress":"172.17.0.2"}}},
    "Ports":[{"PrivatePort":53,"Type":"udp"},{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}]}])";
  config::DockerSdConfig cfg;
  auto found = ParseContainers(list, kNetworks, cfg);
  ASSERT_TRUE(found.has_value()) << found.error().message();
  ASSERT_EQ(found->size(), 1u);
  const Labels& l = (*found)[0].labels;
  EXPECT_EQ((*found)[0].id, "abc123");
  EXPECT_EQ(Get(l, "__meta_docker_container_id"), "abc123");
  EXPECT_EQ(Get(l, "__meta_docker_container_name"), "/web");
  EXPECT_EQ(Get(l, "__meta_docker_container_network_mode"), "bridge");
  EXPECT_EQ(Get(l, "__meta_docker_container_label_com_docker_compose_service"), "web");
  // match_first_network: "bridge" sorts before "zeta".
  EXPECT_EQ(Get(l, "__meta_docker_network_name"), "bridge");
  EXPECT_EQ(Get(l, "__meta_docker_network_id"), "net1");
  EXPECT_EQ(Get(l, "__meta_docker_network_ip"), "172.17.0.2");
  EXPECT_EQ(Get(l, "__meta_docker_network_scope"), "local");
  EXPECT_EQ(Get(l, "__meta_docker_network_internal"), "false");
  EXPECT_EQ(Get(l, "__meta_docker_network_ingress"), "false");
  EXPECT_EQ(Get(l, "__meta_docker_network_label_com_example_tier"), "front");
  EXPECT_EQ(Get(l, "__meta_docker_port_private"), "80");
  EXPECT_EQ(Get(l, "__meta_docker_port_public"), "8080");
  EXPECT_EQ(Get(l, "__meta_docker_port_public_ip"), "0.0.0.0");
  EXPECT_EQ(Get(l, "__address__"), "172.17.0.2:80");
}

TEST(DockerDiscovery, AddressFallsBackToPortOrHostNetworkingHost) {
  const char* list = R"([
    {"Id":"a","Names":["/a"],"HostConfig":{"NetworkMode":"bridge"},
     "NetworkSettings":{"Networks":{"bridge":{"NetworkID":"net1","IPAddress":"172.17.0.3"}}}},
    {"Id":"b","Names":["/b"],"HostConfig":{"NetworkMode":"host"},
     "NetworkSettings":{"Networks":{"host":{"NetworkID":"hostnet","IPAddress":""}}}},
    {"Id":"c","Names":["/c"],"HostConfig":{"NetworkMode":"container:a"},
     "NetworkSettings":{"Networks":{}}},
    {"Id":"nameless","Names":[]}])";
  config::DockerSdConfig cfg;
  cfg.port = 9100;
  cfg.host_networking_host = "docker-host";
  auto found = ParseContainers(list, kNetworks, cfg);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->size(), 3u);  // a container without a name is skipped, as Prometheus does
  EXPECT_EQ(Get((*found)[0].labels, "__address__"), "172.17.0.3:9100");
  EXPECT_EQ(Get((*found)[1].labels, "__address__"), "docker-host");
  // Sharing a's network: a's address and network labels.
  EXPECT_EQ(Get((*found)[2].labels, "__meta_docker_network_ip"), "172.17.0.3");
  EXPECT_EQ(Get((*found)[2].labels, "__meta_docker_network_name"), "bridge");
}

TEST(DockerDiscovery, RefusesAnswersThatAreNotJson) {
  config::DockerSdConfig cfg;
  EXPECT_FALSE(ParseContainers("<html>", "[]", cfg).has_value());
  EXPECT_FALSE(ParseContainers("[]", "{", cfg).has_value());
  EXPECT_FALSE(ParseTty("nope").has_value());
  EXPECT_TRUE(*ParseTty(R"({"Config":{"Tty":true}})"));
  EXPECT_FALSE(*ParseTty(R"({"Config":{}})"));
}

TEST(DockerDiscovery, FiltersBecomeDockersFiltersArgument) {
  config::DockerSdConfig cfg;
  EXPECT_EQ(ListPath(cfg), "/containers/json");
  cfg.filters = {{"label", {"a=b"}}, {"status", {"running"}}, {"label", {"c"}}};
  EXPECT_EQ(ListPath(cfg), "/containers/json?filters=" +
                               UrlEncode(R"({"label":["a=b","c"],"status":["running"]})"));
}

// Which of the containers read before the daemon still has: one listing with all=1 (stopped ones
// too) and Docker's id filter.
TEST(DockerDiscovery, AskingWhichContainersStillExist) {
  EXPECT_EQ(ExistingPath({"0a1b", "ff"}),
            "/containers/json?all=1&filters=" + UrlEncode(R"({"id":["0a1b","ff"]})"));
  auto ids = ParseContainerIds(R"([{"Id":"0a1b","State":"exited"},{"Names":["/x"]},{"Id":"ff"}])");
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(*ids, (std::set<std::string>{"0a1b", "ff"}));
  EXPECT_FALSE(ParseContainerIds(R"({"message":"page not found"})").has_value());
  EXPECT_FALSE(ParseContainerIds("<html>").has_value());
}

TEST(DockerPositions, RoundTripAndReadPromtailSeconds) {
  EXPECT_EQ(FormatSince(1714557600'000000042), "1714557600.000000042");
  EXPECT_EQ(FormatPosition({1714557600'000000042, 0}), "1714557600.000000042");
  EXPECT_EQ(FormatPosition({1714557600'000000042, 3}), "1714557600.000000042+3");
  EXPECT_EQ(ParsePosition("1714557600.000000042+3"), (Position{1714557600'000000042, 3}));
  EXPECT_EQ(ParsePosition("1714557600.000000042"), (Position{1714557600'000000042, 0}));
  EXPECT_EQ(ParsePosition("1714557600"), (Position{1714557600'000000000, 0}));  // Promtail's
  EXPECT_EQ(ParsePosition("1714557600.5"), (Position{1714557600'500000000, 0}));
  EXPECT_FALSE(ParsePosition("s=abc;i=1").has_value());  // a journal cursor
  EXPECT_FALSE(ParsePosition("").has_value());
  EXPECT_FALSE(ParsePosition("1.1234567890").has_value());
  EXPECT_FALSE(ParsePosition("1.5+").has_value());
  EXPECT_FALSE(ParsePosition("1.5+x").has_value());
}

}  // namespace
}  // namespace skidder::sources::docker
