# cmake -DIN=x.spv -DOUT=x.spv.cpp -DNAME=x -P EmbedSpirv.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR words "${n} / 8")
# SPIR-V is a little-endian word stream; regroup bytes into 32-bit words.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
string(REGEX REPLACE "(([^,]*,){8})" "\\1\n  " body "${body}")
file(WRITE ${OUT} "#include <cstddef>\n#include <cstdint>\nnamespace vkfuse::detail {\n"
  "extern const uint32_t spirv_${NAME}[] = {\n  ${body}\n};\n"
  "extern const size_t spirv_${NAME}_words = ${words};\n}\n")
