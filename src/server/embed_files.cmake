# Turns every file of the web page's folder into a byte array in one C++
# source, so the binary serves the page with no data files at run time and
# no network. Bytes, not a raw string: any file (an icon, a font) embeds as
# it is. Each file also carries the SHA-256 of its content, which the server
# sends as its ETag. Run as: cmake -DINPUT_DIR=web -DOUTPUT=x.cpp -P this.
file(GLOB names RELATIVE "${INPUT_DIR}" "${INPUT_DIR}/*")
list(SORT names)  # a stable order: the same sources give the same output
set(arrays "")
set(table "")
set(i 0)
foreach(name IN LISTS names)
    if(IS_DIRECTORY "${INPUT_DIR}/${name}")
        continue()
    endif()
    if(NOT name MATCHES "^[A-Za-z0-9._-]+$")
        message(FATAL_ERROR "web file '${name}': use letters, digits, '.', '_' and '-' only")
    endif()
    file(READ "${INPUT_DIR}/${name}" hex HEX)
    file(SHA256 "${INPUT_DIR}/${name}" digest)
    file(SIZE "${INPUT_DIR}/${name}" size)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    # Sixteen bytes a line keeps the generated file readable in a diff.
    string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)  # CMake's regex has no {16}
    string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
    string(APPEND arrays "const unsigned char kFile${i}[] = {\n    ${bytes}0x00};\n")
    string(APPEND table "    {\"${name}\", {kFile${i}, ${size}}, \"${digest}\"},\n")
    math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
    "// Generated from the web/ folder by embed_files.cmake; do not edit.\n"
    "#include \"server/web_assets.hpp\"\n\n"
    "namespace pensieve::server {\n\nnamespace {\n\n"
    "// Each array ends in an extra 0 that is not part of the file, so an\n"
    "// empty file is still a valid array.\n"
    "${arrays}\n"
    "}  // namespace\n\n"
    "const std::vector<EmbeddedFile>& embedded_web_files() {\n"
    "    static const std::vector<EmbeddedFile> files = {\n${table}    };\n"
    "    return files;\n"
    "}\n\n"
    "}  // namespace pensieve::server\n")
# Only a changed output is rewritten, so an unrelated reconfigure does not
# rebuild the server.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
