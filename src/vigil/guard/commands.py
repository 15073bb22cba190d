"""Judging commands: every pipeline segment, after shell parsing, against a table of programs.

A command given as argv runs without a shell, so its words are taken as they are; a shell's
``-c`` script (``sh -c``, ``bash -lc``...) is parsed by :mod:`vigil.guard.shell` and every simple
command in it, including those inside command substitutions, is judged the same way. A verdict is
the worst of its segments.

For one simple command: assignments to variables that change what runs (``LD_PRELOAD``,
``PATH``, ``BASH_ENV``...) are refused; wrappers (``env``, ``nice``, ``timeout``, ``time``,
``command``, ``exec``, ``stdbuf``) are looked through; the program is judged by name (a program
given as a path must be in the project or a system ``bin`` directory); then its arguments: paths
(:func:`~vigil.guard.paths.judge_path`), URLs (hosts), and words whose value only exists at run
time (a variable, a substitution), which the policy cannot judge and so refuses, except for
inert programs such as ``echo``.

Programs are in one of these classes (a program in none is refused: fail closed):

- never: privilege (``sudo``, ``su``, ``doas``), ``eval`` and ``source``, disks and the system
  (``dd``, ``mkfs``, ``shutdown``, ``mount``, ``systemctl``...), remote shells and raw sockets
  (``ssh``, ``nc``...), killing processes, escaping the bounds (``setsid``, ``nohup``), package
  runners that download code (``npx``), containers;
- inert (``echo``, ``true``, ``sleep``...): low risk, arguments not judged;
- read (``ls``, ``cat``, ``grep``...): low risk, paths must be allowed;
- test and lint tools (``pytest``, ``mypy``, ``ruff``...): low risk;
- build tools and interpreters running project code (``make``, ``cargo``, ``python x.py``):
  medium; inline code (``python -c``, ``node -e``) cannot be judged and is refused;
- write (``rm``, ``mv``, ``cp``, ``chmod``...): high risk, every path must be allowed for writing;
- ``git``: read subcommands low, changes to the working tree high, network and configuration
  (``push``, ``fetch``, ``config``, ``-c``) refused;
- network clients (``curl``, ``wget``): every URL's host must be allowed.

``[control] allow_commands`` adds command prefixes a person allows (``"pip install"``,
``"./deploy.sh"``); they never lift a hard refusal, a path or a host rule.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from vigil.guard.paths import Place, judge_path, judge_url
from vigil.guard.shell import Command, ShellUnsupported, Word, parse

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}

NEVER: dict[str, str] = {
    **dict.fromkeys(
        ("sudo", "su", "doas", "pkexec", "runuser", "sg", "newgrp"), "gains privileges"
    ),
    **dict.fromkeys(("eval", "source", ".", "exec-shell"), "runs code the policy cannot see"),
    **dict.fromkeys(
        ("dd", "mkfs", "fdisk", "sfdisk", "parted", "wipefs", "shred", "mkswap", "swapon"),
        "writes disks",
    ),
    **dict.fromkeys(
        ("shutdown", "reboot", "halt", "poweroff", "init", "telinit", "systemctl", "service"),
        "controls the system (use the restart_unit action)",
    ),
    **dict.fromkeys(
        ("mount", "umount", "chroot", "insmod", "rmmod", "modprobe", "sysctl"), "changes the system"
    ),
    **dict.fromkeys(("iptables", "ip6tables", "nft", "ufw", "ip", "route"), "changes the network"),
    **dict.fromkeys(
        ("useradd", "userdel", "usermod", "groupadd", "passwd", "chpasswd", "visudo"),
        "changes accounts",
    ),
    **dict.fromkeys(
        ("ssh", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "socat", "telnet", "ftp"),
        "opens a remote shell or a raw connection",
    ),
    **dict.fromkeys(("kill", "pkill", "killall", "skill"), "kills processes"),
    **dict.fromkeys(
        ("setsid", "nohup", "disown", "daemonize", "at", "batch", "crontab", "screen", "tmux"),
        "would escape the execution bounds",
    ),
    **dict.fromkeys(
        ("chown", "chgrp", "chattr", "setfacl", "setcap", "capsh"), "changes ownership"
    ),
    **dict.fromkeys(
        ("docker", "podman", "kubectl", "nsenter", "unshare", "lxc", "virsh"),
        "controls containers or namespaces",
    ),
    **dict.fromkeys(("npx", "pipx", "uvx", "bunx"), "downloads and runs code"),
    **dict.fromkeys(("alias", "trap", "enable", "set", "shopt", "ulimit"), "changes the shell"),
    "xargs": "runs commands with arguments read at run time",
    "watch": "runs a command repeatedly",
    "env-split": "splits its arguments into a command",
}
INERT = frozenset(
    {"echo", "printf", "true", "false", "test", "[", ":", "sleep", "pwd", "date", "whoami", "id"}
    | {"uname", "nproc", "seq", "basename", "dirname", "hostname", "expr", "exit"}
)
READ = frozenset(
    {"ls", "cat", "head", "tail", "wc", "sort", "uniq", "grep", "egrep", "fgrep", "rg", "diff"}
    | {"cmp", "stat", "file", "du", "df", "tr", "cut", "jq", "yq", "which", "realpath", "tree"}
    | {"readlink", "md5sum", "sha1sum", "sha256sum", "column", "nl", "xxd", "od", "strings"}
    | {"printenv", "env", "less", "more", "comm", "paste", "fold", "rev", "tac", "type"}
)
WRITE = frozenset(
    {"rm", "rmdir", "mv", "cp", "ln", "chmod", "touch", "mkdir", "truncate", "tee", "install"}
    | {"tar", "unzip", "zip", "gzip", "gunzip", "bzip2", "xz", "patch", "sed", "awk", "find"}
)
TESTS = frozenset(
    {"pytest", "py.test", "mypy", "ruff", "flake8", "pylint", "pyright", "black", "isort"}
    | {"tsc", "eslint", "jest", "vitest", "mocha", "prettier", "rspec", "phpunit", "ctest"}
    | {"coverage", "tox", "nox", "pre-commit", "shellcheck", "golangci-lint", "clippy-driver"}
)
BUILD = frozenset(
    {"make", "gmake", "ninja", "cmake", "cargo", "rustc", "go", "gcc", "g++", "cc", "c++"}
    | {"clang", "clang++", "javac", "java", "mvn", "gradle", "npm", "yarn", "pnpm", "bundle"}
    | {"rake", "dotnet", "swift", "bazel", "meson", "ant", "sbt", "mix", "composer", "pip"}
    | {"pip3", "poetry", "uv", "hatch", "pdm", "gofmt", "rustfmt", "node", "deno", "bun"}
)
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"})
INTERPRETERS = frozenset(
    {"python", "python3", "node", "nodejs", "ruby", "perl", "php", "deno", "bun", "lua", "Rscript"}
)
PYTHON_MODULES = frozenset(
    {"pytest", "unittest", "mypy", "ruff", "black", "isort", "flake8", "pylint", "coverage"}
    | {"tox", "nox", "compileall", "py_compile", "doctest", "build", "pip"}
)
NETWORK = frozenset({"curl", "wget", "http", "https", "xh"})
# Package managers' subcommands that fetch and run code from the network.
INSTALLS = {
    "pip": {"install", "download", "wheel"},
    "pip3": {"install", "download", "wheel"},
    "npm": {"install", "i", "ci", "exec", "x", "publish", "add", "update"},
    "yarn": {"add", "install", "dlx", "publish", "up"},
    "pnpm": {"add", "install", "i", "dlx", "publish", "update"},
    "cargo": {"install", "publish"},
    "go": {"install", "get"},
    "gem": {"install"},
    "poetry": {"add", "install", "publish"},
    "uv": {"pip", "add", "tool", "run"},
    "bundle": {"install"},
}
GIT_READ = frozenset(
    {"status", "diff", "log", "show", "blame", "rev-parse", "ls-files", "describe", "shortlog"}
    | {"grep", "rev-list", "cat-file", "ls-tree", "whatchanged", "reflog", "version"}
)
GIT_WRITE = frozenset(
    {"checkout", "restore", "switch", "stash", "add", "rm", "mv", "commit", "reset", "clean"}
    | {"branch", "tag", "merge", "cherry-pick", "revert", "apply", "am", "init"}
)
GIT_NEVER = {
    **dict.fromkeys(
        ("push", "fetch", "pull", "clone", "remote", "submodule", "ls-remote", "send-email"),
        "talks to a remote the policy cannot judge",
    ),
    **dict.fromkeys(
        ("config", "filter-branch", "gc", "prune", "update-ref", "hook", "daemon", "credential"),
        "changes git's configuration or internals",
    ),
    **dict.fromkeys(("bisect", "rebase", "difftool", "mergetool", "web--browse"), "runs commands"),
}
DANGEROUS_VARIABLES = frozenset(
    {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH", "BASH_ENV", "ENV", "IFS", "SHELLOPTS"}
    | {"PROMPT_COMMAND", "PYTHONSTARTUP", "PYTHONPATH", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT"}
    | {"GIT_DIR", "GIT_WORK_TREE", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "HOME"}
    | {"GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_ASKPASS", "EDITOR", "VISUAL", "PAGER"}
)
WRAPPERS = frozenset({"env", "nice", "ionice", "timeout", "time", "command", "builtin", "exec"})
WRAPPERS |= {"stdbuf", "chrt", "taskset"}
_SYSTEM_BIN = ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/usr/local/sbin")


@dataclass(slots=True)
class Verdict:
    """The judgement of a command: allowed or not, its risk, and why."""

    allowed: bool = True
    risk: str = "low"
    reasons: list[str] = field(default_factory=list)  # why it is refused
    notes: list[str] = field(default_factory=list)  # what was judged (rules that matched)

    def deny(self, reason: str) -> Verdict:
        self.allowed = False
        if reason not in self.reasons:
            self.reasons.append(reason)
        return self

    def raise_risk(self, risk: str) -> None:
        if RISK_ORDER[risk] > RISK_ORDER[self.risk]:
            self.risk = risk

    def merge(self, other: Verdict, where: str = "") -> None:
        self.raise_risk(other.risk)
        for reason in other.reasons:
            self.deny(f"{where}{reason}")
        self.notes += [n for n in other.notes if n not in self.notes]


@dataclass(frozen=True, slots=True)
class CommandRules:
    """What a person configured: extra allowed and denied command prefixes, paths, hosts."""

    allow: tuple[tuple[str, ...], ...] = ()
    deny: tuple[tuple[str, ...], ...] = ()
    allow_hosts: tuple[str, ...] = ()


def judge_argv(argv: Sequence[str], place: Place, rules: CommandRules) -> Verdict:
    """Judge a command run without a shell (its words are taken literally)."""
    verdict = Verdict()
    command = Command(words=[Word(a) for a in argv])
    _judge(command, place, rules, verdict, depth=0)
    return verdict


def judge_script(script: str, place: Place, rules: CommandRules, depth: int = 0) -> Verdict:
    """Judge a shell script: every simple command, and every one inside a substitution."""
    verdict = Verdict()
    try:
        commands = parse(script, depth)
    except ShellUnsupported as exc:
        return verdict.deny(f"cannot judge the shell script: {exc}")
    if not commands:
        return verdict.deny("an empty shell script")
    previous: Command | None = None
    places = [place]  # after a `cd`, relative paths are judged from every directory seen
    for command in commands:
        if command.piped_in and previous is not None and _is_fetch(previous):
            verdict.deny("pipes downloaded content into another command")
        moved = _cd_target(command, places, verdict)
        if moved is None:
            for where in places:
                _judge(command, where, rules, verdict, depth)
        elif moved not in places:
            places.append(moved)
        previous = command
    return verdict


def _cd_target(command: Command, places: list[Place], verdict: Verdict) -> Place | None:
    """For ``cd DIR``: the place it moves to (judged first); ``None`` for other commands."""
    words = command.words
    if not words or not words[0].known or words[0].text != "cd":
        return None
    args = [w for w in words[1:] if not (w.known and w.text in ("-P", "-L", "--"))]
    if len(args) != 1 or not args[0].known or args[0].text == "-":
        verdict.deny("cannot judge this cd (no directory, several, or computed at run time)")
        return places[0]
    target = args[0].text
    for where in places:
        reason = judge_path(target, where, write=False)
        if reason:
            verdict.deny(f"cd {reason}")
            return places[0]
    base = places[-1]
    joined = target if target.startswith("/") else os.path.join(base.cwd, target)
    if target.startswith("~"):
        joined = base.home + target[1:]
    return base.moved(joined)


def _is_fetch(command: Command) -> bool:
    return bool(command.words) and PurePath(command.words[0].text).name in NETWORK


def _resolve_home(word: Word, place: Place) -> Word:
    """``$HOME`` / ``${HOME}`` are known: the home directory."""
    if word.known or word.substitutions or set(word.variables) != {"HOME"}:
        return word
    text = word.text.replace("${HOME}", place.home).replace("$HOME", place.home)
    return Word(text, glob=word.glob)


def _judge(command: Command, place: Place, rules: CommandRules, v: Verdict, depth: int) -> None:
    for assignment in command.assignments:
        name = assignment.split("=", 1)[0]
        if name in DANGEROUS_VARIABLES:
            v.deny(f"sets {name}, which changes what runs")
    words = [_resolve_home(w, place) for w in command.words]
    for word in words:
        for script in word.substitutions:
            inner = judge_script(script, place, rules, depth + 1)
            v.merge(inner, "in a command substitution: ")
    for redirect in command.redirects:
        target = _resolve_home(redirect.target, place)
        for script in target.substitutions:
            v.merge(judge_script(script, place, rules, depth + 1), "in a substitution: ")
        if redirect.op == "<<<":
            continue
        if not target.known:
            v.deny(f"cannot judge the redirection target {target.text!r} (computed at run time)")
            continue
        reason = judge_path(target.text, place, write=redirect.op != "<")
        if reason:
            v.deny(f"redirection {redirect.op} {reason}")
        elif redirect.op != "<":
            v.raise_risk("medium")
    if not words:
        return
    words = _unwrap(words, v)
    if not words:
        return
    program = words[0]
    if not program.known:
        v.deny(f"cannot judge a command whose name is computed at run time ({program.text!r})")
        return
    name = PurePath(program.text).name
    args = words[1:]
    if "/" in program.text:
        if not _program_path_ok(program.text, place, v):
            return
        if not _system_program(program.text):
            v.raise_risk("medium")
            v.notes.append(f"allow: project program {program.text}")
            _judge_args(args, place, rules, v, write=False, inert=False)
            return
    texts = [name, *(w.text for w in args)]
    for prefix in rules.deny:
        if _has_prefix(texts, prefix):
            v.deny(f"{' '.join(prefix)} is on the deny list ([control] deny_commands)")
            return
    configured = any(_has_prefix(texts, prefix) for prefix in rules.allow)
    if name in NEVER:
        v.deny(f"{name} is never allowed: it {NEVER[name]}")
        return
    installs = INSTALLS.get(name, set())
    if args and args[0].text in installs and not configured:
        v.deny(f"{name} {args[0].text} fetches and runs code from the network")
        return
    if name in SHELLS:
        _judge_shell(name, args, place, rules, v, depth)
        return
    if _interpreter(name):
        _judge_interpreter(name, args, place, rules, v)
        return
    if name == "git":
        _judge_git(args, place, rules, v)
        return
    if name in INERT:
        v.notes.append(f"allow: {name} (inert)")
        return
    if name in NETWORK:
        v.raise_risk("medium")
        if not any("://" in w.text for w in args):
            v.deny(f"{name} without a URL the policy can judge")
        _judge_args(args, place, rules, v, write=True, inert=False)
        return
    if name in WRITE:
        risk = _judge_write_program(name, args, v)
        v.raise_risk(risk)
        _judge_args(args, place, rules, v, write=risk != "low" and name != "find", inert=False)
        return
    if name in READ:
        v.notes.append(f"allow: {name} (read)")
        _judge_args(args, place, rules, v, write=False, inert=False)
        return
    if name in TESTS:
        v.notes.append(f"allow: {name} (tests)")
        _judge_args(args, place, rules, v, write=False, inert=False)
        return
    if name in BUILD or configured:
        v.raise_risk("medium")
        v.notes.append(f"allow: {name} ({'configured' if configured else 'build'})")
        _judge_args(args, place, rules, v, write=False, inert=False)
        return
    v.deny(f"{name} is not on the allow list (add it to [control] allow_commands)")


def _has_prefix(texts: Sequence[str], prefix: Sequence[str]) -> bool:
    return len(texts) >= len(prefix) and all(a == b for a, b in zip(texts, prefix, strict=False))


def _unwrap(words: list[Word], v: Verdict) -> list[Word]:
    """Look through wrappers (``env A=1 nice -n 5 timeout 10 make``) to the real program."""
    for _ in range(8):
        if not words or not words[0].known:
            return words
        name = PurePath(words[0].text).name
        if name not in WRAPPERS:
            return words
        rest = words[1:]
        if name == "env":
            i = 0
            while i < len(rest):
                text = rest[i].text
                if text in ("-S", "--split-string") or text.startswith(("-S", "--split-string=")):
                    v.deny("env -S splits its arguments into a command the policy cannot judge")
                    return []
                if text in ("-u", "--unset", "-C", "--chdir"):
                    i += 2
                    continue
                if text.startswith("-"):
                    i += 1
                    continue
                if "=" in text and not text.startswith("="):
                    variable = text.split("=", 1)[0]
                    if variable in DANGEROUS_VARIABLES:
                        v.deny(f"sets {variable}, which changes what runs")
                    i += 1
                    continue
                break
            if i >= len(rest):
                return [Word("env")] if not rest else [Word("printenv")]
            rest = rest[i:]
        elif name in ("nice", "ionice", "chrt", "taskset"):
            while rest and (rest[0].text.startswith("-") or rest[0].text.lstrip("-").isdigit()):
                takes = rest[0].text in ("-n", "-c", "-p", "--adjustment")
                rest = rest[2:] if takes else rest[1:]
            if name in ("chrt", "taskset") and rest:
                rest = rest[1:]  # the priority or CPU mask
        elif name == "timeout":
            while rest and rest[0].text.startswith("-"):
                rest = rest[2:] if rest[0].text in ("-s", "--signal", "-k") else rest[1:]
            rest = rest[1:]  # the duration
        elif name == "stdbuf":
            while rest and rest[0].text.startswith("-"):
                rest = rest[1:]
        else:  # time, command, builtin, exec
            while rest and rest[0].text.startswith("-"):
                if rest[0].text == "-v" and name == "command":
                    return [Word("type")]
                rest = rest[1:]
        words = rest
    return words


def _program_path_ok(text: str, place: Place, v: Verdict) -> bool:
    if _system_program(text):
        return True
    reason = judge_path(text, place, write=False)
    if reason:
        v.deny(f"program {reason}")
        return False
    return True


def _system_program(text: str) -> bool:
    directory = os.path.dirname(os.path.normpath(text))
    return directory in _SYSTEM_BIN or directory == os.path.join(sys.prefix, "bin")


def _judge_args(
    args: Sequence[Word], place: Place, rules: CommandRules, v: Verdict, *, write: bool, inert: bool
) -> None:
    for word in args:
        if inert:
            continue
        if not word.known:
            v.deny(f"cannot judge the argument {word.text!r} (computed at run time)")
            continue
        text = word.text
        if "://" in text:
            reason = judge_url(text, rules.allow_hosts)
            if reason:
                v.deny(reason)
            continue
        for candidate in _path_candidates(text):
            reason = judge_path(candidate, place, write=write)
            if reason:
                v.deny(reason)


def _path_candidates(text: str) -> list[str]:
    """The paths a word may name: itself, or an option's value (``--out=/x``, ``-I/usr``)."""
    if text.startswith("-"):
        if "=" in text:
            value = text.split("=", 1)[1]
            return [value] if _looks_like_path(value) else []
        if len(text) > 2 and not text.startswith("--") and text[2] in "/~.":
            return [text[2:]]
        return []
    if text.startswith("@") and len(text) > 1:  # curl -d @file
        return [text[1:]]
    if ":" in text and not text.startswith(("/", ".", "~")):
        return []  # rev:path, host:port, a label
    return [text]


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "~", "./", "../")) or text in (".", "..") or "/" in text


def _judge_write_program(name: str, args: Sequence[Word], v: Verdict) -> str:
    """Refuse what a writing program may not do; its risk (``low`` when it only reads)."""
    texts = [w.text for w in args]
    if name == "find":
        for flag in ("-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprintf", "-fls"):
            if flag in texts:
                v.deny(f"find {flag} runs commands or writes files the policy cannot judge")
        return "high" if "-delete" in texts else "low"  # judged as reads: it works inside
    if name == "sed":
        script = next((t for t in texts if not t.startswith("-")), "")
        if _sed_executes(script):
            v.deny("sed with an e command or flag runs shell commands")
        return "high" if any(t.startswith(("-i", "--in-place")) for t in texts) else "low"
    if name == "awk":
        program = next((t for t in texts if not t.startswith("-")), "")
        if any(k in program for k in ("system", "|", "getline", ">")):
            v.deny("awk program that runs commands or writes files")
        return "low"
    if name == "tar":
        for text in texts:
            if text.startswith(("--to-command", "--checkpoint-action", "--use-compress-program")):
                v.deny(f"tar {text.split('=')[0]} runs commands")
            if text.startswith("-I") or text == "--info-script" or text.startswith("-F"):
                v.deny("tar option that runs commands")
    return "medium" if name in ("mkdir", "touch") else "high"


def _sed_executes(script: str) -> bool:
    return bool(_SED_E.search(script))


_SED_E = re.compile(r"(^|[;\n{}])\s*\d*\s*e(\s|$|;)|/[gpIiMm0-9w]*e[gpIiMm0-9]*\s*($|;|})")
_PYTHON_VERSIONED = re.compile(r"python\d+(\.\d+)?")


def _judge_shell(
    name: str, args: Sequence[Word], place: Place, rules: CommandRules, v: Verdict, depth: int
) -> None:
    v.raise_risk("medium")
    i = 0
    while i < len(args):
        word = args[i]
        if not word.known:
            v.deny(f"cannot judge the {name} argument {word.text!r} (computed at run time)")
            return
        text = word.text
        if text == "-c" or (text.startswith("-") and not text.startswith("--") and "c" in text):
            if i + 1 >= len(args):
                v.deny(f"{name} -c without a script")
                return
            script = args[i + 1]
            if not script.known:
                v.deny(f"cannot judge a {name} -c script computed at run time")
                return
            v.merge(judge_script(script.text, place, rules, depth + 1))
            return
        if text in ("-s", "-i", "--stdin") or text == "-":
            v.deny(f"{name} reading its script from standard input cannot be judged")
            return
        if text.startswith("-") or text.startswith("+"):
            i += 1
            continue
        reason = judge_path(text, place, write=False)
        if reason:
            v.deny(f"script {reason}")
        else:
            v.notes.append(f"allow: {name} runs the project script {text}")
            _judge_args(args[i + 1 :], place, rules, v, write=False, inert=False)
        return
    v.deny(f"{name} reading its script from standard input cannot be judged")


def _interpreter(name: str) -> bool:
    return name in INTERPRETERS or bool(_PYTHON_VERSIONED.fullmatch(name))


_INLINE = {"-c", "-e", "-E", "--eval", "-p", "--print", "-r", "--require", "-x", "-", "-i"}


def _judge_interpreter(
    name: str, args: Sequence[Word], place: Place, rules: CommandRules, v: Verdict
) -> None:
    """Judge ``python x.py`` / ``python -m pytest`` / ``node -e``."""
    base = name.rstrip("0123456789.") or name
    for i, word in enumerate(args):
        text = word.text
        if not word.known:
            v.deny(f"cannot judge the {name} argument {text!r} (computed at run time)")
            return
        if base.startswith("python") and text == "-m":
            module = args[i + 1].text if i + 1 < len(args) else ""
            if module.split(".")[0] not in PYTHON_MODULES:
                v.deny(f"{name} -m {module or '?'}: the module is not on the allow list")
                return
            if module == "pip" and i + 2 < len(args) and args[i + 2].text in INSTALLS["pip"]:
                v.deny("pip install fetches and runs code from the network")
                return
            v.raise_risk("low" if module in TESTS or module == "unittest" else "medium")
            v.notes.append(f"allow: {name} -m {module}")
            _judge_args(args[i + 2 :], place, rules, v, write=False, inert=False)
            return
        if text in _INLINE or (base.startswith("python") and text.startswith("-c")):
            v.deny(f"{name} {text} runs inline code the policy cannot judge")
            return
        if text.startswith("-"):
            continue
        reason = judge_path(text, place, write=False)
        if reason:
            v.deny(f"script {reason}")
            return
        v.raise_risk("medium")
        v.notes.append(f"allow: {name} runs the project script {text}")
        _judge_args(args[i + 1 :], place, rules, v, write=False, inert=False)
        return
    v.deny(f"{name} without a script reads code from standard input: cannot be judged")
    return


def _judge_git(args: Sequence[Word], place: Place, rules: CommandRules, v: Verdict) -> None:
    i = 0
    while i < len(args) and args[i].text.startswith("-"):
        text = args[i].text
        if text == "-c" or text.startswith(("--config-env", "--exec-path", "-c")):
            v.deny("git -c / --exec-path changes what git runs")
            return
        if text in ("-C", "--git-dir", "--work-tree"):
            if i + 1 < len(args):
                reason = judge_path(args[i + 1].text, place, write=False)
                if reason or text != "-C":
                    v.deny(reason or f"git {text} points git elsewhere")
                    return
            i += 2
            continue
        i += 1
    if i >= len(args):
        v.notes.append("allow: git")
        return
    sub = args[i]
    if not sub.known:
        v.deny(f"cannot judge the git subcommand {sub.text!r}")
        return
    rest = args[i + 1 :]
    texts = [w.text for w in rest]
    if sub.text in GIT_NEVER:
        v.deny(f"git {sub.text} is never allowed: it {GIT_NEVER[sub.text]}")
        return
    if sub.text in GIT_READ:
        v.notes.append(f"allow: git {sub.text} (read)")
        if any(t.startswith(("--output", "--ext-diff", "--textconv")) for t in texts):
            v.deny(f"git {sub.text} with an option that writes files or runs commands")
        _judge_args(
            [w for w in rest if "/" in w.text or w.text.startswith(("~", "."))],
            place,
            rules,
            v,
            write=False,
            inert=False,
        )
        return
    if sub.text in GIT_WRITE:
        v.raise_risk("high" if sub.text in ("reset", "clean", "checkout", "restore") else "medium")
        if any(t in ("-x", "--exec", "--upload-pack") or t.startswith("--exec") for t in texts):
            v.deny(f"git {sub.text} with an option that runs commands")
        v.notes.append(f"allow: git {sub.text} (changes the working tree)")
        paths = [w for w in rest if not w.text.startswith("-") and w.text != "HEAD"]
        after_dashes = texts.index("--") if "--" in texts else None
        if after_dashes is not None:
            paths = [w for w in rest[after_dashes + 1 :]]
        _judge_args(paths, place, rules, v, write=True, inert=False)
        return
    v.deny(f"git {sub.text} is not on the allow list")
