"""Wall-clock and CPU timings of short commands: routewall generate vs a bare import of the
app, and `nginx -t` with and without the allowlist. Always interleaved (one of each, again
and again) so that a compile job starting halfway hits both sides alike."""

import resource
import subprocess
import time
from dataclasses import dataclass, field

@dataclass
class Timed:
    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)  # user+sys of the process and its waited children


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def import_snippet(app):
    """A bare import of `module:attribute` (or `module`, attribute `app`) and its rules.
    It ends with os._exit: routewall never tears its embedded interpreter down, and a plain
    `python -c` exit runs atexit handlers and module teardown, which cost 0.5 s at 10,000
    rules and 0.3-0.6 s for mlflow-server (2026-12-04) and would flatter routewall."""
    module, _, attribute = app.partition(":")
    return (f"import importlib, os; m = importlib.import_module({module!r}); "
            f"list(getattr(m, {attribute or 'app'!r}).url_map.iter_rules()); os._exit(0)")


def run_timed(cmd, cwd, into, timeout=600, env=None):
    """Runs cmd once, appends its times to `into`, returns the CompletedProcess."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    into.wall.append(time.perf_counter() - t0)
    into.cpu.append(_children_cpu() - cpu0)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def generation(routewall, venv, nginx, app_dir, out_dir, runs, validated_runs, layout_args=(),
               app="app", env=None):
    """Median-ready samples of: import+iterate with the venv python, routewall generate
    --no-validate, and routewall generate with its nginx -t, for `--app APP` run in app_dir
    (with `env`, when given). Returns (times, stderr of the last validated generate, for
    warnings)."""
    python = f"{venv}/bin/python"
    base = [routewall, "generate", "--source", "flask", "--app", app, "--target", "nginx",
            "--output", out_dir, "--venv", venv, *layout_args]
    commands = {
        "import": [python, "-c", import_snippet(app)],
        "generate": base + ["--no-validate"],
        "validated": base + ["--server-binary", nginx],
    }
    # Unrecorded first round: Python writes app's .pyc and the page cache fills, which
    # would otherwise penalise whichever command happens to run first.
    for cmd in commands.values():
        run_timed(cmd, app_dir, Timed(), env=env)
    times = {name: Timed() for name in commands}
    for _ in range(runs):
        run_timed(commands["import"], app_dir, times["import"], env=env)
        run_timed(commands["generate"], app_dir, times["generate"], env=env)
    stderr = ""
    for _ in range(validated_runs):
        stderr = run_timed(commands["validated"], app_dir, times["validated"], env=env).stderr
    return times, stderr


def nginx_t(instances, runs):
    """`nginx -t` samples per instance name, interleaved; plus each one's first output."""
    times = {inst.name: Timed() for inst in instances}
    outputs = {}
    for inst in instances:  # unrecorded: page cache
        _, outputs[inst.name], code = inst.test()
        if code != 0:
            raise RuntimeError(f"nginx -t failed for {inst.name}:\n{outputs[inst.name]}")
    for _ in range(runs):
        for inst in instances:
            t, _, _ = inst.test()
            times[inst.name].wall.append(t)
    return times, outputs
