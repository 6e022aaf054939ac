# gRPC front end: the unit tests' access to the generated protocol headers, and the end-to-end tests that
# drive `tessera serve` with a Python client generated from proto/ at test time.
file(GLOB TESSERA_GRPC_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/serve/grpc/*_test.cc)
set_source_files_properties(${TESSERA_GRPC_UNIT_TESTS} TARGET_DIRECTORY tessera_unit_tests
                            PROPERTIES INCLUDE_DIRECTORIES ${TESSERA_PROTO_OUT})
