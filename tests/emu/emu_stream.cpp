/*
 * Streams, events, stream capture and graphs. Work runs when it is enqueued,
 * so every stream is always complete (valid stream semantics). A capturing
 * stream records the work as closures instead; a graph replays them in order.
 */
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "emu_internal.h"

using Work = std::function<void()>;
using Nodes = std::shared_ptr<const std::vector<Work>>;

struct CUstream_st {
    unsigned flags;
    bool capturing, invalidated;
    cudaStreamCaptureMode mode;
    std::vector<Work> captured;
};

struct CUevent_st {
    unsigned flags;
    bool recorded;
    std::chrono::steady_clock::time_point when;
};

struct CUgraph_st {
    Nodes nodes;
};

struct CUgraphExec_st {
    Nodes nodes;
};

namespace {

std::mutex registry_mutex;
std::set<cudaStream_t> streams;
std::set<cudaEvent_t> events;
std::set<cudaGraph_t> graphs;
std::set<cudaGraphExec_t> execs;

/* Invalidates the captures that `affected` selects; true if there was one.
 * Call with registry_mutex held. */
template <class Pred> bool invalidate_captures(Pred affected)
{
    bool any = false;
    for (cudaStream_t s : streams)
        if (s->capturing && affected(s)) {
            s->invalidated = true;
            any = true;
        }
    return any;
}

} // namespace

namespace fopt_emu {

cudaError_t enqueue(cudaStream_t stream, Work work)
{
    {
        std::lock_guard<std::mutex> lock(registry_mutex);
        if (stream) {
            if (!streams.count(stream))
                return cudaErrorInvalidResourceHandle;
            if (stream->capturing) {
                if (stream->invalidated)
                    return cudaErrorStreamCaptureInvalidated;
                stream->captured.push_back(std::move(work));
                return cudaSuccess;
            }
        } else if (invalidate_captures(
                       [](cudaStream_t s) { return !(s->flags & cudaStreamNonBlocking); })) {
            /* the legacy stream would have to wait for a capturing blocking stream */
            return cudaErrorStreamCaptureImplicit;
        }
    }
    work();
    return cudaSuccess;
}

cudaError_t check_sync_allowed(cudaStream_t stream, bool whole_device)
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (stream && !streams.count(stream))
        return cudaErrorInvalidResourceHandle;
    bool refused = invalidate_captures([&](cudaStream_t s) {
        return whole_device || s == stream || s->mode != cudaStreamCaptureModeRelaxed;
    });
    return refused ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t check_unsafe_call_allowed()
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    bool refused =
        invalidate_captures([](cudaStream_t s) { return s->mode != cudaStreamCaptureModeRelaxed; });
    return refused ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

} // namespace fopt_emu

using fopt_emu::record;

extern "C" {

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    if (!pStream || (flags & ~(unsigned)cudaStreamNonBlocking))
        return record(cudaErrorInvalidValue);
    if (fopt_emu::no_device())
        return record(cudaErrorNoDevice);
    cudaStream_t s = new CUstream_st{flags, false, false, cudaStreamCaptureModeGlobal, {}};
    std::lock_guard<std::mutex> lock(registry_mutex);
    streams.insert(s);
    *pStream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    return cudaStreamCreateWithFlags(pStream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!streams.erase(stream))
        return record(cudaErrorInvalidResourceHandle);
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    ++fopt_emu::counters.syncs;
    return record(fopt_emu::check_sync_allowed(stream, false));
}

cudaError_t cudaDeviceSynchronize(void)
{
    ++fopt_emu::counters.syncs;
    if (fopt_emu::no_device())
        return record(cudaErrorNoDevice);
    return record(fopt_emu::check_sync_allowed(nullptr, true));
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    if (!event || (flags & ~(unsigned)(cudaEventBlockingSync | cudaEventDisableTiming)))
        return record(cudaErrorInvalidValue);
    if (fopt_emu::no_device())
        return record(cudaErrorNoDevice);
    cudaEvent_t e = new CUevent_st{flags, false, {}};
    std::lock_guard<std::mutex> lock(registry_mutex);
    events.insert(e);
    *event = e;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    {
        std::lock_guard<std::mutex> lock(registry_mutex);
        if (!events.count(event))
            return record(cudaErrorInvalidResourceHandle);
    }
    return record(fopt_emu::enqueue(stream, [event] {
        event->when = std::chrono::steady_clock::now();
        event->recorded = true;
    }));
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    ++fopt_emu::counters.syncs;
    {
        std::lock_guard<std::mutex> lock(registry_mutex);
        if (!events.count(event))
            return record(cudaErrorInvalidResourceHandle);
    }
    return record(fopt_emu::check_sync_allowed(nullptr, true));
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    if (!ms)
        return record(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!events.count(start) || !events.count(end))
        return record(cudaErrorInvalidResourceHandle);
    if (!start->recorded || !end->recorded ||
        ((start->flags | end->flags) & cudaEventDisableTiming))
        return record(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!events.erase(event))
        return record(cudaErrorInvalidResourceHandle);
    delete event;
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode)
{
    if (mode < cudaStreamCaptureModeGlobal || mode > cudaStreamCaptureModeRelaxed)
        return record(cudaErrorInvalidValue);
    if (!stream) /* the legacy stream cannot be captured */
        return record(cudaErrorStreamCaptureUnsupported);
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!streams.count(stream))
        return record(cudaErrorInvalidResourceHandle);
    if (stream->capturing)
        return record(cudaErrorIllegalState);
    stream->capturing = true;
    stream->invalidated = false;
    stream->mode = mode;
    stream->captured.clear();
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *pGraph)
{
    if (!pGraph)
        return record(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!stream || !streams.count(stream))
        return record(cudaErrorInvalidResourceHandle);
    if (!stream->capturing)
        return record(cudaErrorIllegalState);
    stream->capturing = false;
    std::vector<Work> captured = std::move(stream->captured);
    stream->captured.clear();
    if (stream->invalidated) {
        *pGraph = nullptr;
        return record(cudaErrorStreamCaptureInvalidated);
    }
    cudaGraph_t g = new CUgraph_st{std::make_shared<const std::vector<Work>>(std::move(captured))};
    graphs.insert(g);
    *pGraph = g;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *pGraphExec, cudaGraph_t graph,
                                 unsigned long long flags)
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!pGraphExec || !graphs.count(graph) || flags != 0)
        return record(cudaErrorInvalidValue);
    cudaGraphExec_t exec = new CUgraphExec_st{graph->nodes};
    execs.insert(exec);
    *pGraphExec = exec;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream)
{
    Nodes nodes;
    {
        std::lock_guard<std::mutex> lock(registry_mutex);
        if (!execs.count(graphExec))
            return record(cudaErrorInvalidResourceHandle);
        nodes = graphExec->nodes;
    }
    return record(fopt_emu::enqueue(stream, [nodes] {
        for (const Work &node : *nodes)
            node();
    }));
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t graphExec)
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!execs.erase(graphExec))
        return record(cudaErrorInvalidValue);
    delete graphExec;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (!graphs.erase(graph))
        return record(cudaErrorInvalidValue);
    delete graph;
    return cudaSuccess;
}

} // extern "C"
