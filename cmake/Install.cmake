# Install and export rules: `cmake --install <build> [--prefix DIR]` puts
#   include/fusedopt.h
#   lib/libfusedopt.a, lib/libfusedopt.so*      (lib may be lib64 etc., GNUInstallDirs)
#   bin/fusedopt                                the command-line tool
#   lib/cmake/fusedopt/                         find_package(fusedopt CONFIG)
#   lib/pkgconfig/fusedopt.pc                   pkg-config --cflags --libs fusedopt
#
# CMake users get the imported targets
#   fusedopt::fusedopt         the shared library
#   fusedopt::fusedopt_static  the static library
#   fusedopt::fusedopt_cli     the `fusedopt` tool
# (the same names exist as aliases inside this build; see src/CMakeLists.txt).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FOPT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/fusedopt)

# Whether the libraries link the CUDA runtime (src/CMakeLists.txt decides):
# then the package needs the CUDA toolkit too.
get_target_property(FOPT_STATIC_LINKS fusedopt_static INTERFACE_LINK_LIBRARIES)
set(FOPT_PACKAGE_WITH_CUDA OFF)
if("CUDA::cudart" IN_LIST FOPT_STATIC_LINKS)
  set(FOPT_PACKAGE_WITH_CUDA ON)
endif()

# With CUDA, the static library holds objects that nvcc compiled as C++: they
# call the C++ runtime (guards of function-local statics, the exception
# personality). The shared library carries that dependency itself; users of
# libfusedopt.a, often C programs linked by the C compiler, must be told.
set(FOPT_PC_LIBS_PRIVATE "-pthread")
if(FOPT_PACKAGE_WITH_CUDA AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT APPLE)
  target_link_libraries(fusedopt_static INTERFACE stdc++)
  string(APPEND FOPT_PC_LIBS_PRIVATE " -lstdc++")
endif()

install(TARGETS fusedopt_shared fusedopt_static fusedopt_cli
  EXPORT fusedoptTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/fusedopt.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT fusedoptTargets
  NAMESPACE fusedopt::
  FILE fusedoptTargets.cmake
  DESTINATION ${FOPT_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/fusedoptConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fusedoptConfig.cmake
  INSTALL_DESTINATION ${FOPT_INSTALL_CMAKEDIR})
# 0.x releases may break the API between minor versions: only 0.1.* satisfies 0.1.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fusedoptConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/fusedoptConfig.cmake ${PROJECT_BINARY_DIR}/fusedoptConfigVersion.cmake
  DESTINATION ${FOPT_INSTALL_CMAKEDIR})

# pkg-config. The .pc file finds its prefix relative to its own directory
# (${pcfiledir}), so `cmake --install --prefix ANYWHERE` gives a working file.
file(RELATIVE_PATH FOPT_PC_TO_PREFIX
  /fopt_prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /fopt_prefix)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "fusedopt: the pkg-config file needs CMAKE_INSTALL_LIBDIR and "
    "CMAKE_INSTALL_INCLUDEDIR relative to the prefix")
endif()
set(FOPT_PC_LIBS "-lfusedopt -lm")
if(FOPT_PACKAGE_WITH_CUDA)
  string(APPEND FOPT_PC_LIBS " -L${CUDAToolkit_LIBRARY_DIR} -lcudart")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/fusedopt.pc.in ${PROJECT_BINARY_DIR}/fusedopt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/fusedopt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
