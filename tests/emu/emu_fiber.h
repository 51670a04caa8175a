/* Cooperative fibers on pooled stacks (ucontext), ASan-aware. */
#ifndef FOPT_EMU_FIBER_H
#define FOPT_EMU_FIBER_H

#include <cstddef>
#include <ucontext.h>

namespace fopt_emu {

struct Fiber {
    ucontext_t context;
    char *mapping;              /* guard page + stack */
    std::size_t stack_bytes;    /* usable bytes above the guard page */
    void *asan_fake_stack;
    unsigned thread;            /* linear index of the GPU thread it runs now */
    bool idle;                  /* left its work loop; may be reused */
    unsigned long long warp_result; /* delivered by the lane that completes a warp exchange */
};

/* A fiber from the calling OS thread's pool. Fibers are created once, on
 * their own stack, to run `entry` (which never returns), and are reused. */
Fiber *fiber_acquire(void (*entry)());
void fiber_release(Fiber *f);
/* Scheduler to fiber, returning when the fiber suspends. */
void fiber_resume(Fiber *f);
/* Fiber back to the scheduler, returning when resumed. */
void fiber_suspend(Fiber *self);
/* The first thing `entry` must call. */
void fiber_started();

} // namespace fopt_emu

#endif
