# One library target per layer, with an include root that holds only that
# layer's directory. A target sees the headers of the layers it links and no
# others, so an include that points the wrong way fails to compile.
#
#   webhooks_layer(core DIR core SOURCES a.cc b.cc DEPS webhooks_storage)
#
# creates `webhooks_core`, whose sources include "core/a.h", "storage/x.h".
function(webhooks_layer name)
  cmake_parse_arguments(ARG "" "DIR" "SOURCES;DEPS" ${ARGN})
  set(root "${CMAKE_BINARY_DIR}/include_roots/${name}")
  file(MAKE_DIRECTORY "${root}")
  if(NOT EXISTS "${root}/${ARG_DIR}")
    file(CREATE_LINK "${CMAKE_SOURCE_DIR}/${ARG_DIR}" "${root}/${ARG_DIR}"
         SYMBOLIC)
  endif()
  add_library(webhooks_${name} ${ARG_SOURCES})
  target_include_directories(webhooks_${name} PUBLIC "${root}")
  target_link_libraries(webhooks_${name} PUBLIC ${ARG_DEPS})
  target_compile_options(webhooks_${name} PRIVATE ${WEBHOOKS_WARNINGS})
endfunction()

# A GoogleTest binary for one layer, registered with ctest. Each test's ctest
# name starts with the binary's ("storage_test.KeyBuilderTest.Exact"), so
# `ctest -R storage` selects a whole binary. These are the unit tests: they
# carry the ctest label `unit`, and the target `webhooks_unit_tests` builds
# them all (scripts/sanitize-test.sh builds and runs just these by default).
#
#   webhooks_test(key_codec_test SOURCES storage/key_codec_test.cc
#                 DEPS webhooks_storage)
function(webhooks_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest
                        GTest::gmock GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${WEBHOOKS_WARNINGS})
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST TEST_PREFIX "${name}."
                       PROPERTIES TIMEOUT 300 LABELS unit)
  if(NOT TARGET webhooks_unit_tests)
    add_custom_target(webhooks_unit_tests)
  endif()
  add_dependencies(webhooks_unit_tests ${name})
endfunction()
