/* Stand-in for <cuda_bf16.h>: __nv_bfloat16 lives in cuda_emu.h. */
#include "cuda_emu.h"
