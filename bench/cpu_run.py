#!/usr/bin/env python3
"""cpu_run.py OUT CMD [ARG...]: runs CMD and writes its CPU time to OUT.

OUT gets "pid=N" as soon as CMD runs, then, once it exited, "cpu_ns=T" (user + system time of
every thread of CMD, io_uring workers included, from wait4's rusage) and "exit=C". SIGTERM and
SIGINT are passed on to CMD, so a caller that kills this process still gets CMD's figure.
The exit status is CMD's.
"""
import os
import signal
import sys

if len(sys.argv) < 3:
    sys.exit("usage: cpu_run.py OUT CMD [ARG...]")
out = sys.argv[1]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda signo, _frame: os.kill(pid, signo))
with open(out, "w") as f:
    f.write("pid=%d\n" % pid)
while True:
    try:
        _, status, ru = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
code = os.waitstatus_to_exitcode(status)
with open(out, "a") as f:
    f.write("cpu_ns=%d\nexit=%d\n" % (round((ru.ru_utime + ru.ru_stime) * 1e9), code))
sys.exit(code if code >= 0 else 128 - code)
