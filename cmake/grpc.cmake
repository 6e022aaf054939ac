# The gRPC front end's wire types: C++ generated at build time from proto/grpc_predict_v2.proto with protoc
# and gRPC's C++ plugin, compiled into tessera_grpc_proto, which the engine links (src/serve/grpc/ uses it).
find_package(gRPC CONFIG REQUIRED)
# re2 (under gRPC) asks for -pthread on every file that links it, which would change the compile command of
# every engine file (and miss every compiler-cache entry); glibc has had pthreads in libc since 2.34.
if(TARGET re2::re2)
  set_property(TARGET re2::re2 PROPERTY INTERFACE_COMPILE_OPTIONS "")
endif()
find_program(TESSERA_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_program(TESSERA_PROTOC protoc REQUIRED)

set(TESSERA_PROTO_DIR ${CMAKE_SOURCE_DIR}/proto)
set(TESSERA_PROTO_OUT ${CMAKE_BINARY_DIR}/proto_gen)
set(TESSERA_GRPC_PROTO ${TESSERA_PROTO_DIR}/grpc_predict_v2.proto)
set(TESSERA_GRPC_PROTO_SOURCES
    ${TESSERA_PROTO_OUT}/grpc_predict_v2.pb.cc ${TESSERA_PROTO_OUT}/grpc_predict_v2.pb.h
    ${TESSERA_PROTO_OUT}/grpc_predict_v2.grpc.pb.cc ${TESSERA_PROTO_OUT}/grpc_predict_v2.grpc.pb.h)

file(MAKE_DIRECTORY ${TESSERA_PROTO_OUT})
add_custom_command(
  OUTPUT ${TESSERA_GRPC_PROTO_SOURCES}
  COMMAND ${TESSERA_PROTOC} --proto_path=${TESSERA_PROTO_DIR} --cpp_out=${TESSERA_PROTO_OUT}
          --grpc_out=${TESSERA_PROTO_OUT} --plugin=protoc-gen-grpc=${TESSERA_GRPC_CPP_PLUGIN} ${TESSERA_GRPC_PROTO}
  DEPENDS ${TESSERA_GRPC_PROTO}
  COMMENT "Generating C++ for the open inference protocol (gRPC)")

add_library(tessera_grpc_proto STATIC ${TESSERA_GRPC_PROTO_SOURCES})
# Generated code is not ours to warn about.
target_compile_options(tessera_grpc_proto PRIVATE -w)
target_include_directories(tessera_grpc_proto PRIVATE ${TESSERA_PROTO_OUT})
target_link_libraries(tessera_grpc_proto PUBLIC gRPC::grpc++ protobuf::libprotobuf)
target_link_libraries(tessera_engine PUBLIC tessera_grpc_proto)

# Only the front end's own files see the generated headers: an include path on the whole engine would
# change every compile command (and miss every compiler cache entry) for no use. Test files get the same
# property where the unit-test target is defined (tests/serve/grpc.cmake).
file(GLOB TESSERA_GRPC_FRONT_END_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/serve/grpc/*.cc)
set_source_files_properties(${TESSERA_GRPC_FRONT_END_SOURCES} PROPERTIES INCLUDE_DIRECTORIES ${TESSERA_PROTO_OUT})
