"""Running wrk (the HTTP load generator) and reading its report.

wrk comes from the system's packages: :func:`ensure_wrk` installs it with ``apt-get`` when it is
missing and this process may (root, apt-get present), else raises with the command to run.
The request script signs a GitHub delivery (the body and signature are computed once, by us)
and gives every request its own ``X-GitHub-Delivery``: ``<prefix>-<thread>-<n>``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

LUA = """-- args: body file, event name, signature, delivery prefix
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  body = f:read("*a")
  f:close()
  event = args[2]
  signature = args[3]
  prefix = args[4] .. "-" .. tostring(tid) .. "-"
end
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = event
  headers["X-GitHub-Delivery"] = prefix .. counter
  headers["X-Hub-Signature-256"] = signature
  return wrk.format("POST", "/hooks/github", headers, body)
end
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ensure_wrk() -> str:
    """The wrk executable, installed from the system's packages if needed."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for args in (
            [apt, "install", "-y", "-qq", "wrk"],
            [apt, "update", "-qq"],
            [apt, "install", "-y", "-qq", "wrk"],
        ):
            subprocess.run(args, env=env, capture_output=True, timeout=600, check=False)
            found = shutil.which("wrk")
            if found:
                return found
    raise RuntimeError("wrk is not installed (install it: apt-get install wrk)")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> dict[str, Any]:
    """wrk's report (run with ``--latency``) as numbers; latencies in ms."""
    found: dict[str, Any] = {}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if not rate or not total:
        raise RuntimeError(f"wrk printed no report: {output[-500:]}")
    found["requests_per_s"] = float(rate.group(1))
    found["requests"] = int(total.group(1))
    found["duration_s"] = _ms(total.group(2) + total.group(3)) / 1000
    for q in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{q}%\s+(\S+)", output, re.MULTILINE)
        if match:
            found[f"p{q}_ms"] = round(_ms(match.group(1)), 3)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    found["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    found["socket_errors"] = sum(int(x) for x in errors.groups()) if errors else 0
    return found


def run(
    wrk: str,
    url: str,
    script: Path,
    args: list[str],
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
) -> dict[str, Any]:
    """One wrk run; its parsed report."""
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        *args,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return parse(done.stdout)
