"""NGINX instances for the benchmark: config, start/stop, and what /proc says about them.

Every instance started here is registered, and stop_all() (called from run.py's `finally`
and signal handlers) stops each one, so no nginx outlives the benchmark; in addition each
master gets PR_SET_PDEATHSIG, so even a SIGKILLed driver takes its nginx down with it.
"""

import ctypes
import os
import signal
import socket
import subprocess
import time

NGINX = "/usr/sbin/nginx"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The only difference between the two variants is the two include lines. keepalive_requests
# is raised so that neither spends time re-opening wrk's connections, which would dilute the
# allowlist's share of the per-request cost; pcre_jit stays at nginx's default (off) unless
# run.py --pcre-jit sets PCRE_JIT (a main-context directive: the operator's choice, not the
# include's).
PCRE_JIT = False
# "location" (routewall's checks inside the app location) or "tree" (routewall's tree.conf
# holds the server's locations; each allowing one includes pass.conf, the same
# `return 200 "ok";` A answers with).
LAYOUT = "location"
# "module": the location layout's shape, with routewall's nginx module (this file) loaded
# into X only; A, the baseline, never loads it.
MODULE = None
CONF = """\
{load}{jit}worker_processes 1;
worker_cpu_affinity 01;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
{http_include}
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""

_running = []


def pass_file(include_dir):
    """What each allowing location of the tree layout includes: A's own answer."""
    return os.path.join(include_dir, "pass.conf")


def _locations(include_dir):
    if include_dir and LAYOUT == "tree":
        with open(pass_file(include_dir), "w") as f:
            f.write('return 200 "ok";\n')
        return f"        include {include_dir}/tree.conf;"
    include = f"            include {include_dir}/location.conf;\n" if include_dir else ""
    return f'        location / {{\n{include}            return 200 "ok";\n        }}'


def free_port():
    """A port the kernel just handed out on loopback; nginx binds it right after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    # Runs in the child between fork and exec: SIGTERM the nginx master if the driver dies.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Nginx:
    """One nginx: `name` is A (no allowlist) or X (routewall's output in `include_dir`)."""

    def __init__(self, name, workdir, include_dir=None):
        self.name = name
        self.prefix = os.path.join(workdir, f"nginx-{name}")
        os.makedirs(self.prefix, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.error_log = os.path.join(self.prefix, "error.log")
        self.proc = None
        self.worker_pid = None
        with open(self.conf, "w") as f:
            f.write(CONF.format(
                jit="pcre_jit on;\n" if PCRE_JIT else "",
                load=f"load_module {MODULE};\n" if include_dir and LAYOUT == "module" else "",
                prefix=self.prefix,
                port=self.port,
                http_include=f"    include {include_dir}/http.conf;" if include_dir else "",
                locations=_locations(include_dir),
            ))

    def _cmd(self, *extra):
        # -e: nginx opens its error log before reading the config; keep even that one here.
        return [NGINX, "-p", self.prefix, "-e", self.error_log, "-c", self.conf, *extra]

    def test(self):
        """`nginx -t` once: (wall seconds, combined output, exit code)."""
        t0 = time.perf_counter()
        r = subprocess.run(self._cmd("-t"), capture_output=True, text=True, timeout=120)
        return time.perf_counter() - t0, r.stdout + r.stderr, r.returncode

    def start(self, timeout=60):
        # stderr to a file, not a pipe nobody reads while wrk runs.
        with open(os.path.join(self.prefix, "stderr.log"), "w") as err:
            self.proc = subprocess.Popen(
                self._cmd(), stdout=subprocess.DEVNULL, stderr=err,
                preexec_fn=_die_with_parent,
            )
        _running.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx {self.name} exited at start:\n{self.log_text()}")
            self.worker_pid = self.worker_pid or _child_of(self.proc.pid)
            if self.worker_pid and _accepts(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx {self.name} did not come up within {timeout} s")

    def stop(self, timeout=15):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown, the master stops its worker
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        # A killed master leaves its worker behind; make sure that one is gone too.
        if self.worker_pid and _is_nginx(self.worker_pid):
            _kill_quietly(self.worker_pid)
        self.proc = None
        if self in _running:
            _running.remove(self)

    def worker_cpu_seconds(self):
        """utime + stime of the worker, the CPU nginx spent on requests."""
        fields = _stat_fields(self.worker_pid)
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def master_rss_mb(self):
        return _vm_rss_kb(self.proc.pid) / 1024

    def worker_rss_mb(self):
        return _vm_rss_kb(self.worker_pid) / 1024

    def log_text(self):
        """The error log and anything nginx wrote to stderr."""
        text = ""
        for path in (self.error_log, os.path.join(self.prefix, "stderr.log")):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def url(self):
        return f"http://127.0.0.1:{self.port}/"


def stop_all():
    for inst in list(_running):
        try:
            inst.stop()
        except Exception as exc:  # keep stopping the others
            print(f"warning: could not stop nginx {inst.name}: {exc}")


def version():
    r = subprocess.run([NGINX, "-v"], capture_output=True, text=True, timeout=30)
    return (r.stderr or r.stdout).strip().replace("nginx version: ", "")


def _stat_fields(pid):
    """/proc/PID/stat after the command name (which may contain spaces and parentheses):
    index 0 is field 3 (state), so field k is index k - 3."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rfind(")") + 2:].split()


def _child_of(ppid):
    """The (single) child of ppid: nginx's worker."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat_fields(entry)[1]) == ppid:
                    return int(entry)
            except (OSError, IndexError, ValueError):
                continue
    return None


def _vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _is_nginx(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip() == "nginx"
    except OSError:
        return False


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cpu0_busy_seconds():
    """Non-idle time of CPU 0 so far (user+nice+system+irq+softirq), to see how much of the
    nginx core other processes took during a run."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                v = [int(x) for x in line.split()[1:]]
                return (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK
    raise RuntimeError("no cpu0 line in /proc/stat")
