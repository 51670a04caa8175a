// The `fusedopt schedule` command, run as a process: exact output, exit
// statuses, error messages and the gnuplot PNG.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern char **environ;

namespace {

struct Result {
    int status = -1; // exit status, or -1 if it did not exit normally
    std::string out, err;
};

std::string slurp(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string temp_path(const char *stem)
{
    const char *dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/fopt_cli_" + std::to_string(getpid()) + "_" + stem;
}

// Runs FOPT_CLI_PATH with `args`; stdout and stderr go to files, so neither
// pipe can fill up. `env` replaces the environment when not empty.
Result run(const std::vector<std::string> &args, const std::vector<std::string> &env = {})
{
    std::string out_path = temp_path("out"), err_path = temp_path("err");
    std::vector<char *> argv{const_cast<char *>(FOPT_CLI_PATH)};
    for (const std::string &a : args) {
        argv.push_back(const_cast<char *>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char *> envp;
    for (const std::string &e : env) {
        envp.push_back(const_cast<char *>(e.c_str()));
    }
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    Result r;
    pid_t pid;
    int rc = posix_spawn(&pid, FOPT_CLI_PATH, &actions, nullptr, argv.data(), env.empty() ? environ : envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot run " << FOPT_CLI_PATH;
    if (rc != 0) {
        return r;
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    std::remove(out_path.c_str());
    std::remove(err_path.c_str());
    return r;
}

std::vector<std::string> lines(const std::string &text)
{
    std::vector<std::string> result;
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);) {
        result.push_back(line);
    }
    return result;
}

bool have_gnuplot()
{
    return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

TEST(CliSchedule, CosineTableByteForByte)
{
    Result r = run({"schedule", "--lr", "0.1", "--t-max", "5", "--eta-min", "0.01", "--steps", "10"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "Step | Learning Rate\n"
              "   1 | 0.09141\n"
              "   2 | 0.06891\n"
              "   3 | 0.04109\n"
              "   4 | 0.01859\n"
              "   5 | 0.01000\n"
              "   6 | 0.01859\n"
              "   7 | 0.04109\n"
              "   8 | 0.06891\n"
              "   9 | 0.09141\n"
              "  10 | 0.10000\n");
}

TEST(CliSchedule, EqualsFormMatchesSpaceForm)
{
    Result a = run({"schedule", "--lr=0.1", "--t-max=5", "--eta-min=0.01", "--steps=10"});
    Result b = run({"schedule", "--lr", "0.1", "--t-max", "5", "--eta-min", "0.01", "--steps", "10"});
    EXPECT_EQ(a.status, 0);
    EXPECT_EQ(a.out, b.out);
}

TEST(CliSchedule, CsvHeaderRowsAndFullPrecision)
{
    Result r = run({"schedule", "--format", "csv", "--lr", "0.1", "--t-max", "5", "--eta-min", "0.01"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_EQ(rows.size(), 12u); // header + epochs 0..10 (default steps 2*t-max)
    EXPECT_EQ(rows[0], "epoch,lr");
    EXPECT_EQ(rows[1], "0,0.10000000000000001");
    EXPECT_EQ(rows[6].substr(0, 2), "5,");
    EXPECT_DOUBLE_EQ(std::stod(rows[6].substr(2)), 0.01);
    EXPECT_EQ(rows[11].substr(0, 3), "10,");
}

TEST(CliSchedule, DefaultsAreCosineLr01Tmax10Steps20)
{
    Result r = run({"schedule"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_EQ(rows.size(), 21u);
    EXPECT_EQ(rows[10], "  10 | 0.00000");
    EXPECT_EQ(rows[20], "  20 | 0.10000");
}

TEST(CliSchedule, EveryKindRuns)
{
    Result constant = run({"schedule", "--schedule", "constant", "--lr", "0.5", "--steps", "3"});
    EXPECT_EQ(constant.status, 0) << constant.err;
    EXPECT_EQ(constant.out, "Step | Learning Rate\n   1 | 0.50000\n   2 | 0.50000\n   3 | 0.50000\n");

    // Restart at epoch 2 with T_0 = 2: back to the peak, decayed by 0.5.
    Result restarts = run({"schedule", "--schedule", "restarts", "--t0", "2", "--t-mult", "2",
                           "--restart-decay", "0.5", "--steps", "4"});
    EXPECT_EQ(restarts.status, 0) << restarts.err;
    EXPECT_EQ(restarts.out, "Step | Learning Rate\n   1 | 0.05000\n   2 | 0.05000\n"
                            "   3 | 0.04268\n   4 | 0.02500\n");

    // Warmup from 0.1/3 over 2 epochs, then cosine over the remaining 4.
    Result warmup = run({"schedule", "--schedule", "warmup-cosine", "--t-max", "6", "--warmup-steps", "2",
                         "--format", "csv"});
    EXPECT_EQ(warmup.status, 0) << warmup.err;
    std::vector<std::string> rows = lines(warmup.out);
    ASSERT_EQ(rows.size(), 14u); // default steps 2*t-max = 12
    EXPECT_EQ(rows[1], "0,0.033333333333333333");
    EXPECT_EQ(rows[3], "2,0.10000000000000001");
    EXPECT_EQ(rows[7], "6,0");

    // StepLR: halved every 2 epochs; default steps 4*step-size.
    Result step = run({"schedule", "--schedule", "step", "--step-size", "2", "--gamma", "0.5"});
    EXPECT_EQ(step.status, 0) << step.err;
    EXPECT_EQ(step.out, "Step | Learning Rate\n   1 | 0.10000\n   2 | 0.05000\n   3 | 0.05000\n"
                        "   4 | 0.02500\n   5 | 0.02500\n   6 | 0.01250\n   7 | 0.01250\n   8 | 0.00625\n");

    // Warmup from 0.01 over 2 epochs, linear decay to 0.01 at t-max 6, then flat.
    Result linear = run({"schedule", "--schedule", "warmup-linear", "--t-max", "6", "--warmup-steps", "2",
                         "--warmup-start-factor", "0.1", "--eta-min", "0.01", "--steps", "8"});
    EXPECT_EQ(linear.status, 0) << linear.err;
    EXPECT_EQ(linear.out, "Step | Learning Rate\n   1 | 0.05500\n   2 | 0.10000\n   3 | 0.07750\n"
                          "   4 | 0.05500\n   5 | 0.03250\n   6 | 0.01000\n   7 | 0.01000\n   8 | 0.01000\n");
}

TEST(CliSchedule, SmallLearningRatesGetMoreDecimals)
{
    Result r = run({"schedule", "--schedule", "constant", "--lr", "3e-4", "--steps", "1"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "Step | Learning Rate\n   1 | 0.0003000\n");
}

TEST(CliSchedule, HelpGoesToStdout)
{
    Result r = run({"schedule", "--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_NE(r.out.find("usage: fusedopt schedule"), std::string::npos);
    EXPECT_NE(r.out.find("--warmup-start-factor"), std::string::npos);
}

struct BadCase {
    std::vector<std::string> args;
    const char *names; // what the one-line message must mention
};

TEST(CliSchedule, BadInputExits2WithOneLineAndUsage)
{
    const BadCase cases[] = {
        {{"--t-max", "abc"}, "--t-max: expected an integer in [1, 1152921504606846976], got 'abc'"},
        {{"--t-max", "0"}, "--t-max"},
        {{"--t-max", "2.5"}, "--t-max"},
        {{"--lr", "nan"}, "--lr"},
        {{"--lr", "inf"}, "--lr"},
        {{"--lr", "1e999"}, "--lr"},
        {{"--lr=0.1x"}, "--lr"},
        {{"--lr", " 0.1"}, "--lr"},
        {{"--lr", "-0.1"}, "--lr"},
        {{"--lr"}, "--lr: missing value"},
        {{"--lr", "--steps", "3"}, "--lr: missing value"},
        {{"--steps", "-1"}, "--steps"},
        {{"--steps", "99999999999999999999"}, "--steps"},
        {{"--schedule", "linear"}, "--schedule"},
        {{"--format", "xml"}, "--format"},
        {{"--warmup-start-factor=0", "--schedule=warmup-cosine"}, "--warmup-start-factor"},
        {{"--restart-decay", "0", "--schedule", "restarts"}, "--restart-decay"},
        {{"--restart-decay", "1.5", "--schedule", "restarts"}, "--restart-decay"},
        {{"--t-mult", "2000000", "--schedule", "restarts"}, "--t-mult"},
        {{"--t-max", "2305843009213693953"}, "--t-max"}, // 2^60 + 1
        {{"--bogus", "1"}, "--bogus: unknown option"},
        {{"--help=yes"}, "--help"},
        {{"stray"}, "'stray'"},
        {{"--plot="}, "--plot"},
        {{"--schedule", "restarts", "--t-max", "5"}, "--t-max: does not apply to --schedule restarts"},
        {{"--schedule", "constant", "--eta-min", "0.1"}, "--eta-min"},
        {{"--schedule", "step", "--eta-min", "0.1"}, "--eta-min: does not apply to --schedule step"},
        {{"--schedule", "cosine", "--gamma", "0.5"}, "--gamma: does not apply to --schedule cosine"},
        {{"--schedule", "step", "--gamma", "0"}, "--gamma"},
        {{"--schedule", "step", "--gamma", "1.01"}, "--gamma"},
        {{"--schedule", "step", "--step-size", "0"}, "--step-size"},
        {{"--schedule", "step", "--step-size", "1000000000000"}, "--steps"}, // default 4*step-size too long
        {{"--t-max", "1000000000000"}, "--steps"}, // default 2*t-max too long
        // Caught by the library (fopt_schedule_check): its message is shown.
        {{"--schedule", "warmup-cosine", "--t-max", "4", "--warmup-steps", "4"}, "--warmup-steps: schedule.warmup_steps"},
        {{"--schedule", "warmup-linear", "--t-max", "3", "--warmup-steps", "5"}, "--warmup-steps: schedule.warmup_steps"},
    };
    for (const BadCase &c : cases) {
        std::vector<std::string> args{"schedule"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        Result r = run(args);
        std::string first = r.err.substr(0, r.err.find('\n'));
        SCOPED_TRACE(first);
        EXPECT_EQ(r.status, 2);
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(first.rfind("fusedopt schedule: ", 0), 0u);
        EXPECT_NE(first.find(c.names), std::string::npos);
        EXPECT_NE(r.err.find("\nusage: fusedopt schedule"), std::string::npos);
    }
}

TEST(CliSchedule, PlotWritesPng)
{
    if (!have_gnuplot()) {
        GTEST_SKIP() << "gnuplot is not installed";
    }
    std::string png = temp_path("plot.png");
    std::remove(png.c_str());
    Result r = run({"schedule", "--schedule", "warmup-cosine", "--t-max", "20", "--warmup-steps", "3",
                    "--plot", png});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lines(r.out).size(), 41u); // the table is printed as well
    std::string data = slurp(png);
    ASSERT_GE(data.size(), 8u);
    EXPECT_EQ(data.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    std::remove(png.c_str());
}

TEST(CliSchedule, PlotFailsCleanlyWhenGnuplotFails)
{
    if (!have_gnuplot()) {
        GTEST_SKIP() << "gnuplot is not installed";
    }
    Result r = run({"schedule", "--plot", "/nonexistent-dir/x.png"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, ""); // neither the table nor gnuplot's PNG
    EXPECT_NE(r.err.find("--plot: gnuplot failed"), std::string::npos);
}

TEST(CliSchedule, PlotWithoutGnuplotExits1)
{
    std::string png = temp_path("none.png");
    Result r = run({"schedule", "--plot", png}, {"PATH=/nonexistent"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("--plot: gnuplot not found"), std::string::npos);
    EXPECT_NE(access(png.c_str(), F_OK), 0);
}

} // namespace
