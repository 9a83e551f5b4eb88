# Every public header compiles on its own (one generated translation unit each, which includes it
# twice), at -O0 with the warnings of the build: a header that leans on another being included
# first, or warns, fails here. Headers of an optional part build with that part's target, and only
# where it was found; the kernels of backend/cuda/ are compiled by the CUDA build's .cu files.
file(GLOB_RECURSE _clipft_public_headers RELATIVE "${PROJECT_SOURCE_DIR}/include"
  CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/include/clipft/*.hpp")
set(_clipft_header_parts
  "clipft/faces/detector.hpp=clipft::faces"
  "clipft/video/video_reader.hpp=clipft::video"
  "clipft/distributed/mpi_communicator.hpp=clipft::mpi"
  "clipft/distributed/nccl_communicator.hpp=clipft::nccl")
set(_clipft_header_sources_clipft "")
foreach(header IN LISTS _clipft_public_headers)
  if(header MATCHES "^clipft/backend/cuda/" AND NOT header MATCHES "/(operands|unavailable)\\.hpp$")
    continue()
  endif()
  set(target clipft::clipft)
  foreach(part IN LISTS _clipft_header_parts)
    string(REPLACE "=" ";" part "${part}")
    list(GET part 0 part_header)
    if(header STREQUAL part_header)
      list(GET part 1 target)
    endif()
  endforeach()
  if(NOT TARGET ${target})
    continue()
  endif()
  string(MAKE_C_IDENTIFIER "${header}" name)
  set(source "${CMAKE_CURRENT_BINARY_DIR}/standalone_headers/${name}.cpp")
  file(CONFIGURE OUTPUT "${source}" CONTENT "#include <${header}>\n#include <${header}>\n" @ONLY)
  string(MAKE_C_IDENTIFIER "${target}" target_name)
  list(APPEND _clipft_header_sources_${target_name} "${source}")
  list(APPEND _clipft_header_targets ${target})
endforeach()
list(REMOVE_DUPLICATES _clipft_header_targets)
foreach(target IN LISTS _clipft_header_targets)
  string(MAKE_C_IDENTIFIER "${target}" target_name)
  add_library(standalone_headers_${target_name} OBJECT ${_clipft_header_sources_${target_name}})
  target_link_libraries(standalone_headers_${target_name} PRIVATE ${target})
  # Parsing is what is checked: no optimisation, no debug information.
  target_compile_options(standalone_headers_${target_name} PRIVATE -O0 -g0)
endforeach()
