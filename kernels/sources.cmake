# The CUDA kernel sources, compiled with nvcc into the library when CUDA is
# found (src/CMakeLists.txt) and as C++ on the CPU execution harness (tests).
set(FOPT_KERNEL_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/sgd.cu
  ${CMAKE_CURRENT_LIST_DIR}/adam.cu
  ${CMAKE_CURRENT_LIST_DIR}/adagrad.cu
  ${CMAKE_CURRENT_LIST_DIR}/rmsprop.cu
  ${CMAKE_CURRENT_LIST_DIR}/init_state.cu
  ${CMAKE_CURRENT_LIST_DIR}/counters.cu
  ${CMAKE_CURRENT_LIST_DIR}/grad_stats.cu
  ${CMAKE_CURRENT_LIST_DIR}/master.cu)
