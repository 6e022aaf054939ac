# gRPC front end: the unit tests' access to the generated protocol headers, and the end-to-end tests that
# drive `tessera serve` with a Python client generated from proto/ at test time.
file(GLOB TESSERA_GRPC_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/serve/grpc/*_test.cc)
set_source_files_properties(${TESSERA_GRPC_UNIT_TESTS} TARGET_DIRECTORY tessera_unit_tests
                            PROPERTIES INCLUDE_DIRECTORIES ${TESSERA_PROTO_OUT})

set(TESSERA_GRPC_TESTS_DIR ${CMAKE_SOURCE_DIR}/tests/serve)
foreach(test protocol security)
  add_test(NAME serve_grpc_${test}
           COMMAND /usr/bin/python3 ${TESSERA_GRPC_TESTS_DIR}/grpc_${test}_test.py $<TARGET_FILE:tessera>
                   ${CMAKE_SOURCE_DIR}/examples/tiny_cnn)
  set_tests_properties(serve_grpc_${test} PROPERTIES TIMEOUT 300)
endforeach()

# MobileNetV2 and BERT over gRPC, typed and raw contents, must match PyTorch like `tessera run` does.
add_test(NAME serve_grpc_models
         COMMAND /usr/bin/python3 ${TESSERA_GRPC_TESTS_DIR}/grpc_models_test.py $<TARGET_FILE:tessera>
                 ${TESSERA_MODEL_CACHE}/torch)
set_tests_properties(serve_grpc_models PROPERTIES FIXTURES_REQUIRED torch_models TIMEOUT 900)
