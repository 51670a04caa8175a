#!/usr/bin/python3
"""Writes the PyTorch golden fixtures that tests/test_golden*.cpp read.

Run with the system Python that has torch (python3-torch), from anywhere:
    /usr/bin/python3 tests/golden/make_golden.py
It rewrites schedules.txt and optimizers.txt next to this script. CI never
runs it; the fixtures are committed.

Every number is a float64 printed with repr(), which round-trips exactly.
Format (whitespace-separated tokens; lines starting with '#' are comments):

schedules.txt, per configuration:
    schedule NAME kind K base_lr X eta_min X t_max N t_0 N t_mult N
             restart_decay X warmup_steps N warmup_start_factor X
             step_size N gamma X epochs E
    lr V_0 ... V_E            lr after t scheduler.step() calls, t = 0..E

optimizers.txt:
    tensors T numel N_1 .. N_T steps S
    init P_1 .. P_N           initial parameters, all tensors concatenated
    grad k G_1 .. G_N         gradient fed at optimizer step k = 1..S
  then per configuration:
    trajectory NAME algorithm A weight_decay X maximize B momentum X
               dampening X nesterov B beta1 X beta2 X eps X amsgrad B
               lr_decay X initial_accumulator_value X alpha X centered B
               [tensor_weight_decay X_1 .. X_T] [tensor_base_lr X_1 .. X_T]
               kind K base_lr X eta_min X t_max N
        with either list: one parameter group per tensor, group t with
        weight_decay X_t (fopt_options.tensor_weight_decay) and lr X_t
        (fopt_options.tensor_base_lr); group 0's lr is base_lr
    step k lr LR param P_1 .. P_N   LR used by step k, params after it
"""
import os
import warnings

import torch
from torch.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from torch.optim.lr_scheduler import (CosineAnnealingLR, CosineAnnealingWarmRestarts,
                                      LambdaLR, LinearLR, SequentialLR, StepLR)

warnings.filterwarnings("ignore")  # scheduler.step() before optimizer.step(), epoch argument
torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))

# fopt_schedule_kind values (include/fusedopt.h)
CONSTANT, COSINE, RESTARTS, WARMUP_COSINE, STEP, WARMUP_LINEAR = 0, 1, 2, 3, 4, 5
# fopt_algorithm values
ALGO_SGD, ALGO_ADAM, ALGO_ADAMW, ALGO_ADAGRAD, ALGO_RMSPROP = 1, 2, 3, 4, 5


def fmt(x):
    return repr(float(x))


def schedule_config(kind, base_lr, eta_min=0.0, t_max=1, t_0=1, t_mult=1,
                    warmup_steps=0, warmup_start_factor=1.0, step_size=1, gamma=0.1):
    return dict(kind=kind, base_lr=base_lr, eta_min=eta_min, t_max=t_max, t_0=t_0,
                t_mult=t_mult, restart_decay=1.0, warmup_steps=warmup_steps,
                warmup_start_factor=warmup_start_factor, step_size=step_size, gamma=gamma)


def make_scheduler(optimizer, s):
    """The PyTorch scheduler that our fopt_schedule `s` promises to follow."""
    if s["kind"] == CONSTANT:
        return LambdaLR(optimizer, lambda epoch: 1.0)
    if s["kind"] == COSINE:
        return CosineAnnealingLR(optimizer, T_max=s["t_max"], eta_min=s["eta_min"])
    if s["kind"] == RESTARTS:
        return CosineAnnealingWarmRestarts(optimizer, T_0=s["t_0"], T_mult=s["t_mult"],
                                           eta_min=s["eta_min"])
    if s["kind"] == STEP:
        return StepLR(optimizer, step_size=s["step_size"], gamma=s["gamma"])
    w = s["warmup_steps"]
    if s["kind"] == WARMUP_LINEAR:
        # Decay to eta_min: LinearLR's end factor is relative to the base lr.
        decay = LinearLR(optimizer, start_factor=1.0, end_factor=s["eta_min"] / s["base_lr"],
                         total_iters=s["t_max"] - w)
        if w == 0:
            return decay
    else:
        decay = CosineAnnealingLR(optimizer, T_max=s["t_max"] - w, eta_min=s["eta_min"])
    warmup = LinearLR(optimizer, start_factor=s["warmup_start_factor"], end_factor=1.0,
                      total_iters=w)
    return SequentialLR(optimizer, [warmup, decay], milestones=[w])


# (name, schedule, epochs)
SCHEDULES = [
    ("constant", schedule_config(CONSTANT, 0.003), 10),
    ("cosine_seed", schedule_config(COSINE, 0.1, 0.01, t_max=5), 30),
    ("cosine_tmax1", schedule_config(COSINE, 0.5, 0.05, t_max=1), 12),
    ("cosine_tmax1_eta0", schedule_config(COSINE, 1.0, 0.0, t_max=1), 6),
    ("cosine_long", schedule_config(COSINE, 0.001, 1e-6, t_max=100000), 300),
    ("cosine_eta_above_base", schedule_config(COSINE, 0.01, 0.1, t_max=7), 30),
    ("cosine_eta0", schedule_config(COSINE, 1.0, 0.0, t_max=10), 45),
    ("cosine_tmax3", schedule_config(COSINE, 0.2, 0.002, t_max=3), 20),
    ("restarts_mult1", schedule_config(RESTARTS, 0.1, 0.0, t_0=4, t_mult=1), 25),
    ("restarts_mult1_eta", schedule_config(RESTARTS, 0.05, 0.005, t_0=7, t_mult=1), 30),
    ("restarts_mult2", schedule_config(RESTARTS, 0.1, 0.001, t_0=3, t_mult=2), 50),
    ("restarts_mult3", schedule_config(RESTARTS, 1.0, 0.01, t_0=2, t_mult=3), 90),
    ("restarts_t0_1", schedule_config(RESTARTS, 0.3, 0.0, t_0=1, t_mult=2), 40),
    ("warmup_f001", schedule_config(WARMUP_COSINE, 0.1, 0.0, t_max=20, warmup_steps=5,
                                    warmup_start_factor=0.01), 45),
    ("warmup_f01", schedule_config(WARMUP_COSINE, 0.02, 0.001, t_max=12, warmup_steps=3,
                                   warmup_start_factor=0.1), 30),
    ("warmup_w1", schedule_config(WARMUP_COSINE, 1.0, 0.1, t_max=6, warmup_steps=1,
                                  warmup_start_factor=0.1), 20),
    ("warmup_tail1", schedule_config(WARMUP_COSINE, 0.5, 0.0, t_max=9, warmup_steps=8,
                                     warmup_start_factor=0.25), 20),
    ("step_3_half", schedule_config(STEP, 0.1, step_size=3, gamma=0.5), 30),
    ("step_exponential", schedule_config(STEP, 0.05, step_size=1, gamma=0.9), 60),
    ("step_7_tenth", schedule_config(STEP, 1.0, step_size=7, gamma=0.1), 40),
    ("warmup_linear_to0", schedule_config(WARMUP_LINEAR, 0.1, 0.0, t_max=20, warmup_steps=4,
                                          warmup_start_factor=0.1), 30),
    ("warmup_linear_eta", schedule_config(WARMUP_LINEAR, 0.02, 0.002, t_max=15, warmup_steps=5,
                                          warmup_start_factor=0.25), 25),
    ("linear_decay_w0", schedule_config(WARMUP_LINEAR, 0.5, 0.05, t_max=10), 15),
]


def schedule_lrs(s, epochs):
    """param_groups[0]['lr'] after t scheduler.step() calls, t = 0..epochs."""
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = SGD([param], lr=s["base_lr"])
    scheduler = make_scheduler(optimizer, s)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(epochs):
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def schedule_header(s):
    keys = ["kind", "base_lr", "eta_min", "t_max", "t_0", "t_mult", "restart_decay",
            "warmup_steps", "warmup_start_factor", "step_size", "gamma"]
    return " ".join(f"{k} {s[k] if isinstance(s[k], int) else fmt(s[k])}" for k in keys)


def write_schedules(path):
    with open(path, "w") as f:
        f.write(f"# PyTorch {torch.__version__} learning-rate schedules, see make_golden.py\n")
        for name, s, epochs in SCHEDULES:
            lrs = schedule_lrs(s, epochs)
            f.write(f"schedule {name} {schedule_header(s)} epochs {epochs}\n")
            f.write("lr " + " ".join(fmt(v) for v in lrs) + "\n")


# ---------------------------------------------------------------- optimizers

NUMEL = [7, 3]
STEPS = 25
OPT_SCHEDULE = schedule_config(COSINE, 0.05, 0.001, t_max=10)


def optimizer_configs():
    """(name, options) for every option combination we promise to match."""
    configs = []
    for momentum in (0.0, 0.9):
        variants = [(0.0, 0)] if momentum == 0 else [(0.0, 0), (0.0, 1), (0.1, 0)]
        for dampening, nesterov in variants:
            for wd in (0.0, 0.01):
                for maximize in (0, 1):
                    name = f"sgd_m{momentum:g}_d{dampening:g}_n{nesterov}_wd{wd:g}_max{maximize}"
                    configs.append((name, dict(algorithm=ALGO_SGD, weight_decay=wd,
                                               maximize=maximize, momentum=momentum,
                                               dampening=dampening, nesterov=nesterov)))
    for algorithm, label in ((ALGO_ADAM, "adam"), (ALGO_ADAMW, "adamw")):
        for amsgrad in (0, 1):
            for wd in (0.0, 0.05):
                for maximize in (0, 1):
                    name = f"{label}_ams{amsgrad}_wd{wd:g}_max{maximize}"
                    configs.append((name, dict(algorithm=algorithm, weight_decay=wd,
                                               maximize=maximize, amsgrad=amsgrad)))
        configs.append((f"{label}_betas_eps", dict(algorithm=algorithm, weight_decay=0.02,
                                                   maximize=0, amsgrad=0, beta1=0.8,
                                                   beta2=0.95, eps=1e-3)))
        configs.append((f"{label}_betas_eps_ams", dict(algorithm=algorithm, weight_decay=0.02,
                                                       maximize=1, amsgrad=1, beta1=0.5,
                                                       beta2=0.9, eps=1e-6)))
        # Parameter groups differing in weight decay (e.g. none for biases).
        configs.append((f"{label}_groups", dict(algorithm=algorithm, weight_decay=0.01,
                                                tensor_weight_decay=[0.05, 0.0])))
        configs.append((f"{label}_groups_ams_max", dict(algorithm=algorithm, weight_decay=0.0,
                                                        amsgrad=1, maximize=1,
                                                        tensor_weight_decay=[0.0, 0.1])))
    configs.append(("sgd_groups_nesterov", dict(algorithm=ALGO_SGD, weight_decay=0.0, momentum=0.9,
                                                nesterov=1, tensor_weight_decay=[0.01, 0.0])))
    configs.append(("sgd_groups_dampening", dict(algorithm=ALGO_SGD, weight_decay=0.3, momentum=0.5,
                                                 dampening=0.1, tensor_weight_decay=[0.0, 0.02])))
    # Parameter groups with their own lr under one scheduler (eta_min shared;
    # adamw's second group starts below eta_min).
    configs.append(("sgd_lr_groups", dict(algorithm=ALGO_SGD, weight_decay=0.01, momentum=0.9,
                                          tensor_base_lr=[0.05, 0.2], tensor_weight_decay=[0.01, 0.0])))
    configs.append(("adam_lr_groups", dict(algorithm=ALGO_ADAM, weight_decay=0.0, amsgrad=1,
                                           tensor_base_lr=[0.05, 0.005])))
    configs.append(("adamw_lr_groups", dict(algorithm=ALGO_ADAMW, weight_decay=0.05,
                                            tensor_base_lr=[0.05, 0.0005],
                                            tensor_weight_decay=[0.1, 0.0])))
    for lr_decay in (0.0, 0.05):
        for wd in (0.0, 0.02):
            for maximize in (0, 1):
                for initial in (0.0, 0.1):
                    name = f"adagrad_lrd{lr_decay:g}_wd{wd:g}_max{maximize}_init{initial:g}"
                    configs.append((name, dict(algorithm=ALGO_ADAGRAD, weight_decay=wd, maximize=maximize,
                                               lr_decay=lr_decay, initial_accumulator_value=initial,
                                               eps=1e-10)))
    configs.append(("adagrad_eps", dict(algorithm=ALGO_ADAGRAD, eps=1e-3, lr_decay=0.01,
                                        initial_accumulator_value=0.5)))
    for momentum in (0.0, 0.9):
        for centered in (0, 1):
            for wd in (0.0, 0.01):
                for maximize in (0, 1):
                    name = f"rmsprop_m{momentum:g}_c{centered}_wd{wd:g}_max{maximize}"
                    configs.append((name, dict(algorithm=ALGO_RMSPROP, momentum=momentum,
                                               centered=centered, weight_decay=wd,
                                               maximize=maximize)))
    configs.append(("rmsprop_alpha_eps", dict(algorithm=ALGO_RMSPROP, alpha=0.9, eps=1e-3,
                                              momentum=0.5, centered=1)))
    configs.append(("adagrad_lr_groups", dict(algorithm=ALGO_ADAGRAD, eps=1e-10, weight_decay=0.01,
                                              tensor_base_lr=[0.05, 0.2],
                                              tensor_weight_decay=[0.0, 0.05])))
    full = []
    for name, c in configs:
        o = dict(weight_decay=0.0, maximize=0, momentum=0.0, dampening=0.0, nesterov=0,
                 beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=0, lr_decay=0.0,
                 initial_accumulator_value=0.0, alpha=0.99, centered=0)
        o.update(c)
        full.append((name.replace(".", ""), o))
    return full


def make_optimizer(params, o, lr):
    """One parameter group per tensor when o has a per-tensor list, else one for all."""
    if "tensor_weight_decay" in o or "tensor_base_lr" in o:
        decays = o.get("tensor_weight_decay", [o["weight_decay"]] * len(params))
        lrs = o.get("tensor_base_lr", [lr] * len(params))
        assert lrs[0] == lr, "group 0's lr is the schedule's base_lr"
        params = [dict(params=[p], weight_decay=wd, lr=group_lr)
                  for p, wd, group_lr in zip(params, decays, lrs)]
    if o["algorithm"] == ALGO_SGD:
        return SGD(params, lr=lr, momentum=o["momentum"], dampening=o["dampening"],
                   nesterov=bool(o["nesterov"]), weight_decay=o["weight_decay"],
                   maximize=bool(o["maximize"]), foreach=False)
    if o["algorithm"] == ALGO_RMSPROP:
        return RMSprop(params, lr=lr, alpha=o["alpha"], eps=o["eps"], weight_decay=o["weight_decay"],
                       momentum=o["momentum"], centered=bool(o["centered"]),
                       maximize=bool(o["maximize"]), foreach=False)
    if o["algorithm"] == ALGO_ADAGRAD:
        return Adagrad(params, lr=lr, lr_decay=o["lr_decay"], weight_decay=o["weight_decay"],
                       initial_accumulator_value=o["initial_accumulator_value"], eps=o["eps"],
                       maximize=bool(o["maximize"]), foreach=False)
    cls = Adam if o["algorithm"] == ALGO_ADAM else AdamW
    kwargs = dict(lr=lr, betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                  weight_decay=o["weight_decay"], amsgrad=bool(o["amsgrad"]),
                  maximize=bool(o["maximize"]), foreach=False)
    if "fused" in cls.__init__.__code__.co_varnames:
        kwargs["fused"] = False
    return cls(params, **kwargs)


def trajectory(o, init, grads):
    """[(lr used by step k, params after step k)] for k = 1..STEPS."""
    params, start = [], 0
    for n in NUMEL:
        params.append(torch.tensor(init[start:start + n], dtype=torch.float64, requires_grad=True))
        start += n
    optimizer = make_optimizer(params, o, OPT_SCHEDULE["base_lr"])
    scheduler = make_scheduler(optimizer, OPT_SCHEDULE)
    rows = []
    for k in range(STEPS):
        start = 0
        for p, n in zip(params, NUMEL):
            p.grad = torch.tensor(grads[k][start:start + n], dtype=torch.float64)
            start += n
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()  # steps_per_epoch = 1
        rows.append((lr, [v for p in params for v in p.detach().tolist()]))
    return rows


def inputs():
    """Initial params and per-step gradients from a seeded float64 generator.
    The last tensor gets small gradients (1e-3 scale) so Adam's eps matters."""
    gen = torch.Generator().manual_seed(20240611)
    total = sum(NUMEL)
    init = torch.randn(total, generator=gen, dtype=torch.float64).tolist()
    scale = torch.tensor([1.0] * NUMEL[0] + [1e-3] * NUMEL[1], dtype=torch.float64)
    grads = [(torch.randn(total, generator=gen, dtype=torch.float64) * scale).tolist()
             for _ in range(STEPS)]
    grads[3][1] = 0.0  # an exact zero gradient element
    return init, grads


def write_optimizers(path):
    init, grads = inputs()
    s = OPT_SCHEDULE
    sched = f"kind {s['kind']} base_lr {fmt(s['base_lr'])} eta_min {fmt(s['eta_min'])} t_max {s['t_max']}"
    with open(path, "w") as f:
        f.write(f"# PyTorch {torch.__version__} optimizer trajectories, see make_golden.py\n")
        f.write(f"tensors {len(NUMEL)} numel {' '.join(map(str, NUMEL))} steps {STEPS}\n")
        f.write("init " + " ".join(fmt(v) for v in init) + "\n")
        for k, g in enumerate(grads, start=1):
            f.write(f"grad {k} " + " ".join(fmt(v) for v in g) + "\n")
        for name, o in optimizer_configs():
            opts = " ".join(f"{key} {o[key] if isinstance(o[key], int) else fmt(o[key])}"
                            for key in ["algorithm", "weight_decay", "maximize", "momentum",
                                        "dampening", "nesterov", "beta1", "beta2", "eps",
                                        "amsgrad", "lr_decay", "initial_accumulator_value", "alpha",
                                        "centered"])
            for key in ("tensor_weight_decay", "tensor_base_lr"):
                if key in o:
                    opts += f" {key} " + " ".join(fmt(v) for v in o[key])
            f.write(f"trajectory {name} {opts} {sched}\n")
            for k, (lr, p) in enumerate(trajectory(o, init, grads), start=1):
                f.write(f"step {k} lr {fmt(lr)} param " + " ".join(fmt(v) for v in p) + "\n")


if __name__ == "__main__":
    write_schedules(os.path.join(HERE, "schedules.txt"))
    write_optimizers(os.path.join(HERE, "optimizers.txt"))
    print(f"wrote fixtures with torch {torch.__version__}")
