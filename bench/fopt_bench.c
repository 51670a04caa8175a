/* The `fopt_bench` program: the benchmarks of `fusedopt bench` as a standalone binary. */
#include "bench.h"

int main(int argc, char **argv)
{
    return fopt_bench_main("fopt_bench", argc, argv);
}
