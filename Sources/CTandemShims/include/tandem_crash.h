/* A last-resort crash report: one line on stderr and exit status 1 instead of a runtime
 * backtrace when a trap or fatal signal ends the process (a bug in tandem). */
#ifndef TANDEM_CRASH_H
#define TANDEM_CRASH_H

/* Installs handlers for SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS and SIGFPE that write
 * `prefix`, the signal's name and `suffix` (copied; each at most 511 bytes) with write(2) and
 * end the process with _exit(1). Async-signal-safe. */
void tandem_install_crash_report(const char *prefix, const char *suffix);

#endif
