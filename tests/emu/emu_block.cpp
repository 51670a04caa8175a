/*
 * Runs one thread block: every GPU thread is run by a fiber, and a fiber runs
 * threads back to back for as long as they finish without waiting. Only a
 * thread that must wait (at __syncthreads or a warp intrinsic) keeps its fiber
 * suspended; the scheduler then hands the next unstarted threads to another
 * fiber. A block without barriers thus costs two context switches in total.
 */
#include <cstring>

#include "emu_fiber.h"
#include "emu_internal.h"

namespace fopt_emu {
namespace {

constexpr unsigned kMaxThreads = 1024;
constexpr unsigned kMaxWarps = kMaxThreads / 32;

struct Warp {
    unsigned expected;           /* lanes that take part in the exchange under way */
    unsigned arrived;            /* lanes that have reached it */
    const char *what;            /* the intrinsic, to catch lanes calling different ones */
    unsigned long long offer[32];
    int source[32];              /* lane whose offer each lane receives; -1: the ballot */
    Fiber *fiber[32];
};

struct Block {
    const std::function<void()> *body;
    unsigned nthreads, next, done;
    Fiber *current;              /* fiber running now; null outside kernels */
    unsigned at_barrier;
    const char *barrier_file;    /* source position of the __syncthreads waited at */
    int barrier_line;
    Fiber *barrier_waiter[kMaxThreads];
    Fiber *ready[kMaxThreads];   /* ring of fibers that may continue */
    unsigned ready_head, ready_count;
    Warp warp[kMaxWarps];
};

thread_local Block block;

void make_ready(Fiber *f)
{
    block.ready[(block.ready_head + block.ready_count++) % kMaxThreads] = f;
}

void set_thread_index(unsigned t)
{
    threadIdx.x = t % blockDim.x;
    unsigned rest = t / blockDim.x;
    threadIdx.y = rest % blockDim.y;
    threadIdx.z = rest / blockDim.y;
}

void fiber_main()
{
    fiber_started();
    for (;;) {
        Fiber *self = block.current;
        while (block.next < block.nthreads) {
            unsigned t = block.next++;
            self->thread = t;
            set_thread_index(t);
            (*block.body)();
            ++block.done;
        }
        self->idle = true;
        fiber_suspend(self);
    }
}

Fiber *running_fiber(const char *what)
{
    if (!block.current)
        fatal("%s called outside a kernel", what);
    return block.current;
}

unsigned lanes_present(unsigned warp)
{
    unsigned n = block.nthreads - warp * 32;
    return n >= 32 ? 0xffffffffu : (1u << n) - 1u;
}

/* Offers `offer` and waits until every lane in the mask has arrived; the
 * last lane to arrive computes what each lane receives. */
unsigned long long warp_exchange(unsigned mask, unsigned long long offer, int source,
                                 unsigned *participants, const char *what)
{
    Fiber *self = running_fiber(what);
    unsigned w = self->thread / 32, lane = self->thread % 32;
    Warp &warp = block.warp[w];
    unsigned expected = mask & lanes_present(w);
    if (!(mask >> lane & 1u))
        fatal("%s: lane %u of warp %u calls it with mask 0x%08x, which excludes the lane", what,
              lane, w, mask);
    if (warp.arrived == 0) {
        warp.expected = expected;
        warp.what = what;
    } else if (warp.expected != expected || std::strcmp(warp.what, what) != 0) {
        fatal("%s: lanes of warp %u disagree: mask 0x%08x vs %s with mask 0x%08x", what, w, mask,
              warp.what, warp.expected);
    }
    warp.offer[lane] = offer;
    warp.source[lane] = source;
    warp.fiber[lane] = self;
    warp.arrived |= 1u << lane;
    *participants = expected;
    if (warp.arrived != expected) {
        fiber_suspend(self);
        return self->warp_result;
    }
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
        if ((expected >> l & 1u) && warp.offer[l] != 0)
            ballot |= 1u << l;
    for (unsigned l = 0; l < 32; ++l) {
        if (!(expected >> l & 1u))
            continue;
        int src = warp.source[l];
        if (src >= 0 && !(expected >> src & 1u))
            fatal("%s: lane %u of warp %u reads lane %d, which does not take part "
                  "(mask 0x%08x, %u threads in the block)",
                  what, l, w, src, mask, block.nthreads);
        warp.fiber[l]->warp_result = src < 0 ? ballot : warp.offer[src];
        if (l != lane)
            make_ready(warp.fiber[l]);
    }
    warp.arrived = 0;
    return self->warp_result;
}

[[noreturn]] void report_stuck_block()
{
    unsigned in_warp_ops = 0;
    for (unsigned w = 0; w < (block.nthreads + 31) / 32; ++w)
        in_warp_ops += (unsigned)__builtin_popcount(block.warp[w].arrived);
    fatal("block (%u,%u,%u) cannot finish: of %u threads, %u exited, %u wait at __syncthreads "
          "and %u in warp intrinsics. %s",
          blockIdx.x, blockIdx.y, blockIdx.z, block.nthreads, block.done, block.at_barrier,
          in_warp_ops,
          block.at_barrier ? "Divergent __syncthreads: not every thread of the block reaches it."
                           : "A warp intrinsic's mask names a lane that never arrives.");
}

} // namespace

bool in_kernel() { return block.current != nullptr; }

void run_block(unsigned nthreads, const std::function<void()> &body)
{
    block.body = &body;
    block.nthreads = nthreads;
    block.next = block.done = block.at_barrier = 0;
    block.ready_head = block.ready_count = 0;
    for (unsigned w = 0; w < (nthreads + 31) / 32; ++w)
        block.warp[w].arrived = 0;
    for (;;) {
        Fiber *f;
        if (block.ready_count) {
            f = block.ready[block.ready_head];
            block.ready_head = (block.ready_head + 1) % kMaxThreads;
            --block.ready_count;
            set_thread_index(f->thread);
        } else if (block.next < nthreads) {
            f = fiber_acquire(fiber_main);
            f->idle = false;
        } else {
            break;
        }
        block.current = f;
        fiber_resume(f);
        if (f->idle)
            fiber_release(f);
    }
    block.current = nullptr;
    if (block.done != nthreads)
        report_stuck_block();
}

unsigned long long shfl(unsigned mask, unsigned long long bits, ShflKind kind, int arg, int width,
                        const char *what)
{
    if (width <= 0 || width > 32 || (width & (width - 1)) != 0)
        fatal("%s: width %d is not a power of two in [1, 32]", what, width);
    int lane = (int)(running_fiber(what)->thread % 32);
    int base = lane & ~(width - 1);
    int src;
    switch (kind) {
    case ShflKind::index:
        src = base + (arg & (width - 1));
        break;
    case ShflKind::bfly:
        src = lane ^ arg;
        break;
    default:
        src = lane + arg;
        break;
    }
    if (src < base || src >= base + width)
        src = lane; /* out of the lane's segment: keeps its own value, as on the GPU */
    unsigned participants;
    return warp_exchange(mask, bits, src, &participants, what);
}

unsigned vote(unsigned mask, int pred, unsigned *participants, const char *what)
{
    return (unsigned)warp_exchange(mask, pred != 0, -1, participants, what);
}

} // namespace fopt_emu

void fopt_emu_syncthreads(const char *file, int line)
{
    using namespace fopt_emu;
    Fiber *self = running_fiber("__syncthreads");
    if (block.at_barrier == 0) {
        block.barrier_file = file;
        block.barrier_line = line;
    } else if (line != block.barrier_line || std::strcmp(file, block.barrier_file) != 0) {
        fatal("divergent __syncthreads in block (%u,%u,%u): thread %u waits at %s:%d "
              "while %u threads wait at %s:%d",
              blockIdx.x, blockIdx.y, blockIdx.z, self->thread, file, line, block.at_barrier,
              block.barrier_file, block.barrier_line);
    }
    if (block.at_barrier + 1 == block.nthreads) {
        for (unsigned i = 0; i < block.at_barrier; ++i)
            make_ready(block.barrier_waiter[i]);
        block.at_barrier = 0;
        return;
    }
    block.barrier_waiter[block.at_barrier++] = self;
    fiber_suspend(self);
}

void __syncwarp(unsigned mask)
{
    unsigned participants;
    fopt_emu::warp_exchange(mask, 0, -1, &participants, "__syncwarp");
}
