/* Stand-in for <cuda_runtime.h> (CPU execution harness, tests only): the
 * runtime API, plus in C++ the device-side language support. */
#ifndef FOPT_EMU_CUDA_RUNTIME_H
#define FOPT_EMU_CUDA_RUNTIME_H
#include "cuda_runtime_api.h"
#ifdef __cplusplus
#include "cuda_emu.h"
#endif
#endif
