# The shader variants as data. Every shaders/<shader>.comp has a table beside it,
# shaders/<shader>.variants (format in shaders/matmul.variants):
#   push STRUCT CONTRACT.h   bindings N   spec NAME...   variant NAME [texels=MASK] [spec=A,B] [DEFINE=V...]
# For each variant this compiles the GLSL to SPIR-V (Vulkan 1.1), validates it with spirv-val
# and embeds it as a uint32_t array in its own .cpp, so editing one shader rebuilds its
# variants alone. It then generates shader_variants.h, the typed key (enum class
# shader::Variant) the ops select by, so a variant no table lists is a compile error, and
# shader_table.cpp, each variant's blob, bindings, texel bindings, specialization-constant
# count and push-constant size (sizeof the contract's struct).
#
#   vkfuse_add_shaders(TARGET <lib> DIR <folder of .comp and .variants files>)

find_program(GLSLANG_VALIDATOR glslangValidator REQUIRED)
find_program(SPIRV_VAL spirv-val REQUIRED)
# Paths from this project, never the top-level one: vkfuse may be a subdirectory.
set(VKFUSE_SHADER_INCLUDE ${PROJECT_SOURCE_DIR}/shaders/include)
set(VKFUSE_EMBED_SPIRV ${CMAKE_CURRENT_LIST_DIR}/EmbedSpirv.cmake)
set(VKFUSE_SHADER_OUT ${PROJECT_BINARY_DIR}/shaders)

# One SPIR-V build of SOURCE with DEFINES, embedded as spirv_<NAME>.
function(vkfuse_compile_variant TARGET NAME SOURCE DEFINES)
  set(out_dir ${VKFUSE_SHADER_OUT})
  set(spv ${out_dir}/${NAME}.spv)
  set(cpp ${out_dir}/${NAME}.spv.cpp)
  set(defs "")
  foreach(d ${DEFINES})
    list(APPEND defs "-D${d}")
  endforeach()
  add_custom_command(
    OUTPUT ${spv} ${cpp}  # the .spv first: glslang's depfile names it
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${GLSLANG_VALIDATOR} -V --quiet --target-env vulkan1.1 ${defs}
            -I${VKFUSE_SHADER_INCLUDE} --depfile ${spv}.d -o ${spv} ${SOURCE}
    COMMAND ${SPIRV_VAL} --target-env vulkan1.1 ${spv}
    COMMAND ${CMAKE_COMMAND} -DIN=${spv} -DOUT=${cpp} -DNAME=${NAME}
            -P ${VKFUSE_EMBED_SPIRV}
    MAIN_DEPENDENCY ${SOURCE}
    DEPFILE ${spv}.d
    DEPENDS ${VKFUSE_EMBED_SPIRV}
    COMMENT "SPIR-V ${NAME}"
    VERBATIM)
  target_sources(${TARGET} PRIVATE ${cpp})
endfunction()

function(vkfuse_add_shaders)
  cmake_parse_arguments(S "" "TARGET;DIR" "" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${S_DIR}/*.comp)
  list(SORT sources)
  set(enum "")
  set(decls "")
  set(rows "")
  set(includes "")
  set(seen "")
  foreach(source ${sources})
    get_filename_component(shader ${source} NAME_WE)
    set(table ${S_DIR}/${shader}.variants)
    if(NOT EXISTS ${table})
      message(FATAL_ERROR "${source} has no variant table: write ${table} (format: shaders/matmul.variants)")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${table})
    file(STRINGS ${table} lines)
    set(push "")
    set(bindings "")
    set(spec "")
    set(count 0)
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "#.*" "" line "${line}")
      string(REGEX MATCHALL "[^ \t]+" words "${line}")
      list(LENGTH words n)
      if(n EQUAL 0)
        continue()
      endif()
      list(GET words 0 key)
      list(REMOVE_AT words 0)
      if(key STREQUAL "push")
        list(LENGTH words m)
        if(NOT m EQUAL 2)
          message(FATAL_ERROR "${table}: 'push STRUCT CONTRACT.h', not '${line}'")
        endif()
        list(GET words 0 push)
        list(GET words 1 contract)
        if(NOT EXISTS ${VKFUSE_SHADER_INCLUDE}/${contract})
          message(FATAL_ERROR "${table}: no contract header ${VKFUSE_SHADER_INCLUDE}/${contract}")
        endif()
        list(APPEND includes ${contract})
      elseif(key STREQUAL "bindings")
        set(bindings ${words})
      elseif(key STREQUAL "spec")
        set(spec ${words})
      elseif(key STREQUAL "variant")
        if(push STREQUAL "" OR bindings STREQUAL "")
          message(FATAL_ERROR "${table}: 'push' and 'bindings' come before the first variant")
        endif()
        list(GET words 0 name)
        list(REMOVE_AT words 0)
        if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
          message(FATAL_ERROR "${table}: variant name '${name}' is not a lower-case identifier")
        endif()
        if(name IN_LIST seen)
          message(FATAL_ERROR "${table}: variant '${name}' is listed twice")
        endif()
        list(APPEND seen ${name})
        set(texels 0)
        set(vspec ${spec})
        set(defines "")
        foreach(w ${words})
          if(w MATCHES "^texels=([0-9]+)$")
            set(texels ${CMAKE_MATCH_1})
          elseif(w MATCHES "^spec=(.+)$")
            string(REPLACE "," ";" vspec "${CMAKE_MATCH_1}")
          else()
            list(APPEND defines ${w})
          endif()
        endforeach()
        list(LENGTH vspec nspec)
        vkfuse_compile_variant(${S_TARGET} ${name} ${source} "${defines}")
        string(REPLACE ";" " " shown "${shader}.comp;${defines}")
        string(STRIP "${shown}" shown)
        string(APPEND enum "  ${name},  // ${shown}\n")
        string(APPEND decls "extern const uint32_t spirv_${name}[];\nextern const size_t spirv_${name}_words;\n")
        string(APPEND rows "    {\"${name}\", spirv_${name}, spirv_${name}_words, ${bindings}u, ${texels}u, ${nspec}u, "
                           "sizeof(shader::${push})},\n")
        math(EXPR count "${count} + 1")
      else()
        message(FATAL_ERROR "${table}: unknown line '${line}' (push, bindings, spec or variant)")
      endif()
    endforeach()
    if(count EQUAL 0)
      message(FATAL_ERROR "${table} lists no variant")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES includes)
  set(include_lines "")
  foreach(i ${includes})
    string(APPEND include_lines "#include \"${i}\"\n")
  endforeach()
  file(CONFIGURE OUTPUT ${VKFUSE_SHADER_OUT}/shader_variants.h CONTENT
"// Generated by cmake/Shaders.cmake from shaders/*.variants: the typed key of every embedded
// shader variant. An op names the one it dispatches; a name no table lists does not compile.
#pragma once
#include <cstdint>
namespace vkfuse::shader {
enum class Variant : uint16_t {
${enum}};
}  // namespace vkfuse::shader
" @ONLY)
  file(CONFIGURE OUTPUT ${VKFUSE_SHADER_OUT}/shader_table.cpp CONTENT
"// Generated by cmake/Shaders.cmake from shaders/*.variants: each variant's SPIR-V and layout,
// in the order of shader::Variant.
#include \"runtime/shader_table.h\"
${include_lines}
namespace vkfuse::detail {
${decls}
static const VariantInfo kVariants[] = {
${rows}};
const VariantInfo& variant_info(shader::Variant v) { return kVariants[static_cast<size_t>(v)]; }
size_t variant_count() { return sizeof(kVariants) / sizeof(kVariants[0]); }
}  // namespace vkfuse::detail
" @ONLY)
  target_sources(${S_TARGET} PRIVATE ${VKFUSE_SHADER_OUT}/shader_table.cpp)
endfunction()
