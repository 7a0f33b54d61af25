# Packaging.cmake — install layout and CPack .deb packages (issue 14).
#
#   cmake --build build --target package   → build/scanfarm-{coordinator,worker,cli}_<ver>_<arch>.deb
#
# One package per component. Shared-library dependencies are computed by
# dpkg-shlibdeps from the built binaries (libnng1, libpq5, libmicrohttpd12,
# libjansson4, libcurl4, libssl3, libarchive13, libbpf1, libyaml-0-2,
# libmsgpackc2, libc6); the programs the worker runs are listed by hand.
# Nothing here is needed by the normal build: install() and include(CPack)
# only generate rules.
include(GNUInstallDirs)

set(SF_PKG ${PROJECT_SOURCE_DIR}/packaging)
set(SF_UNITDIR lib/systemd/system)   # under /usr: /usr/lib/systemd/system

# coordinator
install(FILES ${SF_PKG}/systemd/scanfarm-coordinator.service
        DESTINATION ${SF_UNITDIR} COMPONENT coordinator)
install(FILES ${SF_PKG}/examples/coordinator.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/scanfarm-coordinator/examples COMPONENT coordinator)
install(FILES ${PROJECT_SOURCE_DIR}/docs/deploy.md ${PROJECT_SOURCE_DIR}/docs/operations.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/scanfarm-coordinator COMPONENT coordinator)

# worker: binary, rules CLI, rules/, the host set-up + rootfs build script, units
install(FILES ${SF_PKG}/systemd/scanfarm-worker.service ${SF_PKG}/systemd/scanfarm-worker@.service
              ${SF_PKG}/systemd/scanfarm-worker.target
              ${SF_PKG}/systemd/scanfarm-prepare.service
        DESTINATION ${SF_UNITDIR} COMPONENT worker)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/rules/ DESTINATION ${CMAKE_INSTALL_DATADIR}/scanfarm/rules
        COMPONENT worker FILES_MATCHING PATTERN "*.yaml" PATTERN "README.md")
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/setup.sh DESTINATION lib/scanfarm COMPONENT worker)
# Falco's configuration for the falco-* backends (docs/falco.md): config.d/
# goes into Falco's config.d as it is, outputs/<backend>.yaml next to it.
install(DIRECTORY ${SF_PKG}/falco/config.d ${SF_PKG}/falco/outputs
        DESTINATION ${CMAKE_INSTALL_DATADIR}/scanfarm/falco COMPONENT worker FILES_MATCHING PATTERN "*.yaml")
install(FILES ${SF_PKG}/examples/worker.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/scanfarm-worker/examples COMPONENT worker)
install(FILES ${PROJECT_SOURCE_DIR}/docs/deploy.md ${PROJECT_SOURCE_DIR}/docs/operations.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/scanfarm-worker COMPONENT worker)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME scanfarm)
set(CPACK_PACKAGE_VENDOR scanfarm)
set(CPACK_PACKAGE_CONTACT "scanfarm maintainers <scanfarm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "behavioural scanner for npm packages")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL coordinator worker cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/scanfarm")

set(CPACK_DEBIAN_COORDINATOR_PACKAGE_NAME scanfarm-coordinator)
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_RECOMMENDS "postgresql-client")
set(CPACK_COMPONENT_COORDINATOR_DESCRIPTION
  "scanfarm coordinator\n REST API, PostgreSQL job queue, artifact store and NNG dispatch.")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_CONTROL_EXTRA
  ${SF_PKG}/debian/coordinator/postinst ${SF_PKG}/debian/coordinator/prerm)

set(CPACK_DEBIAN_WORKER_PACKAGE_NAME scanfarm-worker)
# crun (or runc) runs the sandbox, tinyproxy is the fetch phase's allowlisting
# proxy, mmdebstrap builds the rootfs, util-linux mounts cgroup/tracefs,
# e2fsprogs makes each job's disk and the rootfs image (mkfs.ext4).
set(CPACK_DEBIAN_WORKER_PACKAGE_DEPENDS "crun | runc, tinyproxy, mmdebstrap, util-linux, e2fsprogs, ca-certificates")
set(CPACK_DEBIAN_WORKER_PACKAGE_SUGGESTS "bpftool")
set(CPACK_COMPONENT_WORKER_DESCRIPTION
  "scanfarm worker\n Installs npm packages in crun sandboxes watched by an eBPF sensor and\n evaluates Falco-format rules; systemd units, rules and the rootfs build.")
set(CPACK_DEBIAN_WORKER_PACKAGE_CONTROL_EXTRA
  ${SF_PKG}/debian/worker/postinst ${SF_PKG}/debian/worker/prerm)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME scanfarm-cli)
set(CPACK_COMPONENT_CLI_DESCRIPTION "scanfarm command-line client\n Submits scans and waits for their verdict (CI exit codes).")

include(CPack)
