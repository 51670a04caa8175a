/* Fiber stacks and context switches. swapcontext costs a signal-mask system
 * call, so the block scheduler switches only when a thread must wait. */
#include "emu_fiber.h"

#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "emu_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define FOPT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FOPT_EMU_ASAN 1
#endif
#endif

#ifdef FOPT_EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace fopt_emu {
namespace {

#ifdef FOPT_EMU_ASAN
constexpr std::size_t kStackBytes = 256 * 1024; /* ASan redzones inflate frames */
#else
constexpr std::size_t kStackBytes = 64 * 1024;
#endif

struct Pool {
    std::vector<Fiber *> all, free;
    ~Pool()
    {
        for (Fiber *f : all) {
            munmap(f->mapping, f->stack_bytes + (std::size_t)sysconf(_SC_PAGESIZE));
            delete f;
        }
    }
};

thread_local Pool pool;
thread_local ucontext_t scheduler_context;
/* The scheduler's stack as ASan knows it, learnt on each switch into a fiber. */
thread_local const void *scheduler_stack_bottom;
thread_local std::size_t scheduler_stack_size;

inline void asan_start_switch(void **fake_stack_save, const void *bottom, std::size_t size)
{
#ifdef FOPT_EMU_ASAN
    __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
    (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

inline void asan_finish_switch(void *fake_stack_save, const void **old_bottom,
                               std::size_t *old_size)
{
#ifdef FOPT_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
    (void)fake_stack_save, (void)old_bottom, (void)old_size;
#endif
}

Fiber *fiber_create(void (*entry)())
{
    std::size_t page = (std::size_t)sysconf(_SC_PAGESIZE);
    void *mem = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        fatal("cannot map a %zu-byte fiber stack", kStackBytes);
    /* a stack overflow faults on the guard page instead of corrupting memory */
    if (mprotect(mem, page, PROT_NONE) != 0)
        fatal("cannot protect a fiber stack guard page");
    Fiber *f = new Fiber();
    f->mapping = static_cast<char *>(mem);
    f->stack_bytes = kStackBytes;
    if (getcontext(&f->context) != 0)
        fatal("getcontext failed");
    f->context.uc_stack.ss_sp = f->mapping + page;
    f->context.uc_stack.ss_size = kStackBytes;
    f->context.uc_link = nullptr;
    makecontext(&f->context, entry, 0);
    pool.all.push_back(f);
    return f;
}

} // namespace

Fiber *fiber_acquire(void (*entry)())
{
    if (pool.free.empty())
        return fiber_create(entry);
    Fiber *f = pool.free.back();
    pool.free.pop_back();
    return f;
}

void fiber_release(Fiber *f) { pool.free.push_back(f); }

void fiber_resume(Fiber *f)
{
    void *fake_stack = nullptr;
    asan_start_switch(&fake_stack, f->context.uc_stack.ss_sp, f->stack_bytes);
    swapcontext(&scheduler_context, &f->context);
    asan_finish_switch(fake_stack, nullptr, nullptr);
}

void fiber_suspend(Fiber *self)
{
    asan_start_switch(&self->asan_fake_stack, scheduler_stack_bottom, scheduler_stack_size);
    swapcontext(&self->context, &scheduler_context);
    asan_finish_switch(self->asan_fake_stack, &scheduler_stack_bottom, &scheduler_stack_size);
}

void fiber_started()
{
    asan_finish_switch(nullptr, &scheduler_stack_bottom, &scheduler_stack_size);
}

} // namespace fopt_emu
