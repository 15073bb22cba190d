"""A small, strict shell parser for the policy: scripts into simple commands it can judge.

It understands the part of POSIX sh that build and test commands use: words with quotes and
backslashes, pipelines and lists (``|``, ``|&``, ``&&``, ``||``, ``;``, newlines), groups
(``( ... )``, ``{ ...; }``), redirections (``>``, ``>>``, ``<``, ``&>``, ``2>&1``, ``<<<``),
tilde, parameter expansion, globs, and command substitution (``$(...)``, backticks, ``<(...)``),
whose scripts are parsed too so the policy judges the commands hidden in them.

Everything else raises :class:`ShellUnsupported` so the policy can deny it (fail closed):
control flow (``if``, ``for``, ``while``, ``case``...), function definitions (the classic fork
bomb), here-documents, arithmetic with substitutions, background jobs (``&``: they would outlive
the executor's bounds), unterminated quotes. A word whose value depends on run time (a variable,
a substitution) is marked not ``known``: the policy cannot judge what it will be.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DEPTH = 8
MAX_SCRIPT = 20_000
_OPERATOR_CHARS = "|&;()<>"
_RESERVED = frozenset(
    {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac"}
    | {"function", "select", "coproc", "[[", "]]"}
)


class ShellUnsupported(Exception):
    """The script uses shell the policy cannot judge; the message says what."""


@dataclass(slots=True)
class Word:
    """One shell word: its value when it is known before run time, and what it runs."""

    text: str  # the value with quotes removed (unknown parts kept as written)
    known: bool = True  # False: a variable or a substitution decides its value
    glob: bool = False  # an unquoted * ? or [ : the value is a pattern
    tilde: bool = False  # starts with an unquoted ~ (expanded to the home directory)
    substitutions: list[str] = field(default_factory=list)  # scripts of $(...), `...`, <(...)
    variables: list[str] = field(default_factory=list)  # names of $VAR / ${VAR} used


@dataclass(slots=True)
class Redirect:
    op: str  # '>', '>>', '<', '&>', '>&', '<&', '<>', '>|', '<<<'
    target: Word


@dataclass(slots=True)
class Command:
    """A simple command: assignments, words (program first), redirections."""

    assignments: list[str] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    piped_in: bool = False  # reads the previous command's output on stdin


def parse(script: str, depth: int = 0) -> list[Command]:
    """Every simple command in ``script`` (not those inside substitutions: see ``Word``)."""
    if depth > MAX_DEPTH:
        raise ShellUnsupported("command substitutions nested too deeply")
    if len(script) > MAX_SCRIPT:
        raise ShellUnsupported(f"script longer than {MAX_SCRIPT} characters")
    return _Parser(script).commands()


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.out: list[Command] = []

    # -- structure -----------------------------------------------------------------------

    def commands(self) -> list[Command]:
        current = Command()
        piped = False
        while True:
            self._blank()
            if self.i >= len(self.s):
                break
            c = self.s[self.i]
            if c == "#" and not current.words and not current.assignments:
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
                continue
            if c == "\n":
                self.i += 1
                piped = self._end(current, piped=False)
                current = Command()
                continue
            op = self._operator()
            if op is not None:
                if op in ("|", "|&"):
                    if not current.words:
                        raise ShellUnsupported("a pipe with no command before it")
                    self._end(current, piped)
                    current, piped = Command(), True
                elif op in ("&&", "||", ";", ";;"):
                    if op == ";;":
                        raise ShellUnsupported("case clauses")
                    piped = self._end(current, piped=piped, required=op != ";")
                    current = Command()
                elif op == "&":
                    raise ShellUnsupported("background jobs (&) would outlive the bounds")
                elif op == "(":
                    if current.words:
                        raise ShellUnsupported("function definitions")
                    if current.assignments:
                        raise ShellUnsupported("array assignments")
                elif op == ")":
                    piped = self._end(current, piped)
                    current = Command()
                else:  # a redirection operator
                    self._redirect(current, op, fd="")
                continue
            word = self._word()
            if word is None:
                continue
            if not current.words and not current.assignments and word.known:
                if word.text in _RESERVED:
                    raise ShellUnsupported(f"shell control flow ({word.text})")
                if word.text in ("{", "}", "!"):
                    continue  # a group or a negation: judge what is inside
            if word.text.isdigit() and self.i < len(self.s) and self.s[self.i] in "<>":
                op = self._operator()
                if op is not None:
                    self._redirect(current, op, fd=word.text)
                    continue
            if not current.words and _is_assignment(word):
                if "(" in word.text and word.text.endswith("=("):
                    raise ShellUnsupported("array assignments")
                current.assignments.append(word.text)
                if word.substitutions:
                    current.words.append(Word(":", substitutions=word.substitutions))
                continue
            if current.words and word.known and word.text == "}" and len(current.words) >= 1:
                self._end(current, piped)
                current, piped = Command(), False
                continue
            current.words.append(word)
        self._end(current, piped)
        return self.out

    def _end(self, command: Command, piped: bool, required: bool = False) -> bool:
        if command.words or command.assignments or command.redirects:
            command.piped_in = piped
            self.out.append(command)
        elif required:
            raise ShellUnsupported("a list operator with no command before it")
        return False

    def _blank(self) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "\\" and self.s[self.i + 1 : self.i + 2] == "\n":
                self.i += 2
            else:
                return

    def _operator(self) -> str | None:
        s, i = self.s, self.i
        for op in ("<<<", "&>>", ";;", "&&", "||", "|&", ">>", "<<", "&>", ">&", "<&", "<>", ">|"):
            if s.startswith(op, i):
                if op == "<<":
                    raise ShellUnsupported("here-documents")
                self.i += len(op)
                return op
        c = s[i]
        if c in "<>" and s.startswith("(", i + 1):
            return None  # process substitution: a word
        if c in _OPERATOR_CHARS:
            self.i += 1
            return c
        return None

    def _redirect(self, command: Command, op: str, fd: str) -> None:
        self._blank()
        target = self._word()
        if target is None:
            raise ShellUnsupported(f"redirection {op} without a target")
        if op in (">&", "<&") and target.known and (target.text.isdigit() or target.text == "-"):
            return  # duplicating a descriptor (2>&1): no file involved
        if op == "&>>":
            op = ">>"
        command.redirects.append(Redirect(op, target))

    # -- words ---------------------------------------------------------------------------

    def _word(self) -> Word | None:
        s = self.s
        start = self.i
        parts: list[str] = []
        word = Word("")
        if s.startswith("~", self.i):
            word.tilde = True
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n" or (c in _OPERATOR_CHARS and not self._process_sub()):
                break
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                if nxt == "\n":
                    self.i += 2
                    continue
                parts.append(nxt)
                self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellUnsupported("an unterminated single quote")
                parts.append(s[self.i + 1 : end])
                self.i = end + 1
            elif c == '"':
                self.i += 1
                self._double_quoted(parts, word)
            elif c == "$":
                self._dollar(parts, word)
            elif c == "`":
                end = self._backtick_end(self.i)
                word.substitutions.append(s[self.i + 1 : end].replace("\\`", "`"))
                word.known = False
                parts.append(s[self.i : end + 1])
                self.i = end + 1
            elif c in "<>":  # process substitution <( ... )
                end = _matching(s, self.i + 1)
                word.substitutions.append(s[self.i + 2 : end])
                word.known = False
                parts.append(s[self.i : end + 1])
                self.i = end + 1
            else:
                if c in "*?[":
                    word.glob = True
                parts.append(c)
                self.i += 1
        if self.i == start:
            return None
        word.text = "".join(parts)
        return word

    def _process_sub(self) -> bool:
        s, i = self.s, self.i
        return s[i] in "<>" and s.startswith("(", i + 1) and (i == 0 or s[i - 1] in " \t\n|;&")

    def _double_quoted(self, parts: list[str], word: Word) -> None:
        s = self.s
        while True:
            if self.i >= len(s):
                raise ShellUnsupported("an unterminated double quote")
            c = s[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and s[self.i + 1 : self.i + 2] in ('"', "\\", "$", "`", "\n"):
                nxt = s[self.i + 1]
                if nxt != "\n":
                    parts.append(nxt)
                self.i += 2
            elif c == "$":
                self._dollar(parts, word)
            elif c == "`":
                end = self._backtick_end(self.i)
                word.substitutions.append(s[self.i + 1 : end].replace("\\`", "`"))
                word.known = False
                parts.append(s[self.i : end + 1])
                self.i = end + 1
            else:
                parts.append(c)
                self.i += 1

    def _dollar(self, parts: list[str], word: Word) -> None:
        s, i = self.s, self.i
        nxt = s[i + 1 : i + 2]
        if s.startswith("$((", i):
            end = _matching(s, i + 2)
            inner = s[i + 3 : end]
            if "$(" in inner or "`" in inner:
                raise ShellUnsupported("command substitution inside arithmetic")
            if not s.startswith(")", end + 1):
                raise ShellUnsupported("malformed arithmetic expansion")
            word.known = False
            parts.append(s[i : end + 2])
            self.i = end + 2
        elif nxt == "(":
            end = _matching(s, i + 1)
            word.substitutions.append(s[i + 2 : end])
            word.known = False
            parts.append(s[i : end + 1])
            self.i = end + 1
        elif nxt == "{":
            end = s.find("}", i + 2)
            if end < 0:
                raise ShellUnsupported("an unterminated ${")
            inner = s[i + 2 : end]
            if any(ch in inner for ch in "$`(") or not inner:
                raise ShellUnsupported(f"parameter expansion ${{{inner}}}")
            name = inner.split(":", 1)[0].split("#", 1)[0].split("%", 1)[0]
            word.variables.append(name)
            word.known = False
            parts.append(s[i : end + 1])
            self.i = end + 1
        elif nxt == "'":  # $'...': ANSI-C quoting
            end = s.find("'", i + 2)
            if end < 0:
                raise ShellUnsupported("an unterminated $' quote")
            body = s[i + 2 : end]
            if "\\" in body:
                raise ShellUnsupported("escapes in $'...' quoting")
            parts.append(body)
            self.i = end + 1
        elif nxt and (nxt.isalnum() or nxt == "_"):
            j = i + 1
            while j < len(s) and (s[j].isalnum() or s[j] == "_"):
                j += 1
                if s[i + 1].isdigit():
                    break
            word.variables.append(s[i + 1 : j])
            word.known = False
            parts.append(s[i:j])
            self.i = j
        elif nxt and nxt in "@*#?$!-":
            word.variables.append(nxt)
            word.known = False
            parts.append(s[i : i + 2])
            self.i = i + 2
        else:
            parts.append("$")
            self.i += 1

    def _backtick_end(self, start: int) -> int:
        s = self.s
        j = start + 1
        while j < len(s):
            if s[j] == "\\":
                j += 2
                continue
            if s[j] == "`":
                return j
            j += 1
        raise ShellUnsupported("an unterminated backtick")


def _matching(s: str, open_at: int) -> int:
    """The index of the ``)`` closing the ``(`` at ``open_at`` (quote-aware)."""
    depth = 0
    j = open_at
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            end = s.find("'", j + 1)
            if end < 0:
                raise ShellUnsupported("an unterminated single quote")
            j = end + 1
            continue
        if c == '"':
            j += 1
            while j < len(s) and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise ShellUnsupported("an unterminated double quote")
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ShellUnsupported("an unterminated $( or (")


def _is_assignment(word: Word) -> bool:
    name, eq, _ = word.text.partition("=")
    return (
        bool(eq)
        and bool(name)
        and (name[0].isalpha() or name[0] == "_")
        and all(ch.isalnum() or ch == "_" for ch in name)
    )
