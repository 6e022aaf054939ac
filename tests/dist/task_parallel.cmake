# Task parallelism (run-jobs, ensembles) and `tessera plan`; included from tests/dist/CMakeLists.txt.
set(TASK_PY /usr/bin/python3)

add_test(NAME dist_run_jobs
         COMMAND ${TASK_PY} ${CMAKE_CURRENT_SOURCE_DIR}/jobs/run_jobs_test.py $<TARGET_FILE:tessera>
                 ${CMAKE_SOURCE_DIR}/examples/tiny_cnn ${TESSERA_MODEL_CACHE}/torch)
set_tests_properties(dist_run_jobs PROPERTIES FIXTURES_REQUIRED torch_models TIMEOUT 300 RESOURCE_LOCK mpi)

add_test(NAME dist_ensemble
         COMMAND ${TASK_PY} ${CMAKE_CURRENT_SOURCE_DIR}/jobs/ensemble_test.py $<TARGET_FILE:tessera> ${CMAKE_SOURCE_DIR}/examples/tiny_cnn)
set_tests_properties(dist_ensemble PROPERTIES TIMEOUT 300 RESOURCE_LOCK mpi)

add_test(NAME plan_command
         COMMAND ${TASK_PY} ${CMAKE_CURRENT_SOURCE_DIR}/plan/plan_test.py $<TARGET_FILE:tessera> ${TESSERA_MODEL_CACHE}/torch)
set_tests_properties(plan_command PROPERTIES FIXTURES_REQUIRED torch_models TIMEOUT 300)
