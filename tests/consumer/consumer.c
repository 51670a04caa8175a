/*
 * The smallest complete fusedopt program, built against an installed copy of
 * the library (scripts/check-install.sh builds it with CMake and with
 * pkg-config). scripts/check-readme.sh checks the README's own snippet.
 *
 * Four parameters in host memory (so the CPU backend runs), a constant
 * gradient, Adam with a cosine schedule that advances every step.
 */
#include <stdio.h>

#include <fusedopt.h>

int main(void)
{
    float w[4] = {1.0f, 2.0f, 3.0f, 4.0f};        /* parameters */
    float g[4] = {0.5f, -0.5f, 0.25f, -0.25f};    /* gradients: your backward pass writes these */
    fopt_tensor tensor = {w, g, 4};

    fopt_options options = fopt_default_options(FOPT_ADAM);
    options.schedule.kind = FOPT_SCHEDULE_COSINE; /* PyTorch CosineAnnealingLR */
    options.schedule.base_lr = 0.1;
    options.schedule.t_max = 10;
    options.steps_per_epoch = 1;                  /* advance the schedule every step */

    fopt_optimizer *opt = NULL;
    fopt_status status = fopt_create(&opt, &options, &tensor, 1);
    if (status != FOPT_SUCCESS) {
        fprintf(stderr, "fopt_create: %s: %s\n", fopt_status_string(status), fopt_last_error(NULL));
        return 1;
    }
    for (int i = 0; i < 3 && status == FOPT_SUCCESS; i++) {
        status = fopt_step(opt);                  /* after each backward pass */
    }
    double lr = 0.0;
    if (status == FOPT_SUCCESS) {
        status = fopt_get_last_lr(opt, &lr);
    }
    if (status != FOPT_SUCCESS) {
        fprintf(stderr, "fusedopt: %s: %s\n", fopt_status_string(status), fopt_last_error(opt));
    }
    fopt_destroy(opt);
    printf("fusedopt %d, w = [%.4f %.4f %.4f %.4f], last lr %.5f\n", fopt_version(), w[0], w[1], w[2], w[3], lr);

    /* Adam moves each weight by about lr per step against its gradient's sign. */
    int ok = status == FOPT_SUCCESS && fopt_version() == FOPT_VERSION && w[0] < 1.0f && w[1] > 2.0f &&
             w[2] < 3.0f && w[3] > 4.0f;
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
