/* Stand-in for <cuda_fp16.h>: __half lives in cuda_emu.h. */
#include "cuda_emu.h"
