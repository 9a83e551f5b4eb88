# Installs clipft from BINARY_DIR into a temporary prefix and moves the prefix elsewhere (an
# install must work wherever it is), then configures, builds and runs tests/consumer against the
# moved prefix, checks that the moved `clipft` program searches its own description sets, and
# builds and briefly runs examples/custom_finetuner (a three-class fine-tuner of the tiny CLIP in
# SHARED_DIR/fixtures/tiny-a, when present).
#
# Usage: cmake -DSOURCE_DIR=<clipft src> -DBINARY_DIR=<clipft build> -P run_consumer_test.cmake
# Optional: -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=... -DCMAKE_CXX_COMPILER=...
#           -DGENERATOR=... -DCONFIG=... -DSHARED_DIR=...

foreach(var SOURCE_DIR BINARY_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT CONSUMER_SOURCE_DIR)
  set(CONSUMER_SOURCE_DIR "${SOURCE_DIR}/tests/consumer")
endif()
if(NOT WORK_DIR)
  set(WORK_DIR "${BINARY_DIR}/tests/consumer_test")
endif()
# CONFIG is the configuration of the clipft build ($<CONFIG>); empty for a
# single-config generator without CMAKE_BUILD_TYPE.
if(CONFIG)
  set(config_args --config "${CONFIG}")
  set(consumer_build_type "${CONFIG}")
else()
  set(config_args)
  set(consumer_build_type Release)
endif()

set(installed_prefix "${WORK_DIR}/installed")
set(prefix "${WORK_DIR}/moved")
set(consumer_build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run_step name)
  message(STATUS "consumer_project: ${name}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer_project: step '${name}' failed (exit ${rc})")
  endif()
endfunction()

run_step("install into ${installed_prefix}"
  ${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${installed_prefix}" ${config_args})
file(RENAME "${installed_prefix}" "${prefix}")
message(STATUS "consumer_project: moved the prefix to ${prefix}")

set(configure_args
  "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_BUILD_TYPE=${consumer_build_type}")
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(CMAKE_CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}")
endif()
run_step("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" ${configure_args})
run_step("build consumer" ${CMAKE_COMMAND} --build "${consumer_build}" --config ${consumer_build_type})

find_program(consumer_exe NAMES consumer
  PATHS "${consumer_build}" "${consumer_build}/${consumer_build_type}" NO_DEFAULT_PATH)
if(NOT consumer_exe)
  message(FATAL_ERROR "consumer_project: built consumer executable not found in ${consumer_build}")
endif()
run_step("run consumer" "${consumer_exe}")
find_program(consumer_tensor_only_exe NAMES consumer_tensor_only
  PATHS "${consumer_build}" "${consumer_build}/${consumer_build_type}" NO_DEFAULT_PATH)
if(NOT consumer_tensor_only_exe)
  message(FATAL_ERROR "consumer_project: built consumer_tensor_only executable not found in ${consumer_build}")
endif()
run_step("run consumer_tensor_only" "${consumer_tensor_only_exe}")

# The moved program lists the folders it searched for an unknown set: its own prefix's, never the
# prefix it was installed to.
if(EXISTS "${prefix}/bin/clipft")
  execute_process(COMMAND "${prefix}/bin/clipft" finetune --model none --data none --out "${WORK_DIR}/none" --descriptions no-such-set
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(FIND "${out}" "${prefix}/share/clipft/descriptions holds" found_moved)
  string(FIND "${out}" "${installed_prefix}" found_installed)
  if(rc EQUAL 0 OR found_moved EQUAL -1 OR NOT found_installed EQUAL -1)
    message(FATAL_ERROR "consumer_project: the moved clipft does not search ${prefix}/share/clipft/descriptions "
                        "(exit ${rc}): ${out}")
  endif()
  message(STATUS "consumer_project: the moved clipft searches its own description sets")
endif()

# examples/custom_finetuner: a downstream N-class fine-tuner, built against the moved prefix and run briefly.
set(finetuner_build "${WORK_DIR}/custom_finetuner")
run_step("configure custom_finetuner"
  ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/custom_finetuner" -B "${finetuner_build}" ${configure_args})
run_step("build custom_finetuner" ${CMAKE_COMMAND} --build "${finetuner_build}" --config ${consumer_build_type})
find_program(finetuner_exe NAMES custom_finetuner
  PATHS "${finetuner_build}" "${finetuner_build}/${consumer_build_type}" NO_DEFAULT_PATH)
if(NOT finetuner_exe)
  message(FATAL_ERROR "consumer_project: built custom_finetuner not found in ${finetuner_build}")
endif()
if(SHARED_DIR AND EXISTS "${SHARED_DIR}/fixtures/tiny-a")
  run_step("run custom_finetuner (three classes, tiny CLIP)" "${finetuner_exe}" "${SHARED_DIR}/fixtures/tiny-a" 300 1e-3)
else()
  message(STATUS "consumer_project: no ${SHARED_DIR}/fixtures/tiny-a; custom_finetuner built, not run")
endif()
message(STATUS "consumer_project: passed")
