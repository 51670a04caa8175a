/* `fusedopt bench`: fused vs unfused optimizer steps against the memory
 * bandwidth, on the CPU and (CUDA builds) the GPU. The benchmarks live in
 * bench/ (bench.h); this is their entry in the command table. */
#include "bench.h"
#include "commands.h"

int fopt_cmd_bench(int argc, char **argv)
{
    return fopt_bench_main("fusedopt bench", argc, argv);
}
