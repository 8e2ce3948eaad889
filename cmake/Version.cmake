# The version (project()) and the commit the build was configured from (git describe, when the
# source is a git checkout) into include/vkfuse/version.h of the build tree, installed with
# the other headers: vkfuse --version, vkfuse_version(), vkfuse.__version__ and the JSON of
# vkfuse bench and vkfuse devices all read it.
set(VKFUSE_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} describe --always --dirty --abbrev=12
                  OUTPUT_VARIABLE VKFUSE_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE git_rc)
  if(NOT git_rc EQUAL 0 OR VKFUSE_COMMIT STREQUAL "")
    set(VKFUSE_COMMIT "unknown")
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in ${PROJECT_BINARY_DIR}/include/vkfuse/version.h @ONLY)
