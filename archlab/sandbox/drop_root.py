"""Run bubblewrap as an unprivileged user when archlab itself runs as root.

Standalone on purpose (standard library only, run as ``python -I -S drop_root.py``
by `jail.py`): once it has dropped root it can no longer read the interpreter's
own files if they live under ``/root``, so it imports nothing after that.

Why: root is exempt from RLIMIT_NPROC, and bubblewrap started by root maps the
sandbox to the real root user outside its namespace. Started from here the jail
is an unprivileged uid inside *and* outside, so the process limit binds and an
escape would land as nobody. The interpreter, the venv and the data may sit in
folders that uid cannot enter (``/root`` is mode 700), so this helper first
bind-mounts each of them on an empty "view" folder it can enter, in a private
mount namespace that only it and bubblewrap see, then drops every privilege
and executes bubblewrap, which binds the views read-only into the jail.

Usage: ``drop_root.py --uid N --gid N [--view SOURCE VIEW]... -- /abs/bwrap ARGS...``
"""

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


def main(argv: list) -> int:
    if "--" not in argv:
        return fail("usage: drop_root.py --uid N --gid N [--view SOURCE VIEW]... -- /abs/bwrap ARGS...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    uid = gid = None
    views = []
    i = 0
    while i < len(options):
        if options[i] in ("--uid", "--gid") and i + 1 < len(options):
            if options[i] == "--uid":
                uid = int(options[i + 1])
            else:
                gid = int(options[i + 1])
            i += 2
        elif options[i] == "--view" and i + 2 < len(options):
            views.append((options[i + 1], options[i + 2]))
            i += 3
        else:
            return fail(f"unknown option {options[i]!r}")
    if uid is None or gid is None or not command or not os.path.isabs(command[0]):
        return fail("needs --uid, --gid and an absolute command path")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return fail(f"cannot make a private mount namespace: {os.strerror(ctypes.get_errno())}")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return fail(f"cannot make mounts private: {os.strerror(ctypes.get_errno())}")
    for source, view in views:
        if libc.mount(os.fsencode(source), os.fsencode(view), None, MS_BIND | MS_REC, None) != 0:
            return fail(f"cannot bind {source}: {os.strerror(ctypes.get_errno())}")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        return fail("could not drop root")
    os.execv(command[0], command)
    return 127  # not reached


def fail(message: str) -> int:
    sys.stderr.write(f"archlab drop_root: {message}\n")
    return 126


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
