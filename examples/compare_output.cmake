# Runs PROGRAM and compares its standard output byte for byte with the file
# EXPECTED. Used by ctest:
#   cmake -DPROGRAM=<exe> -DEXPECTED=<file> -P compare_output.cmake
# On a difference, prints both texts so the failure explains itself.
execute_process(COMMAND ${PROGRAM}
  OUTPUT_VARIABLE actual
  ERROR_VARIABLE errors
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with '${status}'\nstderr:\n${errors}")
endif()
file(READ ${EXPECTED} expected)
if(NOT actual STREQUAL expected)
  message(FATAL_ERROR "output of ${PROGRAM} differs from ${EXPECTED}\n"
    "--- expected ---\n${expected}--- actual ---\n${actual}")
endif()
message(STATUS "output matches ${EXPECTED}")
