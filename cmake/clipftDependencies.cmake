# clipftDependencies.cmake -- third-party dependencies of clipft that have no
# usable imported target of their own.
#
# Included both by the top-level CMakeLists.txt (build tree) and by the
# installed clipftConfig.cmake, so the logic lives in exactly one place.
#
# Provides:
#   clipft::openblas   INTERFACE IMPORTED target (include dirs + library of OpenBLAS)
#   clipft::dlib       INTERFACE IMPORTED target of dlib, when found (optional)
#   clipft::ffmpeg     INTERFACE IMPORTED target of FFmpeg's libavformat, libavcodec,
#                      libswscale and libavutil, when found (optional)
# Sets:
#   clipft_OpenBLAS_FOUND   TRUE/FALSE
#   clipft_dlib_FOUND       TRUE/FALSE
#   clipft_FFmpeg_FOUND     TRUE/FALSE
#
# Debian 12 ships /usr/lib/x86_64-linux-gnu/cmake/openblas/OpenBLASConfig.cmake,
# which only sets OpenBLAS_INCLUDE_DIRS / OpenBLAS_LIBRARIES. When that file is
# absent we fall back to a plain find_path/find_library search.

set(clipft_OpenBLAS_FOUND FALSE)

if(TARGET clipft::openblas)
  set(clipft_OpenBLAS_FOUND TRUE)
  return()
endif()

find_package(OpenBLAS CONFIG QUIET)

if(NOT OpenBLAS_LIBRARIES OR NOT OpenBLAS_INCLUDE_DIRS)
  find_path(clipft_OPENBLAS_INCLUDE_DIR
    NAMES cblas.h
    PATH_SUFFIXES openblas openblas-pthread x86_64-linux-gnu/openblas-pthread)
  find_library(clipft_OPENBLAS_LIBRARY NAMES openblas)
  if(clipft_OPENBLAS_INCLUDE_DIR AND clipft_OPENBLAS_LIBRARY)
    set(OpenBLAS_INCLUDE_DIRS "${clipft_OPENBLAS_INCLUDE_DIR}")
    set(OpenBLAS_LIBRARIES "${clipft_OPENBLAS_LIBRARY}")
  endif()
endif()

if(OpenBLAS_LIBRARIES AND OpenBLAS_INCLUDE_DIRS)
  add_library(clipft::openblas INTERFACE IMPORTED)
  set_target_properties(clipft::openblas PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${OpenBLAS_LIBRARIES}")
  set(clipft_OpenBLAS_FOUND TRUE)
endif()

# stb_image (Debian: libstb-dev), header-only: clipft/image compiles its decoder in.
find_path(clipft_STB_INCLUDE_DIR NAMES stb/stb_image.h)
if(NOT clipft_STB_INCLUDE_DIR)
  message(FATAL_ERROR "clipft: stb/stb_image.h not found (Debian: apt-get install libstb-dev)")
endif()

# dlib (Debian: libdlib-dev), optional: clipft/faces/detector.hpp. Debian ships both a CMake
# package (dlib::dlib) and a pkg-config file (dlib-1); either will do.
set(clipft_dlib_FOUND FALSE)
if(NOT TARGET clipft::dlib)
  find_package(dlib CONFIG QUIET)
  if(TARGET dlib::dlib)
    add_library(clipft::dlib INTERFACE IMPORTED)
    set_target_properties(clipft::dlib PROPERTIES INTERFACE_LINK_LIBRARIES dlib::dlib)
  else()
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(clipft_DLIB QUIET IMPORTED_TARGET dlib-1)
    endif()
    if(TARGET PkgConfig::clipft_DLIB)
      add_library(clipft::dlib INTERFACE IMPORTED)
      set_target_properties(clipft::dlib PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::clipft_DLIB)
    endif()
  endif()
endif()
if(TARGET clipft::dlib)
  set(clipft_dlib_FOUND TRUE)
endif()

# FFmpeg's libraries (Debian: libavformat-dev libavcodec-dev libswscale-dev libavutil-dev),
# optional: clipft/video/video_reader.hpp.
set(clipft_FFmpeg_FOUND FALSE)
if(NOT TARGET clipft::ffmpeg)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(clipft_FFMPEG QUIET IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  endif()
  if(TARGET PkgConfig::clipft_FFMPEG)
    add_library(clipft::ffmpeg INTERFACE IMPORTED)
    set_target_properties(clipft::ffmpeg PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::clipft_FFMPEG)
  endif()
endif()
if(TARGET clipft::ffmpeg)
  set(clipft_FFmpeg_FOUND TRUE)
endif()
