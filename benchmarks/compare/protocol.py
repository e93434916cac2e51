"""The line-delimited JSON protocol between the comparison harness and a method process.

Why a process boundary: every peer (Optuna, Syne Tune, DEHB, SMAC) pins its own numpy and
friends, so each method runs in its own virtual environment and only exchanges plain JSON with
the harness. This module is deliberately dependency-free (standard library only) so that any
method env can import it by path; see protocol.md for the messages.

Two halves:

* :class:`MethodProcess` (harness side) spawns a method command, sends one request per line,
  reads one reply per line and measures the real time each reply took (the method's decision
  time, which the harness may charge to the simulated clock).
* :func:`serve` (method side) runs a request loop over stdin/stdout around a :class:`Method`.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import IO, Any, Mapping, Protocol, Sequence

PROTOCOL_VERSION = 1


class ProtocolError(RuntimeError):
    """The method process broke the protocol (bad reply, crash, wrong shape)."""


# ----------------------------------------------------------------------------- space helpers
def canonical_space(space: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A comparable form of a flat, resolved space spec (names -> type, bounds, values, when).

    Peers echo the space they actually translated (e.g. rebuilt from Optuna distributions);
    the harness compares both sides through this function. Why these fields: they decide what
    a searcher can propose. Defaults are dropped (they only matter for a first suggestion);
    ``bool`` is a two-valued choice and ``ordinal`` a choice for this purpose, since most peers
    have no ordered-categorical type (the order loss is a documented translation caveat).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, spec in space.items():
        kind = spec.get("type", "float")
        entry: dict[str, Any]
        if kind in ("float", "int"):
            entry = {"type": kind, "low": float(spec["low"]), "high": float(spec["high"]),
                     "log": bool(spec.get("log", False))}
        elif kind in ("choice", "ordinal", "bool"):
            values = [False, True] if kind == "bool" else list(spec["values"])
            entry = {"type": "choice", "values": sorted(json.dumps(v, sort_keys=True) for v in values)}
        elif kind == "constant":
            entry = {"type": "constant", "value": json.dumps(spec["value"], sort_keys=True)}
        else:
            raise ValueError(f"unknown parameter type {kind!r} for {name!r}")
        when = spec.get("when")
        if when:
            entry["when"] = {k: sorted(json.dumps(v, sort_keys=True) for v in (w if isinstance(w, list) else [w]))
                             for k, w in sorted(when.items())}
        out[name] = entry
    return dict(sorted(out.items()))


def space_differences(expected: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two canonical spaces (empty when identical)."""
    a, b = canonical_space(expected), canonical_space(got)
    problems = [f"parameter {n!r} missing in the method's space" for n in a if n not in b]
    problems += [f"parameter {n!r} is not in the benchmark's space" for n in b if n not in a]
    for name in a.keys() & b.keys():
        for key in sorted(a[name].keys() | b[name].keys()):
            va, vb = a[name].get(key), b[name].get(key)
            if isinstance(va, float) and isinstance(vb, float):
                same = abs(va - vb) <= 1e-12 * max(1.0, abs(va))
            else:
                same = va == vb
            if not same:
                problems.append(f"{name}.{key}: benchmark has {va!r}, method has {vb!r}")
    return sorted(problems)


# ------------------------------------------------------------------------------ harness side
class MethodProcess:
    """One method process driven over stdin/stdout; each request is timed (real seconds)."""

    def __init__(self, command: Sequence[str], cwd: str | None = None, stderr: IO[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr if stderr is not None else sys.stderr,
                                     text=True, bufsize=1, cwd=cwd, env=dict(env) if env else None)
        self.last_seconds = 0.0  # real time of the latest request, reply included
        self.total_seconds = 0.0
        self.requests = 0

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Send one message and return its reply; raises ProtocolError on a broken method."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        line = json.dumps(message, separators=(",", ":"))
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            reply_line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError) as err:
            raise ProtocolError(f"{self.command[-1]}: pipe broken on {message.get('op')!r}: {err}") from err
        self.last_seconds = time.perf_counter() - t0
        self.total_seconds += self.last_seconds
        self.requests += 1
        if not reply_line:
            code = self.proc.poll()
            raise ProtocolError(f"method {' '.join(self.command)} exited (code {code}) "
                                f"without replying to {message.get('op')!r}; see its stderr")
        try:
            reply = json.loads(reply_line)
        except json.JSONDecodeError as err:
            raise ProtocolError(f"method replied with non-JSON to {message.get('op')!r}: {reply_line[:200]!r}") from err
        if not isinstance(reply, dict):
            raise ProtocolError(f"method replied with a non-object: {reply_line[:200]!r}")
        if "error" in reply:
            raise ProtocolError(f"method error on {message.get('op')!r}: {reply['error']}")
        return reply

    def close(self, timeout: float = 10.0) -> None:
        """Ask the method to exit; kill it if it does not within `timeout` seconds."""
        if self.proc.poll() is None:
            try:
                self.request({"op": "close"})
            except ProtocolError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> "MethodProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------- method side
class Method(Protocol):
    """What a method implements; :func:`serve` turns it into a protocol process."""

    def init(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        """Set up from the init message; reply with space_fingerprint and/or space, and budget."""

    def ask(self) -> dict[str, Any]:
        """``{"trial", "config", "resource"}`` or ``{"wait": True}``."""

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        """``{"continue": False}`` or ``{"continue": True, "resource": next_level}``."""


def serve(method: Method, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> None:
    """Answer requests line by line until ``close`` or end of input.

    Exceptions become ``{"error": ...}`` replies, so the harness reports them instead of
    hanging; the process then exits. Anything a library prints must go to stderr: stdout is
    the protocol channel (so stdout is swapped for stderr while the method runs).
    """
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the channel
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
                op = msg.get("op")
                if op == "init":
                    if int(msg.get("version", PROTOCOL_VERSION)) != PROTOCOL_VERSION:
                        raise ProtocolError(f"protocol version {msg.get('version')} != {PROTOCOL_VERSION}")
                    reply = method.init(msg)
                elif op == "ask":
                    reply = method.ask()
                elif op == "tell":
                    reply = method.tell(int(msg["trial"]), int(msg["resource"]), float(msg["value"]))
                elif op == "close":
                    out.write(json.dumps({"ok": True}) + "\n")
                    out.flush()
                    return
                else:
                    raise ProtocolError(f"unknown op {op!r}")
            except Exception as err:  # reported to the harness, then the method exits
                import traceback

                traceback.print_exc(file=sys.stderr)
                out.write(json.dumps({"error": f"{type(err).__name__}: {err}"}) + "\n")
                out.flush()
                return
            out.write(json.dumps(reply, separators=(",", ":")) + "\n")
            out.flush()
    finally:
        sys.stdout = out if stdout is None else sys.__stdout__


def ladder(r_min: int, r_max: int, eta: float) -> list[int]:
    """Rung levels min, min*eta, ... below max, then max (integers), as rung's own ladder.

    Methods report at these levels so every method sees results at the same fidelities;
    reports cost nothing in the simulator (time is cumulative ``elapsed``).
    """
    levels: list[int] = []
    k = 0
    while True:
        level = int(round(r_min * eta**k))
        if level >= r_max:
            break
        levels.append(level)
        k += 1
    return levels + [int(r_max)]
