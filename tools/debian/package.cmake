# The Debian package, built by CPack: `cmake --build build --target package` writes
# build/crowcast_<version>-<revision>_<arch>.deb (tools/package.sh does it in a Release build of
# its own). What goes in: crowcast and crowcast-diag in /usr/bin, the systemd units of the tracker
# and the agent in /lib/systemd/system, their settings in /etc/crowcast (conffiles), a man page
# per command (generated from --help by tools/make-man.sh), bash completion, README, copyright
# and changelog in /usr/share/doc/crowcast. Dependencies come from dpkg-shlibdeps.
# The install rules are written for the package (prefix /usr, units and settings at the absolute
# paths the units name); `cmake --install` elsewhere is not a supported way to install crowcast.
include(GNUInstallDirs)

set(crow_deb_dir ${CMAKE_CURRENT_LIST_DIR})
set(crow_deb_out ${PROJECT_BINARY_DIR}/debian)
set(crow_deb_prefix /usr)
set(crow_unit_dir /lib/systemd/system)
set(crow_etc_dir /etc/crowcast)
file(MAKE_DIRECTORY ${crow_deb_out})

# The package's Debian revision is the top entry of the changelog, whose upstream part must be the
# project's version (a new version needs a changelog entry).
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${crow_deb_dir}/changelog)
file(STRINGS ${crow_deb_dir}/changelog crow_deb_top LIMIT_COUNT 1)
if(NOT crow_deb_top MATCHES "^crowcast \\(([^)-]+)-([^)]+)\\) ")
  message(FATAL_ERROR "tools/debian/changelog: the first line is not 'crowcast (VERSION-REVISION) ...'")
endif()
set(crow_deb_revision ${CMAKE_MATCH_2})
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(WARNING "tools/debian/changelog's top entry is ${CMAKE_MATCH_1}, the project is "
    "${PROJECT_VERSION}: add a changelog entry before packaging")
endif()
execute_process(COMMAND gzip -9n -c ${crow_deb_dir}/changelog
  OUTPUT_FILE ${crow_deb_out}/changelog.Debian.gz RESULT_VARIABLE crow_gzip_rc)
if(NOT crow_gzip_rc EQUAL 0)
  message(FATAL_ERROR "gzip of tools/debian/changelog failed")
endif()

install(TARGETS crowcast_cli crowcast_diag RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# A stripped install (CPack: CPACK_STRIP_FILES) also drops the sections dh_strip drops.
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    foreach(exe crowcast crowcast-diag)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment --remove-section=.note
        \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/\${exe}\" COMMAND_ERROR_IS_FATAL ANY)
    endforeach()
  endif()")

# The units in tools/ name /usr/local/bin/crowcast (installed by hand); the packaged ones /usr/bin.
foreach(unit crowcast-tracker.service crowcast-agent.service)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/${unit})
  file(READ ${PROJECT_SOURCE_DIR}/tools/${unit} crow_unit_text)
  string(REPLACE "/usr/local/bin/crowcast" "${crow_deb_prefix}/${CMAKE_INSTALL_BINDIR}/crowcast"
    crow_unit_text "${crow_unit_text}")
  file(CONFIGURE OUTPUT ${crow_deb_out}/${unit} CONTENT "${crow_unit_text}" @ONLY)
  install(FILES ${crow_deb_out}/${unit} DESTINATION ${crow_unit_dir})
endforeach()

# Settings: conffiles, so dpkg keeps the operator's edits across upgrades.
set(crow_conffiles "")
foreach(crow_pair "crowcast-tracker.env;tracker.env" "crowcast-agent.env;agent.env"
    "crowcast-racks.conf;racks.conf")
  list(GET crow_pair 0 crow_src)
  list(GET crow_pair 1 crow_dst)
  install(FILES ${PROJECT_SOURCE_DIR}/tools/${crow_src} DESTINATION ${crow_etc_dir} RENAME ${crow_dst})
  string(APPEND crow_conffiles "${crow_etc_dir}/${crow_dst}\n")
endforeach()
# The control plane's secrets: readable by root only (systemd hands them to the tracker's dynamic user).
install(FILES ${PROJECT_SOURCE_DIR}/tools/crowcast-control.keys DESTINATION ${crow_etc_dir}
  RENAME control.keys PERMISSIONS OWNER_READ OWNER_WRITE)
string(APPEND crow_conffiles "${crow_etc_dir}/control.keys\n")
file(CONFIGURE OUTPUT ${crow_deb_out}/conffiles CONTENT "${crow_conffiles}")

install(FILES ${PROJECT_SOURCE_DIR}/tools/crowcast.bash-completion
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME crowcast)
install(FILES ${PROJECT_SOURCE_DIR}/tools/crowcast.bash-completion
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME crowcast-diag)
install(FILES ${crow_deb_dir}/copyright ${crow_deb_out}/changelog.Debian.gz
  ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/crowcast)
install(FILES ${crow_deb_dir}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME crowcast)

# Man pages from the commands' --help, rebuilt with the binaries. Not in sanitizer builds: their
# leak check at exit may eat the help text (and nobody packages them).
find_program(HELP2MAN help2man)
if(HELP2MAN AND NOT CROW_SANITIZE)
  set(crow_man_stamp ${PROJECT_BINARY_DIR}/man/.stamp)
  add_custom_command(OUTPUT ${crow_man_stamp}
    COMMAND ${PROJECT_SOURCE_DIR}/tools/make-man.sh $<TARGET_FILE:crowcast_cli>
      $<TARGET_FILE:crowcast_diag> ${PROJECT_VERSION} ${PROJECT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -E touch ${crow_man_stamp}
    DEPENDS crowcast_cli crowcast_diag ${PROJECT_SOURCE_DIR}/tools/make-man.sh ${crow_deb_dir}/changelog
    COMMENT "Generating man pages from --help (help2man)"
    VERBATIM)
  add_custom_target(man ALL DEPENDS ${crow_man_stamp})
  install(DIRECTORY ${PROJECT_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    FILES_MATCHING PATTERN "*.1.gz")
else()
  if(NOT CROW_SANITIZE)
    message(WARNING "help2man not found (tools/setup.sh installs it): no man pages, no package")
  endif()
  install(CODE "message(FATAL_ERROR \"crowcast: no man pages in this build (help2man missing, or a sanitizer build): reconfigure with help2man, without CROW_SANITIZE\")")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME crowcast)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "crowcast developers")
set(CPACK_PACKAGE_CONTACT "crowcast developers <crowcast@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "push release builds to datacenter hosts over multicast and TCP")
set(CPACK_PACKAGE_DESCRIPTION "crowcast sends a large build (a file or a directory tree) from one
seeder to thousands of hosts in about the time one host needs to receive it
once: UDP multicast to each rack, BitTorrent-style TCP repair among rack
neighbours, steered by a rack-aware tracker that also coordinates staged
rollouts (rack by rack, behind health checks).
.
This package holds the crowcast command, crowcast-diag (packet-level loss
diagnostics), systemd units for the tracker and the rollout agent, man pages
and bash completion.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${crow_deb_prefix})
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
  GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${crow_deb_revision})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${crow_deb_out}/conffiles ${crow_deb_dir}/postinst
  ${crow_deb_dir}/prerm ${crow_deb_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
