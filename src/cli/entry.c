/* main of the `fusedopt` tool; everything else is in fopt_cli_main (main.c). */
#include "commands.h"

int main(int argc, char **argv)
{
    return fopt_cli_main(argc, argv);
}
