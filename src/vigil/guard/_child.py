"""Runs in the child before the action's program: join the pids cgroup, set limits, exec.

Started as ``python -I -S _child.py SETTINGS_JSON PROGRAM [ARGS...]`` so it imports nothing of
Vigil and sets the limits between fork and exec without ``preexec_fn`` (unsafe in a process
with threads, such as the daemon). SETTINGS_JSON holds ``rlimits`` (name -> [soft, hard]) and
``cgroup`` (a pids cgroup directory to join, or null) and ``user`` (uid and gid to drop to,
or null). A program that cannot be started exits
127 with one line on stderr, like a shell.
"""

import json
import os
import resource
import sys


def main() -> None:
    settings = json.loads(sys.argv[1])
    argv = sys.argv[2:]
    cgroup = settings.get("cgroup")
    if cgroup:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))
    for name, (soft, hard) in settings.get("rlimits", {}).items():
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (soft, hard))
    user = settings.get("user")
    if user:  # root: drop to an unprivileged user, for whom RLIMIT_NPROC is enforced
        os.setgroups([])
        os.setgid(user["gid"])
        os.setuid(user["uid"])
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write(f"vigil: cannot start {argv[0]}: {exc.strerror}\n")
        sys.stderr.flush()
        os._exit(127)


main()
