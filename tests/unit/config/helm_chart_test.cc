// Real-world configs users will bring from Promtail must parse unchanged.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace skidder::config {
namespace {

// The scrape config of the official Promtail Helm chart, which most Kubernetes users run.
constexpr const char* kHelmChartConfig = R"(server:
  log_level: info
  log_format: logfmt
  http_listen_port: 3101
clients:
  - url: http://loki-gateway/loki/api/v1/push
positions:
  filename: /run/promtail/positions.yaml
scrape_configs:
  - job_name: kubernetes-pods
    pipeline_stages:
      - cri: {}
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - source_labels:
          - __meta_kubernetes_pod_controller_name
        regex: ([0-9a-z-.]+?)(-[0-9a-f]{8,10})?
        action: replace
        target_label: __tmp_controller_name
      - source_labels:
          - __meta_kubernetes_pod_label_app_kubernetes_io_name
          - __meta_kubernetes_pod_label_app
          - __tmp_controller_name
          - __meta_kubernetes_pod_name
        regex: ^;*([^;]+)(;.*)?$
        action: replace
        target_label: app
      - action: replace
        replacement: $1
        separator: /
        source_labels:
        - namespace
        - app
        target_label: job
      - action: replace
        replacement: /var/log/pods/*$1/*.log
        separator: /
        source_labels:
        - __meta_kubernetes_pod_uid
        - __meta_kubernetes_pod_container_name
        target_label: __path__
      - action: replace
        regex: true/(.*)
        replacement: /var/log/pods/*$1/*.log
        separator: /
        source_labels:
        - __meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash
        - __meta_kubernetes_pod_annotation_kubernetes_io_config_hash
        - __meta_kubernetes_pod_container_name
        target_label: __path__
limits_config:
tracing:
  enabled: false
)";

TEST(ParseConfig, AcceptsTheOfficialHelmChartConfig) {
  Result<Config> cfg = ParseConfig(kHelmChartConfig, "helm.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->scrape_configs.size(), 1u);
  EXPECT_EQ(cfg->scrape_configs[0].relabel_configs.size(), 5u);
  EXPECT_EQ(cfg->scrape_configs[0].relabel_configs[0].regex, "([0-9a-z-.]+?)(-[0-9a-f]{8,10})?");
  EXPECT_EQ(cfg->scrape_configs[0].pipeline_stages.at(0).type, "cri");
}

}  // namespace
}  // namespace skidder::config
