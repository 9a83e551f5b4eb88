# Installs clipft from BINARY_DIR into a temporary prefix, then configures,
# builds and runs tests/consumer against that prefix.
#
# Usage: cmake -DSOURCE_DIR=<clipft src> -DBINARY_DIR=<clipft build> -P run_consumer_test.cmake
# Optional: -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=... -DCMAKE_CXX_COMPILER=...
#           -DGENERATOR=... -DCONFIG=...

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

set(prefix "${WORK_DIR}/prefix")
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

run_step("install into ${prefix}"
  ${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}" ${config_args})

set(configure_args
  -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_BUILD_TYPE=${consumer_build_type}")
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(CMAKE_CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}")
endif()
run_step("configure consumer" ${CMAKE_COMMAND} ${configure_args})
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
message(STATUS "consumer_project: passed")
