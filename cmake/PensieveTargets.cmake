# Shared compile settings for every Pensieve target.
#
# The shipped binary targets baseline x86-64: never -march=native. Kernel
# variants for AVX2 / AVX-512 are separate translation units that add their own
# -m flags with pensieve_isa_sources() and are chosen at run time from CPUID.

set(PENSIEVE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wdouble-promotion
    -Wimplicit-fallthrough)
# GCC 12 at -O3 reports false -Wrestrict / -Wstringop-overflow inside libstdc++'s
# std::string and std::vector::insert (GCC bugs 105329, 106199); they are not
# about our code, so they must not fail a -Werror build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND PENSIEVE_WARNINGS -Wno-restrict -Wno-stringop-overflow)
endif()

set(PENSIEVE_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)

# Applies warnings, -Werror (CI), and sanitizers to one target.
function(pensieve_target_defaults target)
    target_compile_options(${target} PRIVATE ${PENSIEVE_WARNINGS})
    if(PENSIEVE_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(PENSIEVE_SANITIZE)
        target_compile_options(${target} PRIVATE ${PENSIEVE_SANITIZE_FLAGS})
        target_link_options(${target} PRIVATE ${PENSIEVE_SANITIZE_FLAGS})
    endif()
endfunction()

# Declares a static library pensieve_<folder> from the listed sources, with
# src/ as the include root (so code includes "gguf/reader.hpp").
function(pensieve_library name)
    add_library(${name} STATIC ${ARGN})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    pensieve_target_defaults(${name})
endfunction()

# Adds compile flags to specific sources only (per-ISA kernel files).
function(pensieve_isa_sources flags)
    set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS "${flags}")
endfunction()

# Declares one GoogleTest executable and registers its tests with ctest.
function(pensieve_unit_test name)
    cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
    pensieve_target_defaults(${name})
    # Tests find their data (tests/data) and the repo root through this.
    target_compile_definitions(${name} PRIVATE
        PENSIEVE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()
