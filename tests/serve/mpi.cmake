# `tessera serve` under mpirun: a dp=2 and a pp=2 model on 3 ranks, HTTP and gRPC clients, SIGTERM to
# rank 0 stops every rank (docs/serving.md, "Serving over MPI").
add_test(NAME serve_mpi
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/mpi_serving_test.py $<TARGET_FILE:tessera>
                 ${TESSERA_MODEL_CACHE}/torch)
set_tests_properties(serve_mpi PROPERTIES FIXTURES_REQUIRED torch_models RESOURCE_LOCK mpi TIMEOUT 300)
# The OpenAI endpoints under mpirun: llama_tiny at tp=2 and pp=2 and gpt2_tiny at tp=2 on 4 ranks, greedy
# tokens equal to one process's, chat streaming, concurrent streams, a disconnect freeing every rank's
# cache, SIGTERM (docs/serving.md, "Decoders over MPI").
add_test(NAME serve_mpi_openai
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/mpi_openai_test.py $<TARGET_FILE:tessera>
                 ${TESSERA_MODEL_CACHE}/decoders)
set_tests_properties(serve_mpi_openai PROPERTIES FIXTURES_REQUIRED decoder_models RESOURCE_LOCK mpi TIMEOUT 120)
