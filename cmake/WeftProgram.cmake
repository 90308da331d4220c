# weft_add_program(NAME SOURCES...): a driver program whose actor classes and remote functions
# live in its own sources. Workers cannot load an executable, so the sources build a shared
# library (lib<NAME>.so, with main() inside) that workers load, and the executable NAME is a
# stub linked against it. weft::Init tells the cluster where the library is.
# Works in Weft's own tree and, through find_package(Weft), in users' projects: Weft::weft
# is an alias of libweft.so in the tree and the imported target outside.
function(weft_add_program name)
  # Once installed (bin/NAME, lib/libNAME.so), both find libweft.so in the same lib/ or in
  # the Weft package's (WEFT_LIBRARY_DIR, set by find_package(Weft)). Both need it: a
  # RUNPATH serves only the object that carries it.
  set(install_rpath "$ORIGIN/../lib")
  if(WEFT_LIBRARY_DIR)
    list(APPEND install_rpath ${WEFT_LIBRARY_DIR})
  endif()
  add_library(${name}_code SHARED ${ARGN})
  target_link_libraries(${name}_code PUBLIC Weft::weft)
  set_target_properties(${name}_code PROPERTIES OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib INSTALL_RPATH "${install_rpath}")
  set(stub ${CMAKE_CURRENT_BINARY_DIR}/${name}_main_stub.cc)
  if(NOT EXISTS ${stub})
    file(WRITE ${stub} "// main() is in lib${name}.so\n")
  endif()
  add_executable(${name} ${stub})
  target_link_libraries(${name} PRIVATE ${name}_code)
  set_target_properties(${name} PROPERTIES BUILD_RPATH "${CMAKE_BINARY_DIR}/lib"
    INSTALL_RPATH "${install_rpath}")
endfunction()
