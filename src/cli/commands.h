/* The subcommands of the `fusedopt` tool. Each gets argv after its name
 * (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 failure of the work, 2 bad usage. */
#ifndef FOPT_CLI_COMMANDS_H
#define FOPT_CLI_COMMANDS_H

/* The whole tool: argv[1] is the command. Returns the exit status. */
int fopt_cli_main(int argc, char **argv);
int fopt_cmd_schedule(int argc, char **argv);
int fopt_cmd_selftest(int argc, char **argv);
int fopt_cmd_bench(int argc, char **argv);

#endif
