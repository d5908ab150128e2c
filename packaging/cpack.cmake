# The skidder .deb, built by CPack from the normal install rules:
#   cmake --build build --target skidder && cd build && cpack -G DEB
# Contents: /usr/bin/skidder, /etc/skidder/config.yaml (a conffile, from config/default.yaml),
# the systemd unit and the positions directory /var/lib/skidder. Dependencies are computed from
# the binary's shared libraries (dpkg-shlibdeps). Included at the end of the top-level
# CMakeLists.txt, after install(TARGETS skidder ...).

set(_skidder_pkg ${CMAKE_CURRENT_LIST_DIR})

# Absolute destinations: these paths are fixed by the unit and the default config, whatever the
# install prefix.
# 0640, group skidder (postinst): the config may hold Loki credentials (basic_auth, bearer_token).
install(FILES ${PROJECT_SOURCE_DIR}/config/default.yaml
        DESTINATION /etc/skidder RENAME config.yaml
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${_skidder_pkg}/skidder.service
        DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# Created empty; postinst gives it to the skidder user.
install(DIRECTORY DESTINATION /var/lib/skidder)

# dpkg keeps a changed config across upgrades instead of overwriting it.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles "/etc/skidder/config.yaml\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME skidder)
set(CPACK_PACKAGE_VENDOR skidder)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Log collection agent for Grafana Loki (Promtail-compatible)")
set(CPACK_PACKAGE_DESCRIPTION
    "skidder tails log files and pushes them to Grafana Loki. It reads Promtail's configuration
and flags, keeps its positions across restarts and reports Promtail's metrics. The package
installs a hardened systemd unit reading /etc/skidder/config.yaml; it is not started until
enabled (systemctl enable --now skidder).")
set(CPACK_PACKAGE_CONTACT "skidder maintainers <skidder@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Besides the libraries: postinst creates the service user with adduser; libsystemd0 is
# dlopen'ed by the journal source (sources/journal/reader.cc), so shlibdeps cannot see it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libsystemd0")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles
    ${_skidder_pkg}/debian/postinst
    ${_skidder_pkg}/debian/prerm
    ${_skidder_pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
