# Install rules and packages (docs: README "vkfuse in your program"):
#   cmake --install BUILD --prefix P   the library (static, or shared with BUILD_SHARED_LIBS),
#                                      P/include/vkfuse/, the vkfuse command line,
#                                      P/lib/cmake/vkfuse/ (vkfuse::vkfuse), P/lib/pkgconfig/vkfuse.pc,
#                                      the format docs
#   cpack -G DEB (in BUILD)            a .deb of the same
# The shaders are SPIR-V embedded in the library: nothing else is installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(vkfuse PROPERTIES EXPORT_NAME vkfuse)
install(TARGETS vkfuse EXPORT vkfuseTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/vkfuse DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/vkfuse/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vkfuse)
if(TARGET vkfuse_cli)
  install(TARGETS vkfuse_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/docs/model-format.md ${PROJECT_SOURCE_DIR}/docs/standard-models.md
              ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(VKFUSE_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vkfuse)
install(EXPORT vkfuseTargets NAMESPACE vkfuse:: DESTINATION ${VKFUSE_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/vkfuseConfig.cmake.in
  ${PROJECT_BINARY_DIR}/vkfuseConfig.cmake INSTALL_DESTINATION ${VKFUSE_CMAKE_INSTALL_DIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vkfuseConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vkfuseConfig.cmake ${PROJECT_BINARY_DIR}/vkfuseConfigVersion.cmake
  DESTINATION ${VKFUSE_CMAKE_INSTALL_DIR})

# pkg-config: a static library brings what it links (the C++ runtime too, for C programs).
if(BUILD_SHARED_LIBS)
  set(VKFUSE_PC_LIBS "-L\${libdir} -lvkfuse")
  set(VKFUSE_PC_LIBS_PRIVATE "-ldl -pthread")
else()
  set(VKFUSE_PC_LIBS "-L\${libdir} -lvkfuse -ldl -pthread -lstdc++ -lm")
  set(VKFUSE_PC_LIBS_PRIVATE "")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/vkfuse.pc.in ${PROJECT_BINARY_DIR}/vkfuse.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vkfuse.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vkfuse)
set(CPACK_PACKAGE_VENDOR "vkfuse")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Transformer encoders and vision-text models on any Vulkan GPU")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "vkfuse developers <vkfuse@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The loader is opened at run time (libvulkan.so.1); a driver (Mesa's, or a vendor's) is what
# makes `vkfuse devices` list a device.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libvulkan1, libc6, libstdc++6, libgcc-s1")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mesa-vulkan-drivers")
include(CPack)
