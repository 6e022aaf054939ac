# `tessera serve` under mpirun: a dp=2 and a pp=2 model on 3 ranks, HTTP and gRPC clients, SIGTERM to
# rank 0 stops every rank (docs/serving.md, "Serving over MPI").
add_test(NAME serve_mpi
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/mpi_serving_test.py $<TARGET_FILE:tessera>
                 ${TESSERA_MODEL_CACHE}/torch)
set_tests_properties(serve_mpi PROPERTIES FIXTURES_REQUIRED torch_models RESOURCE_LOCK mpi TIMEOUT 300)
